// The scalar twin's decisions and effects (docs/model.md, "2. Decisions"),
// following the kernel's decide.cpp, choose.cpp and effects.cpp step for step
// for one replication.
#include <algorithm>
#include <cmath>

#include "brink/model/logit.hpp"
#include "brink/model/rules.hpp"
#include "brink/model/scalar_twin.hpp"
#include "brink/model/war_value.hpp"

namespace brink {

void ScalarTwin::decide_and_act(int s) {
  const int n = model_.actors();
  const bool at_war = *std::max_element(st_.side.begin(), st_.side.end()) > 0;
  std::vector<float> believed_resolve(n, 0.0f);
  for (int j = 0; j < n; ++j) {
    const auto& types = sc_.actors[j].types;
    for (std::size_t k = 0; k < types.size(); ++k)
      believed_resolve[j] += static_cast<float>(types[k].resolve) * st_.belief[j * kMaxTypes + k];
  }
  for (int i = 0; i < n; ++i) {
    const auto& menu = sc_.actors[i].actions;
    choice_[i] = menu.size() == 1 && rules::always_feasible(menu[0].kind) ? 0 : decide(i, s, believed_resolve, at_war);
  }
  for (int i = 0; i < n; ++i) {
    if (choice_[i] < 0) continue;  // nothing was feasible: the actor does nothing
    st_.last_action[i] = choice_[i];
    apply_effect(i, choice_[i], s);
  }
}

// The kernel's issue_aggregates for one lane.
ScalarTwin::IssueTerms ScalarTwin::issue_terms(int i) const {
  const ReplicationState& st = st_;
  const int n = model_.actors();
  IssueTerms t;
  for (std::size_t k = 0; k < sc_.negotiation.issues.size(); ++k) {
    const Issue& issue = sc_.negotiation.issues[k];
    const float s_own = static_cast<float>(issue.salience[i]);
    if (s_own <= 0.0f) continue;
    const float open = st.agreed[k] != 0 ? 0.0f : 1.0f;
    const float p_own = st.position[k * n + i];
    t.open_party += open;
    if (s_own < 1.0f) t.open_movable += open;
    float sum = 0.0f, move = 0.0f, flex = 0.0f;
    int others = 0;
    for (int j : model_.parties(static_cast<int>(k))) {
      if (j == i) continue;
      ++others;
      const float flex_j = static_cast<float>(1.0 - issue.salience[j]);
      flex += flex_j;
      sum += st.position[k * n + j];
      move += std::min(std::abs(st.position[k * n + j] - p_own), flex_j);
    }
    if (others == 0) continue;
    const float inv = 1.0f / static_cast<float>(others);
    flex *= inv;
    t.propose_gain += open * s_own * flex;
    t.concede_gain -= open * s_own * (1.0f - s_own);
    if (!issue.core) continue;
    const float mean = sum * inv;
    t.propose_settle += open * (move * inv);
    t.concede_settle += open * std::min(std::abs(mean - p_own), 1.0f - s_own);
  }
  return t;
}

// What actor i sees before it weighs its actions: the kernel's aggregates
// (decision_aggregates, actor_aggregates, issue_aggregates) for one lane.
ScalarTwin::ActorView ScalarTwin::actor_view(int i, int s, const std::vector<float>& believed_resolve,
                                             bool at_war) const {
  const ReplicationState& st = st_;
  const Decision& dec = sc_.actors[i].decision;
  const double rho = dec.ready_weight;
  double own_sum = 1.0, own_d_sum = 1.0;
  auto add_side = [&](int j) {
    own_sum += st.deployed[j] + rho * st.ready[j];
    own_d_sum += st.deployed[j];
  };
  add_side(i);
  for (int j : model_.allies(i)) add_side(j);
  ActorView v;
  v.own = static_cast<float>(own_sum);
  v.own_d = static_cast<float>(own_d_sum);
  v.threat_resolve = model_.adversaries(i).empty() ? 1.0f : 0.0f;
  for (int j : model_.adversaries(i)) v.threat_resolve = rules::lmax(v.threat_resolve, believed_resolve[j]);
  v.tension_factor = static_cast<float>(1.0 + st.tension);
  v.impatience = static_cast<float>(std::max(0.0, s * sc_.run.dt_days - dec.patience_days) / dec.patience_days);
  v.at_war = at_war;
  v.issues = issue_terms(i);
  return v;
}

// Action m's kind-specific features and feasibility (the kernel's action_features).
ScalarTwin::ActionValues ScalarTwin::action_values(int i, int m, const ActorView& v,
                                                   const std::vector<float>& believed_resolve) const {
  const ReplicationState& st = st_;
  const Actor& actor = sc_.actors[i];
  const Forces& f = actor.forces;
  const Decision& dec = actor.decision;
  const ActionSpec& a = actor.actions[m];
  const int n = model_.actors();
  const double dt = sc_.run.dt_days, rho = dec.ready_weight;
  ActionValues r;
  switch (a.kind) {
    case ActionKind::kMobilize:
    case ActionKind::kRaiseReadiness:
    case ActionKind::kDeploy:
    case ActionKind::kWithdraw: {
      double amount = 0.0, share = 1.0 - rho;
      if (a.kind == ActionKind::kDeploy) {
        amount = rules::deploy_amount(st.ready[i], st.deployed[i], a.amount, f.deployment_rate * dt, f.deployed_cap);
      } else if (a.kind == ActionKind::kWithdraw) {
        amount = rules::withdraw_amount(st.deployed[i], a.amount, f.deployment_rate * dt);
        share = -share;
      } else {
        const double rate_cap = a.kind == ActionKind::kMobilize ? f.mobilization_rate * dt : a.amount;
        amount = rules::mobilize_amount(st.reserve[i], a.amount, rate_cap);
        share = rho;
      }
      r.ok = rules::moves_troops(amount);
      r.fa =
          rules::security_of(v.threat_resolve, rules::log_float((v.own + static_cast<float>(share * amount)) / v.own));
      r.ka = kSecurity;
      break;
    }
    case ActionKind::kPropose:
    case ActionKind::kConcede: {
      const bool propose = a.kind == ActionKind::kPropose;
      const float kappa = static_cast<float>(a.concession);
      r.fa = kappa * (propose ? v.issues.propose_gain : v.issues.concede_gain);
      r.fb = v.threat_resolve * kappa * (propose ? v.issues.propose_settle : v.issues.concede_settle);
      r.ka = kIssueGain;
      r.kb = kSettlement;
      r.ok = ((propose ? v.issues.open_party : v.issues.open_movable) > 0.5f) && !v.at_war;
      break;
    }
    case ActionKind::kSanction:
      r.ok = rules::can_sanction(st.effectiveness[a.target]);
      break;
    case ActionKind::kArmPartner:
      r.ok = rules::can_arm(st.effectiveness[a.target]);
      break;
    case ActionKind::kAttack: {
      const int t = a.target;
      double defenders = 1.0 + st.deployed[t] * sc_.actors[t].combat.defence_advantage, protectors = 0.0;
      for (int j : model_.allies(t)) {
        double c = 0.0;  // an ally of both sides is counted in OwnD only, as in the kernel
        if (rules::forecast_side(model_, i, t, j, &c) == rules::kDefendingSide) defenders += st.deployed[j];
      }
      for (int j = 0; j < n; ++j) {
        double c = 0.0;
        if (rules::forecast_side(model_, i, t, j, &c) != rules::kProtector) continue;
        defenders += c * st.deployed[j];
        protectors += c * believed_resolve[j] * (st.deployed[j] + rho * st.ready[j]);
      }
      r.fb = -static_cast<float>(protectors) / v.own_d;
      if (dec.war_forecast) {  // W_i replaces the log force ratio
        const double intensity = a.rung >= sc_.escalation.full_war_rung ? 1.0 : sc_.combat.limited_war_intensity;
        const rules::WarForecast w = forecast(i, t, intensity);
        const double delta = rules::war_discount(sc_.bargaining.discount, w.duration);
        r.fa = static_cast<float>(rules::war_value(delta, w.prevail, st.war_cost[i], dec.casualty_cost, w.loss_a));
        r.discount = delta;
        r.prevail = w.prevail;
        r.loss = w.loss_a;
      } else {
        r.fa = rules::log_float(v.own_d / static_cast<float>(defenders));
      }
      r.ka = kWarGain;
      r.kb = kCredibility;
      r.ok = st.rung < a.rung && st.side[i] != 2 && st.side[t] != 1;
      break;
    }
    case ActionKind::kRetaliate:
      for (int j = 0; j < n; ++j) {
        const float c = static_cast<float>(std::max(model_.commitment(i, j), sc_.relations.ally[i][j] ? 1.0 : 0.0));
        if (c <= 0.0f) continue;
        r.fb = std::max(r.fb, st.side[j] == 2 ? c : 0.0f);
      }
      r.kb = kCredibility;
      r.ok = r.fb > 0.0f && st.side[i] == 0;
      break;
    default:
      break;
  }
  return r;
}

// Actor i's choice at step s: features, utilities per type, the logit and
// the draw from its own type's weights, then Bayes' rule on the public
// belief about its type.
int ScalarTwin::decide(int i, int s, const std::vector<float>& believed_resolve, bool at_war) {
  ReplicationState& st = st_;
  const Actor& actor = sc_.actors[i];
  const int menu = static_cast<int>(actor.actions.size());
  const int type_count = static_cast<int>(actor.types.size());
  const ActorView view = actor_view(i, s, believed_resolve, at_war);
  std::vector<float> utility(static_cast<std::size_t>(type_count) * menu);
  std::vector<std::uint8_t> feasible(menu, 1);
  const bool war_value_per_type = model_.types_price_war_apart(i);
  for (int m = 0; m < menu; ++m) {
    const ActionSpec& a = actor.actions[m];
    ActionValues f = action_values(i, m, view, believed_resolve);
    const float escalation = rules::escalation_of(static_cast<float>(a.tension), a.rung, st.rung);
    feasible[m] = f.ok ? 1 : 0;
    for (int k = 0; k < type_count; ++k) {
      const auto& w = actor.types[k].weights;
      if (war_value_per_type && a.kind == ActionKind::kAttack) {  // observers price type k's attack at its cost
        const double cost = rules::cost_as_type(st.war_cost[i], actor.types[st.type[i]].war_cost,
                                                actor.types[k].war_cost, k == st.type[i]);
        f.fa = static_cast<float>(rules::war_value(f.discount, f.prevail, cost, actor.decision.casualty_cost, f.loss));
      }
      const float w_sec = f.ka == kSecurity ? static_cast<float>(w[kSecurity]) : 0.0f;
      const float w_a = f.ka < kFeatureCount && f.ka != kSecurity ? static_cast<float>(w[f.ka]) : 0.0f;
      const float w_b = f.kb < kFeatureCount ? static_cast<float>(w[f.kb]) : 0.0f;
      utility[static_cast<std::size_t>(k) * menu + m] = rules::utility(
          w_sec, f.fa, static_cast<float>(w[kCost]), -static_cast<float>(a.cost), static_cast<float>(w[kEscalation]),
          escalation, view.tension_factor, w_a, f.fa, w_b, f.fb, static_cast<float>(w[kImpatience]), view.impatience);
    }
  }
  // Nothing feasible: the actor does nothing this step, and there is no action to learn from
  // (the kernel's idle_where_nothing_is_feasible).
  if (std::none_of(feasible.begin(), feasible.end(), [](std::uint8_t v) { return v != 0; })) return -1;
  std::vector<float> weights(utility.size()), total(type_count);
  const float lambda = static_cast<float>(actor.decision.rationality);
  for (int k = 0; k < type_count; ++k)
    total[k] = logit_weights(utility.data() + k * menu, feasible.data(), menu, lambda, weights.data() + k * menu);
  const float u = twin_draw::choice(key_, replication_, s, i);
  const int own_type = st.type[i];
  const int choice = logit_choose(weights.data() + own_type * menu, menu, total[own_type], u);
  if (type_count > 1 && !sc_.run.revealed_types) update_belief(i, choice, weights, total);
  return choice;
}

// Bayes' rule on the public belief about i's type, from its choice: the
// likelihood of the choice under type k is its weight over type k's total.
void ScalarTwin::update_belief(int i, int choice, const std::vector<float>& weights, const std::vector<float>& total) {
  const int menu = static_cast<int>(sc_.actors[i].actions.size());
  const int type_count = static_cast<int>(total.size());
  float* belief = st_.belief.data() + static_cast<std::size_t>(i) * kMaxTypes;
  float evidence = 0.0f;
  std::vector<float> likelihood(type_count);
  for (int k = 0; k < type_count; ++k) {
    likelihood[k] = weights[static_cast<std::size_t>(k) * menu + choice] / total[k];
    evidence += belief[k] * likelihood[k];
  }
  for (int k = 0; k < type_count; ++k) belief[k] = rules::posterior(belief[k], likelihood[k], evidence);
}

void ScalarTwin::apply_effect(int i, int m, int s) {
  ReplicationState& st = st_;
  const Actor& actor = sc_.actors[i];
  const Forces& f = actor.forces;
  const ActionSpec& a = actor.actions[m];
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  ++st.action_count[i * kActionKindCount + static_cast<int>(a.kind)];
  st.tension = rules::tension_after(st.tension, a.tension);
  const auto& issues = sc_.negotiation.issues;
  switch (a.kind) {
    case ActionKind::kMobilize:
    case ActionKind::kRaiseReadiness: {
      const double rate_cap = a.kind == ActionKind::kMobilize ? f.mobilization_rate * dt : a.amount;
      const double moved = rules::mobilize_amount(st.reserve[i], a.amount, rate_cap);
      st.reserve[i] -= moved;
      st.ready[i] += moved;
      break;
    }
    case ActionKind::kDeploy: {
      const double moved =
          rules::deploy_amount(st.ready[i], st.deployed[i], a.amount, f.deployment_rate * dt, f.deployed_cap);
      st.ready[i] -= moved;
      st.deployed[i] += moved;
      st.moved[i] += moved;
      break;
    }
    case ActionKind::kWithdraw: {
      const double moved = rules::withdraw_amount(st.deployed[i], a.amount, f.deployment_rate * dt);
      st.deployed[i] -= moved;
      st.ready[i] += moved;
      st.moved[i] += moved;
      break;
    }
    case ActionKind::kPropose:
    case ActionKind::kConcede:
      for (std::size_t k = 0; k < issues.size(); ++k) {
        const float s_own = static_cast<float>(issues[k].salience[i]);
        const float concession = static_cast<float>(a.concession);
        if (s_own <= 0.0f || st.agreed[k]) continue;
        float& p_own = st.position[k * n + i];
        if (a.kind == ActionKind::kPropose) {
          for (int j : model_.parties(static_cast<int>(k)))
            if (j != i)
              st.position[k * n + j] = rules::position_step(st.position[k * n + j], p_own, concession,
                                                            static_cast<float>(issues[k].salience[j]));
          continue;
        }
        float mean = 0.0f;
        int others = 0;
        for (int j : model_.parties(static_cast<int>(k)))
          if (j != i) {
            mean += st.position[k * n + j];
            ++others;
          }
        if (others == 0) continue;
        p_own = rules::position_step(p_own, mean * (1.0f / static_cast<float>(others)), concession, s_own);
      }
      break;
    case ActionKind::kSanction:
      st.effectiveness[a.target] = rules::sanctioned(st.effectiveness[a.target], a.effect);
      break;
    case ActionKind::kArmPartner:
      st.effectiveness[a.target] = rules::armed(st.effectiveness[a.target], a.effect);
      break;
    case ActionKind::kAttack:
      start_war(i, a.target, s);
      break;
    case ActionKind::kRetaliate:
      if (st.side[i] == 0) {
        st.side[i] = 2;
        st.start_strength_defender += st.deployed[i];
      }
      raise_rung(a.rung >= 0 ? a.rung : sc_.escalation.alliance_war_rung, s, AllianceWarCause::kIntervention);
      break;
    default:
      break;
  }
  if (a.rung >= 0 && a.kind != ActionKind::kRetaliate) raise_rung(a.rung, s, AllianceWarCause::kNone);
}

}  // namespace brink
