// The scalar reference twin: one replication at a time, from the rules of
// rules.hpp. Each function follows the vectorized phase of the same name
// (kernel.cpp, decide.cpp, effects.cpp) operation for operation, so that the
// two differ only where libm and Eigen round exp and log differently.
#include "brink/model/scalar_twin.hpp"

#include <algorithm>
#include <cmath>

#include "brink/model/lanchester.hpp"
#include "brink/model/logit.hpp"
#include "brink/model/rules.hpp"

namespace brink {

ScalarTwin::ScalarTwin(const Model& model, std::int64_t point, std::int64_t replication)
    : model_(model),
      sc_(model.scenario()),
      key_(model.stream(point)),
      replication_(static_cast<std::uint32_t>(replication)) {
  const int n = model.actors();
  const int issues = static_cast<int>(sc_.negotiation.issues.size());
  ReplicationState& st = st_;
  for (const Actor& a : sc_.actors) {
    st.deployed.push_back(a.forces.deployed);
    st.ready.push_back(a.forces.ready);
    st.reserve.push_back(a.forces.reserve);
  }
  st.casualties.assign(n, 0.0);
  st.created.assign(n, 0.0);
  st.removed.assign(n, 0.0);
  st.effectiveness.assign(n, 1.0);
  st.moved.assign(n, 0.0);
  st.side.assign(n, 0);
  st.last_action.assign(n, -1);
  st.type.assign(n, 0);
  st.action_count.assign(static_cast<std::size_t>(n) * kActionKindCount, 0);
  for (int k = 0; k < issues; ++k)
    for (int i = 0; i < n; ++i) st.position.push_back(static_cast<float>(sc_.negotiation.issues[k].position[i]));
  st.agreed.assign(issues, 0);
  st.belief.assign(static_cast<std::size_t>(n) * kMaxTypes, 0.0f);
  st.tension = sc_.escalation.initial_tension;
  st.rung = st.peak_rung = sc_.escalation.initial_rung;
  for (int i = 0; i < n; ++i) {
    const auto& types = sc_.actors[i].types;
    for (std::size_t k = 0; k < types.size(); ++k) st.belief[i * kMaxTypes + k] = static_cast<float>(types[k].prior);
    if (types.size() < 2) continue;
    double u = 0.0, unused = 0.0;
    uniform_pair(key_, replication_, 0, static_cast<std::uint32_t>(i), Purpose::kResolve, &u, &unused);
    st.type[i] = rules::draw_type(types, u);
    if (!sc_.run.revealed_types) continue;
    for (std::size_t k = 0; k < types.size(); ++k)
      st.belief[i * kMaxTypes + k] = st.type[i] == static_cast<int>(k) ? 1.0f : 0.0f;
  }
  choice_.assign(n, 0);
  init_bargaining();
}

void ScalarTwin::step(int s) {
  const bool active = st_.outcome < 0;
  std::fill(st_.moved.begin(), st_.moved.end(), 0.0);
  apply_events(s, active);
  if (sc_.run.decisions && active && sc_.bargaining.enabled()) bargain(s);
  if (sc_.run.decisions && active) decide_and_act(s);
  posture(active);
  combat(s);
  incidents(s, active);
  const double decay = std::exp(-sc_.escalation.tension_decay * sc_.run.dt_days);
  if (active) st_.tension = std::max(st_.tension * decay, 0.0);
  negotiate(s, active);
}

void ScalarTwin::apply_events(int s, bool active) {
  ReplicationState& st = st_;
  if (!active) return;
  for (std::size_t index = 0; index < sc_.events.size(); ++index) {
    if (model_.event_step_of(static_cast<int>(index)) != s) continue;
    const Event& e = sc_.events[index];
    const int i = e.actor;
    const double cap = sc_.actors[i].forces.deployed_cap;
    double x = 0.0;
    switch (e.kind) {
      case EventKind::kDeploy:
        x = rules::event_deploy_amount(st.ready[i], st.deployed[i], cap, e.troops);
        st.ready[i] -= x;
        st.deployed[i] += x;
        break;
      case EventKind::kWithdraw:
        x = rules::event_draw_amount(st.deployed[i], e.troops);
        st.deployed[i] -= x;
        st.ready[i] += x;
        break;
      case EventKind::kMobilize:
        x = rules::event_draw_amount(st.reserve[i], e.troops);
        st.reserve[i] -= x;
        st.ready[i] += x;
        break;
      case EventKind::kDemobilize:
        x = rules::event_draw_amount(st.ready[i], e.troops);
        st.ready[i] -= x;
        st.removed[i] += x;
        break;
      case EventKind::kReinforce:
        st.deployed[i] += e.troops;
        st.created[i] += e.troops;
        break;
      case EventKind::kAttack:
        if (*std::max_element(st.side.begin(), st.side.end()) == 0) start_war(i, e.target, s);
        raise_rung(e.rung, s, AllianceWarCause::kNone);
        break;
    }
  }
}

void ScalarTwin::decide_and_act(int s) {
  const int n = model_.actors();
  const bool at_war = *std::max_element(st_.side.begin(), st_.side.end()) > 0;
  std::vector<float> believed_resolve(n, 0.0f);
  for (int j = 0; j < n; ++j) {
    const auto& types = sc_.actors[j].types;
    for (std::size_t k = 0; k < types.size(); ++k)
      believed_resolve[j] += static_cast<float>(types[k].resolve) * st_.belief[j * kMaxTypes + k];
  }
  for (int i = 0; i < n; ++i)
    choice_[i] = sc_.actors[i].actions.size() == 1 ? 0 : decide(i, s, believed_resolve, at_war);
  for (int i = 0; i < n; ++i) {
    st_.last_action[i] = choice_[i];
    apply_effect(i, choice_[i], s);
  }
}

// The kernel's issue_aggregates for one lane.
ScalarTwin::IssueTerms ScalarTwin::issue_terms(int i) const {
  const Model& model = model_;
  const ReplicationState& st = st_;
  const Scenario& sc = model.scenario();
  const int n = model.actors();
  IssueTerms t;
  for (std::size_t k = 0; k < sc.negotiation.issues.size(); ++k) {
    const Issue& issue = sc.negotiation.issues[k];
    const float s_own = static_cast<float>(issue.salience[i]);
    if (s_own <= 0.0f) continue;
    const float open = st.agreed[k] != 0 ? 0.0f : 1.0f;
    const float p_own = st.position[k * n + i];
    t.open_party += open;
    if (s_own < 1.0f) t.open_movable += open;
    float sum = 0.0f, move = 0.0f, flex = 0.0f;
    int others = 0;
    for (int j : model.parties(static_cast<int>(k))) {
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
      for (int j : model_.allies(t)) defenders += st.deployed[j];
      for (int j = 0; j < n; ++j) {
        const double c = model_.commitment(j, t);
        if (j == t || c <= 0.0) continue;
        defenders += c * st.deployed[j];
        protectors += c * believed_resolve[j] * (st.deployed[j] + rho * st.ready[j]);
      }
      r.fb = -static_cast<float>(protectors) / v.own_d;
      if (dec.war_forecast) {  // W_i replaces the log force ratio
        const double intensity = a.rung >= sc_.escalation.full_war_rung ? 1.0 : sc_.combat.limited_war_intensity;
        const rules::WarForecast w = forecast(i, t, intensity);
        const double delta = rules::war_discount(sc_.bargaining.discount, w.duration);
        r.fa = static_cast<float>(rules::war_value(delta, w.prevail, st.war_cost[i], dec.casualty_cost, w.loss_a));
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
  for (int m = 0; m < menu; ++m) {
    const ActionSpec& a = actor.actions[m];
    const ActionValues f = action_values(i, m, view, believed_resolve);
    const float escalation = rules::escalation_of(static_cast<float>(a.tension), a.rung, st.rung);
    feasible[m] = f.ok ? 1 : 0;
    for (int k = 0; k < type_count; ++k) {
      const auto& w = actor.types[k].weights;
      const float w_sec = f.ka == kSecurity ? static_cast<float>(w[kSecurity]) : 0.0f;
      const float w_a = f.ka < kFeatureCount && f.ka != kSecurity ? static_cast<float>(w[f.ka]) : 0.0f;
      const float w_b = f.kb < kFeatureCount ? static_cast<float>(w[f.kb]) : 0.0f;
      utility[static_cast<std::size_t>(k) * menu + m] = rules::utility(
          w_sec, f.fa, static_cast<float>(w[kCost]), -static_cast<float>(a.cost), static_cast<float>(w[kEscalation]),
          escalation, view.tension_factor, w_a, f.fa, w_b, f.fb, static_cast<float>(w[kImpatience]), view.impatience);
    }
  }
  if (std::none_of(feasible.begin(), feasible.end(), [](std::uint8_t v) { return v != 0; })) feasible[0] = 1;
  std::vector<float> weights(utility.size()), total(type_count);
  const float lambda = static_cast<float>(actor.decision.rationality);
  for (int k = 0; k < type_count; ++k)
    total[k] = logit_weights(utility.data() + k * menu, feasible.data(), menu, lambda, weights.data() + k * menu);
  const auto words = philox_words(key_, replication_, static_cast<std::uint32_t>(s),
                                  purpose_word(Purpose::kDecision, static_cast<std::uint32_t>(i / kDecisionGroup)));
  const float u = unit_float(words[i % kDecisionGroup]);
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
  st.tension = std::max(0.0, st.tension + a.tension);
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
      if (*std::max_element(st.side.begin(), st.side.end()) == 0) start_war(i, a.target, s);
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

void ScalarTwin::posture(bool active) {
  ReplicationState& st = st_;
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  if (st.outcome == static_cast<int>(Outcome::kSettlement)) {
    for (int i = 0; i < n; ++i) {
      const Forces& f = sc_.actors[i].forces;
      const double m =
          rules::drawdown_move(st.deployed[i], sc_.negotiation.drawdown * f.deployed, f.deployment_rate * dt);
      st.deployed[i] -= m;
      st.ready[i] += m;
    }
  }
  std::vector<double> desired(n, 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j : model_.adversaries(i)) desired[i] += st.deployed[j];
    desired[i] = rules::richardson_drift(desired[i], st.deployed[i], sc_.actors[i].posture, dt) * (active ? 1.0 : 0.0);
  }
  for (int i = 0; i < n; ++i) {
    const Forces& f = sc_.actors[i].forces;
    const double budget = std::max(f.deployment_rate * dt - st.moved[i], 0.0);
    const double m = rules::drift_move(desired[i], budget, st.ready[i], st.deployed[i], f.deployed_cap);
    st.deployed[i] += m;
    st.ready[i] -= m;
  }
}

void ScalarTwin::combat(int s) {
  ReplicationState& st = st_;
  if (st.outcome >= 0 || st.war_start_step < 0) return;
  const int n = model_.actors();
  double a = 0.0, b = 0.0, alpha = 0.0, beta = 0.0;
  for (int j = 0; j < n; ++j) {
    const Combat& c = sc_.actors[j].combat;
    if (st.side[j] == 1) {
      a += st.deployed[j];
      alpha += c.effectiveness * st.effectiveness[j] * st.deployed[j];
    } else if (st.side[j] == 2) {
      b += st.deployed[j];
      beta += c.effectiveness * st.effectiveness[j] * c.defence_advantage * st.deployed[j];
    }
  }
  const Strengths after = rules::attrition(sc_, a, b, alpha, beta, st.rung);
  const double keep_a = a > 0.0 ? after.a / a : 0.0;
  const double keep_b = b > 0.0 ? after.b / b : 0.0;
  for (int j = 0; j < n; ++j) {
    if (st.side[j] == 0) continue;
    const double loss = st.deployed[j] * (1.0 - (st.side[j] == 1 ? keep_a : keep_b));
    st.deployed[j] -= loss;
    st.casualties[j] += loss;
  }
  if (rules::collapsed(sc_.combat, after, st.start_strength_attacker, st.start_strength_defender)) {
    st.war_end_step = s;
    st.outcome = static_cast<int>(rules::war_outcome(st.peak_rung, sc_.escalation));
  }
}

void ScalarTwin::incidents(int s, bool active) {
  ReplicationState& st = st_;
  const int n = model_.actors();
  const Escalation& esc = sc_.escalation;
  double contact = 0.0;
  for (int i = 0; i < n; ++i)
    for (int j : model_.adversaries(i))
      if (j > i) contact += rules::contact_of(st.deployed[i], st.deployed[j]);
  const double probability =
      1.0 - std::exp(-rules::incident_hazard(esc.incidents, st.tension, contact) * sc_.run.dt_days);
  const int o = incident_word(n);
  const auto words = philox_words(key_, replication_, static_cast<std::uint32_t>(s),
                                  purpose_word(Purpose::kDecision, static_cast<std::uint32_t>(o / kDecisionGroup)));
  const int w = o % kDecisionGroup;
  if (!active || st.outcome >= 0 || !(unit_double(words[w], words[w + 1]) < probability)) return;
  ++st.incidents;
  if (st.first_incident_step < 0) st.first_incident_step = s;
  st.tension += esc.incidents.tension_jump;
  const auto escalation =
      philox_words(key_, replication_, static_cast<std::uint32_t>(s), purpose_word(Purpose::kIncident, 0));
  if (unit_double(escalation[0], escalation[1]) < esc.incidents.escalation_probability) {
    const int ceiling = st.war_start_step >= 0 ? esc.alliance_war_rung : esc.limited_war_rung - 1;
    raise_rung(std::min(st.rung + 1, ceiling), s, AllianceWarCause::kIncident);
  }
}

void ScalarTwin::negotiate(int s, bool active) {
  ReplicationState& st = st_;
  if (!active || st.outcome >= 0) return;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  bool any_core = false, core_agreed = true;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    if (!st.agreed[k]) {
      float lo = 1.0f, hi = 0.0f;
      for (int j : model_.parties(static_cast<int>(k))) {
        lo = std::min(lo, st.position[k * n + j]);
        hi = std::max(hi, st.position[k * n + j]);
      }
      if (rules::within_window(lo, hi, static_cast<float>(sc_.negotiation.acceptance_window))) {
        st.agreed[k] = 1;
        st.tension = std::max(0.0, st.tension - sc_.escalation.agreement_relief);
        if (st.war_start_step < 0) st.rung = std::max(sc_.escalation.initial_rung, st.rung - 1);
      }
    }
    if (issues[k].core) {
      any_core = true;
      core_agreed = core_agreed && st.agreed[k];
    }
  }
  if (any_core && core_agreed && st.war_start_step < 0) {
    st.outcome = static_cast<int>(Outcome::kSettlement);
    st.end_step = s;
  }
}

void ScalarTwin::start_war(int attacker, int target, int s) {
  ReplicationState& st = st_;
  const int n = model_.actors();
  st.side[attacker] = 1;
  for (int j : model_.allies(attacker)) st.side[j] = 1;
  st.side[target] = 2;
  bool alliance = false;
  for (int j = 0; j < n; ++j)
    if (st.side[j] == 0 && (sc_.relations.ally[j][target] || model_.commitment(j, target) >= 0.5)) {
      st.side[j] = 2;
      alliance = true;
    }
  st.war_start_step = s;
  st.start_strength_attacker = st.start_strength_defender = 0.0;
  for (int j = 0; j < n; ++j) {
    if (st.side[j] == 1) st.start_strength_attacker += st.deployed[j];
    if (st.side[j] == 2) st.start_strength_defender += st.deployed[j];
  }
  if (alliance) raise_rung(sc_.escalation.alliance_war_rung, s, AllianceWarCause::kAttackOnCovered);
}

void ScalarTwin::raise_rung(int rung, int s, AllianceWarCause cause) {
  ReplicationState& st = st_;
  if (rung <= st.rung) return;
  if (rung >= sc_.escalation.alliance_war_rung && st.alliance_war_cause == 0)
    st.alliance_war_cause = static_cast<int>(cause);
  st.rung = rung;
  if (rung > st.peak_rung) {
    st.peak_rung = rung;
    if (rung >= sc_.escalation.limited_war_rung) st.end_step = s;
  }
  if (rung >= sc_.escalation.alliance_war_rung && *std::max_element(st.side.begin(), st.side.end()) > 0)
    join_alliance_war();
}

void ScalarTwin::join_alliance_war() {
  ReplicationState& st = st_;
  const int n = model_.actors();
  for (int j = 0; j < n; ++j) {
    if (st.side[j] != 0) continue;
    for (int k = 0; k < n; ++k) {
      if (st.side[k] != 1) continue;
      if (sc_.relations.adversary[j][k]) {
        st.side[j] = 2;
        st.start_strength_defender += st.deployed[j];
        break;
      }
      if (sc_.relations.ally[j][k]) {
        st.side[j] = 1;
        st.start_strength_attacker += st.deployed[j];
        break;
      }
    }
  }
}

void ScalarTwin::finish() {
  if (st_.outcome >= 0) return;
  if (st_.peak_rung >= sc_.escalation.limited_war_rung) {
    st_.outcome = static_cast<int>(rules::war_outcome(st_.peak_rung, sc_.escalation));
  } else {
    st_.outcome = static_cast<int>(Outcome::kStandoff);
    st_.end_step = model_.steps();
  }
}

}  // namespace brink

namespace brink {

BlockResult simulate_block_scalar(const Model& model, const BlockSpec& spec) {
  const int n = model.actors(), count = spec.count, records = model.records(), every = model.record_every();
  const int issues = static_cast<int>(model.scenario().negotiation.issues.size());
  const int rungs = static_cast<int>(model.scenario().escalation.rungs.size());
  const int types = model.scenario().type_slots();
  BlockResult out;
  out.spec = spec;
  out.record_rung_count.assign(static_cast<std::size_t>(records) * rungs, 0);
  out.record_troops_sum.assign(static_cast<std::size_t>(records) * n * kPoolCount, 0.0);
  out.record_belief_sum.assign(static_cast<std::size_t>(records) * n * types, 0.0);
  auto record = [&](int q, const ReplicationState& st) {
    ++out.record_rung_count[static_cast<std::size_t>(q) * rungs + st.rung];
    for (int i = 0; i < n; ++i) {
      const std::size_t t = (static_cast<std::size_t>(q) * n + i) * kPoolCount;
      out.record_troops_sum[t + kDeployed] += st.deployed[i];
      out.record_troops_sum[t + kReady] += st.ready[i];
      out.record_troops_sum[t + kReserve] += st.reserve[i];
      for (int k = 0; k < types; ++k)
        out.record_belief_sum[(static_cast<std::size_t>(q) * n + i) * types + k] += st.belief[i * kMaxTypes + k];
    }
  };
  // A packed block's lanes: each replication with its segment's model, point and replication.
  const LaneSegment whole{&model, spec.point, spec.first_replication, count};
  std::vector<LaneSegment> lanes;  // one replication each
  for (const LaneSegment& seg : spec.segments.empty() ? std::span<const LaneSegment>(&whole, 1) : spec.segments)
    for (int r = 0; r < seg.count && static_cast<int>(lanes.size()) < count; ++r)
      lanes.push_back({seg.model, seg.point, seg.first_replication + r, 1});
  for (const LaneSegment& lane : lanes) {
    ScalarTwin twin(*lane.model, lane.point, lane.first_replication);
    record(0, twin.state());
    for (int s = 0; s < model.steps(); ++s) {
      twin.step(s);
      if ((s + 1) % every == 0 || s + 1 == model.steps()) record((s + every) / every, twin.state());
    }
    twin.finish();
    const ReplicationState& st = twin.state();
    out.outcome.push_back(static_cast<std::int8_t>(st.outcome));
    out.peak_rung.push_back(static_cast<std::int8_t>(st.peak_rung));
    out.end_step.push_back(st.end_step);
    out.war_start_step.push_back(st.war_start_step);
    out.war_end_step.push_back(st.war_end_step);
    out.first_incident_step.push_back(st.first_incident_step);
    out.incidents.push_back(st.incidents);
    out.alliance_war_cause.push_back(static_cast<std::int8_t>(st.alliance_war_cause));
    out.offer.push_back(st.offer);
    for (int c : st.action_count) out.action_count.push_back(c);
    for (int k = 0; k < issues; ++k) out.agreed.push_back(static_cast<std::int8_t>(st.agreed[k]));
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < types; ++k) out.final_belief.push_back(st.belief[i * kMaxTypes + k]);
    for (int i = 0; i < n; ++i) {
      out.casualties.push_back(st.casualties[i]);
      out.war_cost.push_back(st.war_cost[i]);
      out.troops_added.push_back(st.created[i]);
      out.troops_removed.push_back(st.removed[i]);
      out.resolve_type.push_back(static_cast<std::int8_t>(st.type[i]));
      out.final_forces.insert(out.final_forces.end(), {st.deployed[i], st.ready[i], st.reserve[i]});
    }
  }
  return out;
}

}  // namespace brink
