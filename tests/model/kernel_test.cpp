#include "brink/model/kernel.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../support/configured_model.hpp"
#include "../support/scenario_builder.hpp"
#include "brink/model/lanchester.hpp"
#include "brink/model/rules.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink {
namespace {

using testing::ScenarioBuilder;

// Two adversaries A and B, no decisions, no negotiation: the analytic building block.
ScenarioBuilder duel(Forces a, Forces b) {
  ScenarioBuilder builder;
  builder.actor("A", a).actor("B", b).adversaries("A", "B");
  return builder;
}

// Pools so deep that only the Richardson dynamics limit deployment.
Forces huge_pools(double deployed) {
  return {.deployed = deployed, .ready = 1e7, .deployment_rate = 1e7, .deployed_cap = 1e8};
}

Model richardson_model(double ka, double aa, double ga, double kb, double ab, double gb, double dt, double horizon) {
  return Model(duel(huge_pools(1000), huge_pools(3000))
                   .posture("A", {.reaction = ka, .fatigue = aa, .grievance = ga})
                   .posture("B", {.reaction = kb, .fatigue = ab, .grievance = gb})
                   .set("run.horizon_days", horizon)
                   .set("run.dt_days", dt)
                   .build());
}

TEST(RichardsonTest, StableCaseReachesTheAnalyticEquilibrium) {
  const double ka = 0.02, aa = 0.05, ga = 300, kb = 0.03, ab = 0.04, gb = 100;
  ASSERT_GT(aa * ab, ka * kb);  // Richardson's stability condition
  const Model model = richardson_model(ka, aa, ga, kb, ab, gb, 0.5, 1500);
  BlockSimulator sim(model, {});
  for (int s = 0; s < model.steps(); ++s) sim.step(s);
  const double det = aa * ab - ka * kb;
  const double a_star = (ab * ga + ka * gb) / det;
  const double b_star = (aa * gb + kb * ga) / det;
  EXPECT_NEAR(sim.state().deployed(0, 0), a_star, 1e-6 * a_star);
  EXPECT_NEAR(sim.state().deployed(0, 1), b_star, 1e-6 * b_star);
  // Without randomness every lane is the same.
  EXPECT_TRUE((sim.state().deployed.col(0) == sim.state().deployed(0, 0)).all());
}

TEST(RichardsonTest, UnstableCaseDivergesToCapacity) {
  const double ka = 0.06, aa = 0.02, kb = 0.05, ab = 0.03;
  ASSERT_LT(aa * ab, ka * kb);
  const Model model = richardson_model(ka, aa, 100, kb, ab, 100, 1.0, 400);
  BlockSimulator sim(model, {});
  double previous = 0.0;
  for (int s = 0; s < 50; ++s) {
    sim.step(s);
    EXPECT_GT(sim.state().deployed(0, 0), previous);
    previous = sim.state().deployed(0, 0);
  }
  for (int s = 50; s < model.steps(); ++s) sim.step(s);
  // Growth stops only at a bound: the ready pool (1e7) runs dry.
  EXPECT_GT(sim.state().deployed(0, 0) + sim.state().deployed(0, 1), 1e7);
}

TEST(RichardsonTest, DeploymentRateBoundsTheReaction) {
  const Model model(
      duel({.deployed = 1000, .ready = 1e6, .deployment_rate = 250, .deployed_cap = 1e8}, {.deployed = 1000})
          .posture("A", {.reaction = 0, .fatigue = 0, .grievance = 10000})
          .set("run.horizon_days", 10)
          .build());
  BlockSimulator sim(model, {});
  for (int s = 0; s < model.steps(); ++s) sim.step(s);
  EXPECT_DOUBLE_EQ(sim.state().deployed(0, 0), 1000 + 10 * 250);
}

// A war started by a scheduled event, with decisions off, against the closed form.
struct Battle {
  double a0, b0, alpha, beta_raw, advantage;
};

ScenarioBuilder battle_of(const Battle& b, LanchesterLaw law, double collapse) {
  ScenarioBuilder builder = duel({.deployed = b.a0}, {.deployed = b.b0});
  builder.combat("A", {.effectiveness = b.alpha})
      .combat("B", {.effectiveness = b.beta_raw, .defence_advantage = b.advantage})
      .set("run.horizon_days", 200)
      .set("run.seed", 3)
      .set("combat.collapse_fraction", collapse)
      .attack(0, "A", "B", "full");
  builder.scenario().combat.law = law;
  return builder;
}

Model battle_model(const Battle& b, LanchesterLaw law, double collapse) {
  return Model(battle_of(b, law, collapse).build());
}

TEST(LanchesterKernelTest, SquareLawWarFollowsTheClosedForm) {
  const Battle battle{100000, 70000, 0.01, 0.008, 1.5};
  const Model model = battle_model(battle, LanchesterLaw::kSquare, 0.0);
  BlockSimulator sim(model, {});
  const double alpha = battle.alpha, beta = battle.beta_raw * battle.advantage;
  const double gamma = std::sqrt(alpha * beta);
  for (int s = 0; s < 20; ++s) {
    sim.step(s);
    const double t = s + 1.0;
    const double a = battle.a0 * std::cosh(gamma * t) - std::sqrt(beta / alpha) * battle.b0 * std::sinh(gamma * t);
    const double b = battle.b0 * std::cosh(gamma * t) - std::sqrt(alpha / beta) * battle.a0 * std::sinh(gamma * t);
    ASSERT_NEAR(sim.state().deployed(0, 0), a, 1e-6 * battle.a0) << "day " << t;
    ASSERT_NEAR(sim.state().deployed(0, 1), b, 1e-6 * battle.b0) << "day " << t;
    EXPECT_NEAR(sim.state().casualties(0, 0), battle.a0 - a, 1e-6 * battle.a0);
  }
  for (int s = 20; s < model.steps(); ++s) sim.step(s);
  sim.finish();
  // alpha·A0² = 1e8 > beta·B0² = 5.88e7: A wins with sqrt(A0² - (beta/alpha)·B0²).
  EXPECT_EQ(sim.state().deployed(0, 1), 0.0);
  EXPECT_NEAR(sim.state().deployed(0, 0), std::sqrt(battle.a0 * battle.a0 - beta / alpha * battle.b0 * battle.b0),
              1e-6 * battle.a0);
  EXPECT_EQ(sim.state().outcome(0), static_cast<int>(Outcome::kFullWar));
  EXPECT_EQ(sim.state().war_start_step(0), 0);
}

TEST(LanchesterKernelTest, ReinforcementsApplyAtTheirStepAndTheClosedFormRestartsThere) {
  const Battle battle{100000, 90000, 0.01, 0.01, 1.0};
  const Model model(
      battle_of(battle, LanchesterLaw::kSquare, 0.0).event(10, "B", EventKind::kReinforce, 30000).build());
  BlockSimulator sim(model, {});
  for (int s = 0; s < 15; ++s) sim.step(s);
  // Days 0-10 from the start, then from the reinforced state for 5 more days
  // (events apply at the start of their step, before fighting).
  Strengths s10 = lanchester_square({battle.a0, battle.b0}, 0.01, 0.01, 10.0);
  s10.b += 30000;
  const Strengths s15 = lanchester_square(s10, 0.01, 0.01, 5.0);
  EXPECT_NEAR(sim.state().deployed(0, 0), s15.a, 1e-6 * battle.a0);
  EXPECT_NEAR(sim.state().deployed(0, 1), s15.b, 1e-6 * battle.a0);
}

TEST(LanchesterKernelTest, LinearLawIsSelectableAndMatchesItsClosedForm) {
  const Battle battle{50000, 40000, 2e-7, 3e-7, 1.0};
  const Model model = battle_model(battle, LanchesterLaw::kLinear, 0.0);
  BlockSimulator sim(model, {});
  for (int s = 0; s < 15; ++s) sim.step(s);
  const Strengths expected = lanchester_linear({battle.a0, battle.b0}, 2e-7, 3e-7, 15.0);
  EXPECT_NEAR(sim.state().deployed(0, 0), expected.a, 1e-6 * battle.a0);
  EXPECT_NEAR(sim.state().deployed(0, 1), expected.b, 1e-6 * battle.a0);
  // The linear law's invariant alpha·A - beta·B holds through the kernel too.
  EXPECT_NEAR(2e-7 * sim.state().deployed(0, 0) - 3e-7 * sim.state().deployed(0, 1), 2e-7 * 50000 - 3e-7 * 40000,
              1e-12);
}

TEST(LanchesterKernelTest, ASideCollapsesBelowItsCollapseFraction) {
  const Battle battle{100000, 60000, 0.01, 0.01, 1.0};
  const Model model = battle_model(battle, LanchesterLaw::kSquare, 0.5);
  BlockSimulator sim(model, {});
  int ended = -1;
  for (int s = 0; s < model.steps() && ended < 0; ++s) {
    sim.step(s);
    if (sim.state().outcome(0) >= 0) ended = s;
  }
  ASSERT_GE(ended, 0);
  // B collapses on the first day it is at or below half of 60,000.
  const double gamma = 0.01;
  for (int s = 0; s <= ended; ++s) {
    const double t = s + 1.0;
    const double b = battle.b0 * std::cosh(gamma * t) - battle.a0 * std::sinh(gamma * t);
    EXPECT_EQ(b <= 30000.0, s == ended) << "day " << t;
  }
}

TEST(IncidentHazardTest, FirstIncidentTimeIsGeometric) {
  // Constant hazard h per day: p = 1 - exp(-h·dt) per step and
  // P(first incident within n steps) = 1 - (1 - p)^n.
  const double h = 0.02, dt = 0.5;
  const Model model(duel({.deployed = 1000}, {.deployed = 1000})
                        .set("escalation.incidents.base_rate", h)
                        .set("run.dt_days", dt)
                        .set("run.seed", 11)
                        .build());
  constexpr int kBlocks = 40;
  std::vector<int> first;
  for (int k = 0; k < kBlocks; ++k) {
    const BlockResult r = simulate_block(configured(model, 11, false, 0), {0, k * kBlockLanes, kBlockLanes});
    first.insert(first.end(), r.first_incident_step.begin(), r.first_incident_step.end());
  }
  const double p = 1.0 - std::exp(-h * dt);
  const double n_runs = static_cast<double>(first.size());
  for (int n : {1, 5, 20, 60, 150}) {
    const double expected = 1.0 - std::pow(1.0 - p, n);
    double hits = 0;
    for (int f : first) hits += (f >= 0 && f < n) ? 1 : 0;
    const double se = std::sqrt(expected * (1 - expected) / n_runs);
    EXPECT_NEAR(hits / n_runs, expected, 4.5 * se) << "n = " << n;  // 4.5 SE: false alarm < 1e-5 per check
  }
}

// The flagship as shipped (scenarios/jan-2022-standoff.yaml, read by the same reader as users' files).
Scenario flagship() {
  const ShippedScenario* shipped = find_shipped(kFlagshipScenario);
  return load_scenario({std::string(shipped->path), std::string(shipped->text)}).scenario;
}

TEST(ConservationTest, TroopsAreConservedUnderRandomActionsEventsAndWar) {
  // Uniformly random decisions (rationality 0) exercise every action;
  // events reinforce and demobilize. Invariant after every step:
  // deployed + ready + reserve = initial + created - removed - casualties.
  ScenarioBuilder builder(flagship());
  builder.event(3, "USA", EventKind::kReinforce, 4000)
      .event(5, "UKR", EventKind::kDemobilize, 7000)
      .event(9, "RUS", EventKind::kMobilize, 20000)
      .event(12, "NATO", EventKind::kDeploy, 5000)
      .event(20, "RUS", EventKind::kWithdraw, 8000)
      .attack(30, "RUS", "UKR", "limited_incursion");
  for (const char* id : {"RUS", "USA", "NATO", "UKR"})
    builder.set(fmt::format("actors.{}.decision.rationality", id), 0);
  const Scenario scenario = builder.build();
  const Model model(scenario);
  const Model sim_model = configured(model, 5, false, 0);
  BlockSimulator sim(sim_model, {0, 0, kBlockLanes});
  const BlockState& st = sim.state();
  Eigen::ArrayXXd initial = st.deployed + st.ready + st.reserve;
  bool fought = false;
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    const Eigen::ArrayXXd total = st.deployed + st.ready + st.reserve;
    const Eigen::ArrayXXd expected = initial + st.created - st.removed - st.casualties;
    ASSERT_LT(((total - expected).abs() / expected.max(1.0)).maxCoeff(), 1e-12) << "step " << s;
    ASSERT_GE(st.deployed.minCoeff(), 0.0);
    ASSERT_GE(st.ready.minCoeff(), 0.0);
    ASSERT_GE(st.reserve.minCoeff(), 0.0);
    fought = fought || (st.casualties > 0).any();
  }
  EXPECT_TRUE(fought);
  EXPECT_GT(st.created.maxCoeff(), 0.0);
  EXPECT_GT(st.removed.maxCoeff(), 0.0);
  // With rationality 0 every feasible action gets taken somewhere.
  for (int i = 0; i < model.actors(); ++i)
    for (const ActionSpec& a : scenario.actors[i].actions) {
      if (a.kind == ActionKind::kRetaliate) continue;  // needs a protected actor under attack
      EXPECT_GT(st.action_count.col(i * kActionKindCount + static_cast<int>(a.kind)).sum(), 0)
          << scenario.actors[i].id << " " << a.name;
    }
}

TEST(KernelTest, EveryReplicationEndsInExactlyOneConsistentOutcome) {
  const Model model(flagship());
  const Escalation& esc = model.scenario().escalation;
  const BlockResult r = simulate_block(configured(model, 1, false, 0), {0, 0, kBlockLanes});
  for (int i = 0; i < kBlockLanes; ++i) {
    const int o = r.outcome[i];
    ASSERT_GE(o, 0);
    ASSERT_LT(o, kOutcomeCount);
    const int peak = r.peak_rung[i];
    switch (static_cast<Outcome>(o)) {
      case Outcome::kSettlement:
      case Outcome::kStandoff:
        EXPECT_LT(peak, esc.limited_war_rung);
        EXPECT_EQ(r.war_start_step[i], -1);
        break;
      case Outcome::kLimitedWar:
        EXPECT_GE(peak, esc.limited_war_rung);
        EXPECT_LT(peak, esc.full_war_rung);
        break;
      case Outcome::kFullWar:
        EXPECT_GE(peak, esc.full_war_rung);
        EXPECT_LT(peak, esc.alliance_war_rung);
        break;
      case Outcome::kAllianceWar:
        EXPECT_GE(peak, esc.alliance_war_rung);
        break;
    }
    if (o == static_cast<int>(Outcome::kStandoff)) {
      EXPECT_EQ(r.end_step[i], model.steps());
    }
    if (o >= static_cast<int>(Outcome::kLimitedWar)) {
      EXPECT_GE(r.end_step[i], r.war_start_step[i]);
    }
  }
}

TEST(KernelTest, ReplicationsDependOnlyOnTheirKeyNotOnBlockFillOrRepetition) {
  const Model model(flagship());
  const BlockResult full = simulate_block(configured(model, 9, false, 5), {0, 512, kBlockLanes});
  const BlockResult again = simulate_block(configured(model, 9, false, 5), {0, 512, kBlockLanes});
  const BlockResult part = simulate_block(configured(model, 9, false, 5), {0, 512, 100});
  EXPECT_EQ(full.outcome, again.outcome);
  EXPECT_EQ(full.casualties, again.casualties);
  EXPECT_EQ(full.ts_forces, again.ts_forces);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(part.outcome[i], full.outcome[i]);
    EXPECT_EQ(part.end_step[i], full.end_step[i]);
  }
  const BlockResult other_seed = simulate_block(configured(model, 10, false, 5), {0, 512, kBlockLanes});
  EXPECT_NE(full.end_step, other_seed.end_step);
}

// Every per-replication array, record sum and series of a BlockResult, to f.
template <class F>
void for_each_array(BlockResult& r, F f) {
  f(r.outcome), f(r.peak_rung), f(r.end_step), f(r.war_start_step), f(r.war_end_step), f(r.first_incident_step);
  f(r.incidents), f(r.casualties), f(r.final_forces), f(r.action_count), f(r.troops_added), f(r.troops_removed);
  f(r.alliance_war_cause), f(r.agreed), f(r.resolve_type), f(r.final_belief), f(r.offer), f(r.war_cost);
  f(r.ts_belief), f(r.record_rung_count), f(r.record_troops_sum), f(r.record_belief_sum), f(r.ts_forces);
  f(r.ts_rung), f(r.ts_tension);
}

// The executor hands a consumed block back to a worker as the memory of its
// next one: whatever that memory held (here another model's block, with
// other actors, issues and records, every value overwritten with 77) must not
// show in the new block, larger or smaller than the old one.
TEST(KernelTest, ABlockBuiltInAnotherBlocksMemoryIsTheSame) {
  const Model flag = configured(Model(flagship()), 9, false, 5);
  const Model other = configured(richardson_model(0.02, 0.05, 300, 0.03, 0.04, 100, 1.0, 200), 3, false, 1);
  for (const int count : {kBlockLanes, 100}) {
    for (const Model* old_model : {&flag, &other}) {
      BlockResult old = simulate_block(*old_model, {0, 0, count == kBlockLanes ? 37 : kBlockLanes});
      for_each_array(old, [](auto& v) { std::fill(v.begin(), v.end(), 77); });
      old.encoded.assign(3, std::vector<std::uint8_t>(5, 77));
      BlockResult fresh = simulate_block(flag, {0, 512, count});
      BlockResult reused = simulate_block(flag, {0, 512, count}, nullptr, std::move(old));
      EXPECT_FALSE(reused.interrupted);
      EXPECT_TRUE(reused.encoded.empty());
      EXPECT_EQ(reused.spec.first_replication, 512);
      std::vector<std::string> fresh_bytes, reused_bytes;
      auto bytes_of = [](std::vector<std::string>& out) {
        return [&out](auto& v) { out.emplace_back(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0])); };
      };
      for_each_array(fresh, bytes_of(fresh_bytes));
      for_each_array(reused, bytes_of(reused_bytes));
      for (std::size_t f = 0; f < fresh_bytes.size(); ++f)
        EXPECT_EQ(fresh_bytes[f], reused_bytes[f]) << "array " << f << ", count " << count;
    }
  }
}

TEST(KernelTest, CommonRandomNumbersGiveEveryPointTheSameStream) {
  const Model model(flagship());
  const BlockResult p0 = simulate_block(configured(model, 4, true, 0), {0, 0, kBlockLanes});
  const BlockResult p3 = simulate_block(configured(model, 4, true, 0), {3, 0, kBlockLanes});
  const BlockResult p3_independent = simulate_block(configured(model, 4, false, 0), {3, 0, kBlockLanes});
  EXPECT_EQ(p0.end_step, p3.end_step);
  EXPECT_NE(p0.end_step, p3_independent.end_step);
}

TEST(RandomTest, UniformsLieStrictlyInsideTheUnitIntervalAndDependOnEveryKeyField) {
  double a = 0, b = 0, c = 0, d = 0;
  uniform_pair({1, 0}, 0, 0, 0, Purpose::kDecision, &a, &b);
  EXPECT_GT(a, 0.0);
  EXPECT_LT(a, 1.0);
  EXPECT_NE(a, b);
  const auto differs = [&](StreamKey k, std::uint32_t rep, std::uint32_t step, std::uint32_t actor, Purpose p) {
    uniform_pair(k, rep, step, actor, p, &c, &d);
    return c != a;
  };
  EXPECT_TRUE(differs({2, 0}, 0, 0, 0, Purpose::kDecision));
  EXPECT_TRUE(differs({1, 1}, 0, 0, 0, Purpose::kDecision));
  EXPECT_TRUE(differs({1, 0}, 1, 0, 0, Purpose::kDecision));
  EXPECT_TRUE(differs({1, 0}, 0, 1, 0, Purpose::kDecision));
  EXPECT_TRUE(differs({1, 0}, 0, 0, 1, Purpose::kDecision));
  EXPECT_TRUE(differs({1, 0}, 0, 0, 0, Purpose::kIncident));
  EXPECT_TRUE(differs({(1ULL << 40) | 1, 0}, 0, 0, 0, Purpose::kDecision));
}

// The incident's double takes two whole words of the decision stream past
// every actor's, both in one Philox call, and as few calls as that allows.
TEST(RandomTest, TheIncidentWordsFollowTheActorsWithinOneCall) {
  for (int n = 1; n <= 13; ++n) {
    const int o = incident_word(n);
    EXPECT_GE(o, n) << n;
    EXPECT_EQ(o / kDecisionGroup, (o + 1) / kDecisionGroup) << n;
    EXPECT_LE(o / kDecisionGroup, (n + 1) / kDecisionGroup) << n;  // no call more than n + 2 words need
  }
  EXPECT_EQ(incident_word(2) / kDecisionGroup, 0);  // the reduced model: one call per step
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

// Two parties bargaining at random (rationality 0) over a core issue that A
// treats as non-negotiable and a core issue both can move on.
Scenario bargaining(double salience_a_on_first) {
  ScenarioBuilder builder;
  builder.actor("A", {.deployed = 10000, .ready = 5000, .deployment_rate = 1000})
      .actor("B", {.deployed = 8000, .ready = 5000, .deployment_rate = 1000})
      .adversaries("A", "B");
  for (const char* id : {"A", "B"})
    builder.action(id, {.name = "hold"})
        .action(id, {.name = "propose", .kind = ActionKind::kPropose, .concession = 0.2})
        .action(id, {.name = "concede", .kind = ActionKind::kConcede, .concession = 0.2})
        .set(fmt::format("actors.{}.decision.rationality", id), 0);
  return builder.decisions(true)
      .set("run.horizon_days", 200)
      .set("run.seed", 2)
      .set("negotiation.acceptance_window", 0.05)
      .set("negotiation.drawdown", 0.5)
      .issue("first", true, {{"A", 0.0, salience_a_on_first}, {"B", 1.0, 0.3}})
      .issue("second", true, {{"A", 0.2, 0.4}, {"B", 0.9, 0.4}})
      .build();
}

TEST(NegotiationTest, NonNegotiablePositionsNeverMove) {
  const Model model(bargaining(1.0));
  const Model sim_model = configured(model, 2, false, 0);
  BlockSimulator sim(sim_model, {0, 0, kBlockLanes});
  const int n = model.actors();
  bool b_moved = false;
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    // Issue 0, actor A (salience 1): exactly where it started, in every lane.
    ASSERT_TRUE((sim.state().position.col(0 * n + 0) == 0.0).all()) << "step " << s;
    b_moved = b_moved || (sim.state().position.col(0 * n + 1) < 1.0).any();
  }
  EXPECT_TRUE(b_moved);  // the other side can still be persuaded toward A
}

TEST(NegotiationTest, SettlementNeedsEveryCoreIssueAndEndsInDrawdown) {
  const Model model(bargaining(0.5));
  const Model sim_model = configured(model, 2, false, 0);
  BlockSimulator sim(sim_model, {0, 0, kBlockLanes});
  const int n = model.actors();
  const double window = model.scenario().negotiation.acceptance_window;
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    const BlockState& st = sim.state();
    for (Eigen::Index r = 0; r < st.lanes(); ++r) {
      if (st.outcome(r) != static_cast<int>(Outcome::kSettlement) || st.end_step(r) != s) continue;
      // Settled this step: both issues within the acceptance window.
      for (int k = 0; k < 2; ++k)
        EXPECT_LE(std::abs(st.position(r, k * n + 0) - st.position(r, k * n + 1)), window + rules::kWindowSlack);
    }
  }
  sim.finish();
  const BlockState& st = sim.state();
  int settled = 0;
  for (Eigen::Index r = 0; r < st.lanes(); ++r) {
    if (st.outcome(r) != static_cast<int>(Outcome::kSettlement)) continue;
    ++settled;
    // Forces stood down at 1,000/day to half their starting strength.
    const int days_left = model.steps() - 1 - st.end_step(r);
    EXPECT_DOUBLE_EQ(st.deployed(r, 0), std::max(5000.0, 10000.0 - 1000.0 * days_left));
    EXPECT_DOUBLE_EQ(st.deployed(r, 1), std::max(4000.0, 8000.0 - 1000.0 * days_left));
  }
  EXPECT_GT(settled, 0);
  // With salience 1 on the first issue A never moves there, so no lane settles
  // unless B comes all the way to A's position.
  const Model stubborn(bargaining(1.0));
  const Model sim2_model = configured(stubborn, 2, false, 0);
  BlockSimulator sim2(sim2_model, {0, 0, kBlockLanes});
  for (int s = 0; s < stubborn.steps(); ++s) sim2.step(s);
  sim2.finish();
  for (Eigen::Index r = 0; r < sim2.state().lanes(); ++r)
    if (sim2.state().outcome(r) == static_cast<int>(Outcome::kSettlement)) {
      EXPECT_LE(sim2.state().position(r, 0 * n + 1), window + rules::kWindowSlack);
    }
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

// RED may attack BLUE (a partner) or GREEN (covered by ALLY's treaty); ALLY
// decides at random, the others hold.
ScenarioBuilder alliance(bool ally_may_retaliate) {
  ScenarioBuilder builder;
  builder.actor("RED", {.deployed = 100000})
      .actor("BLUE", {.deployed = 50000})
      .actor("GREEN", {.deployed = 20000})
      .actor("ALLY", {.deployed = 30000})
      .combat("RED", {.effectiveness = 0.001})
      .combat("BLUE", {.effectiveness = 0.001})
      .adversaries("RED", "BLUE")
      .adversaries("RED", "GREEN")
      .adversaries("RED", "ALLY")
      .allies("GREEN", "ALLY")
      .commitment("ALLY", "GREEN", 1.0)
      .commitment("ALLY", "BLUE", 0.3)
      .ladder({"calm", "tense", "limited", "full", "clash"}, "tense", "limited", "full", "clash")
      .decisions(true)
      .set("run.horizon_days", 60)
      .set("run.seed", 4)
      .set("combat.collapse_fraction", 0)
      .set("actors.ALLY.decision.rationality", 0);
  for (const char* id : {"RED", "BLUE", "GREEN", "ALLY"}) builder.action(id, {.name = "hold"});
  if (ally_may_retaliate) builder.action("ALLY", {.name = "retaliate", .kind = ActionKind::kRetaliate});
  return builder;
}

// Incidents certain and always escalating.
ScenarioBuilder hot(ScenarioBuilder builder) {
  builder.set("escalation.incidents.base_rate", 50).set("escalation.incidents.escalation_probability", 1);
  return builder;
}

BlockState run_all(const Scenario& scenario) {
  const Model model(scenario);
  const Model sim_model = configured(model, 4, false, 0);
  BlockSimulator sim(sim_model, {0, 0, kBlockLanes});
  for (int s = 0; s < model.steps(); ++s) sim.step(s);
  sim.finish();
  return sim.state();
}

TEST(AllianceTest, AttackingACoveredActorIsAnAllianceWarAtOnce) {
  const BlockState st = run_all(alliance(false).attack(2, "RED", "GREEN", "full").build());
  EXPECT_TRUE((st.outcome == static_cast<int>(Outcome::kAllianceWar)).all());
  EXPECT_TRUE((st.alliance_war_cause == static_cast<int>(AllianceWarCause::kAttackOnCovered)).all());
  EXPECT_TRUE((st.side.col(3) == 2).all());  // ALLY fights on GREEN's side
}

TEST(AllianceTest, AttackingAPartnerStaysLimitedUnlessAProtectorIntervenes) {
  // ALLY's commitment to BLUE (0.3) does not bring it in by itself...
  BlockState st = run_all(alliance(false).attack(2, "RED", "BLUE", "full").build());
  EXPECT_TRUE((st.outcome == static_cast<int>(Outcome::kFullWar)).all());
  EXPECT_TRUE((st.alliance_war_cause == 0).all());
  // ...but with retaliation on its menu (chosen at random) it sometimes joins.
  st = run_all(alliance(true).attack(2, "RED", "BLUE", "full").build());
  const auto intervened = (st.alliance_war_cause == static_cast<int>(AllianceWarCause::kIntervention));
  EXPECT_GT(intervened.count(), 0);
  for (Eigen::Index r = 0; r < st.lanes(); ++r) {
    const bool clash = st.outcome(r) == static_cast<int>(Outcome::kAllianceWar);
    EXPECT_EQ(clash, intervened(r)) << "lane " << r;  // the model says why every clash happened
    if (clash) {
      EXPECT_EQ(st.side(r, 3), 2);
    }
  }
}

TEST(AllianceTest, IncidentsWidenAWarButNeverStartOne) {
  // Certain incidents, always escalating: without a war they stop below the war rungs.
  BlockState st = run_all(hot(alliance(false)).build());
  EXPECT_TRUE((st.peak_rung < 2).all());
  EXPECT_TRUE((st.war_start_step == -1).all());
  // During a war they push the ladder to the alliance rung: cause "incident".
  st = run_all(hot(alliance(false)).attack(2, "RED", "BLUE", "limited").build());
  EXPECT_TRUE((st.outcome == static_cast<int>(Outcome::kAllianceWar)).all());
  EXPECT_TRUE((st.alliance_war_cause == static_cast<int>(AllianceWarCause::kIncident)).all());
  EXPECT_TRUE((st.side.col(3) == 2).all());  // RED's adversaries join the widened war
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

TEST(EventTest, EachEventFiresInExactlyOneStepWhateverTheRounding) {
  // dt = 0.1: day windows computed as s·dt and s·dt + dt overlap or leave gaps
  // at these days; every event must still fire exactly once, in step floor(day/dt).
  const std::vector<double> days = {0.6, 1.3, 1.5, 1.8, 2.5, 3.0, 4.1, 4.6};
  ScenarioBuilder builder = duel({.deployed = 1000}, {.deployed = 1000});
  for (double day : days) builder.event(day, "A", EventKind::kReinforce, 1000);
  const Model model(builder.set("run.horizon_days", 6).set("run.dt_days", 0.1).build());
  const Model sim_model = configured(model, 1, false, 0);
  BlockSimulator sim(sim_model, {0, 0, kBlockLanes});
  double expected = 0;
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    for (double day : days)
      if (static_cast<int>(std::lround(day * 10)) == s) expected += 1000;
    ASSERT_EQ(sim.state().created(0, 0), expected) << "step " << s;
  }
  EXPECT_EQ(expected, 1000.0 * days.size());
}

}  // namespace
}  // namespace brink
