// The vectorized kernel against its scalar reference twin (scalar_twin.hpp),
// over every shipped scenario: same random draws, the same outcomes in at
// least 99.9% of replications, equal outcome distributions, and per-step state
// equal to 1e-9 relative where decisions are off. This binary links the
// baseline kernel; path_twin_test.cpp runs the same comparison on every
// path the brink binary loads.
#include "brink/model/scalar_twin.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "twin_compare.hpp"

namespace brink {
namespace {

TEST(PhiloxLanesTest, VectorizedPhiloxEqualsRandom123LaneByLane) {
  const StreamKey key{(0xABCDEFULL << 32) | 0x12345u, 7};
  std::uint32_t words[4][kBlockLanes];
  philox_lanes<kBlockLanes>(key, 1000, 42, purpose_word(Purpose::kDecision, 3), words);
  for (int l = 0; l < kBlockLanes; ++l) {
    const auto r = philox_words(key, 1000 + l, 42, purpose_word(Purpose::kDecision, 3));
    for (int w = 0; w < 4; ++w) ASSERT_EQ(words[w][l], r[w]) << "lane " << l << " word " << w;
    EXPECT_EQ(unit_float(r[0]), r123::u01fixedpt<float>(r[0]));
    EXPECT_EQ(unit_double(r[0], r[1]), r123::u01fixedpt<double>((std::uint64_t{r[0]} << 32) | r[1]));
    // The lane version the incident pass uses is the same number, bit for bit.
    EXPECT_EQ(unit_double_lanes(r[0], r[1]), unit_double(r[0], r[1]));
    EXPECT_EQ(unit_double_lanes(r[2], 0xFFFFFFFFu), unit_double(r[2], 0xFFFFFFFFu));
  }
}

using twin_compare::Named;
using twin_compare::shipped_models;

TEST(ScalarTwinTest, EveryShippedScenarioGivesTheSameOutcomesAsTheVectorizedKernel) {
  twin_compare::expect_twin_agrees([](const Model& m, const BlockSpec& b) { return simulate_block(m, b); },
                                   [](const Model& m, const BlockSpec& b) { return simulate_block_scalar(m, b); });
}

TEST(ScalarTwinTest, RevealedTypesGiveTheSameOutcomesAndBeliefsStayOnTheTrueType) {
  for (const ShippedScenario& shipped : shipped_scenarios()) {
    SCOPED_TRACE(std::string(shipped.name));
    Scenario sc = load_scenario({std::string(shipped.path), std::string(shipped.text)}).scenario;
    sc.run.revealed_types = true;
    const Model model(sc);
    const int n = model.actors();
    std::int64_t same = 0, total = 0;
    for (int block = 0; block < 2; ++block) {
      const BlockSpec spec{5, block * kBlockLanes, kBlockLanes};
      const BlockResult v = simulate_block(model, spec);
      const BlockResult t = simulate_block_scalar(model, spec);
      ASSERT_EQ(v.resolve_type, t.resolve_type);
      for (int r = 0; r < kBlockLanes; ++r) {
        same += v.outcome[r] == t.outcome[r] && v.end_step[r] == t.end_step[r];
        ++total;
        for (int i = 0; i < n; ++i) {
          const int type = v.resolve_type[static_cast<std::size_t>(r) * n + i];
          for (int k = 0; k < static_cast<int>(sc.actors[i].types.size()); ++k) {
            const std::size_t c = (static_cast<std::size_t>(r) * n + i) * sc.type_slots() + k;
            ASSERT_EQ(v.final_belief[c], k == type ? 1.0f : 0.0f) << "lane " << r << " actor " << i;
            ASSERT_EQ(t.final_belief[c], v.final_belief[c]);
          }
        }
      }
    }
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(total)) << same << " of " << total;
  }
}

TEST(ScalarTwinTest, PerStepStateMatchesWithDecisionsOff) {
  for (const Named& s : shipped_models()) {
    if (s.model.scenario().run.decisions) continue;
    SCOPED_TRACE(s.name);
    BlockSimulator block(s.model, {0, 0, kBlockLanes});
    std::vector<ScalarTwin> twins;
    for (int r = 0; r < 8; ++r) twins.emplace_back(s.model, 0, r);
    const int n = s.model.actors();
    for (int step = 0; step < s.model.steps(); ++step) {
      block.step(step);
      for (ScalarTwin& twin : twins) twin.step(step);
      // A lane's state is at its position (finished lanes move behind those in play).
      for (int p = 0; p < kBlockLanes; ++p) {
        const int r = block.block_lane(p);
        if (r >= static_cast<int>(twins.size())) continue;
        const ReplicationState& t = twins[r].state();
        const BlockState& v = block.state();
        auto near = [&](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); };
        for (int i = 0; i < n; ++i) {
          ASSERT_TRUE(near(v.deployed(p, i), t.deployed[i])) << "step " << step << " lane " << r << " actor " << i;
          ASSERT_TRUE(near(v.ready(p, i), t.ready[i]));
          ASSERT_TRUE(near(v.reserve(p, i), t.reserve[i]));
          ASSERT_TRUE(near(v.casualties(p, i), t.casualties[i]));
        }
        ASSERT_TRUE(near(v.tension(p), t.tension)) << "step " << step;
        ASSERT_EQ(v.rung(p), t.rung);
        ASSERT_EQ(v.outcome(p), t.outcome);
      }
    }
  }
}

}  // namespace
}  // namespace brink
