// Incidents, the decay of tension and the escalation ladder's per-lane
// events (docs/model.md, phases 5 and 6, and "Escalation"): a war starting,
// a rung rising, an alliance war. The hazard is a pass over the lanes; the
// rare events run per lane, only for the lanes concerned.
#include <Eigen/Core>

#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"

namespace brink {

// Decides the lanes marked `between` their bounds (see incidents): hit where
// the draw falls below p = 1 − exp(−h). Their hazards are packed into whole
// packets of Eigen's exp (zero padded), so each p has the bits a pass over
// all lanes gives it.
void BlockSimulator::exact_incidents(const LaneMask* between, int* hit) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  int packed = 0;
  double* exponent = x.contact;  // free once the hazards are computed
  for_each_marked_lane(between, width, [&](int r) { exponent[packed++] = -x.hazard[r]; });
  constexpr int kPacket = 16;
  const int padded = (packed + kPacket - 1) / kPacket * kPacket;
  for (int k = packed; k < padded; ++k) exponent[k] = 0.0;
  Eigen::Map<Eigen::ArrayXd, Eigen::AlignedMax> p(exponent, padded);
  p = 1.0 - p.exp();
  int k = 0;
  for_each_marked_lane(between, width, [&](int r) { hit[r] = x.incident_u[r] < p(k++) * x.active[r] ? 1 : 0; });
}

void BlockSimulator::incidents(int s) {
  const int width = pass_width();
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int n = model_.actors();
  const Escalation& esc = sc_.escalation;
  auto for_each_adversary_pair = [&](auto&& f) {
    for (int i = 0; i < n; ++i)
      for (int j : model_.adversaries(i))
        if (j > i) f(st.deployed.col(i).data(), st.deployed.col(j).data());
  };
  const double* tension = st.tension.data();
  const double dt = sc_.run.dt_days;
  // The probability of an incident in the step is p = 1 − exp(−h), h the
  // hazard times dt, which grows with the contact √(D_i·D_j) of every
  // adversary pair. With (D_i + D_j)/2 ≥ √(D_i·D_j) in its place, h becomes
  // an upper bound, and a draw above its bound on p (all but about h of
  // them, 1–2% in the flagship) is no incident: only the other lanes take
  // the square roots, p's bounds and, between them, exp. Lanes that ended
  // before the step get p = 0 through `active` (the draw is never 0); lanes
  // that ended in this step's combat are left out below, per lane.
  double* contact_bound = x.contact;
  bool first = true;  // the first pair's pass starts from 0
  for_each_adversary_pair([&](const double* di, const double* dj) {
    for (int l = 0; l < width; ++l)
      contact_bound[l] = (first ? 0.0 : contact_bound[l]) + rules::contact_bound_of(di[l], dj[l]);
    first = false;
  });
  if (first) std::fill(contact_bound, contact_bound + width, 0.0);
  int* candidate = x.live;
  int any_candidate = 0;  // an int reduction: a bool one keeps the loop scalar
  for (int l = 0; l < width; ++l) {
    const double h_bound =
        rules::incident_hazard(x.base_rate[l], x.tension_rate[l], x.contact_rate[l], tension[l], contact_bound[l]) * dt;
    const double draw = x.incident_u[l];
    candidate[l] = draw < rules::incident_probability_bounds(h_bound).upper * x.active[l] ? 1 : 0;
    any_candidate |= candidate[l];
  }
  if (any_candidate == 0) return;
  // The candidates, one at a time: the hazard as a pass over all lanes
  // computes it (the same sums in the same order; sqrt is exactly rounded).
  int* hit = x.now;
  LaneMask* between = x.mask;
  std::fill(hit, hit + width, 0);
  std::fill(between, between + width, 0);
  int any_between = 0;
  for_each_marked_lane(candidate, width, [&](int r) {
    double contact = 0.0;
    for_each_adversary_pair([&](const double* di, const double* dj) { contact += rules::contact_of(di[r], dj[r]); });
    const double h =
        rules::incident_hazard(x.base_rate[r], x.tension_rate[r], x.contact_rate[r], tension[r], contact) * dt;
    const rules::Bounds p = rules::incident_probability_bounds(h);
    const double upper = p.upper * x.active[r], lower = p.lower * x.active[r];
    x.hazard[r] = h;
    hit[r] = x.incident_u[r] < lower ? 1 : 0;
    between[r] = (x.incident_u[r] < upper) & (x.incident_u[r] >= lower) ? 1 : 0;
    any_between |= between[r];
  });
  if (any_between != 0) exact_incidents(between, hit);
  const int* outcome = st.outcome.data();
  for_each_marked_lane(hit, width, [&](int r) {
    if (outcome[r] >= 0) return;
    ++st.incidents(r);
    if (st.first_incident_step(r) < 0) st.first_incident_step(r) = s;
    st.tension(r) += x.tension_jump[r];
    if (escalation_draw(r, s) < x.escalation_probability[r]) {
      // Outside a war an incident cannot start one; inside, it can widen it.
      const bool war = st.war_start_step(r) >= 0;
      const int ceiling = war ? esc.alliance_war_rung : esc.limited_war_rung - 1;
      raise_rung(r, std::min(st.rung(r) + 1, ceiling), s, AllianceWarCause::kIncident);
    }
  });
}

void BlockSimulator::decay_tension() {
  const int width = pass_width();
  const double* keep = scratch_->tension_keep;
  double* tension = state_.tension.data();
  const double* active = scratch_->active;
  for (int l = 0; l < width; ++l) tension[l] = active[l] > 0.5 ? std::max(tension[l] * keep[l], 0.0) : tension[l];
}

void BlockSimulator::start_war(int r, int attacker, int target, int s) {
  BlockState& st = state_;
  const bool fresh = st.side.row(r).maxCoeff() == 0;
  const bool covered = rules::enter_war(
      model_, attacker, target, [&](int j) { return st.side(r, j); },
      [&](int j, int side) {
        st.side(r, j) = side;
        // Joining a war on: its strengths at the start grow, as by join_alliance_war.
        if (!fresh) (side == 1 ? st.start_strength_attacker(r) : st.start_strength_defender(r)) += st.deployed(r, j);
      });
  if (fresh) {
    st.war_start_step(r) = s;
    double a = 0.0, b = 0.0;
    for (int j = 0; j < model_.actors(); ++j) {
      if (st.side(r, j) == 1) a += st.deployed(r, j);
      if (st.side(r, j) == 2) b += st.deployed(r, j);
    }
    st.start_strength_attacker(r) = a;
    st.start_strength_defender(r) = b;
  }
  if (covered) raise_rung(r, sc_.escalation.alliance_war_rung, s, AllianceWarCause::kAttackOnCovered);
  // An alliance war on spreads to whoever this attack brought in, as it
  // spread to those fighting when the alliance rung was reached.
  if (st.rung(r) >= sc_.escalation.alliance_war_rung) join_alliance_war(r);
}

void BlockSimulator::raise_rung(int r, int rung, int s, AllianceWarCause cause) {
  BlockState& st = state_;
  if (rung <= st.rung(r)) return;
  if (rung >= sc_.escalation.alliance_war_rung && st.alliance_war_cause(r) == 0)
    st.alliance_war_cause(r) = static_cast<int>(cause);
  st.rung(r) = rung;
  if (rung > st.peak_rung(r)) {
    st.peak_rung(r) = rung;
    // The outcome of a war is its highest war rung; its step is when that rung was reached.
    if (rung >= sc_.escalation.limited_war_rung) st.end_step(r) = s;
  }
  if (rung >= sc_.escalation.alliance_war_rung && st.side.row(r).maxCoeff() > 0) join_alliance_war(r);
}

void BlockSimulator::raise_rung_masked(const std::int32_t* mask, int q, int s, AllianceWarCause cause) {
  const int width = pass_width();
  if (q >= sc_.escalation.alliance_war_rung) {
    for_each_marked_lane(mask, width, [&](int l) { raise_rung(l, q, s, cause); });
    return;
  }
  // Below the alliance rung raising is plain arithmetic on the lanes.
  int* rung = state_.rung.data();
  int* peak = state_.peak_rung.data();
  int* end_step = state_.end_step.data();
  const bool war_rung = q >= sc_.escalation.limited_war_rung;
  for (int l = 0; l < width; ++l) {
    const bool up = (mask[l] != 0) & (q > rung[l]);
    const bool new_peak = up & (q > peak[l]);
    rung[l] = up ? q : rung[l];
    peak[l] = new_peak ? q : peak[l];
    end_step[l] = new_peak & war_rung ? s : end_step[l];
  }
}

void BlockSimulator::join_alliance_war(int r) {
  BlockState& st = state_;
  rules::join_alliance_war(
      sc_.relations, model_.actors(), [&](int j) { return st.side(r, j); },
      [&](int j, int side) {
        st.side(r, j) = side;
        (side == 1 ? st.start_strength_attacker(r) : st.start_strength_defender(r)) += st.deployed(r, j);
      });
}

}  // namespace brink
