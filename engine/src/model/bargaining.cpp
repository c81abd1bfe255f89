// The bargaining phase over a block's lanes (docs/model.md, "Bargaining and
// war"): in an offer step the proposer demands x* from its belief about the
// receiver's war cost, the receiver accepts or rejects, a rejection truncates
// the public belief, and the last rejection starts the war. Every lane runs
// the per-lane rules of bargaining.hpp; only a war starting is per lane.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

#include "block_scratch.hpp"
#include "brink/model/bargaining.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/scalar_twin.hpp"

namespace brink {

// Private war costs (the second `resolve` uniform of step 0, which the type
// draw leaves unused) and the public prior about the receiver's.
void BlockSimulator::init_bargaining() {
  const int width = pass_width();
  BlockState& st = state_;
  const int n = model_.actors();
  st.war_cost.resize(L, n);
  for (int i = 0; i < n; ++i) {
    const Decision& dec = sc_.actors[i].decision;
    st.war_cost.col(i).setConstant(dec.war_cost);
    if (dec.war_cost_spread <= 0.0) continue;
    for (int r = 0; r < width; ++r) {
      double unused = 0.0, u = 0.0;
      uniform_pair(lane_key(r), lane_replication(r), 0, static_cast<std::uint32_t>(i), Purpose::kResolve, &unused, &u);
      st.war_cost(r, i) = rules::private_war_cost(dec.war_cost, dec.war_cost_spread, u);
    }
  }
  for (int i = 0; i < n; ++i) {  // the private type's share of the cost (0 unless types set war_cost)
    const auto& types = sc_.actors[i].types;
    for (int r = 0; r < width; ++r) st.war_cost(r, i) += types[st.type(r, i)].war_cost;
  }
  const int b = sc_.bargaining.receiver;
  st.cost_low = Eigen::ArrayXd::Zero(L);
  st.cost_high = Eigen::ArrayXd::Zero(L);
  for (int r = 0; b >= 0 && r < width; ++r) {
    const rules::CostInterval prior = rules::public_cost_prior(sc_.actors[b].decision, sc_.actors[b].types,
                                                               sc_.run.revealed_types, st.war_cost(r, b));
    st.cost_low(r) = prior.low;
    st.cost_high(r) = prior.high;
  }
  st.offer = Eigen::ArrayXd::Constant(L, std::numeric_limits<double>::quiet_NaN());
}

void BlockSimulator::bargain(int s) {
  const int width = pass_width();
  const Bargaining& bg = sc_.bargaining;
  shift_power(s);
  const int round = rules::offer_round(s, sc_.run.dt_days, bg);
  if (round < 0) return;
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const int a = bg.proposer, b = bg.receiver;
  alignas(64) std::uint8_t talk[L], fight[L];
  talking_lanes(talk);
  alignas(64) double prevail[L], loss_a[L], loss_b[L], duration[L], later[L];
  double* u = x.bargain_u;
  const double w_later = value_after_shift(s, later);
  forecast(a, b, 1.0, prevail, loss_a, loss_b, duration);  // the war would start at full_war
  if (bg.acceptance_noise > 0.0) {
    lane_words(s, purpose_word(Purpose::kBargain, static_cast<std::uint32_t>(b)));
    for (int l = 0; l < width; ++l) u[l] = unit_double(x.words[0][l], x.words[1][l]);
    x.bargain_step = s;
  } else {
    std::fill(u, u + width, 0.5);
  }
  const Decision& da = sc_.actors[a].decision;
  const Decision& db = sc_.actors[b].decision;
  const double* cost_a = st.war_cost.col(a).data();
  const double* cost_b = st.war_cost.col(b).data();
  const bool last = round + 1 == bg.rounds;
  // A receiver whose types carry war costs is judged by the public belief over its types.
  const auto& receiver_types = sc_.actors[b].types;
  const int types = static_cast<int>(receiver_types.size());
  double type_cost[kMaxTypes] = {};
  const bool by_type = rules::priced_by_type(receiver_types);
  for (int k = 0; k < types; ++k) type_cost[k] = db.war_cost + receiver_types[k].war_cost;
  double* low = st.cost_low.data();
  double* high = st.cost_high.data();
  double* offer = st.offer.data();
  LaneMask* accepted = x.mask;
  for (int l = 0; l < width; ++l) {
    const double delta = rules::war_discount(bg.discount, duration[l]);
    const double public_b = rules::war_value(delta, 1.0 - prevail[l], 0.0, db.casualty_cost, loss_b[l]);
    const double x0 = rules::reservation_share(public_b);
    const double value_a = rules::war_value(delta, prevail[l], cost_a[l], da.casualty_cost, loss_a[l]);
    double type_belief[kMaxTypes];
    for (int k = 0; by_type && k < types; ++k) type_belief[k] = st.belief(l, b * kMaxTypes + k);
    const rules::CostBelief belief = by_type
                                         ? rules::CostBelief{.cost = type_cost, .belief = type_belief, .types = types}
                                         : rules::CostBelief{.low = low[l], .high = high[l]};
    const rules::Proposal p = rules::proposal(x0, value_a, belief, bg.acceptance_noise);
    const double demand = p.offer;
    const bool prevent =
        rules::prefers_preventive_war(value_a, later[l], w_later) || rules::no_bargaining_range(x0, value_a, p.top);
    const bool yes = rules::accepts(rules::acceptance_margin(demand, public_b - cost_b[l]), bg.acceptance_noise, u[l]);
    const bool offered = talk[l] && !prevent;
    offer[l] = offered ? demand : offer[l];
    accepted[l] = offered && yes ? 1 : 0;
    high[l] = offered && !yes ? rules::screened_high(demand, x0, low[l], high[l], bg.acceptance_noise) : high[l];
    fight[l] = talk[l] && (prevent || (!yes && last)) ? 1 : 0;
    if (by_type && offered && !sc_.run.revealed_types) screen_types(l, demand, x0, type_cost, yes);
  }
  settle_or_fight(fight, s);
}

// Lanes that talk: running, no war on, some stake issue still open.
void BlockSimulator::talking_lanes(std::uint8_t* talk) {
  const int width = pass_width();
  const BlockState& st = state_;
  const int n = model_.actors(), a = sc_.bargaining.proposer, b = sc_.bargaining.receiver;
  const auto& issues = sc_.negotiation.issues;
  alignas(64) double open[L];
  std::fill(open, open + width, 0.0);
  for (std::size_t k = 0; k < issues.size(); ++k) {
    if (issues[k].salience[a] <= 0.0 || issues[k].salience[b] <= 0.0) continue;
    const int* agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    for (int l = 0; l < width; ++l) open[l] += agreed[l] == 0 ? 1.0 : 0.0;
  }
  for (int l = 0; l < width; ++l) talk[l] = scratch_->running[l] && open[l] > 0.0 ? 1 : 0;
  for (int j = 0; j < n; ++j) {
    const int* side = st.side.col(j).data();
    for (int l = 0; l < width; ++l) talk[l] = side[l] > 0 ? 0 : talk[l];
  }
}

// The proposer's war value after a shift still to come (into `later`) and
// the weight w of the time after it; 0 (and later = 0) without one.
double BlockSimulator::value_after_shift(int s, double* later) {
  const int width = pass_width();
  const Bargaining& bg = sc_.bargaining;
  const int a = bg.proposer;
  const double to_shift = rules::days_to_shift(s, sc_.run.dt_days, bg);
  std::fill(later, later + width, 0.0);
  if (to_shift <= 0.0) return 0.0;
  alignas(64) double prevail[L], loss_a[L], loss_b[L], duration[L];
  forecast(a, bg.receiver, 1.0, prevail, loss_a, loss_b, duration, bg.shift_growth);
  const double* cost_a = state_.war_cost.col(a).data();
  const double kappa = sc_.actors[a].decision.casualty_cost;
  for (int l = 0; l < width; ++l)
    later[l] = rules::war_value(rules::war_discount(bg.discount, duration[l]), prevail[l], cost_a[l], kappa, loss_a[l]);
  return rules::war_discount(bg.discount, to_shift);
}

// Bayes' rule on lane l after the receiver's answer to `offer` (rules::screen_types).
void BlockSimulator::screen_types(int l, double offer, double x0, const double* type_cost, bool accepted) {
  const int b = sc_.bargaining.receiver;
  const int types = static_cast<int>(sc_.actors[b].types.size());
  double belief[kMaxTypes];
  for (int k = 0; k < types; ++k) belief[k] = state_.belief(l, b * kMaxTypes + k);
  rules::screen_types(belief, type_cost, types, offer, x0, accepted, sc_.bargaining.acceptance_noise);
  for (int k = 0; k < types; ++k) state_.belief(l, b * kMaxTypes + k) = static_cast<float>(belief[k]);
}

// On shift_day the receiver's effectiveness grows as by arms aid, in running
// lanes at peace. A war already on is fought at the balance it began with:
// that is what a preventive war buys (Powell 2006), and what the proposer's
// war value now assumed.
void BlockSimulator::shift_power(int s) {
  const int width = pass_width();
  const Bargaining& bg = sc_.bargaining;
  if (!rules::shifts_in(s, sc_.run.dt_days, bg)) return;
  double* m = state_.effectiveness.col(bg.receiver).data();
  const LaneMask* running = scratch_->running;
  const int* war_start = state_.war_start_step.data();
  for (int l = 0; l < width; ++l) m[l] = running[l] && war_start[l] < 0 ? rules::armed(m[l], bg.shift_growth) : m[l];
}

// Acceptance (x.mask) moves every party of every stake issue to the settled
// position, which the negotiation phase then agrees; `fight` lanes (a last
// rejection, or a preventive war) start the war, A against B, at full_war.
void BlockSimulator::settle_or_fight(const std::uint8_t* fight, int s) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const Bargaining& bg = sc_.bargaining;
  const int n = model_.actors(), a = bg.proposer, b = bg.receiver;
  const LaneMask* accepted = x.mask;
  const double* offer = st.offer.data();
  const auto& issues = sc_.negotiation.issues;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const Issue& issue = issues[k];
    if (issue.salience[a] <= 0.0 || issue.salience[b] <= 0.0) continue;
    for (int j : model_.parties(static_cast<int>(k))) {
      float* p = st.position.col(static_cast<Eigen::Index>(k) * n + j).data();
      for (int l = 0; l < width; ++l)
        p[l] = accepted[l] ? static_cast<float>(rules::settled_position(issue.position[b], issue.position[a], offer[l]))
                           : p[l];
    }
  }
  for (int l = 0; l < width; ++l) {
    if (!fight[l]) continue;
    start_war(l, a, b, s);
    raise_rung(l, sc_.escalation.full_war_rung, s, AllianceWarCause::kNone);
  }
}

}  // namespace brink

namespace brink {

// The scalar twin's bargaining: BlockSimulator::init_bargaining, bargain and
// settle_or_fight for one replication, with the same rules and draws.
void ScalarTwin::init_bargaining() {
  const int n = model_.actors();
  st_.war_cost.assign(n, 0.0);
  for (int i = 0; i < n; ++i) {
    const Decision& dec = sc_.actors[i].decision;
    st_.war_cost[i] = dec.war_cost;
    if (dec.war_cost_spread <= 0.0) continue;
    double unused = 0.0, u = 0.0;
    uniform_pair(key_, replication_, 0, static_cast<std::uint32_t>(i), Purpose::kResolve, &unused, &u);
    st_.war_cost[i] = rules::private_war_cost(dec.war_cost, dec.war_cost_spread, u);
  }
  for (int i = 0; i < n; ++i) st_.war_cost[i] += sc_.actors[i].types[st_.type[i]].war_cost;
  const int b = sc_.bargaining.receiver;
  st_.cost_low = st_.cost_high = 0.0;
  if (b >= 0) {
    const rules::CostInterval prior =
        rules::public_cost_prior(sc_.actors[b].decision, sc_.actors[b].types, sc_.run.revealed_types, st_.war_cost[b]);
    st_.cost_low = prior.low;
    st_.cost_high = prior.high;
  }
  st_.offer = std::numeric_limits<double>::quiet_NaN();
}

// BlockSimulator::value_after_shift for one replication.
double ScalarTwin::value_after_shift(int s, double* later) const {
  const Bargaining& bg = sc_.bargaining;
  const double to_shift = rules::days_to_shift(s, sc_.run.dt_days, bg);
  *later = 0.0;
  if (to_shift <= 0.0) return 0.0;
  const rules::WarForecast w = forecast(bg.proposer, bg.receiver, 1.0, bg.shift_growth);
  *later = rules::war_value(rules::war_discount(bg.discount, w.duration), w.prevail, st_.war_cost[bg.proposer],
                            sc_.actors[bg.proposer].decision.casualty_cost, w.loss_a);
  return rules::war_discount(bg.discount, to_shift);
}

void ScalarTwin::bargain(int s) {
  const Bargaining& bg = sc_.bargaining;
  ReplicationState& st = st_;
  const int n = model_.actors(), a = bg.proposer, b = bg.receiver;
  if (rules::shifts_in(s, sc_.run.dt_days, bg) && st.war_start_step < 0)  // as BlockSimulator::shift_power
    st.effectiveness[b] = rules::armed(st.effectiveness[b], bg.shift_growth);
  const int round = rules::offer_round(s, sc_.run.dt_days, bg);
  if (round < 0) return;
  const auto& issues = sc_.negotiation.issues;
  bool open = false;
  for (std::size_t k = 0; k < issues.size(); ++k)
    open = open || (issues[k].salience[a] > 0.0 && issues[k].salience[b] > 0.0 && st.agreed[k] == 0);
  if (!open || *std::max_element(st.side.begin(), st.side.end()) > 0) return;
  const Decision& da = sc_.actors[a].decision;
  const Decision& db = sc_.actors[b].decision;
  double later = 0.0;
  const double w_later = value_after_shift(s, &later);
  const rules::WarForecast w = forecast(a, b, 1.0);
  const double u = bg.acceptance_noise > 0.0 ? twin_draw::bargain(key_, replication_, s, b) : 0.5;
  const double delta = rules::war_discount(bg.discount, w.duration);
  const double public_b = rules::war_value(delta, 1.0 - w.prevail, 0.0, db.casualty_cost, w.loss_b);
  const double x0 = rules::reservation_share(public_b);
  const double value_a = rules::war_value(delta, w.prevail, st.war_cost[a], da.casualty_cost, w.loss_a);
  const auto& receiver_types = sc_.actors[b].types;
  const int types = static_cast<int>(receiver_types.size());
  double type_cost[kMaxTypes] = {}, type_belief[kMaxTypes] = {};
  const bool by_type = rules::priced_by_type(receiver_types);
  for (int k = 0; k < types; ++k) {
    type_cost[k] = db.war_cost + receiver_types[k].war_cost;
    type_belief[k] = st.belief[b * kMaxTypes + k];
  }
  const rules::CostBelief belief = by_type ? rules::CostBelief{.cost = type_cost, .belief = type_belief, .types = types}
                                           : rules::CostBelief{.low = st.cost_low, .high = st.cost_high};
  const rules::Proposal p = rules::proposal(x0, value_a, belief, bg.acceptance_noise);
  const double demand = p.offer;
  bool fight = rules::prefers_preventive_war(value_a, later, w_later) || rules::no_bargaining_range(x0, value_a, p.top);
  if (!fight) {
    const bool yes =
        rules::accepts(rules::acceptance_margin(demand, public_b - st.war_cost[b]), bg.acceptance_noise, u);
    st.offer = demand;
    if (by_type && !sc_.run.revealed_types) {  // Bayes' rule on the answer (rules::screen_types)
      rules::screen_types(type_belief, type_cost, types, demand, x0, yes, bg.acceptance_noise);
      for (int k = 0; k < types; ++k) st.belief[b * kMaxTypes + k] = static_cast<float>(type_belief[k]);
    }
    if (yes) {
      for (std::size_t k = 0; k < issues.size(); ++k) {
        const Issue& issue = issues[k];
        if (issue.salience[a] <= 0.0 || issue.salience[b] <= 0.0) continue;
        for (int j : model_.parties(static_cast<int>(k)))
          st.position[k * n + j] =
              static_cast<float>(rules::settled_position(issue.position[b], issue.position[a], demand));
      }
      return;
    }
    st.cost_high = rules::screened_high(demand, x0, st.cost_low, st.cost_high, bg.acceptance_noise);
    fight = round + 1 == bg.rounds;
  }
  if (!fight) return;
  start_war(a, b, s);
  raise_rung(sc_.escalation.full_war_rung, s, AllianceWarCause::kNone);
}

}  // namespace brink
