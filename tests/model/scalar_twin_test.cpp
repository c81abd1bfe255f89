// The vectorized kernel against its scalar reference twin (scalar_twin.hpp),
// over every shipped scenario: same random draws, the same outcomes in at
// least 99.9% of replications, equal outcome distributions, and per-step state
// equal to 1e-9 relative where decisions are off. This binary links the
// baseline kernel; path_twin_test.cpp runs the same comparison on every
// path the brink binary loads.
#include "brink/model/scalar_twin.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "twin_compare.hpp"
#include "twin_draws.hpp"

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

// Per-step state where decisions are off (everything but exp/log rounding is
// the same arithmetic): after every step, every kept lane's state at its
// position (finished lanes move behind those in play) against its twin's.
struct StepStates {
  const Model* model = nullptr;
  std::vector<ScalarTwin> twins;  // by block lane
  std::int64_t compared = 0, wrong = 0;
  std::string first_wrong;
};

void compare_state(StepStates& c, const StepView& v, int p) {
  const int r = v.origin[p];
  const ReplicationState& t = c.twins[static_cast<std::size_t>(r)].state();
  const BlockState& b = *v.state;
  std::ostringstream out;
  out.precision(17);
  auto near = [&](const char* what, int i, double a, double e) {
    if (out.str().empty() && !twin_compare::close(a, e, twin_compare::kDoubleTolerance))
      out << what << " of actor " << i << ": " << a << " vs twin " << e;
  };
  auto equal = [&](const char* what, long a, long e) {
    if (out.str().empty() && a != e) out << what << ": " << a << " vs twin " << e;
  };
  for (int i = 0; i < c.model->actors(); ++i) {
    near("deployed", i, b.deployed(p, i), t.deployed[i]), near("ready", i, b.ready(p, i), t.ready[i]);
    near("reserve", i, b.reserve(p, i), t.reserve[i]), near("casualties", i, b.casualties(p, i), t.casualties[i]);
    near("created", i, b.created(p, i), t.created[i]), near("removed", i, b.removed(p, i), t.removed[i]);
    near("effectiveness", i, b.effectiveness(p, i), t.effectiveness[i]);
    equal("side", b.side(p, i), t.side[i]);
  }
  near("tension", -1, b.tension(p), t.tension);
  equal("rung", b.rung(p), t.rung), equal("peak_rung", b.peak_rung(p), t.peak_rung);
  equal("outcome", b.outcome(p), t.outcome), equal("end_step", b.end_step(p), t.end_step);
  equal("war_start_step", b.war_start_step(p), t.war_start_step);
  equal("war_end_step", b.war_end_step(p), t.war_end_step);
  equal("first_incident_step", b.first_incident_step(p), t.first_incident_step);
  equal("incidents", b.incidents(p), t.incidents);
  equal("alliance_war_cause", b.alliance_war_cause(p), t.alliance_war_cause);
  ++c.compared;
  if (out.str().empty() || c.wrong++ > 0) return;
  c.first_wrong = "step " + std::to_string(v.step) + ", block lane " + std::to_string(r) + ": " + out.str();
}

void step_and_compare(void* context, const StepView& v) {
  StepStates& c = *static_cast<StepStates*>(context);
  for (ScalarTwin& twin : c.twins) twin.step(v.step);
  for (int p = 0; p < kBlockLanes; ++p)
    if (v.origin[p] < static_cast<int>(c.twins.size())) compare_state(c, v, p);
}

TEST(ScalarTwinTest, PerStepStateOfEveryLaneMatchesWithDecisionsOff) {
  int scenarios = 0;
  for (const Named& s : twin_compare::twin_models()) {
    if (s.model.scenario().run.decisions) continue;
    SCOPED_TRACE(s.name);
    ++scenarios;
    std::vector<LaneSegment> segments;
    const std::vector<BlockSpec> specs = twin_compare::twin_blocks(s.model, &segments);
    // The first full block, the partly filled one and the packed one.
    for (const BlockSpec* spec : {&specs.front(), &specs[specs.size() - 2], &specs.back()}) {
      StepStates states;
      states.model = &s.model;
      for (int r = 0; r < spec->count; ++r) {
        const twin_draws::LaneStream ls = twin_draws::lane_stream(s.model, *spec, r);
        states.twins.emplace_back(*ls.model, ls.point, ls.replication);
      }
      observe_block(s.model, *spec, BlockObserver{&states, nullptr, &step_and_compare});
      EXPECT_EQ(states.wrong, 0) << "of " << states.compared << " lane-steps; the first: " << states.first_wrong;
      EXPECT_GT(states.compared, 0);
    }
  }
  EXPECT_GT(scenarios, 0);
}

// Every uniform the statically linked kernel draws is the twin's (twin_draws.hpp).
TEST(ScalarTwinTest, EveryDrawIsTheTwinsAndFinishedReplicationsStopLearning) {
  twin_draws::expect_same_draws(
      [](const Model& m, const BlockSpec& b, const BlockObserver& o) { observe_block(m, b, o); });
}

}  // namespace
}  // namespace brink
