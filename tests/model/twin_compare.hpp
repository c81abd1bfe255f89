// What the scalar twin's tests compare between a vectorized kernel and the
// twin over every shipped scenario (scalar_twin_test.cpp, on the statically
// linked kernel; path_twin_test.cpp, on every path's shared object).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink::twin_compare {

struct Named {
  std::string name;
  Model model;
};

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

// The shipped scenarios and the cases above, which the twins must agree on too.
inline std::vector<Named> twin_models() {
  std::vector<Named> out = shipped_models();
  out.push_back({"many-party-talks", Model(load_scenario({"many-party-talks.yaml", kManyPartyTalks}).scenario)});
  return out;
}

// Two-sample z-test per outcome, Holm-corrected: true if no outcome differs at alpha.
inline bool same_distribution(const std::vector<std::int8_t>& a, const std::vector<std::int8_t>& b, double alpha) {
  std::vector<double> p_values;
  for (int o = 0; o < kOutcomeCount; ++o) {
    double ca = 0, cb = 0;
    for (auto v : a) ca += v == o;
    for (auto v : b) cb += v == o;
    const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
    const double pooled = (ca + cb) / (na + nb);
    const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
    const double z = se > 0 ? std::abs(ca / na - cb / nb) / se : 0.0;
    p_values.push_back(std::erfc(z / std::sqrt(2.0)));
  }
  std::sort(p_values.begin(), p_values.end());
  for (std::size_t k = 0; k < p_values.size(); ++k)
    if (p_values[k] < alpha / static_cast<double>(p_values.size() - k)) return false;
  return true;
}

// Four blocks of every shipped scenario and the cases above through `vectorized` and `scalar`
// (each a function of a model and a block spec): the same private types, the
// same outcome and end step in at least 99.9% of replications, equal outcome
// distributions, and with decisions off the same first incidents and final
// forces to 1e-9 relative.
template <class Vectorized, class Scalar>
void expect_twin_agrees(Vectorized&& vectorized, Scalar&& scalar) {
  for (const Named& s : twin_models()) {
    SCOPED_TRACE(s.name);
    std::vector<std::int8_t> vector_outcomes, scalar_outcomes;
    std::int64_t same = 0, total = 0;
    for (int block = 0; block < 4; ++block) {
      const BlockSpec spec{3, block * kBlockLanes, kBlockLanes};
      const BlockResult v = vectorized(s.model, spec);
      const BlockResult t = scalar(s.model, spec);
      // The private types come from the same draws: identical.
      ASSERT_EQ(v.resolve_type, t.resolve_type);
      for (int r = 0; r < kBlockLanes; ++r) {
        same += v.outcome[r] == t.outcome[r] && v.end_step[r] == t.end_step[r];
        ++total;
      }
      vector_outcomes.insert(vector_outcomes.end(), v.outcome.begin(), v.outcome.end());
      scalar_outcomes.insert(scalar_outcomes.end(), t.outcome.begin(), t.outcome.end());
      if (!s.model.scenario().run.decisions) {
        // Decisions off: everything but exp/log rounding is the same arithmetic.
        ASSERT_EQ(v.first_incident_step, t.first_incident_step);
        for (std::size_t c = 0; c < v.final_forces.size(); ++c)
          ASSERT_NEAR(v.final_forces[c], t.final_forces[c], 1e-9 * (1.0 + std::abs(t.final_forces[c])));
      }
    }
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(total)) << same << " of " << total;
    EXPECT_TRUE(same_distribution(vector_outcomes, scalar_outcomes, 0.001));
  }
}

}  // namespace brink::twin_compare
