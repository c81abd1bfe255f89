// The vectorized kernel: every phase but the decisions (decide.cpp). Each
// phase is a few loops over the block's 256 lanes that call the per-lane rules
// of rules.hpp; the compiler vectorizes them (docs/performance.md). Lane
// events that are rare — a war starting, an incident, a side collapsing —
// run per lane, only for the lanes concerned.
#include "brink/model/kernel.hpp"

#include <algorithm>
#include <cmath>

#include "block_scratch.hpp"
#include "brink/model/lanchester.hpp"
#include "brink/model/rules.hpp"
#include "lane_vector.hpp"

namespace brink {

using Eigen::ArrayXd;
using Eigen::ArrayXi;
using Eigen::ArrayXXd;

BlockSimulator::Scratch::Scratch(const Scenario& sc) {
  const int n = sc.actor_count();
  for (const Actor& a : sc.actors) {
    menu_max = std::max(menu_max, static_cast<int>(a.actions.size()));
    types_max = std::max(types_max, static_cast<int>(a.types.size()));
  }
  believed_resolve.assign(static_cast<std::size_t>(n) * L, 0.0f);
  feasible.assign(static_cast<std::size_t>(menu_max) * L, 0);
  utility.assign(static_cast<std::size_t>(types_max) * menu_max * L, 0.0f);
  total.assign(static_cast<std::size_t>(types_max) * L, 0.0f);
  best.assign(L, 0.0f);
  choice.assign(static_cast<std::size_t>(n) * L, 0);
  decision_u.assign(static_cast<std::size_t>(n) * L, 0.0f);
  desired.assign(static_cast<std::size_t>(n) * L, 0.0);
  type_weights.assign(static_cast<std::size_t>(types_max), TypeWeights{});
  for (auto* v : {&reaction, &fatigue, &grievance, &start_deployed, &rate_dt, &mobilize_dt, &cap, &kill_rate, &defence})
    v->assign(static_cast<std::size_t>(n) * L, 0.0);
  rationality.assign(static_cast<std::size_t>(n) * L, 0.0f);
  combat_columns.resize(static_cast<std::size_t>(n));
}

BlockSimulator::~BlockSimulator() = default;

BlockSimulator::BlockSimulator(const Model& model, const BlockSpec& spec)
    : model_(model),
      sc_(model.scenario()),
      phases_(phases_of(model.scenario())),
      packed_(!spec.segments.empty()),
      spec_(spec),
      key_(model.stream(spec.point)),
      scratch_(std::make_unique<Scratch>(model.scenario())) {
  const int n = model.actors();
  const int issues = static_cast<int>(sc_.negotiation.issues.size());
  BlockState& st = state_;
  init_lane_fields();
  st.casualties = ArrayXXd::Zero(L, n);
  st.created = ArrayXXd::Zero(L, n);
  st.removed = ArrayXXd::Zero(L, n);
  st.effectiveness = ArrayXXd::Ones(L, n);
  st.side = Eigen::ArrayXXi::Zero(L, n);
  st.position.resize(L, std::max(issues * n, 0));
  for (int k = 0; k < issues; ++k)
    for (int i = 0; i < n; ++i)
      st.position.col(k * n + i).setConstant(static_cast<float>(sc_.negotiation.issues[k].position[i]));
  st.agreed = Eigen::ArrayXXi::Zero(L, issues);
  st.last_action = Eigen::ArrayXXi::Constant(L, n, -1);
  st.action_count = Eigen::ArrayXXi::Zero(L, n * kActionKindCount);
  st.start_strength_attacker = ArrayXd::Zero(L);
  st.start_strength_defender = ArrayXd::Zero(L);
  st.rung = ArrayXi::Constant(L, sc_.escalation.initial_rung);
  st.peak_rung = st.rung;
  st.outcome = ArrayXi::Constant(L, -1);
  st.end_step = ArrayXi::Constant(L, -1);
  st.war_start_step = ArrayXi::Constant(L, -1);
  st.war_end_step = ArrayXi::Constant(L, -1);
  st.moved = ArrayXXd::Zero(L, n);
  st.first_incident_step = ArrayXi::Constant(L, -1);
  st.incidents = ArrayXi::Zero(L);
  st.alliance_war_cause = ArrayXi::Zero(L);
  init_pools_and_types();
  init_bargaining();
  plan_issue_passes();
  // Padding past the kept lanes' last group is never simulated.
  if (spec_.retire_finished) width_ = std::min((spec_.count + kLaneGroup - 1) / kLaneGroup * kLaneGroup, L);
  std::fill(std::begin(scratch_->active), std::end(scratch_->active), 0.0);
  std::fill(std::begin(scratch_->running), std::end(scratch_->running), LaneMask{0});
}

BlockSimulator::Phases BlockSimulator::phases_of(const Scenario& sc) {
  Phases p;
  p.events = !sc.events.empty();
  p.negotiation = !sc.negotiation.issues.empty();
  const bool settlement = std::any_of(sc.negotiation.issues.begin(), sc.negotiation.issues.end(),
                                      [](const Issue& issue) { return issue.core; });
  p.posture = settlement || std::any_of(sc.actors.begin(), sc.actors.end(), [](const Actor& a) {
                return a.posture.reaction != 0.0 || a.posture.fatigue != 0.0 || a.posture.grievance != 0.0;
              });
  return p;
}

void BlockSimulator::step(int s) {
  Scratch& x = *scratch_;
  retire_finished();
  const int width = pass_width();
  const int* outcome = state_.outcome.data();
  for (int l = 0; l < width; ++l) {
    x.active[l] = outcome[l] < 0 ? 1.0 : 0.0;
    x.running[l] = outcome[l] < 0 ? 1 : 0;
  }
  // `moved` is the step's transport budget used, read only by posture.
  if (phases_.posture) state_.moved.setZero();
  draw_step_uniforms(s);
  if (phases_.events) apply_events(s);
  if (sc_.run.decisions && sc_.bargaining.enabled()) bargain(s);
  if (sc_.run.decisions) decide_and_act(s);
  if (phases_.posture) posture();
  combat(s);
  incidents(s);
  decay_tension();
  if (phases_.negotiation) negotiate(s);
  next_step_ = s + 1;
}

void BlockSimulator::apply_events(int s) {
  const int width = pass_width();
  BlockState& st = state_;
  const double* active = scratch_->active;
  for (std::size_t e_index = 0; e_index < sc_.events.size(); ++e_index) {
    // Each event belongs to exactly one step, computed once from its day.
    if (model_.event_step_of(static_cast<int>(e_index)) != s) continue;
    const Event& e = sc_.events[e_index];
    const int i = e.actor;
    const double* cap = scratch_->lane_column(scratch_->cap, i);
    const double troops = e.troops;
    double* deployed = st.deployed.col(i).data();
    double* ready = st.ready.col(i).data();
    double* reserve = st.reserve.col(i).data();
    double* removed = st.removed.col(i).data();
    double* created = st.created.col(i).data();
    switch (e.kind) {
      case EventKind::kDeploy:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_deploy_amount(ready[l], deployed[l], cap[l], troops) * active[l];
          ready[l] -= x;
          deployed[l] += x;
        }
        break;
      case EventKind::kWithdraw:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(deployed[l], troops) * active[l];
          deployed[l] -= x;
          ready[l] += x;
        }
        break;
      case EventKind::kMobilize:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(reserve[l], troops) * active[l];
          reserve[l] -= x;
          ready[l] += x;
        }
        break;
      case EventKind::kDemobilize:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(ready[l], troops) * active[l];
          ready[l] -= x;
          removed[l] += x;
        }
        break;
      case EventKind::kReinforce:
        for (int l = 0; l < width; ++l) {
          const double x = troops * active[l];
          deployed[l] += x;
          created[l] += x;
        }
        break;
      case EventKind::kAttack:
        for (int l = 0; l < width; ++l) {
          if (active[l] < 0.5) continue;
          if (st.side.row(l).maxCoeff() == 0) start_war(l, i, e.target, s);
          raise_rung(l, e.rung, s, AllianceWarCause::kNone);
        }
        break;
    }
  }
}

void BlockSimulator::posture() {
  const int width = pass_width();
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  const int* outcome = st.outcome.data();
  // After a settlement forces stand down toward a share of their start.
  int any_settled = 0;  // an int reduction: a bool one keeps the loop scalar
  for (int l = 0; l < width; ++l) any_settled |= outcome[l] == static_cast<int>(Outcome::kSettlement) ? 1 : 0;
  if (any_settled != 0) {
    for (int i = 0; i < n; ++i) {
      const double* rate_dt = x.lane_column(x.rate_dt, i);
      const double drawdown = sc_.negotiation.drawdown;
      const double* start = x.lane_column(x.start_deployed, i);
      double* deployed = st.deployed.col(i).data();
      double* ready = st.ready.col(i).data();
      for (int l = 0; l < width; ++l) {
        const bool settled = outcome[l] == static_cast<int>(Outcome::kSettlement);
        const double floor = drawdown * start[l];
        const double m = settled ? rules::drawdown_move(deployed[l], floor, rate_dt[l]) : 0.0;
        deployed[l] -= m;
        ready[l] += m;
      }
    }
  }
  // Synchronous update: every actor reacts to the same deployed forces.
  for (int i = 0; i < n; ++i) {
    const double* reaction = x.lane_column(x.reaction, i);
    const double* fatigue = x.lane_column(x.fatigue, i);
    const double* grievance = x.lane_column(x.grievance, i);
    // __restrict: the stores to `desired` do not alias the lane parameters, so the loops vectorize without checks.
    double* __restrict desired = x.desired.data() + static_cast<std::size_t>(i) * L;
    const double* own = st.deployed.col(i).data();
    const auto& adversaries = model_.adversaries(i);
    if (adversaries.size() == 1) {
      // The common case in one pass: the threat is the one adversary's deployed forces (0 + D_j = D_j).
      const double* dj = st.deployed.col(adversaries[0]).data();
      for (int l = 0; l < width; ++l)
        desired[l] = rules::richardson_drift(dj[l], own[l], reaction[l], fatigue[l], grievance[l], dt) * x.active[l];
      continue;
    }
    for (int l = 0; l < width; ++l) desired[l] = 0.0;
    for (int j : adversaries) {
      const double* dj = st.deployed.col(j).data();
      for (int l = 0; l < width; ++l) desired[l] += dj[l];
    }
    for (int l = 0; l < width; ++l)
      desired[l] = rules::richardson_drift(desired[l], own[l], reaction[l], fatigue[l], grievance[l], dt) * x.active[l];
  }
  for (int i = 0; i < n; ++i) {
    const double* rate_dt = x.lane_column(x.rate_dt, i);
    const double* cap = x.lane_column(x.cap, i);
    const double* desired = x.desired.data() + static_cast<std::size_t>(i) * L;
    const double* moved = st.moved.col(i).data();
    double* deployed = st.deployed.col(i).data();
    double* ready = st.ready.col(i).data();
    for (int l = 0; l < width; ++l) {
      const double budget = std::max(rate_dt[l] - moved[l], 0.0);
      const double m = rules::drift_move(desired[l], budget, ready[l], deployed[l], cap[l]);
      deployed[l] += m;
      ready[l] -= m;
    }
  }
}

// Combat in the fighting lanes, gathered into a dense list (a fraction of a
// block fights, so passes over every lane would cost more than they save):
// the sides per fighting lane, the strengths after the step over the list,
// then the losses and collapses per fighting lane. Every lane's arithmetic
// is rules::attrition's.
void BlockSimulator::combat(int s) {
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int count = fighting_sides();
  if (count == 0) return;
  attrition_of_list(count);
  const int n = model_.actors();
  for (int c = 0; c < count; ++c) {
    const int r = x.fighting_lane[c];
    // Losses fall on each side's actors in proportion to their deployed troops.
    const double keep_a = x.side_a[c] > 0.0 ? x.after_a[c] / x.side_a[c] : 0.0;
    const double keep_b = x.side_b[c] > 0.0 ? x.after_b[c] / x.side_b[c] : 0.0;
    for (int j = 0; j < n; ++j) {
      if (st.side(r, j) == 0) continue;
      const double keep = st.side(r, j) == 1 ? keep_a : keep_b;
      const double loss = st.deployed(r, j) * (1.0 - keep);
      st.deployed(r, j) -= loss;
      st.casualties(r, j) += loss;
    }
    if (rules::collapsed(sc_.combat, {x.after_a[c], x.after_b[c]}, st.start_strength_attacker(r),
                         st.start_strength_defender(r))) {
      st.war_end_step(r) = s;
      st.outcome(r) = static_cast<int>(rules::war_outcome(st.peak_rung(r), sc_.escalation));
    }
  }
}

// Lists the fighting lanes (open, at war) and gathers each one's side
// strengths, summed kill rates and rung; returns how many there are.
int BlockSimulator::fighting_sides() {
  const int width = pass_width();
  const BlockState& st = state_;
  Scratch& x = *scratch_;
  const int* outcome = st.outcome.data();
  const int* war_start = st.war_start_step.data();
  LaneMask* fighting = x.mask;
  for (int r = 0; r < width; ++r) fighting[r] = (outcome[r] < 0) & (war_start[r] >= 0);
  int* lane = x.fighting_lane;
  const int count = lane_vector::list_marked(fighting, width, lane);
  const int n = model_.actors();
  CombatColumns* columns = x.combat_columns.data();
  for (int j = 0; j < n; ++j)
    columns[j] = {st.deployed.col(j).data(), x.lane_column(x.kill_rate, j), st.effectiveness.col(j).data(),
                  x.lane_column(x.defence, j), st.side.col(j).data()};
  for (int c = 0; c < count; ++c) {
    const int r = lane[c];
    double a = 0.0, b = 0.0, alpha = 0.0, beta = 0.0;
    for (int j = 0; j < n; ++j) {
      const CombatColumns& q = columns[j];
      const int side = q.side[r];
      if (side == 0) continue;
      const double d = q.deployed[r], fire = q.kill_rate[r] * q.effectiveness[r];
      if (side == 1) {
        a += d;
        alpha = std::fma(fire, d, alpha);
      } else {
        b += d;
        beta = std::fma(fire * q.defence[r], d, beta);
      }
    }
    x.side_a[c] = a;
    x.side_b[c] = b;
    x.alpha_sum[c] = alpha;
    x.beta_sum[c] = beta;
    x.fighting_rung[c] = st.rung(r);
  }
  return count;
}

// The strengths after the step of the first `count` fighting lanes, into
// after_a/after_b: the coefficients and the square law's terms, one scalar
// expm1 each (glibc has no vectorized one without -ffast-math), then the
// square law's general case, in loops over the list that vectorize. The rare
// other cases (a side without troops or fire, exactly matched sides, the
// linear law) take rules::attrition.
void BlockSimulator::attrition_of_list(int count) {
  Scratch& x = *scratch_;
  const double* __restrict a = x.side_a;
  const double* __restrict b = x.side_b;
  const int full_war_rung = sc_.escalation.full_war_rung;
  const double limited_intensity = sc_.combat.limited_war_intensity, dt = sc_.run.dt_days;
  const bool square = sc_.combat.law == LanchesterLaw::kSquare;
  double* __restrict worth = x.worth;
  double* __restrict gamma_t = x.gamma_t;
  double* __restrict general = x.square_general;
  for (int c = 0; c < count; ++c) {
    const rules::AttritionRates q = rules::attrition_rates(full_war_rung, limited_intensity, a[c], b[c], x.alpha_sum[c],
                                                           x.beta_sum[c], x.fighting_rung[c]);
    const SquareLawTerms terms = square_law_terms({a[c], b[c]}, q.alpha, q.beta, dt);
    worth[c] = terms.k;
    gamma_t[c] = terms.g;
    general[c] = square && terms.general ? 1.0 : 0.0;
  }
  double* __restrict after_a = x.after_a;
  double* __restrict after_b = x.after_b;
  double* __restrict em = x.expm1_of;
  for (int c = 0; c < count; ++c) {
    em[c] = 0.0;
    if (general[c] != 0.0) {
      em[c] = std::expm1(square_law_exponent(gamma_t[c]));
      continue;
    }
    const Strengths after = rules::attrition(sc_, a[c], b[c], x.alpha_sum[c], x.beta_sum[c], x.fighting_rung[c]);
    after_a[c] = after.a;
    after_b[c] = after.b;
  }
  for (int c = 0; c < count; ++c) {
    const Strengths stepped = square_law_step({a[c], b[c]}, worth[c], gamma_t[c], em[c]);
    after_a[c] = general[c] != 0.0 ? stepped.a : after_a[c];
    after_b[c] = general[c] != 0.0 ? stepped.b : after_b[c];
  }
}

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
  Eigen::Map<ArrayXd, Eigen::AlignedMax> p(exponent, padded);
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

namespace {

// now[l] = 1 where the parties' positions lie within the window (the lowest
// and highest position over the parties, in party order), in one pass:
// kParties > 0 fixes the number of parties so that the lane loop vectorizes.
template <int kParties>
void window_pass(const std::vector<int>& parties, const float* issue_positions, float window, int width,
                 int* __restrict now) {
  constexpr int kSlots = kParties > 0 ? kParties : 1;
  const float* p[kSlots] = {};
  for (int o = 0; o < kSlots && o < static_cast<int>(parties.size()); ++o)
    p[o] = issue_positions + static_cast<std::ptrdiff_t>(parties[o]) * L;
  for (int l = 0; l < width; ++l) {
    float lo = 1.0f, hi = 0.0f;
    for (int o = 0; o < kParties; ++o) {
      lo = rules::lmin(lo, p[o][l]);
      hi = rules::lmax(hi, p[o][l]);
    }
    now[l] = rules::within_window(lo, hi, window) ? 1 : 0;
  }
}

void agreement_window(const std::vector<int>& parties, const float* issue_positions, float window, int width,
                      int* now) {
  switch (parties.size()) {
    case 2:
      return window_pass<2>(parties, issue_positions, window, width, now);
    case 3:
      return window_pass<3>(parties, issue_positions, window, width, now);
    case 4:
      return window_pass<4>(parties, issue_positions, window, width, now);
    default:
      break;
  }
  // Any other number of parties: the same minimum and maximum, a party at a time.
  float lo[L], hi[L];
  for (int l = 0; l < width; ++l) {
    lo[l] = 1.0f;
    hi[l] = 0.0f;
  }
  for (int j : parties) {
    const float* p = issue_positions + static_cast<std::ptrdiff_t>(j) * L;
    for (int l = 0; l < width; ++l) {
      lo[l] = rules::lmin(lo[l], p[l]);
      hi[l] = rules::lmax(hi[l], p[l]);
    }
  }
  for (int l = 0; l < width; ++l) now[l] = rules::within_window(lo[l], hi[l], window) ? 1 : 0;
}

}  // namespace

void BlockSimulator::negotiate(int s) {
  const int width = pass_width();
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  const float window = static_cast<float>(sc_.negotiation.acceptance_window);
  const double relief = sc_.escalation.agreement_relief;
  const int floor_rung = sc_.escalation.initial_rung;
  int* outcome = st.outcome.data();
  int* rung = st.rung.data();
  double* tension = st.tension.data();
  const int* war_start = st.war_start_step.data();
  // Masks as int, the width of the state they select (mixed widths keep loops scalar).
  int* live = x.live;
  int* all_core = x.all_core;
  for (int l = 0; l < width; ++l) {
    live[l] = (x.running[l] != 0) & (outcome[l] < 0);
    all_core[l] = 1;  // every core issue agreed so far (in issue order, as agreements land)
  }
  bool any_core = false;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const auto& parties = model_.parties(static_cast<int>(k));
    int* agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    int* now = x.now;
    agreement_window(parties, st.position.data() + static_cast<Eigen::Index>(k) * n * L, window, width, now);
    for (int l = 0; l < width; ++l) {
      now[l] &= live[l] & (agreed[l] == 0);
      agreed[l] |= now[l];
      const int lowered = rules::lmax(floor_rung, rung[l] - 1);
      rung[l] = now[l] & (war_start[l] < 0) ? lowered : rung[l];
    }
    for (int l = 0; l < width; ++l) {
      const double relieved = rules::lmax(0.0, tension[l] - relief);
      tension[l] = now[l] ? relieved : tension[l];
    }
    if (issues[k].core) {
      any_core = true;
      for (int l = 0; l < width; ++l) all_core[l] &= agreed[l];
    }
  }
  if (!any_core) return;
  int* end_step = st.end_step.data();
  for (int l = 0; l < width; ++l) {
    const int settle = live[l] & all_core[l] & (war_start[l] < 0);
    outcome[l] = settle ? static_cast<int>(Outcome::kSettlement) : outcome[l];
    end_step[l] = settle ? s : end_step[l];
  }
}

void BlockSimulator::start_war(int r, int attacker, int target, int s) {
  BlockState& st = state_;
  const int n = model_.actors();
  st.side(r, attacker) = 1;
  for (int j : model_.allies(attacker)) st.side(r, j) = 1;
  st.side(r, target) = 2;
  // The war touches a covered actor when someone outside the attacking side
  // is bound (ally, or commitment >= 0.5) to defend the target: they join.
  bool alliance = false;
  for (int j = 0; j < n; ++j)
    if (st.side(r, j) == 0 && (sc_.relations.ally[j][target] || model_.commitment(j, target) >= 0.5)) {
      st.side(r, j) = 2;
      alliance = true;
    }
  st.war_start_step(r) = s;
  double a = 0.0, b = 0.0;
  for (int j = 0; j < n; ++j) {
    if (st.side(r, j) == 1) a += st.deployed(r, j);
    if (st.side(r, j) == 2) b += st.deployed(r, j);
  }
  st.start_strength_attacker(r) = a;
  st.start_strength_defender(r) = b;
  if (alliance) raise_rung(r, sc_.escalation.alliance_war_rung, s, AllianceWarCause::kAttackOnCovered);
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
  const int n = model_.actors();
  for (int j = 0; j < n; ++j) {
    if (st.side(r, j) != 0) continue;
    for (int k = 0; k < n; ++k) {
      if (st.side(r, k) != 1) continue;
      if (sc_.relations.adversary[j][k]) {
        st.side(r, j) = 2;
        st.start_strength_defender(r) += st.deployed(r, j);
        break;
      }
      if (sc_.relations.ally[j][k]) {
        st.side(r, j) = 1;
        st.start_strength_attacker(r) += st.deployed(r, j);
        break;
      }
    }
  }
}

bool BlockSimulator::frozen() const {
  const int* outcome = state_.outcome.data();
  int open = 0;
  for (int l = 0; l < width_; ++l) open += rules::lane_in_play(outcome[l]);
  return open == 0;
}

void BlockSimulator::finish() {
  const int width = pass_width();
  BlockState& st = state_;
  const Escalation& esc = sc_.escalation;
  for (int r = 0; r < width; ++r) {
    if (st.outcome(r) >= 0) continue;
    const int peak = st.peak_rung(r);
    if (peak >= esc.limited_war_rung) {
      st.outcome(r) = static_cast<int>(rules::war_outcome(peak, esc));
    } else {
      st.outcome(r) = static_cast<int>(Outcome::kStandoff);
      st.end_step(r) = model_.steps();
    }
  }
}

}  // namespace brink
