// The decision phase of the vectorized kernel, in the order of docs/model.md
// ("2. Decisions"): the aggregates, then each action's features and
// utilities; the choice and the belief update are in choose.cpp, the effects
// in effects.cpp. Every loop runs over the block's lanes and calls the
// per-lane rules of rules.hpp.
#include <Eigen/Core>

#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"
#include "brink/model/war_value.hpp"
#include "packet_math.hpp"

namespace brink {

namespace {

// What an action adds to the utility besides its features: its cost and its escalation.
struct ActionTerms {
  float cost, tension;
  int rung;
  const int* block_rung;  // the lanes' rungs
};

// U = rules::utility over the lanes for one or two types in one pass (the
// features do not depend on the type), reading feature_a/feature_b only when
// the action has them (features an action never uses are neither computed nor
// read), with the escalation feature computed in the same pass.
template <bool kHasA, bool kHasB, int kTypes, class Scratch>
void weigh(float* __restrict u0, float* __restrict u1, const TypeWeights* w, const ActionTerms& a, float impatience,
           const Scratch& x, int width) {
  const TypeWeights w0 = w[0], w1 = w[kTypes - 1];
  const float cost = a.cost, tension = a.tension;
  const int action_rung = a.rung;
  const int* rung = a.block_rung;
  for (int l = 0; l < width; ++l) {
    const float fa = kHasA ? x.feature_a[l] : 0.0f;
    const float fb = kHasB ? x.feature_b[l] : 0.0f;
    const float escalation = rules::escalation_of(tension, action_rung, rung[l]);
    const float scale = x.tension_factor[l];
    u0[l] = rules::utility(w0.security, fa, w0.cost, cost, w0.escalation, escalation, scale, w0.a, fa, w0.b, fb,
                           w0.impatience, impatience);
    if (kTypes == 2)
      u1[l] = rules::utility(w1.security, fa, w1.cost, cost, w1.escalation, escalation, scale, w1.a, fa, w1.b, fb,
                             w1.impatience, impatience);
  }
}

// weigh() for a packed block whose lanes weigh differently: each weight is
// read per lane. The expression is the scalar path's, but the compiler fuses
// and hoists loop-invariant scalar products differently, so a utility may
// differ from the lane's unpacked value in the last bit (outcomes and
// decisions stay the same in the tests; beliefs agree to float rounding).
// w(feature) gives the type's lane array of a feature's weight.
template <bool kHasA, bool kHasB, class Weights, class Scratch>
void weigh_lanes(float* __restrict u, const Weights& w, Feature fa, Feature fb, const ActionTerms& a, float impatience,
                 const Scratch& x, int width) {
  const float* zero = x.zero_lanes;
  const float* __restrict w_security = fa == kSecurity ? w(kSecurity) : zero;
  const float* __restrict w_cost = w(kCost);
  const float* __restrict w_escalation = w(kEscalation);
  const float* __restrict w_a = fa < kFeatureCount && fa != kSecurity ? w(fa) : zero;
  const float* __restrict w_b = fb < kFeatureCount ? w(fb) : zero;
  const float* __restrict w_impatience = w(kImpatience);
  const float cost = a.cost, tension = a.tension;
  const int action_rung = a.rung;
  const int* rung = a.block_rung;
  for (int l = 0; l < width; ++l) {
    const float f_a = kHasA ? x.feature_a[l] : 0.0f;
    const float f_b = kHasB ? x.feature_b[l] : 0.0f;
    const float escalation = rules::escalation_of(tension, action_rung, rung[l]);
    u[l] = rules::utility(w_security[l], f_a, w_cost[l], cost, w_escalation[l], escalation, x.tension_factor[l], w_a[l],
                          f_a, w_b[l], f_b, w_impatience[l], impatience);
  }
}

template <bool kHasA, bool kHasB, class Scratch>
void weigh_types(Scratch& x, int m, int type_count, const TypeWeights* w, const ActionTerms& a, float impatience,
                 int width) {
  int k = 0;
  for (; k + 2 <= type_count; k += 2)
    weigh<kHasA, kHasB, 2>(x.util(k, m), x.util(k + 1, m), w + k, a, impatience, x, width);
  if (k < type_count) weigh<kHasA, kHasB, 1>(x.util(k, m), x.util(k, m), w + k, a, impatience, x, width);
}

}  // namespace

void BlockSimulator::decide_and_act(int s) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const int n = model_.actors();
  decision_aggregates();
  for (int i = 0; i < n; ++i) {
    int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
    if (sc_.actors[i].actions.size() == 1 && rules::always_feasible(sc_.actors[i].actions[0].kind)) {
      // Nothing to choose, and nothing for others to learn from the choice.
      std::fill(choice, choice + width, 0);
      x.taken[static_cast<std::size_t>(i)] = 1;
      continue;
    }
    actor_aggregates(i);
    issue_aggregates(i);
    features_and_utilities(i);
    choose(i, s);
    idle_where_nothing_is_feasible(i);
    if (model_.learns_type_of(i)) update_beliefs(i);
  }
  // Decisions are simultaneous: all actors chose on the same state; effects apply in actor order.
  for (int i = 0; i < n; ++i) apply_effects(i, s);
}

// What every actor sees before anyone acts: who is at war, the tension scale,
// and the believed resolve r̄_j = Σ_k r_jk b_jk of every actor.
void BlockSimulator::decision_aggregates() {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  const int n = model_.actors();
  for (int l = 0; l < width; ++l) x.at_war[l] = 0.0f;
  for (int j = 0; j < n; ++j) {
    const int* side = st.side.col(j).data();
    for (int l = 0; l < width; ++l) x.at_war[l] = side[l] > 0 ? 1.0f : x.at_war[l];
  }
  const double* tension = st.tension.data();
  for (int l = 0; l < width; ++l) x.tension_factor[l] = static_cast<float>(1.0 + tension[l]);
  for (int j = 0; j < n; ++j) {
    float* resolve = x.believed_resolve.data() + static_cast<std::size_t>(j) * L;
    std::fill(resolve, resolve + width, 0.0f);
    const auto& types = sc_.actors[j].types;
    for (std::size_t k = 0; k < types.size(); ++k) {
      const float r = static_cast<float>(types[k].resolve);
      const float* b = st.belief.col(j * kMaxTypes + static_cast<int>(k)).data();
      for (int l = 0; l < width; ++l) resolve[l] += r * b[l];
    }
  }
}

// Own-side forces and the believed resolve of the most resolved adversary.
void BlockSimulator::actor_aggregates(int i) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  const double rho = sc_.actors[i].decision.ready_weight;
  double* own = x.contact;  // double accumulators, reused
  double* own_d = x.hazard;
  // 1 + the actor's own forces (the first pass writes what 1.0 + ... adds), then its allies'.
  auto add_side = [&](int j, bool first) {
    const double* d = st.deployed.col(j).data();
    const double* r = st.ready.col(j).data();
    for (int l = 0; l < width; ++l) {
      own[l] = (first ? 1.0 : own[l]) + (d[l] + rho * r[l]);
      own_d[l] = (first ? 1.0 : own_d[l]) + d[l];
    }
  };
  add_side(i, true);
  for (int j : model_.allies(i)) add_side(j, false);
  for (int l = 0; l < width; ++l) {
    x.own[l] = static_cast<float>(own[l]);
    x.own_deployed[l] = static_cast<float>(own_d[l]);
  }
  // Security and a settlement matter as much as the most resolved adversary
  // is believed to be (1 when the actor has no adversary).
  const auto& adversaries = model_.adversaries(i);
  if (adversaries.empty()) std::fill(x.threat_resolve, x.threat_resolve + width, 1.0f);
  bool first = true;  // the first adversary's pass starts from 0
  for (int j : adversaries) {
    const float* r = x.believed_resolve.data() + static_cast<std::size_t>(j) * L;
    for (int l = 0; l < width; ++l) x.threat_resolve[l] = rules::lmax(first ? 0.0f : x.threat_resolve[l], r[l]);
    first = false;
  }
}

namespace {

// One issue's terms for one actor, in one pass over the lanes (docs/model.md,
// "Issue aggregates"). kOthers > 0 fixes the number of other parties at
// compile time, so the loop over them unrolls inside the lane loop and the
// lane loop vectorizes; kOthers = 0 takes the count at run time.
template <int kOthers, bool kCore>
void issue_pass(const IssuePass& q, float* __restrict open_party, float* __restrict open_movable,
                float* __restrict propose_gain, float* __restrict concede_gain, float* __restrict propose_settle,
                float* __restrict concede_settle) {
  // Locals, so that no store to the outputs can be thought to change them.
  constexpr int kSlots = kOthers > 0 ? kOthers : 1;
  const int others = kOthers > 0 ? kOthers : q.others;
  const int* __restrict agreed = q.agreed;
  const float* __restrict p_own = q.p_own;
  const float* p_other[kSlots];
  float flex_other[kSlots];
  for (int o = 0; o < kSlots; ++o) {
    p_other[o] = q.p_other[o];
    flex_other[o] = q.flex_other[o];
  }
  const float movable = q.movable ? 1.0f : 0.0f, inv = q.inv;
  const float gain = q.s_own * q.flex, loss = q.s_own * (1.0f - q.s_own), room = 1.0f - q.s_own;
  const int width = q.width;
  for (int l = 0; l < width; ++l) {
    const float open = agreed[l] != 0 ? 0.0f : 1.0f;
    open_party[l] += open;
    open_movable[l] += open * movable;
    propose_gain[l] += open * gain;
    concede_gain[l] -= open * loss;
    if (!kCore) continue;
    float sum = 0.0f, move = 0.0f;
    for (int o = 0; o < others; ++o) {
      const float* p = kOthers > 0 ? p_other[o] : q.p_other[o];
      const float flex_o = kOthers > 0 ? flex_other[o] : q.flex_other[o];
      sum += p[l];
      // How far the other party would move toward us under a proposal of unit concession.
      move += rules::lmin(std::abs(p[l] - p_own[l]), flex_o);
    }
    const float mean = sum * inv;
    propose_settle[l] += open * (move * inv);
    concede_settle[l] += open * rules::lmin(std::abs(mean - p_own[l]), room);
  }
}

}  // namespace

// Each talking actor's issue passes (docs/model.md, "Issue aggregates"):
// the issues it weighs, their other parties' position columns and
// flexibilities, and the pass for their number. The columns are the
// block's, which stay where they are.
void BlockSimulator::plan_issue_passes() {
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  x.issue_plans.assign(static_cast<std::size_t>(n), {});
  x.talks.assign(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const Actor& actor = sc_.actors[i];
    const bool talks = std::any_of(actor.actions.begin(), actor.actions.end(), [](const ActionSpec& a) {
      return a.kind == ActionKind::kPropose || a.kind == ActionKind::kConcede;
    });
    if (!talks) continue;
    x.talks[static_cast<std::size_t>(i)] = 1;
    std::vector<IssuePlan>& plans = x.issue_plans[i];
    for (std::size_t k = 0; k < issues.size(); ++k) {
      const Issue& issue = issues[k];
      IssuePlan plan;
      IssuePass& q = plan.pass;
      q.s_own = static_cast<float>(issue.salience[i]);
      if (q.s_own <= 0.0f) continue;
      q.agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
      q.p_own = st.position.col(static_cast<Eigen::Index>(k) * n + i).data();
      q.movable = q.s_own < 1.0f;
      q.core = issue.core;
      float flex = 0.0f;
      for (int j : model_.parties(static_cast<int>(k))) {
        if (j == i) continue;
        const float flex_j = static_cast<float>(1.0 - issue.salience[j]);
        flex += flex_j;
        plan.p_other.push_back(st.position.col(static_cast<Eigen::Index>(k) * n + j).data());
        plan.flex_other.push_back(flex_j);
      }
      q.others = static_cast<int>(plan.p_other.size());
      // Where every party holds its position (salience 1, flexibility 0), a
      // talk gains nothing and settles nothing: only the open counts, as
      // without other parties (the pass would add exact zeros).
      const bool immovable = !q.movable && flex == 0.0f;
      if (q.others > 0 && !immovable) {
        q.inv = 1.0f / static_cast<float>(q.others);
        q.flex = flex * q.inv;
        static constexpr IssuePassFn kPasses[2][4] = {
            {&issue_pass<0, false>, &issue_pass<1, false>, &issue_pass<2, false>, &issue_pass<3, false>},
            {&issue_pass<0, true>, &issue_pass<1, true>, &issue_pass<2, true>, &issue_pass<3, true>}};
        plan.run = kPasses[q.core ? 1 : 0][q.others <= 3 ? q.others : 0];
      }
      plans.push_back(std::move(plan));
    }
    for (IssuePlan& plan : plans) {  // now that the plans stay where they are
      plan.pass.p_other = plan.p_other.data();
      plan.pass.flex_other = plan.flex_other.data();
    }
  }
}

// Open issues where actor i is a party, and what talks could move
// (docs/model.md, "Issue aggregates"); only for actors that can talk.
void BlockSimulator::issue_aggregates(int i) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  if (x.talks[static_cast<std::size_t>(i)] == 0) return;
  for (float* a : {x.open_party, x.open_movable, x.propose_gain, x.concede_gain, x.propose_settle, x.concede_settle})
    std::fill(a, a + width, 0.0f);
  for (IssuePlan& plan : x.issue_plans[static_cast<std::size_t>(i)]) {
    IssuePass& q = plan.pass;
    q.width = width;
    if (plan.run != nullptr) {
      plan.run(q, x.open_party, x.open_movable, x.propose_gain, x.concede_gain, x.propose_settle, x.concede_settle);
      continue;
    }
    // No other party, or no party that can move: only the open counts.
    for (int l = 0; l < width; ++l) {
      const float open = q.agreed[l] != 0 ? 0.0f : 1.0f;
      x.open_party[l] += open;
      if (q.movable) x.open_movable[l] += open;
    }
  }
}

// The features of every action of actor i, then their utilities per type
// (docs/model.md, "Features" and "Utility"); every lane keeps one feasible
// action.
void BlockSimulator::features_and_utilities(int i) {
  const Actor& actor = sc_.actors[i];
  const int menu = static_cast<int>(actor.actions.size());
  // Attacks on one target at several rungs share their features (computed once).
  int attack_target = -1;
  // (Not when each type prices the attack anew: war_gain_as_type reads the forecast of the attack just weighed.)
  const bool attacks_share_features = !attack_features_depend_on_rung(i) && !model_.types_price_war_apart(i);
  for (int m = 0; m < menu; ++m) {
    const ActionFeatures f = action_features(i, m, attacks_share_features ? &attack_target : nullptr);
    action_utilities(i, m, f);
  }
  keep_one_feasible(menu);
}

// Action m's kind-specific features into feature_a and feature_b, and its
// feasibility into row m of `feasible` (lanes that have ended may only hold).
// shared_attack: the target whose attack features attack_a/attack_b hold
// (updated here), or nullptr when attacks' features depend on their rung.
BlockSimulator::ActionFeatures BlockSimulator::action_features(int i, int m, int* shared_attack) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const ActionSpec& a = sc_.actors[i].actions[m];
  LaneMask* ok = x.feasible.data() + static_cast<std::size_t>(m) * L;
  const LaneMask* running = x.running;
  switch (a.kind) {
    case ActionKind::kMobilize:
    case ActionKind::kRaiseReadiness:
    case ActionKind::kDeploy:
    case ActionKind::kWithdraw:
      return troop_move_features(i, a, ok);
    case ActionKind::kPropose:
    case ActionKind::kConcede:
      return talk_features(a, ok);
    case ActionKind::kSanction:
    case ActionKind::kArmPartner: {
      const double* eff = state_.effectiveness.col(a.target).data();
      const bool sanction = a.kind == ActionKind::kSanction;
      for (int l = 0; l < width; ++l)
        ok[l] = (running[l] != 0) & (sanction ? rules::can_sanction(eff[l]) : rules::can_arm(eff[l])) ? 1 : 0;
      return {};
    }
    case ActionKind::kAttack:
      return attack_action_features(i, a, ok, shared_attack);
    case ActionKind::kRetaliate:
      return retaliate_features(i, ok);
    default: {  // no condition: feasible wherever the lane runs, and "hold" everywhere
      const LaneMask ended_ok = a.kind == ActionKind::kHold ? 1 : 0;
      for (int l = 0; l < width; ++l) ok[l] = running[l] ? LaneMask{1} : ended_ok;
      return {};
    }
  }
}

// Mobilize, raise readiness, deploy and withdraw: the troops the action would
// move (`amount`), feasible where that is any, and the security it buys.
BlockSimulator::ActionFeatures BlockSimulator::troop_move_features(int i, const ActionSpec& a, LaneMask* ok) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  const double rho = sc_.actors[i].decision.ready_weight;
  const double* deployed = st.deployed.col(i).data();
  const double* ready = st.ready.col(i).data();
  const double* reserve = st.reserve.col(i).data();
  double* amount = x.amount;
  const double size = a.amount;  // a local: stores to `amount` could alias the scenario's doubles
  double share = 1.0 - rho;      // deployed troops count fully, ready ones with weight rho
  if (a.kind == ActionKind::kMobilize || a.kind == ActionKind::kRaiseReadiness) {
    const double* mobilize_dt = x.lane_column(x.mobilize_dt, i);
    if (a.kind == ActionKind::kMobilize)
      for (int l = 0; l < width; ++l) amount[l] = rules::mobilize_amount(reserve[l], size, mobilize_dt[l]);
    else
      for (int l = 0; l < width; ++l) amount[l] = rules::mobilize_amount(reserve[l], size, size);
    share = rho;
  } else if (a.kind == ActionKind::kDeploy) {
    const double* rate_dt = x.lane_column(x.rate_dt, i);
    const double* cap = x.lane_column(x.cap, i);
    for (int l = 0; l < width; ++l) amount[l] = rules::deploy_amount(ready[l], deployed[l], size, rate_dt[l], cap[l]);
  } else {
    const double* rate_dt = x.lane_column(x.rate_dt, i);
    for (int l = 0; l < width; ++l) amount[l] = rules::withdraw_amount(deployed[l], size, rate_dt[l]);
    share = -share;
  }
  for (int l = 0; l < width; ++l) {
    ok[l] = (x.running[l] != 0) & rules::moves_troops(amount[l]) ? 1 : 0;
    x.log_arg[l] = (x.own[l] + static_cast<float>(share * amount[l])) / x.own[l];
  }
  log_in_place(x.log_arg, width);
  for (int l = 0; l < width; ++l) x.feature_a[l] = rules::security_of(x.threat_resolve[l], x.log_arg[l]);
  return {.a = kSecurity};
}

// Propose and concede: the issue gain and the settlement they bring, feasible
// where talks on a core issue are open and no war is on.
BlockSimulator::ActionFeatures BlockSimulator::talk_features(const ActionSpec& a, LaneMask* ok) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const bool propose = a.kind == ActionKind::kPropose;
  const float kappa = static_cast<float>(a.concession);
  const float* gain = propose ? x.propose_gain : x.concede_gain;
  const float* settle = propose ? x.propose_settle : x.concede_settle;
  const float* open = propose ? x.open_party : x.open_movable;
  for (int l = 0; l < width; ++l) {
    x.feature_a[l] = kappa * gain[l];
    x.feature_b[l] = x.threat_resolve[l] * kappa * settle[l];
    ok[l] = (x.running[l] != 0) & (open[l] > 0.5f) & (x.at_war[l] == 0.0f) ? 1 : 0;
  }
  return {.a = kIssueGain, .b = kSettlement};
}

// An attack: its war gain and credibility (attack_features, or a copy of the
// last ones computed for the same target), feasible below its rung where the
// attacker is not defending and the target not attacking.
BlockSimulator::ActionFeatures BlockSimulator::attack_action_features(int i, const ActionSpec& a, LaneMask* ok,
                                                                      int* shared_attack) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  if (shared_attack != nullptr && a.target == *shared_attack) {
    std::copy(x.attack_a, x.attack_a + width, x.feature_a);
    std::copy(x.attack_b, x.attack_b + width, x.feature_b);
  } else {
    attack_features(i, a);
    if (shared_attack != nullptr) {
      std::copy(x.feature_a, x.feature_a + width, x.attack_a);
      std::copy(x.feature_b, x.feature_b + width, x.attack_b);
      *shared_attack = a.target;
    }
  }
  const int* rung = st.rung.data();
  const int* side_i = st.side.col(i).data();
  const int* side_t = st.side.col(a.target).data();
  for (int l = 0; l < width; ++l)
    ok[l] = (x.running[l] != 0) & (rung[l] < a.rung) & (side_i[l] != 2) & (side_t[l] != 1) ? 1 : 0;
  return {.a = kWarGain, .b = kCredibility};
}

// Retaliation: joining a war on the defending side of an actor one protects
// keeps one's commitments credible; feasible where such a war is on and the
// actor is not yet in a war.
BlockSimulator::ActionFeatures BlockSimulator::retaliate_features(int i, LaneMask* ok) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  std::fill(x.feature_b, x.feature_b + width, 0.0f);
  for (int j = 0; j < model_.actors(); ++j) {
    const float c = static_cast<float>(std::max(model_.commitment(i, j), sc_.relations.ally[i][j] ? 1.0 : 0.0));
    if (c <= 0.0f) continue;
    const int* side_j = state_.side.col(j).data();
    for (int l = 0; l < width; ++l) x.feature_b[l] = std::max(x.feature_b[l], side_j[l] == 2 ? c : 0.0f);
  }
  const int* side_i = state_.side.col(i).data();
  for (int l = 0; l < width; ++l) ok[l] = (x.running[l] != 0) & (x.feature_b[l] > 0.0f) & (side_i[l] == 0) ? 1 : 0;
  return {.b = kCredibility};
}

// Action m's utility for every type of actor i (rules::utility), from the
// features action_features left.
void BlockSimulator::action_utilities(int i, int m, ActionFeatures f) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const Actor& actor = sc_.actors[i];
  const ActionSpec& a = actor.actions[m];
  const Decision& dec = actor.decision;
  const int type_count = static_cast<int>(actor.types.size());
  const double day = next_step_ * sc_.run.dt_days;
  const float impatience = static_cast<float>(std::max(0.0, day - dec.patience_days) / dec.patience_days);
  const Feature fa = f.a, fb = f.b;
  const ActionTerms terms{-static_cast<float>(a.cost), static_cast<float>(a.tension), a.rung, state_.rung.data()};
  // Observers price type k's attack with type k's war cost: feature_a is then made again for each type
  // from the attack's forecast (war_gain_as_type).
  const bool war_value_per_type = a.kind == ActionKind::kAttack && model_.types_price_war_apart(i);
  if (!x.lane_weights.empty()) {
    for (int k = 0; k < type_count; ++k) {
      if (war_value_per_type) war_gain_as_type(i, k);
      auto w = [&](int feature) -> const float* { return x.lane_weight(i, k, feature); };
      float* u = x.util(k, m);
      if (fa == kFeatureCount && fb == kFeatureCount)
        weigh_lanes<false, false>(u, w, fa, fb, terms, impatience, x, width);
      else if (fa == kFeatureCount)
        weigh_lanes<false, true>(u, w, fa, fb, terms, impatience, x, width);
      else if (fb == kFeatureCount)
        weigh_lanes<true, false>(u, w, fa, fb, terms, impatience, x, width);
      else
        weigh_lanes<true, true>(u, w, fa, fb, terms, impatience, x, width);
    }
    return;
  }
  // Every type weighs the same features (but war values priced per type, above).
  TypeWeights* weights = x.type_weights.data();
  for (int k = 0; k < type_count; ++k) {
    const auto& w = actor.types[k].weights;
    weights[k] = TypeWeights{
        .security = fa == kSecurity ? static_cast<float>(w[kSecurity]) : 0.0f,
        .cost = static_cast<float>(w[kCost]),
        .escalation = static_cast<float>(w[kEscalation]),
        .a = fa < kFeatureCount && fa != kSecurity ? static_cast<float>(w[fa]) : 0.0f,
        .b = fb < kFeatureCount ? static_cast<float>(w[fb]) : 0.0f,
        .impatience = static_cast<float>(w[kImpatience]),
    };
  }
  if (war_value_per_type) {
    for (int k = 0; k < type_count; ++k) {
      war_gain_as_type(i, k);
      weigh<true, true, 1>(x.util(k, m), x.util(k, m), weights + k, terms, impatience, x, width);
    }
    return;
  }
  if (fa == kFeatureCount && fb == kFeatureCount)
    weigh_types<false, false>(x, m, type_count, weights, terms, impatience, width);
  else if (fa == kFeatureCount)
    weigh_types<false, true>(x, m, type_count, weights, terms, impatience, width);
  else if (fb == kFeatureCount)
    weigh_types<true, false>(x, m, type_count, weights, terms, impatience, width);
  else
    weigh_types<true, true>(x, m, type_count, weights, terms, impatience, width);
}

// The logit needs one feasible action in every lane: where none of the menu's
// `menu` actions is, the first entry becomes feasible for the draw, and
// idle_where_nothing_is_feasible then takes the draw back.
void BlockSimulator::keep_one_feasible(int menu) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  LaneMask* any = x.any_feasible;
  std::copy(x.feasible.data(), x.feasible.data() + width, any);
  for (int m = 1; m < menu; ++m) {
    const LaneMask* ok = x.feasible.data() + static_cast<std::size_t>(m) * L;
    for (int l = 0; l < width; ++l) any[l] |= ok[l];
  }
  for (int l = 0; l < width; ++l) x.feasible[l] = any[l] ? x.feasible[l] : LaneMask{1};
}

// Where no action of actor i was feasible it does nothing this step: choice
// -1 takes no effect, counts no action, and (likelihood 0 under every type)
// leaves the belief about its type where it was. Doing the first entry
// instead ran effects the docs make impossible there: a retaliation with no
// war on, which raised the ladder to the alliance rung, or a proposal in war.
void BlockSimulator::idle_where_nothing_is_feasible(int i) {
  const int width = pass_width();
  const Scratch& x = *scratch_;
  int* choice = scratch_->choice.data() + static_cast<std::size_t>(i) * L;
  for (int l = 0; l < width; ++l) choice[l] = x.any_feasible[l] ? choice[l] : -1;
}

// Attack features: credibility −Protectors/OwnD (extended deterrence:
// protectors' forces weighted by commitment and believed resolve) into
// feature_b, and into feature_a the war gain: ln(OwnD/Defenders), or with
// decision.war_forecast the war value W_i (then the defenders and the log
// are not computed).
void BlockSimulator::attack_features(int i, const ActionSpec& a) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const BlockState& st = state_;
  const int n = model_.actors();
  const double rho = sc_.actors[i].decision.ready_weight;
  const int t = a.target;
  const bool forecast = sc_.actors[i].decision.war_forecast;
  double* defenders = x.defenders;
  double* protectors = x.contact;
  if (!forecast) {
    const double* dt_ = st.deployed.col(t).data();
    const double* advantage = x.lane_column(x.defence, t);
    for (int l = 0; l < width; ++l) defenders[l] = 1.0 + dt_[l] * advantage[l];
    for (int j : model_.allies(t)) {
      double c = 0.0;  // an ally of both sides fights for the attacker (start_war): counted in OwnD only
      if (rules::forecast_side(model_, i, t, j, &c) != rules::kDefendingSide) continue;
      const double* d = st.deployed.col(j).data();
      for (int l = 0; l < width; ++l) defenders[l] += d[l];
    }
  }
  std::fill(protectors, protectors + width, 0.0);
  for (int j = 0; j < n; ++j) {
    double c = 0.0;  // the protectors of the war forecast, with their commitments
    if (rules::forecast_side(model_, i, t, j, &c) != rules::kProtector) continue;
    const double* d = st.deployed.col(j).data();
    const double* r = st.ready.col(j).data();
    const float* resolve = x.believed_resolve.data() + static_cast<std::size_t>(j) * L;
    for (int l = 0; l < width; ++l) {
      if (!forecast) defenders[l] += c * d[l];  // loop-invariant: GCC keeps one loop per case
      protectors[l] += c * resolve[l] * (d[l] + rho * r[l]);
    }
  }
  for (int l = 0; l < width; ++l) x.feature_b[l] = -static_cast<float>(protectors[l]) / x.own_deployed[l];
  if (forecast) {
    attack_war_value(i, a);
    return;
  }
  for (int l = 0; l < width; ++l) x.log_arg[l] = x.own_deployed[l] / static_cast<float>(defenders[l]);
  log_in_place(x.log_arg, width);
  std::copy(x.log_arg, x.log_arg + width, x.feature_a);
}

}  // namespace brink
