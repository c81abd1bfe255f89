// The models the scalar twin's tests run (twin_compare.hpp, twin_draws.hpp):
// every shipped scenario, and cases that reach what none of them does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "brink/model/model.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink::twin_compare {

struct Named {
  std::string name;
  Model model;
};

// A shipped scenario by name, to change before it becomes a model.
inline Scenario shipped_scenario(std::string_view name) {
  const ShippedScenario* shipped = find_shipped(name);
  return load_scenario({std::string(shipped->path), std::string(shipped->text)}).scenario;
}

inline std::vector<Named> shipped_models() {
  std::vector<Named> out;
  for (const ShippedScenario& s : shipped_scenarios())
    out.push_back({std::string(s.name), Model(load_scenario({std::string(s.path), std::string(s.text)}).scenario)});
  return out;
}

// Talks among more parties than any shipped issue has (six), four of whose
// actors have two concede entries of different sizes, and an issue on which
// one party (BLU, salience 1) cannot move while the others can. Every number
// is an assumption.
inline constexpr const char* kManyPartyTalks = R"(brink: 1
name: many-party-talks
run: {horizon_days: 90, dt_days: 1, replications: 1024, seed: 7}
actors:
  RED:
    forces: {deployed: 50000, ready: 20000, reserve: 80000, mobilization_rate: 1000, deployment_rate: 2000, deployed_cap: 90000}
    combat: {effectiveness: 0.01}
    decision:
      rationality: 2.0
      patience_days: 20
      weights: {security: 1.0, cost: 1.0, escalation: 0.3, issue_gain: 2.0, settlement: 3.0, war_gain: 2.0}
    actions:
      hold: {}
      deploy: {amount: 4000, cost: 1.0, tension: 0.02}
      propose: {concession: 0.1, cost: 1.2}
      concede: {concession: 0.1, cost: 3.0}
      invade: {kind: attack, target: BLU, rung: invasion, cost: 2.5, tension: 2.0}
  BLU:
    forces: {deployed: 40000, ready: 30000, reserve: 100000, mobilization_rate: 1500, deployment_rate: 2000, deployed_cap: 100000}
    combat: {effectiveness: 0.008, defence_advantage: 1.5}
    decision:
      rationality: 2.0
      patience_days: 60
      weights: {security: 1.5, cost: 1.0, escalation: 1.0, issue_gain: 1.0, settlement: 1.0}
    actions:
      hold: {}
      propose: {concession: 0.1, cost: 1.2}
      concede: {concession: 0.1, cost: 3.0}
  PAT: &party
    forces: {deployed: 1000, ready: 1000, reserve: 1000, mobilization_rate: 100, deployment_rate: 100, deployed_cap: 5000}
    combat: {effectiveness: 0.01}
    decision:
      rationality: 2.0
      patience_days: 30
      weights: {security: 0.5, cost: 1.0, escalation: 1.0, issue_gain: 2.0, settlement: 2.0}
    actions:
      hold: {}
      propose: {concession: 0.1, cost: 1.0}
      concede: {concession: 0.05, cost: 1.5}
      concede_more: {kind: concede, concession: 0.2, cost: 2.5}
  Q1: *party
  Q2: *party
  Q3: *party
relations:
  adversaries: [[RED, BLU]]
escalation:
  rungs: [diplomacy, signalling, invasion, wider_war]
  initial_rung: signalling
  limited_war: invasion
  full_war: invasion
  alliance_war: wider_war
  tension: {initial: 1.0, decay: 0.02, agreement_relief: 0.3}
  incidents: {base_rate: 0.001, tension_rate: 0.002, contact_rate: 0.002, tension_jump: 0.3}
combat: {law: square, collapse_fraction: 0.5}
negotiation:
  acceptance_window: 0.1
  issues:
    forum:
      core: true
      positions: {RED: 0.0, BLU: 0.9, PAT: 0.7, Q1: 0.3, Q2: 1.0, Q3: 0.5}
      salience: {RED: 0.4, BLU: 0.5, PAT: 0.2, Q1: 0.3, Q2: 0.6, Q3: 0.1}
    border:
      core: true
      positions: {RED: 0.2, BLU: 0.8, PAT: 0.7}
      salience: {RED: 0.5, BLU: 1.0, PAT: 0.3}
)";

// Three private types that differ in war cost, priced by the war forecast
// with a casualty cost (so the per-type war value is not W = p - c) and a
// signal besides the attack: the general scan over any number of types, and
// war_gain_as_type's priced branch, which no shipped scenario reaches (two
// types at most; bayes-war-values has W = p - c). Every number is an
// assumption.
inline constexpr const char* kThreeTypesPricedWar = R"(brink: 1
name: three-types-priced-war
run: {horizon_days: 30, dt_days: 1, replications: 1024, seed: 13}
actors:
  ATTACKER:
    forces: {deployed: 10000, ready: 5000, deployment_rate: 1000, deployed_cap: 20000}
    combat: {effectiveness: 0.01}
    decision:
      rationality: 1.5
      war_forecast: true
      casualty_cost: 0.4
      weights: {security: 0.5, cost: 1.0, escalation: 0.2, war_gain: 2.0, credibility: 0, impatience: 0.1}
    types:
      hawk: {prior: 0.3, war_cost: 0.0}
      middle: {prior: 0.3, war_cost: 0.25}
      dove: {prior: 0.4, war_cost: 0.5}
    actions:  # the attack before other entries: its per-type weight moves their cumulative weights
      hold: {}
      strike: {kind: attack, target: DEFENDER, rung: full, cost: 1.5}
      signal: {kind: hold, cost: 0.2, tension: 0.05}
      deploy: {amount: 1000, cost: 0.5, tension: 0.02}
  DEFENDER:
    forces: {deployed: 10000}
    combat: {effectiveness: 0.01}
relations:
  adversaries: [[ATTACKER, DEFENDER]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0.001, tension_rate: 0.002}
)";

// Menus without an action that is always feasible: B can only propose (not in
// war), C only retaliate (in war) or deploy (while it has ready troops), so
// lanes idle (choice -1: no effect, no count, beliefs about C kept) in the
// kernel's idle_where_nothing_is_feasible and the twin's decide alike. Every
// number is an assumption.
inline constexpr const char* kIdleWhenNothingIsFeasible = R"(brink: 1
name: idle-when-nothing-feasible
run: {horizon_days: 40, dt_days: 1, replications: 1024, seed: 17}
actors:
  A:
    forces: {deployed: 50000}
    combat: {effectiveness: 0.01}
    decision: {rationality: 1.2, weights: {security: 0, cost: 1, escalation: 0.5, war_gain: 0.5}}
    actions:
      hold: {}
      strike: {kind: attack, target: B, rung: limited, cost: 3.0}
  B:
    forces: {deployed: 30000}
    combat: {effectiveness: 0.01}
    actions:
      talk: {kind: propose, concession: 0.02}
  C:
    forces: {deployed: 20000, ready: 3000, deployment_rate: 500}
    combat: {effectiveness: 0.01}
    types:
      firm: {prior: 0.5, weights: {credibility: 2.0}}
      soft: {prior: 0.5, weights: {cost: 2.0}}
    actions:
      join: {kind: retaliate, cost: 2.5}
      dep: {kind: deploy, amount: 1000, cost: 0.5}
relations:
  adversaries: [[A, B], [A, C]]
  commitments: [{from: C, to: B, strength: 0.3}]
escalation: {rungs: [calm, tense, limited, full, wider], initial_rung: tense, limited_war: limited, full_war: full, alliance_war: wider}
negotiation:
  issues:
    stake: {core: true, positions: {A: 1, B: 0}, salience: {A: 0.9, B: 0.5}}
)";

// Wars with many fronts, which no shipped scenario has: a menu attack on T
// brings in T's protector P (commitment 0.6, so an alliance war) and S, an
// ally of both sides, on A's side; P may attack N in the step it is drawn in
// (rules::enter_war with the attacker already fighting); scheduled attacks
// start a war or join the one on, and during an alliance war bring in the
// newcomers' ties (join_alliance_war again). Every number is an assumption.
inline constexpr const char* kManyFronts = R"(brink: 1
name: many-fronts
run: {horizon_days: 30, dt_days: 1, replications: 1024, seed: 23}
actors:
  A:
    forces: {deployed: 50000, ready: 10000, deployment_rate: 1000}
    combat: {effectiveness: 0.01}
    decision: {rationality: 1.0, weights: {cost: 1, war_gain: 1.0, credibility: 1.0}}
    actions:
      hold: {}
      strike: {kind: attack, target: T, rung: limited, cost: 1.5}
      invade: {kind: attack, target: T, rung: full, cost: 3.0}
  T: {forces: {deployed: 30000}, combat: {effectiveness: 0.01, defence_advantage: 1.3}}
  P:
    forces: {deployed: 20000}
    combat: {effectiveness: 0.01}
    decision: {rationality: 1.0, weights: {cost: 1, war_gain: 0.5}}
    actions:
      hold: {}
      strike: {kind: attack, target: N, rung: limited, cost: 2.0}
  E: {forces: {deployed: 10000}, combat: {effectiveness: 0.01}}
  N: {forces: {deployed: 15000}, combat: {effectiveness: 0.01}}
  S: {forces: {deployed: 5000}, combat: {effectiveness: 0.01}}
  Y: {forces: {deployed: 8000}, combat: {effectiveness: 0.01}}
relations:
  adversaries: [[A, T], [P, N], [N, Y]]
  allies: [[P, E], [A, S], [T, S]]
  commitments: [{from: P, to: T, strength: 0.6}]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
  incidents: {base_rate: 0.002, tension_rate: 0.01}
combat: {law: square, collapse_fraction: 0.3}
events:
  - {day: 5, actor: N, attack: E, rung: limited}
  - {day: 9, actor: Y, attack: A, rung: full}
)";

// The flagship with what no shipped scenario turns on: a noisy acceptance
// of four offers (the bargaining stream, drawn by the vectorized Philox) and
// per-replication time series every 10 steps. Ukraine's war cost is known
// (spread 0): with noise, later rounds need a cost known or typed
// (noisy_rounds_need_typed_costs).
inline Named noisy_flagship_with_series() {
  Scenario sc = shipped_scenario("jan-2022-standoff");
  sc.actors[static_cast<std::size_t>(sc.bargaining.receiver)].decision.war_cost_spread = 0.0;
  sc.bargaining.acceptance_noise = 0.05;
  sc.bargaining.rounds = 4;
  sc.bargaining.interval_days = 3;
  sc.output.timeseries_every = 10;
  return {"jan-2022-standoff, noisy acceptance, time series", Model(sc)};
}

// Powell's commitment problem with private war costs on both sides: a
// preventive war at once in about a third of the lanes, offers (three
// rounds) in the rest, and the shift in power on day 7 reaching only the
// lanes at peace then. Every number is an assumption.
inline Named power_shift_under_private_costs() {
  Scenario sc = shipped_scenario("validation/bargaining-commitment");
  sc.run.horizon_days = 40;
  sc.bargaining.shift_day = 7;
  sc.bargaining.shift_growth = 0.5;
  sc.bargaining.discount = 0.99;
  sc.bargaining.rounds = 3;
  sc.bargaining.interval_days = 5;
  Actor& declining = sc.actors[static_cast<std::size_t>(sc.actor_index("DECLINING"))];
  declining.combat.effectiveness = 0.012;
  declining.decision.war_cost = 0.5;
  declining.decision.war_cost_spread = 0.5;
  Actor& rising = sc.actors[static_cast<std::size_t>(sc.actor_index("RISING"))];
  rising.decision.war_cost = 0.1;
  rising.decision.war_cost_spread = 0.3;
  return {"bargaining-commitment, private costs, shift on day 7", Model(sc)};
}

// The shipped scenarios and the cases above, which the twins must agree on too.
inline std::vector<Named> twin_models() {
  std::vector<Named> out = shipped_models();
  out.push_back({"many-party-talks", Model(load_scenario({"many-party-talks.yaml", kManyPartyTalks}).scenario)});
  out.push_back(
      {"three-types-priced-war", Model(load_scenario({"three-types-priced-war.yaml", kThreeTypesPricedWar}).scenario)});
  out.push_back({"idle-when-nothing-feasible",
                 Model(load_scenario({"idle-when-nothing-feasible.yaml", kIdleWhenNothingIsFeasible}).scenario)});
  out.push_back({"many-fronts", Model(load_scenario({"many-fronts.yaml", kManyFronts}).scenario)});
  out.push_back(noisy_flagship_with_series());
  out.push_back(power_shift_under_private_costs());
  return out;
}

}  // namespace brink::twin_compare
