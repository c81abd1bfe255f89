// What ranks send each other: a block result survives the wire field for
// field (a real flagship block with time series), a damaged message is
// refused with a sentence, and a job rebuilds rank 0's plan exactly.
#include "brink/mpi/block_wire.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "../support/scenarios.hpp"
#include "brink/cli/run_request.hpp"
#include "brink/model/kernel.hpp"
#include "brink/mpi/distributed.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

BlockResult flagship_block() {
  const LoadedScenario loaded =
      load_scenario({"flagship", testing::flagship_text()},
                    std::vector<Override>{{"run.replications", "300"}, {"output.timeseries_every", "7"}});
  const SweepPlan plan = single_point_plan(loaded, {});
  BlockResult block = simulate_block(plan.model(0), plan.block(0, 1));  // the short second block
  block.encoded = {{1, 2, 3}, {}, {255, 0, 7, 9}};
  return block;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST(BlockWireTest, RoundTripKeepsEveryField) {
  const BlockResult in = flagship_block();
  ASSERT_EQ(in.spec.count, 300 - kBlockLanes);
  ASSERT_FALSE(in.ts_forces.empty());
  const BlockResult out = decode_block_result(encode_block_result(in));
  EXPECT_EQ(out.spec.point, in.spec.point);
  EXPECT_EQ(out.spec.first_replication, in.spec.first_replication);
  EXPECT_EQ(out.spec.count, in.spec.count);
  EXPECT_EQ(out.interrupted, in.interrupted);
  EXPECT_EQ(out.outcome, in.outcome);
  EXPECT_EQ(out.peak_rung, in.peak_rung);
  EXPECT_EQ(out.end_step, in.end_step);
  EXPECT_EQ(out.war_start_step, in.war_start_step);
  EXPECT_EQ(out.war_end_step, in.war_end_step);
  EXPECT_EQ(out.first_incident_step, in.first_incident_step);
  EXPECT_EQ(out.incidents, in.incidents);
  EXPECT_EQ(out.casualties, in.casualties);
  EXPECT_EQ(out.final_forces, in.final_forces);
  EXPECT_EQ(out.action_count, in.action_count);
  EXPECT_EQ(out.troops_added, in.troops_added);
  EXPECT_EQ(out.troops_removed, in.troops_removed);
  EXPECT_EQ(out.alliance_war_cause, in.alliance_war_cause);
  EXPECT_EQ(out.agreed, in.agreed);
  EXPECT_EQ(out.resolve_type, in.resolve_type);
  EXPECT_EQ(out.final_belief, in.final_belief);
  EXPECT_EQ(out.ts_belief, in.ts_belief);
  EXPECT_EQ(out.record_rung_count, in.record_rung_count);
  EXPECT_EQ(out.record_troops_sum, in.record_troops_sum);
  EXPECT_EQ(out.record_belief_sum, in.record_belief_sum);
  EXPECT_EQ(out.ts_forces, in.ts_forces);
  EXPECT_EQ(out.ts_rung, in.ts_rung);
  EXPECT_EQ(out.ts_tension, in.ts_tension);
  // NaN marks "no offer": compared bit for bit, as the file stores it.
  EXPECT_TRUE(same_bits(out.offer, in.offer));
  EXPECT_TRUE(same_bits(out.war_cost, in.war_cost));
  EXPECT_EQ(out.encoded, in.encoded);
  // Encoding is a function of the block alone.
  EXPECT_EQ(encode_block_result(out), encode_block_result(in));
}

TEST(BlockWireTest, DamagedMessagesAreRefused) {
  const std::vector<std::uint8_t> bytes = encode_block_result(flagship_block());
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    const std::vector<std::uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(decode_block_result(truncated), std::runtime_error) << "cut at " << cut;
  }
  std::vector<std::uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_THROW(decode_block_result(longer), std::runtime_error);
  std::vector<std::uint8_t> wrong_kind = bytes;
  wrong_kind[0] ^= 0xff;
  EXPECT_THROW(decode_block_result(wrong_kind), std::runtime_error);
}

TEST(BlockWireTest, JobRebuildsTheSamePlan) {
  RunRequest request;
  request.settings = {{"actors.RUS.forces.deployed", "120000"}, {"run.replications", "512"}, {"run.seed", "9"}};
  request.sweeps = {"actors.RUS.decision.patience_days=10:90"};
  request.design = "sobol";
  request.samples = 4;
  request.sensitivity = true;
  const RunJob job{{"flagship", testing::flagship_text()}, recorded_options(request), 3};
  const RunJob copy = decode_job(encode_job(job));
  EXPECT_EQ(copy.source.label, job.source.label);
  EXPECT_EQ(copy.source.text, job.source.text);
  EXPECT_EQ(copy.options, job.options);
  EXPECT_EQ(copy.threads, 3);

  const SweepPlan plan = plan_of_job(job);
  EXPECT_TRUE(plan.sensitivity);
  EXPECT_EQ(plan.point_count(), 4 * (1 + 2));  // Saltelli: N·(d+2) with one axis
  EXPECT_EQ(plan_fingerprint(plan_of_job(copy)), plan_fingerprint(plan));

  RunRequest other = request;
  other.settings[2].value = "10";
  EXPECT_NE(plan_fingerprint(plan_of_job({job.source, recorded_options(other), 3})), plan_fingerprint(plan));
  std::vector<std::uint8_t> bytes = encode_job(job);
  bytes.pop_back();
  EXPECT_THROW(decode_job(bytes), std::runtime_error);
}

// The options a file records read back as the request that wrote them, so a
// merge or a rank rebuilds the run's plan (levers and posterior included).
TEST(BlockWireTest, RecordedOptionsRoundTrip) {
  RunRequest request;
  request.settings = {{"actors.RUS.forces.deployed", "120000"}, {"combat.law", "linear"}};
  request.sweeps = {"actors.RUS.decision.patience_days=10:90"};
  request.levers = {"actors.USA.forces.ready=8500,50000"};
  request.design = "lhs";
  request.samples = 16;
  request.posterior = "cal.h5";
  request.posterior_draws = 7;
  const RunRequest back = parse_recorded_options(recorded_options(request), "f.h5");
  ASSERT_EQ(back.settings.size(), 2u);
  EXPECT_EQ(back.settings[1].path, "combat.law");
  EXPECT_EQ(back.settings[1].value, "linear");
  EXPECT_EQ(back.sweeps, request.sweeps);
  EXPECT_EQ(back.levers, request.levers);
  EXPECT_EQ(back.design, "lhs");
  EXPECT_EQ(back.samples, 16);
  EXPECT_FALSE(back.sensitivity);
  EXPECT_EQ(back.posterior, "cal.h5");
  EXPECT_EQ(back.posterior_draws, 7);
  EXPECT_EQ(recorded_options(back), recorded_options(request));
}

}  // namespace
}  // namespace brink
