// Retiring finished lanes (BlockSimulator::retire_finished) is invisible in
// the results: over every shipped scenario, whole, partial and packed
// blocks, with time series, every per-replication dataset is identical with
// and without it; the block's rung counts are identical and its troop and
// belief sums (the same terms, summed in another order) agree to rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink {
namespace {

Scenario with_series(const ShippedScenario& s) {
  Scenario sc = load_scenario({std::string(s.path), std::string(s.text)}).scenario;
  sc.output.timeseries_every = 1;
  return sc;
}

void expect_near_sums(const std::vector<double>& with, const std::vector<double>& without, const char* what) {
  ASSERT_EQ(with.size(), without.size()) << what;
  for (std::size_t k = 0; k < with.size(); ++k)
    ASSERT_LE(std::abs(with[k] - without[k]), 1e-12 * std::max(1.0, std::abs(without[k]))) << what << " " << k;
}

void expect_same_results(const BlockResult& with, const BlockResult& without) {
  EXPECT_EQ(with.outcome, without.outcome);
  EXPECT_EQ(with.peak_rung, without.peak_rung);
  EXPECT_EQ(with.end_step, without.end_step);
  EXPECT_EQ(with.war_start_step, without.war_start_step);
  EXPECT_EQ(with.war_end_step, without.war_end_step);
  EXPECT_EQ(with.first_incident_step, without.first_incident_step);
  EXPECT_EQ(with.incidents, without.incidents);
  EXPECT_EQ(with.casualties, without.casualties);
  EXPECT_EQ(with.final_forces, without.final_forces);
  EXPECT_EQ(with.action_count, without.action_count);
  EXPECT_EQ(with.troops_added, without.troops_added);
  EXPECT_EQ(with.troops_removed, without.troops_removed);
  EXPECT_EQ(with.alliance_war_cause, without.alliance_war_cause);
  EXPECT_EQ(with.agreed, without.agreed);
  EXPECT_EQ(with.resolve_type, without.resolve_type);
  EXPECT_EQ(with.final_belief, without.final_belief);
  // Offers are NaN before the first: compare bit patterns.
  ASSERT_EQ(with.offer.size(), without.offer.size());
  EXPECT_EQ(0, std::memcmp(with.offer.data(), without.offer.data(), with.offer.size() * sizeof(double)));
  EXPECT_EQ(with.war_cost, without.war_cost);
  EXPECT_EQ(with.ts_forces, without.ts_forces);
  EXPECT_EQ(with.ts_rung, without.ts_rung);
  EXPECT_EQ(with.ts_tension, without.ts_tension);
  EXPECT_EQ(with.ts_belief, without.ts_belief);
  EXPECT_EQ(with.record_rung_count, without.record_rung_count);
  expect_near_sums(with.record_troops_sum, without.record_troops_sum, "troops sum");
  expect_near_sums(with.record_belief_sum, without.record_belief_sum, "belief sum");
}

// simulate_block of `spec` with and without retiring finished lanes.
void expect_retiring_changes_nothing(const Model& model, BlockSpec spec) {
  const BlockResult with = simulate_block(model, spec);
  spec.retire_finished = false;
  expect_same_results(with, simulate_block(model, spec));
}

TEST(RetireFinishedTest, EveryShippedScenarioGivesTheSameResultsWithAndWithout) {
  for (const ShippedScenario& s : shipped_scenarios()) {
    SCOPED_TRACE(std::string(s.name));
    const Model model(with_series(s));
    for (const int count : {kBlockLanes, 100}) {
      SCOPED_TRACE(count);
      expect_retiring_changes_nothing(model, {3, 512, count});
    }
  }
}

// A belief that cannot change (an actor with one type, or any actor under
// revealed information) has the same sum at every record, with and without
// retirement: the number of lanes whose drawn type it is, or the prior times
// the count. The recorder sums such a column once (Recorder::sum_lanes).
TEST(RetireFinishedTest, FixedBeliefsSumToTheirDrawnTypesAtEveryRecord) {
  for (const bool revealed : {false, true}) {
    Scenario sc = with_series(*find_shipped(kFlagshipScenario));
    sc.run.revealed_types = revealed;
    const Model model(sc);
    const int n = model.actors(), slots = sc.type_slots(), count = 200;
    BlockSpec spec{5, 0, count};
    for (const bool retire : {true, false}) {
      spec.retire_finished = retire;
      const BlockResult r = simulate_block(model, spec);
      for (int i = 0; i < n; ++i) {
        if (model.learns_type_of(i)) continue;
        const auto& types = sc.actors[static_cast<std::size_t>(i)].types;
        for (int k = 0; k < static_cast<int>(types.size()); ++k) {
          int drawn = 0;
          for (int l = 0; l < count; ++l) drawn += r.resolve_type[static_cast<std::size_t>(l * n + i)] == k ? 1 : 0;
          const double expected =
              revealed ? drawn
                       : count * static_cast<double>(static_cast<float>(types[static_cast<std::size_t>(k)].prior));
          for (int q = 0; q < model.records(); ++q)
            ASSERT_EQ(r.record_belief_sum[static_cast<std::size_t>((q * n + i) * slots + k)], expected)
                << "actor " << i << " type " << k << " record " << q << (revealed ? " revealed" : " private");
        }
      }
    }
  }
}

// A packed block's lanes carry their own fields (here tension decay and
// incident rates differ between the segments), which move with them.
TEST(RetireFinishedTest, PackedBlocksGiveTheSameResultsWithAndWithout) {
  const Scenario base = with_series(*find_shipped(kFlagshipScenario));
  Scenario changed = base;
  const FieldRegistry registry(changed);
  for (const auto& [path, value] : std::vector<std::pair<std::string, double>>{
           {"escalation.tension.decay", 0.2}, {"escalation.incidents.base_rate", 0.05}})
    registry.find(path)->set(changed, value);
  const Model first(base), second(changed);
  const std::vector<LaneSegment> segments = {{&first, 0, 0, 120}, {&second, 1, 40, 100}};
  expect_retiring_changes_nothing(first, {0, 0, 220, segments});
}

// The comparison above means something only if lanes do retire: in the
// flagship about a quarter of the replications end in a war that collapses,
// so by the horizon whole groups of lanes have left the passes.
TEST(RetireFinishedTest, FinishedLanesLeaveThePassesAndPaddingNeverEnters) {
  const Model model(with_series(*find_shipped(kFlagshipScenario)));
  BlockSimulator sim(model, {0, 0, kBlockLanes});
  EXPECT_EQ(sim.width(), kBlockLanes);
  for (int s = 0; s < model.steps(); ++s) sim.step(s);
  EXPECT_LT(sim.width(), kBlockLanes);
  EXPECT_EQ(sim.width() % kLaneGroup, 0);
  std::vector<int> lanes(kBlockLanes);
  for (int p = 0; p < kBlockLanes; ++p) lanes[p] = sim.block_lane(p);
  // A permutation of the block's lanes, in which only finished lanes sit past the width.
  std::vector<int> sorted = lanes;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(kBlockLanes);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  for (int p = sim.width(); p < kBlockLanes; ++p)
    EXPECT_FALSE(rules::lane_in_play(sim.state().outcome(p))) << "position " << p;

  BlockSimulator partial(model, {0, 0, 20});
  EXPECT_EQ(partial.width(), 2 * kLaneGroup);
}

TEST(PhiloxLanesTest, PerLaneCountersEqualRandom123LaneByLane) {
  constexpr int kCount = 48;
  std::uint32_t replication[kBlockLanes], point[kBlockLanes];
  std::mt19937 shuffle(5);
  for (int l = 0; l < kBlockLanes; ++l) {
    replication[l] = static_cast<std::uint32_t>(1000 + 7 * l);
    point[l] = static_cast<std::uint32_t>(l % 3);
  }
  std::shuffle(replication, replication + kBlockLanes, shuffle);
  std::uint32_t words[4][kBlockLanes] = {};
  const std::uint64_t seed = (0xABCDEFULL << 32) | 0x12345u;
  philox_lanes_at<kBlockLanes>(seed, replication, point, 42, purpose_word(Purpose::kIncident, 0), words, kCount);
  for (int l = 0; l < kBlockLanes; ++l) {
    const auto r = philox_words({seed, point[l]}, replication[l], 42, purpose_word(Purpose::kIncident, 0));
    for (int w = 0; w < 4; ++w) {
      // Lanes past the count are not computed.
      if (l < kCount)
        ASSERT_EQ(words[w][l], r[w]) << "lane " << l << " word " << w;
      else
        ASSERT_EQ(words[w][l], 0u) << "lane " << l << " word " << w;
    }
  }
}

}  // namespace
}  // namespace brink
