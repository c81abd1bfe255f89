// The scalar reference twin: one replication at a time, from the rules of
// rules.hpp. Each function follows the vectorized phase of the same name
// (kernel.cpp, combat.cpp, escalation.cpp; the decisions and effects in
// scalar_twin_decide.cpp) operation for operation, so that the two differ
// only where libm and Eigen round exp and log differently.
#include "brink/model/scalar_twin.hpp"

#include <algorithm>
#include <cmath>

#include "brink/model/lanchester.hpp"
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
        start_war(i, e.target, s);
        raise_rung(e.rung, s, AllianceWarCause::kNone);
        break;
    }
  }
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
  if (!active || st.outcome >= 0 || !(twin_draw::incident(key_, replication_, s, n) < probability)) return;
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
        st.tension = rules::tension_after(st.tension, -sc_.escalation.agreement_relief);
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
  const bool fresh = *std::max_element(st.side.begin(), st.side.end()) == 0;
  const bool covered = rules::enter_war(
      model_, attacker, target, [&](int j) { return st.side[j]; },
      [&](int j, int side) {
        st.side[j] = side;
        if (!fresh) (side == 1 ? st.start_strength_attacker : st.start_strength_defender) += st.deployed[j];
      });
  if (fresh) {
    st.war_start_step = s;
    st.start_strength_attacker = st.start_strength_defender = 0.0;
    for (int j = 0; j < model_.actors(); ++j) {
      if (st.side[j] == 1) st.start_strength_attacker += st.deployed[j];
      if (st.side[j] == 2) st.start_strength_defender += st.deployed[j];
    }
  }
  if (covered) raise_rung(sc_.escalation.alliance_war_rung, s, AllianceWarCause::kAttackOnCovered);
  if (st.rung >= sc_.escalation.alliance_war_rung) join_alliance_war();  // as the kernel's start_war
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
  rules::join_alliance_war(
      sc_.relations, model_.actors(), [&](int j) { return st.side[j]; },
      [&](int j, int side) {
        st.side[j] = side;
        (side == 1 ? st.start_strength_attacker : st.start_strength_defender) += st.deployed[j];
      });
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

namespace {

// Replication-record `at` (replication × records + record) of the time
// series, in the kernel's types and layout (simulate.cpp, Recorder::record).
void record_series(const Model& model, const ReplicationState& st, std::size_t at, BlockResult& out) {
  const int n = model.actors(), types = model.scenario().type_slots();
  for (int i = 0; i < n; ++i) {
    const std::size_t f = (at * n + i) * kPoolCount;
    out.ts_forces[f + kDeployed] = static_cast<float>(st.deployed[i]);
    out.ts_forces[f + kReady] = static_cast<float>(st.ready[i]);
    out.ts_forces[f + kReserve] = static_cast<float>(st.reserve[i]);
    for (int k = 0; k < types; ++k) out.ts_belief[(at * n + i) * types + k] = st.belief[i * kMaxTypes + k];
  }
  out.ts_rung[at] = static_cast<std::int8_t>(st.rung);
  out.ts_tension[at] = static_cast<float>(st.tension);
}

}  // namespace

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
  if (model.series()) {
    out.ts_forces.resize(static_cast<std::size_t>(count) * records * n * kPoolCount);
    out.ts_rung.resize(static_cast<std::size_t>(count) * records);
    out.ts_tension.resize(static_cast<std::size_t>(count) * records);
    out.ts_belief.resize(static_cast<std::size_t>(count) * records * n * types);
  }
  std::size_t row = 0;  // the replication being recorded
  auto record = [&](int q, const ReplicationState& st) {
    if (model.series()) record_series(model, st, row * records + static_cast<std::size_t>(q), out);
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
    ++row;
  }
  return out;
}

}  // namespace brink
