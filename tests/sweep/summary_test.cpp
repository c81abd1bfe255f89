#include "brink/sweep/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "brink/io/recorder.hpp"
#include "brink/sweep/executor.hpp"
#include "../support/scenarios.hpp"

namespace brink {
namespace {

TEST(WilsonTest, MatchesTheClosedFormAtTheEdges) {
  const double z = 1.959963984540054;
  // k = 0: [0, z²/(n + z²)]; k = n: [n/(n + z²), 1].
  const Interval none = wilson_interval(0, 10);
  EXPECT_DOUBLE_EQ(none.lower, 0.0);
  EXPECT_NEAR(none.upper, z * z / (10 + z * z), 1e-15);
  const Interval all = wilson_interval(10, 10);
  EXPECT_NEAR(all.lower, 10 / (10 + z * z), 1e-15);
  EXPECT_DOUBLE_EQ(all.upper, 1.0);
  // Symmetry: the interval for n - k mirrors the one for k.
  const Interval a = wilson_interval(13, 50), b = wilson_interval(37, 50);
  EXPECT_NEAR(a.lower, 1 - b.upper, 1e-15);
  EXPECT_NEAR(a.upper, 1 - b.lower, 1e-15);
}

TEST(WilsonTest, CoversTheTrueProbabilityAboutNinetyFivePercentOfTheTime) {
  std::mt19937_64 rng(42);
  const double p = 0.07;
  const int n = 400, trials = 4000;
  std::binomial_distribution<int> binomial(n, p);
  int covered = 0;
  for (int t = 0; t < trials; ++t) {
    const Interval i = wilson_interval(binomial(rng), n);
    covered += (i.lower <= p && p <= i.upper) ? 1 : 0;
  }
  // Coverage 0.95 ± 4.5 binomial SE over 4000 trials.
  EXPECT_NEAR(covered / double(trials), 0.95, 4.5 * std::sqrt(0.95 * 0.05 / trials));
}

class CollectingSink : public ResultSink {
 public:
  explicit CollectingSink(const SweepPlan& plan) : recorder(plan, nullptr) {}
  void consume(BlockResult&& block) override {
    order.push_back(block.spec.first_replication);
    recorder.consume(std::move(block));
  }
  Recorder recorder;
  std::vector<std::int64_t> order;
};

TEST(ExecutorTest, SummariesAreIdenticalForAnyThreadCount) {
  const LoadedScenario loaded = load_scenario({"flagship", testing::flagship_text()},
                                              std::vector<Override>{{"run.replications", "2000"}});
  const SweepPlan plan = single_point_plan(loaded, {});
  ASSERT_EQ(plan.total_blocks(), 8);  // 7 full blocks and a tail of 208
  CollectingSink one(plan), three(plan);
  execute(plan, 1, one);
  execute(plan, 3, three);
  ASSERT_EQ(one.recorder.summaries().size(), 1u);
  const PointSummary& a = one.recorder.summaries()[0];
  const PointSummary& b = three.recorder.summaries()[0];
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.mean_casualties, b.mean_casualties);  // bitwise: summed in replication order
  EXPECT_EQ(a.mean_end_day, b.mean_end_day);
  std::int64_t total = 0;
  for (auto c : a.count) total += c;
  EXPECT_EQ(total, 2000);
}

TEST(ExecutorTest, ProgressReachesTheTotalAndWorkerFailuresPropagate) {
  const LoadedScenario loaded = load_scenario({"flagship", testing::flagship_text()},
                                              std::vector<Override>{{"run.replications", "1000"}});
  const SweepPlan plan = single_point_plan(loaded, {});
  CollectingSink sink(plan);
  std::int64_t last = 0, total = 0;
  execute(plan, 2, sink, [&](std::int64_t done, std::int64_t of) {
    last = done;
    total = of;
  });
  EXPECT_EQ(last, total);
  EXPECT_EQ(total, plan.total_blocks());

  struct Failing : ResultSink {
    void consume(BlockResult&&) override { throw std::runtime_error("disk full"); }
  } failing;
  EXPECT_THROW(execute(plan, 2, failing), std::runtime_error);
}

}  // namespace
}  // namespace brink
