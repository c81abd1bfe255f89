// The conformance suite every shipped scenario runs through (in the spirit of
// OpenSpiel's basic_tests): after every step of a block, troops are conserved
// to 1e-12 of the troops an actor ever had, every pool and casualty count is non-negative, beliefs
// are probabilities that sum to 1, rungs stay on the ladder, outcomes once
// decided never change; at the end every replication has exactly one outcome.
#include <gtest/gtest.h>

#include <string>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink {
namespace {

void check_every_step(const std::string& name, const Model& model) {
  SCOPED_TRACE(name);
  BlockSimulator sim(model, {1, 0, kBlockLanes});
  const BlockState& st = sim.state();
  // By block lane: finished lanes move behind those in play (retire_finished).
  const Eigen::ArrayXXd initial_of_lane = st.deployed + st.ready + st.reserve;
  Eigen::ArrayXXd initial = initial_of_lane;
  const int rungs = static_cast<int>(model.scenario().escalation.rungs.size());
  Eigen::ArrayXi decided = Eigen::ArrayXi::Constant(kBlockLanes, -1);
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    for (int r = 0; r < kBlockLanes; ++r) initial.row(r) = initial_of_lane.row(sim.block_lane(r));
    const Eigen::ArrayXXd total = st.deployed + st.ready + st.reserve;
    const Eigen::ArrayXXd expected = initial + st.created - st.removed - st.casualties;
    // Relative to the troops the actor ever had: a side annihilated in battle
    // leaves a total near 0, where the rounding of the large terms is absolute.
    const Eigen::ArrayXXd scale = (initial + st.created).max(1.0);
    ASSERT_LT(((total - expected).abs() / scale).maxCoeff(), 1e-12) << "step " << s;
    for (const Eigen::ArrayXXd* pool : {&st.deployed, &st.ready, &st.reserve, &st.casualties, &st.created, &st.removed})
      ASSERT_GE(pool->minCoeff(), 0.0) << "step " << s;
    ASSERT_GE(st.tension.minCoeff(), 0.0) << "step " << s;
    ASSERT_GE(st.rung.minCoeff(), 0);
    ASSERT_LT(st.peak_rung.maxCoeff(), rungs);
    ASSERT_TRUE((st.peak_rung >= st.rung).all());
    for (int i = 0; i < model.actors(); ++i) {
      const int types = static_cast<int>(model.scenario().actors[i].types.size());
      const Eigen::ArrayXf beliefs = st.belief.middleCols(i * kMaxTypes, types).rowwise().sum();
      ASSERT_LT((beliefs - 1.0f).abs().maxCoeff(), 1e-5f) << "actor " << i << " step " << s;
      ASSERT_GE(st.belief.middleCols(i * kMaxTypes, types).minCoeff(), 0.0f);
    }
    for (int r = 0; r < kBlockLanes; ++r) {
      const int lane = sim.block_lane(r);
      if (decided(lane) >= 0) {
        ASSERT_EQ(st.outcome(r), decided(lane)) << "an outcome changed, lane " << lane;
      }
      decided(lane) = st.outcome(r);
    }
  }
  sim.finish();
  ASSERT_TRUE(((st.outcome >= 0) && (st.outcome < kOutcomeCount)).all());
}

TEST(InvariantsTest, EveryShippedScenarioKeepsTheModelsInvariantsAfterEveryStep) {
  for (const ShippedScenario& s : shipped_scenarios()) {
    const Model model(load_scenario({std::string(s.path), std::string(s.text)}).scenario);
    check_every_step(std::string(s.name), model);
  }
}

TEST(InvariantsTest, AlsoUnderUniformlyRandomDecisions) {
  // Rationality 0: every feasible action is taken somewhere, which reaches the
  // corners (attacks, sanctions, withdrawals) that tuned scenarios rarely do.
  for (const ShippedScenario& s : shipped_scenarios()) {
    LoadedScenario loaded = load_scenario({std::string(s.path), std::string(s.text)});
    for (Actor& a : loaded.scenario.actors) a.decision.rationality = 0.0;
    check_every_step(std::string(s.name) + " (rationality 0)", Model(loaded.scenario));
  }
}

}  // namespace
}  // namespace brink
