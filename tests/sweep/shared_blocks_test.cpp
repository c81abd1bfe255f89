// Sweep points of few replications share simulation blocks
// (SweepPlan::points_per_block); every point's result must be the one its
// own block gives, bit for bit, and only plans where that holds may share.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../support/scenarios.hpp"
#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/sweep/executor.hpp"

namespace brink {
namespace {

// The flagship with a grid of per-lane fields: forces, combat, the logit,
// tension, incidents and Richardson posture switched on and off (0), so
// that some blocks mix points with and without a posture phase.
constexpr const char* kSharedSweep = R"(
sweep:
  design: grid
  parameters:
    actors.RUS.decision.rationality: [0.5, 2.0, 6.0]
    escalation.tension.decay: [0.01, 0.08]
    actors.UKR.forces.deployed: [120000, 240000]
    actors.RUS.posture.reaction: [0.0, 0.03]
    actors.RUS.combat.effectiveness: [0.004, 0.03]
    escalation.incidents.base_rate: [0.0005, 0.02]
)";

// Per-lane axes crossed with a field read once per block (patience) and with
// a decision weight (per lane, but not bit for bit): only points that agree
// on those two share a block. The last axis varies fastest, so the per-lane
// axis is put last and runs of equal patience and weight are long.
constexpr const char* kMixedSweep = R"(
sweep:
  design: grid
  parameters:
    actors.RUS.decision.patience_days: [10, 60]
    actors.RUS.decision.weights.cost: [1.0, 3.0]
    escalation.tension.decay: [0.01, 0.08]
    actors.RUS.decision.rationality: [0.5, 1.0, 2.0, 4.0, 8.0]
)";

SweepPlan plan_of(const std::string& sweep, int replications, int timeseries_every = 0) {
  std::vector<Override> settings{{"run.replications", std::to_string(replications)}};
  if (timeseries_every > 0) settings.push_back({"output.timeseries_every", std::to_string(timeseries_every)});
  const LoadedScenario loaded = load_scenario({"flagship", testing::flagship_text() + sweep}, settings);
  return make_plan(loaded, {});
}

// Every array of two results, byte for byte (NaN offers included).
void expect_same(const BlockResult& a, const BlockResult& b, const std::string& where) {
  auto same = [&](const auto& x, const auto& y, const char* name) {
    ASSERT_EQ(x.size(), y.size()) << where << ' ' << name;
    EXPECT_TRUE(x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof x[0]) == 0) << where << ' ' << name;
  };
  EXPECT_EQ(a.spec.point, b.spec.point) << where;
  EXPECT_EQ(a.spec.count, b.spec.count) << where;
  same(a.outcome, b.outcome, "outcome");
  same(a.peak_rung, b.peak_rung, "peak_rung");
  same(a.end_step, b.end_step, "end_step");
  same(a.war_start_step, b.war_start_step, "war_start_step");
  same(a.war_end_step, b.war_end_step, "war_end_step");
  same(a.first_incident_step, b.first_incident_step, "first_incident_step");
  same(a.incidents, b.incidents, "incidents");
  same(a.casualties, b.casualties, "casualties");
  same(a.final_forces, b.final_forces, "final_forces");
  same(a.action_count, b.action_count, "action_count");
  same(a.troops_added, b.troops_added, "troops_added");
  same(a.troops_removed, b.troops_removed, "troops_removed");
  same(a.alliance_war_cause, b.alliance_war_cause, "alliance_war_cause");
  same(a.agreed, b.agreed, "agreed");
  same(a.resolve_type, b.resolve_type, "resolve_type");
  same(a.final_belief, b.final_belief, "final_belief");
  same(a.offer, b.offer, "offer");
  same(a.war_cost, b.war_cost, "war_cost");
  same(a.ts_belief, b.ts_belief, "ts_belief");
  same(a.ts_forces, b.ts_forces, "ts_forces");
  same(a.ts_rung, b.ts_rung, "ts_rung");
  same(a.ts_tension, b.ts_tension, "ts_tension");
  same(a.record_rung_count, b.record_rung_count, "record_rung_count");
  same(a.record_troops_sum, b.record_troops_sum, "record_troops_sum");
  same(a.record_belief_sum, b.record_belief_sum, "record_belief_sum");
}

TEST(SharedBlocksTest, OnlyPlansWhoseLanesKeepTheirBitsShare) {
  EXPECT_EQ(plan_of(kSharedSweep, 1).points_per_block(), 256);
  EXPECT_EQ(plan_of(kSharedSweep, 3).points_per_block(), 85);
  EXPECT_EQ(plan_of(kSharedSweep, kLaneGroup).points_per_block(), kBlockLanes / kLaneGroup);
  // More than a lane group: the point's own block may move lanes as they
  // finish, which orders its record sums differently.
  EXPECT_EQ(plan_of(kSharedSweep, kLaneGroup + 1).points_per_block(), 1);
  // A decision weight is per lane, but its per-lane products may round apart.
  EXPECT_EQ(plan_of("sweep:\n  parameters:\n    actors.RUS.decision.weights.cost: [1, 2]\n", 2).points_per_block(), 1);
  // Mixed with per-lane axes: points share when they agree on the others.
  const SweepPlan mixed = plan_of(kMixedSweep, 2);
  EXPECT_EQ(mixed.points_per_block(), 128);
  EXPECT_TRUE(mixed.share_a_block(0, 9));    // rationality and decay differ
  EXPECT_FALSE(mixed.share_a_block(0, 10));  // the weight differs
  EXPECT_FALSE(mixed.share_a_block(0, 20));  // patience differs
  // A field the kernel reads once per block (not per lane).
  EXPECT_EQ(plan_of("sweep:\n  parameters:\n    actors.RUS.decision.patience_days: [10, 40]\n", 2).points_per_block(),
            1);
  // Adaptive replication: the rounds of a point are judged block by block.
  SweepPlan adaptive = plan_of(kSharedSweep, 2);
  adaptive.rule.adaptive = true;
  EXPECT_EQ(adaptive.points_per_block(), 1);
  SweepPlan reference = plan_of(kSharedSweep, 2);
  reference.share_blocks = false;
  EXPECT_EQ(reference.points_per_block(), 1);
}

TEST(SharedBlocksTest, EachPointGetsTheResultOfItsOwnBlock) {
  const KernelTable& table = kernel();
  for (const int replications : {1, 3, kLaneGroup}) {
    const SweepPlan plan = plan_of(kSharedSweep, replications, replications == 3 ? 7 : 0);
    std::vector<BlockSpec> specs;
    for (std::int64_t p = 0; p < std::min<std::int64_t>(plan.point_count(), plan.points_per_block()); ++p)
      specs.push_back(plan.block(p, 0));
    BlockResult block;
    std::vector<BlockResult> shared;
    plan.simulate_points(table, specs, nullptr, block, shared);
    ASSERT_EQ(shared.size(), specs.size());
    for (std::size_t j = 0; j < specs.size(); ++j)
      expect_same(shared[j], plan.simulate(table, specs[j], nullptr),
                  "R=" + std::to_string(replications) + " point " + std::to_string(j));
  }
}

class KeepingSink : public ResultSink {
 public:
  void consume(BlockResult&& block) override { blocks.emplace(block.spec.point, std::move(block)); }
  void point_finished(std::int64_t, std::int64_t) override {}
  std::map<std::int64_t, BlockResult> blocks;
};

// Runs `plan` with shared blocks on 1 and 3 threads and with a block per
// point on 2, and expects every point's result the same in all three.
void expect_shared_runs_as_a_block_per_point(SweepPlan plan, std::size_t points) {
  ASSERT_EQ(plan.point_count(), static_cast<std::int64_t>(points));
  KeepingSink shared_one, shared_three, own;
  execute(plan, 1, shared_one);
  execute(plan, 3, shared_three);
  plan.share_blocks = false;
  execute(plan, 2, own);
  ASSERT_EQ(own.blocks.size(), points);
  ASSERT_EQ(shared_one.blocks.size(), points);
  ASSERT_EQ(shared_three.blocks.size(), points);
  for (const auto& [point, block] : own.blocks) {
    expect_same(shared_one.blocks.at(point), block, "one thread, point " + std::to_string(point));
    expect_same(shared_three.blocks.at(point), block, "three threads, point " + std::to_string(point));
  }
}

TEST(SharedBlocksTest, ASweepRunsTheSameOnAnyThreadCountAsWithABlockPerPoint) {
  expect_shared_runs_as_a_block_per_point(plan_of(kSharedSweep, 2), 96);
}

TEST(SharedBlocksTest, PointsShareOnlyWithPointsThatAgreeOnTheOtherAxes) {
  expect_shared_runs_as_a_block_per_point(plan_of(kMixedSweep, 3), 40);
}

// Points whose per-replication data share chunks: aligned groups of G
// points, each handed out, simulated and encoded as one block; a resumed run
// runs a group again whole unless all of it is kept.
TEST(SharedBlocksTest, PointsThatShareChunksRunAndEncodeAsWholeChunkGroups) {
  // 3,000 points of 3 replications, 85 to a block: 35 groups of 85 and one of 25.
  SweepPlan plan = plan_of(R"(
sweep:
  design: lhs
  samples: 3000
  parameters:
    actors.RUS.decision.rationality: {min: 0.5, max: 3.0}
    escalation.tension.decay: {min: 0.01, max: 0.08}
)",
                           3);
  ASSERT_EQ(plan.point_count(), 3000);
  ASSERT_EQ(plan.points_per_block(), 85);
  EXPECT_EQ(plan.points_per_chunk(), 85);
  // Fewer points: smaller groups, so that 32 of them share the threads and ranks.
  EXPECT_EQ(plan_of(kSharedSweep, 3).points_per_chunk(), 3);
  EXPECT_EQ(plan_of(kMixedSweep, 3).points_per_chunk(), 1);  // points that cannot all share a block
  SweepPlan other = plan;
  other.write_runs = false;  // --summary-only: no per-replication chunks
  EXPECT_EQ(other.points_per_chunk(), 1);
  other = plan;
  other.shard_count = 2;  // a shard's points are not consecutive
  EXPECT_EQ(other.points_per_chunk(), 1);
  other = plan;
  other.chunk_groups = false;
  EXPECT_EQ(other.points_per_chunk(), 1);

  BlockScheduler scheduler(plan);
  std::vector<std::vector<BlockSpec>> blocks;
  for (std::vector<BlockSpec> specs; !(specs = scheduler.next_block(4)).empty();)  // a group, whatever the cap
    blocks.push_back(std::move(specs));
  ASSERT_EQ(blocks.size(), 36u);
  for (std::size_t g = 0; g < blocks.size(); ++g) {
    ASSERT_EQ(blocks[g].size(), g < 35 ? 85u : 25u) << "group " << g;
    for (std::size_t j = 0; j < blocks[g].size(); ++j)
      EXPECT_EQ(blocks[g][j].point, static_cast<std::int64_t>(85 * g + j));
  }

  // A resumed run keeps the blocks of published points (a point of one block keeps no resume sums) in
  // wholly kept chunk groups.
  ASSERT_FALSE(plan.resume_sums_in_file());
  const std::vector<std::int64_t> no_sums(3000, 0);
  std::vector<std::uint8_t> finished(3000, 0);
  std::vector<std::int64_t> published(3000, 0);
  for (int p = 0; p < 95; ++p) finished[p] = 1, published[p] = 3;       // group 1 cut off after 10 points
  for (int p = 2975; p < 3000; ++p) finished[p] = 1, published[p] = 3;  // the last group done
  std::vector<std::uint8_t> kept = plan.kept_on_resume(finished, published, no_sums);
  for (int p = 0; p < 3000; ++p) EXPECT_EQ(kept[p], p < 85 || p >= 2975 ? 1 : 0) << "point " << p;
  published[2990] = 0;  // finished, not published: the last group runs again too
  kept = plan.kept_on_resume(finished, published, no_sums);
  EXPECT_EQ(std::count(kept.begin(), kept.end(), 1), 85);
  // A chunk per point: every published point is kept, and only those.
  SweepPlan mixed = plan_of(kMixedSweep, 3);
  kept = mixed.kept_on_resume(std::vector<std::uint8_t>(finished.begin(), finished.begin() + 40),
                              std::vector<std::int64_t>(published.begin() + 80, published.begin() + 120), no_sums);
  for (int p = 0; p < 40; ++p) EXPECT_EQ(kept[p], p < 15 ? 1 : 0) << "point " << p;
  // Points of several blocks: a published one keeps every finished block, another the first blocks its
  // resume sums cover.
  SweepPlan large = plan_of(kMixedSweep, 300);
  ASSERT_TRUE(large.resume_sums_in_file());
  const std::vector<std::uint8_t> done{1, 1, 1, 0, 0, 1};
  EXPECT_EQ(large.kept_on_resume(done, {0, 0, 0}, {1, 0, 0}), (std::vector<std::uint8_t>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(large.kept_on_resume(done, {0, 0, 0}, {2, 0, 0}), (std::vector<std::uint8_t>{1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(large.kept_on_resume(done, {600, 0, 600}, {0, 0, 0}), (std::vector<std::uint8_t>{1, 1, 0, 0, 0, 1}));

  // The chunks of a group go to its first point, in table order; a group cut short is refused.
  const FileLayout layout = file_layout(plan);
  ASSERT_EQ(layout.points_per_block_chunk, 85u);
  std::vector<const VariableSpec*> variables;
  for (const VariableSpec& v : variable_table())
    if (v.storage == Storage::kBlockChunks && layout.present(v)) variables.push_back(&v);
  BlockResult block;
  std::vector<BlockResult> results;
  plan.simulate_points(kernel(), blocks.back(), nullptr, block, results);  // the last, short group
  EXPECT_THROW(encode_chunks(layout, variables, std::span(results).first(10)), std::logic_error);
  EXPECT_THROW(encode_chunks(layout, variables, std::span(results).subspan(1)), std::logic_error);
  encode_chunks(layout, variables, results);
  ASSERT_EQ(results[0].encoded.size(), variables.size());
  for (std::size_t j = 1; j < results.size(); ++j) EXPECT_TRUE(results[j].encoded.empty()) << j;
  for (std::size_t i = 0; i < variables.size(); ++i)
    EXPECT_EQ(results[0].encoded[i], encode_chunk(*variables[i], layout, results)) << variables[i]->name;
  EXPECT_EQ(layout.chunk_offset(*variables[0], blocks.back()[0])[0], 2975u);
  EXPECT_THROW(layout.chunk_offset(*variables[0], blocks.back()[1]), std::logic_error);
  // A point whose field is not one whole row of the chunk would shift the rows after it.
  results[3].outcome.pop_back();
  EXPECT_THROW(encode_chunk(find_variable("outcome_code"), layout, results), std::logic_error);
}

}  // namespace
}  // namespace brink
