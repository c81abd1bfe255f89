// Packed blocks (docs/calibration.md, "Packed blocks"): one 256-lane block
// carrying several sweep points side by side, each with its own per-lane
// fields, must give every lane exactly what that point's own block gives its
// replication. Stream rule: replication r of segment j draws stream
// (seed, point_j) at replication first_replication_j + r, as it would alone.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../support/configured_model.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/scalar_twin.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink {
namespace {

Scenario shipped(std::string_view name) {
  for (const ShippedScenario& s : shipped_scenarios())
    if (s.name == name) return load_scenario({std::string(s.path), std::string(s.text)}).scenario;
  ADD_FAILURE() << name << " is not shipped";
  return {};
}

// A shipped scenario (default: the flagship) with some per-lane fields changed
// (and a time series every 5 steps).
Model variant(const std::vector<std::pair<std::string, double>>& changes, std::string_view name = "jan-2022-standoff") {
  Scenario s = shipped(name);
  const FieldRegistry registry(s);
  for (const auto& [path, value] : changes) {
    const FieldRef* ref = registry.find(path);
    EXPECT_NE(ref, nullptr) << path;
    EXPECT_TRUE(ref->spec->per_lane) << path;
    ref->set(s, value);
  }
  s.output.timeseries_every = 5;
  return Model(std::move(s));
}

// Rows [first, first + count) of a replication-major array of `width` values per replication.
template <class T>
std::vector<T> rows(const std::vector<T>& v, int total, int first, int count) {
  const std::size_t width = total > 0 ? v.size() / static_cast<std::size_t>(total) : 0;
  return std::vector<T>(v.begin() + static_cast<long>(first * width),
                        v.begin() + static_cast<long>((first + count) * width));
}

// Beliefs: exactly equal, or (per-lane decision weights) equal to float rounding.
enum class Beliefs { kExact, kRounding };

void expect_lanes_equal(const BlockResult& packed, int first, const BlockResult& alone,
                        Beliefs beliefs = Beliefs::kExact) {
  const int total = packed.spec.count, c = alone.spec.count;
  EXPECT_EQ(rows(packed.outcome, total, first, c), alone.outcome);
  EXPECT_EQ(rows(packed.peak_rung, total, first, c), alone.peak_rung);
  EXPECT_EQ(rows(packed.end_step, total, first, c), alone.end_step);
  EXPECT_EQ(rows(packed.war_start_step, total, first, c), alone.war_start_step);
  EXPECT_EQ(rows(packed.first_incident_step, total, first, c), alone.first_incident_step);
  EXPECT_EQ(rows(packed.incidents, total, first, c), alone.incidents);
  EXPECT_EQ(rows(packed.casualties, total, first, c), alone.casualties);
  EXPECT_EQ(rows(packed.final_forces, total, first, c), alone.final_forces);
  EXPECT_EQ(rows(packed.action_count, total, first, c), alone.action_count);
  EXPECT_EQ(rows(packed.resolve_type, total, first, c), alone.resolve_type);
  const std::vector<float> belief = rows(packed.final_belief, total, first, c);
  if (beliefs == Beliefs::kExact) {
    EXPECT_EQ(belief, alone.final_belief);
  }
  ASSERT_EQ(belief.size(), alone.final_belief.size());
  for (std::size_t k = 0; k < belief.size(); ++k) EXPECT_NEAR(belief[k], alone.final_belief[k], 1e-5) << k;
  EXPECT_EQ(rows(packed.war_cost, total, first, c), alone.war_cost);
  for (int r = 0; r < c; ++r)  // NaN before the first demand: compare the bits
    EXPECT_EQ(std::isnan(packed.offer[first + r]) ? -1.0 : packed.offer[first + r],
              std::isnan(alone.offer[r]) ? -1.0 : alone.offer[r]);
  EXPECT_EQ(rows(packed.ts_forces, total, first, c), alone.ts_forces);
  EXPECT_EQ(rows(packed.ts_rung, total, first, c), alone.ts_rung);
  EXPECT_EQ(rows(packed.ts_tension, total, first, c), alone.ts_tension);
}

std::vector<Model> four_particles() {
  std::vector<Model> m;
  m.push_back(variant({}));
  m.push_back(variant({{"escalation.incidents.base_rate", 0.05},
                       {"actors.RUS.types.resolved.prior", 0.8},
                       {"actors.RUS.types.coercer.prior", 0.2},
                       {"escalation.incidents.escalation_probability", 0.6},
                       {"escalation.incidents.tension_jump", 2.0}}));
  m.push_back(variant({{"actors.RUS.posture.reaction", 0.2},
                       {"actors.RUS.posture.grievance", 1500},
                       {"actors.RUS.forces.deployed", 120000},
                       {"escalation.tension.initial", 3.0}}));
  m.push_back(variant({{"escalation.tension.decay", 0.01},
                       {"escalation.incidents.tension_rate", 0.02},
                       {"escalation.incidents.contact_rate", 0.05},
                       {"actors.UKR.forces.ready", 150000},
                       {"actors.RUS.forces.deployment_rate", 900},
                       {"actors.RUS.forces.mobilization_rate", 4000},
                       {"actors.UKR.forces.deployed_cap", 160000},
                       {"actors.RUS.combat.effectiveness", 0.02},
                       {"actors.RUS.decision.rationality", 0.5},
                       {"actors.USA.decision.rationality", 8},
                       {"actors.UKR.combat.defence_advantage", 2.5}}));
  return m;
}

void check_packing(const std::vector<LaneSegment>& segments, Beliefs beliefs = Beliefs::kExact) {
  int total = 0;
  for (const LaneSegment& seg : segments) total += seg.count;
  BlockSpec spec;
  spec.count = total;
  spec.segments = segments;
  const BlockResult packed = simulate_block(*segments.front().model, spec);
  int first = 0;
  for (const LaneSegment& seg : segments) {
    SCOPED_TRACE("segment at lane " + std::to_string(first));
    const BlockResult alone = simulate_block(
        *seg.model, {.point = seg.point, .first_replication = seg.first_replication, .count = seg.count});
    expect_lanes_equal(packed, first, alone, beliefs);
    first += seg.count;
  }
}

TEST(PackedBlockTest, FourParticlesEqualFourSeparateBlocksLaneByLane) {
  const std::vector<Model> m = four_particles();
  check_packing({{&m[0], 5, 0, 64}, {&m[1], 2, 64, 64}, {&m[2], 9, 0, 64}, {&m[3], 0, 128, 64}});
}

TEST(PackedBlockTest, UnevenSegmentsAndPaddingKeepEveryLanesStream) {
  const std::vector<Model> m = four_particles();
  // Counts that are no multiple of any SIMD width, and 20 padding lanes.
  check_packing({{&m[3], 1, 7, 37}, {&m[1], 4, 0, 100}, {&m[0], 3, 300, 99}});
}

TEST(PackedBlockTest, BargainingForecastsReadEachLanesCombatFields) {
  // War forecasts (bargaining and war) read combat effectiveness and defence advantage per lane.
  const std::string_view name = "validation/bargaining-commitment";
  std::vector<Model> m;
  m.push_back(variant({}, name));
  m.push_back(variant({{"actors.RISING.combat.effectiveness", 0.03}}, name));
  m.push_back(
      variant({{"actors.DECLINING.combat.defence_advantage", 3.0}, {"actors.DECLINING.forces.deployed", 20000}}, name));
  check_packing({{&m[0], 0, 0, 80}, {&m[1], 1, 0, 80}, {&m[2], 2, 0, 96}});
  const BlockResult a = simulate_block(m[0], {.point = 0, .first_replication = 0, .count = 80});
  const BlockResult b = simulate_block(m[1], {.point = 0, .first_replication = 0, .count = 80});
  EXPECT_NE(a.offer, b.offer);  // the stronger riser changes the forecast and so the demand
}

TEST(PackedBlockTest, DecisionWeightsPerLane) {
  // Segments whose actors and types weigh the features differently: each lane
  // weighs with its own segment's weights (the back-test calibrates war_gain).
  std::vector<Model> m;
  m.push_back(variant({}));
  m.push_back(variant({{"actors.RUS.decision.weights.war_gain", 3.5}, {"actors.USA.decision.weights.cost", 0.2}}));
  m.push_back(variant({{"actors.RUS.types.coercer.weights.escalation", 0.1},
                       {"actors.RUS.decision.weights.security", 2.5},
                       {"actors.UKR.decision.weights.impatience", 1.0}}));
  // Every decision, action and outcome is the lane's own; beliefs to float
  // rounding (see weigh_lanes in decide.cpp).
  check_packing({{&m[1], 0, 0, 100}, {&m[0], 0, 100, 56}, {&m[2], 0, 0, 100}}, Beliefs::kRounding);
  check_packing({{&m[0], 0, 0, 128}, {&m[0], 1, 0, 128}});  // equal weights: the scalar path, exact
  const BlockResult a = simulate_block(m[0], {.point = 0, .first_replication = 0, .count = 256});
  const BlockResult b = simulate_block(m[1], {.point = 0, .first_replication = 0, .count = 256});
  EXPECT_NE(a.action_count, b.action_count);  // the weights change the decisions
}

TEST(PackedBlockTest, SegmentsDifferInResults) {
  // The fields really reach the kernel: the particles' blocks differ.
  const std::vector<Model> m = four_particles();
  const BlockResult a = simulate_block(m[0], {.point = 0, .first_replication = 0, .count = 64});
  const BlockResult c = simulate_block(m[2], {.point = 0, .first_replication = 0, .count = 64});
  EXPECT_NE(a.ts_forces, c.ts_forces);
  const BlockResult b = simulate_block(m[1], {.point = 0, .first_replication = 0, .count = 64});
  EXPECT_NE(a.incidents, b.incidents);
  EXPECT_NE(a.resolve_type, b.resolve_type);  // the type prior moved from 0.5 to 0.8
}

TEST(PackedBlockTest, ScalarTwinOfAPackedBlockMatchesItsLanes) {
  // The twin runs a packed block lane by lane, each with its segment's model,
  // point and replication: the oracle of the packed kernel, per-lane decision
  // weights included.
  std::vector<Model> m = four_particles();
  m.push_back(variant({{"actors.RUS.decision.weights.war_gain", 3.5}, {"actors.RUS.decision.weights.cost", 0.3}}));
  const std::vector<LaneSegment> segments = {{&m[2], 9, 0, 100}, {&m[1], 2, 64, 56}, {&m[4], 0, 0, 100}};
  BlockSpec spec;
  spec.segments = segments;
  const BlockResult packed = simulate_block(m[2], spec);
  const BlockResult twin = simulate_block_scalar(m[2], spec);
  ASSERT_EQ(twin.outcome.size(), packed.outcome.size());
  int same = 0;
  for (std::size_t r = 0; r < packed.outcome.size(); ++r) same += packed.outcome[r] == twin.outcome[r] ? 1 : 0;
  EXPECT_GE(same, 255);  // the twin and the kernel differ only in libm rounding (scalar_twin.hpp)
  // Lane by lane it is the twin of the segment alone.
  const BlockResult alone =
      simulate_block_scalar(*segments[1].model, {.point = 2, .first_replication = 64, .count = 56});
  EXPECT_EQ(rows(twin.outcome, 256, 100, 56), alone.outcome);
  EXPECT_EQ(rows(twin.final_forces, 256, 100, 56), alone.final_forces);
  EXPECT_EQ(rows(twin.resolve_type, 256, 100, 56), alone.resolve_type);
}

TEST(PackedBlockTest, RejectsSegmentsOfAnotherSeed) {
  const std::vector<Model> m = four_particles();
  const Model other = configured(m[1], 99, false, 5);
  const std::vector<LaneSegment> segments = {{&m[0], 0, 0, 64}, {&other, 1, 0, 64}};
  BlockSpec spec;
  spec.count = 128;
  spec.segments = segments;
  EXPECT_THROW(simulate_block(m[0], spec), std::invalid_argument);
}

}  // namespace
}  // namespace brink
