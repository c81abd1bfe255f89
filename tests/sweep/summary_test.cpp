#include "brink/sweep/summary.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "../support/scenarios.hpp"
#include "brink/io/recorder.hpp"
#include "brink/sweep/executor.hpp"

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

// The adaptive rule sizes a round by these trials: the interval of the same
// share is h wide on each side there, wider just before, and at a share of 0
// they are z²/(2h) − z² (from the k = 0 closed form above).
TEST(WilsonTest, TrialsForAHalfWidthGiveThatHalfWidth) {
  const double z = 1.959963984540054;
  for (double h : {0.001, 0.002, 0.01, 0.05, 0.2})
    for (double p : {0.0, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.99, 1.0}) {
      const double n = wilson_trials_for_half_width(p, h);
      const Interval at = wilson_interval_of_share(p, n, z), before = wilson_interval_of_share(p, 0.99 * n, z);
      EXPECT_NEAR((at.upper - at.lower) / 2, h, 1e-12 * h + 1e-15) << "p " << p << ", h " << h;
      EXPECT_GT((before.upper - before.lower) / 2, h) << "p " << p << ", h " << h;
    }
  EXPECT_NEAR(wilson_trials_for_half_width(0.0, 0.002), z * z / (2 * 0.002) - z * z, 1e-9);
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

// The points of a posterior run with its draws as points are clusters: each
// draw's replications share a parameter set, here a probability from U(0.2,
// 0.8). The pooled share's interval must cover the forecast's probability (the
// mean, 0.5) as Student's t does (95%, a little less at 3 draws); Wilson over
// all replications, as if independent, covered about a third of the time.
TEST(ClusteredIntervalTest, CoversTheMeanOverDrawsAboutNinetyFivePercentOfTheTime) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> draw(0.2, 0.8);
  const int trials = 2000;
  for (int k : {3, 10, 40}) {
    int covered = 0, naive = 0;
    for (int t = 0; t < trials; ++t) {
      std::vector<std::int64_t> counts(k), replications(k, 256);
      std::int64_t hits = 0;
      for (int i = 0; i < k; ++i) hits += counts[i] = std::binomial_distribution<int>(256, draw(rng))(rng);
      const Interval c = clustered_interval(counts, replications), w = wilson_interval(hits, 256LL * k);
      covered += (c.lower <= 0.5 && 0.5 <= c.upper) ? 1 : 0;
      naive += (w.lower <= 0.5 && 0.5 <= w.upper) ? 1 : 0;
    }
    // At 3 draws Student's t itself covers 0.92 of a uniform's mean (its small-sample shortfall off the normal).
    const double se = std::sqrt(0.95 * 0.05 / trials), nominal = k == 3 ? 0.924 : k == 10 ? 0.946 : 0.95;
    EXPECT_NEAR(covered / double(trials), nominal, 4.5 * se) << k << " draws";
    EXPECT_LT(naive / double(trials), 0.6) << k << " draws";  // the defect, for contrast
  }
}

// A rare outcome whose probability differs much between draws (Beta(0.3,
// 2.7), mean 0.1): p ± t·√V, symmetric, covered 0.89 at 16 draws and put its
// whole interval below the mean in 10% of runs (an outside review); the
// Wilson interval at the effective number of replications (Korn and
// Graubard) is skewed as the binomial is, covering about 0.92 at 16 draws and
// 0.95 at 64, and falls below the mean less often.
TEST(ClusteredIntervalTest, CoversARareOutcomeCarriedByFewDraws) {
  std::mt19937_64 rng(11);
  std::gamma_distribution<double> a(0.3, 1.0), b(2.7, 1.0);
  const int trials = 3000;
  for (int k : {16, 64}) {
    int covered = 0, below = 0;
    for (int t = 0; t < trials; ++t) {
      std::vector<std::int64_t> counts(k), replications(k, 256);
      for (int i = 0; i < k; ++i) {
        const double x = a(rng), y = b(rng);
        counts[i] = std::binomial_distribution<int>(256, x / (x + y))(rng);
      }
      const Interval c = clustered_interval(counts, replications);
      covered += (c.lower <= 0.1 && 0.1 <= c.upper) ? 1 : 0;
      below += c.upper < 0.1 ? 1 : 0;
    }
    const double se = std::sqrt(0.95 * 0.05 / trials);
    EXPECT_GT(covered / double(trials), (k == 16 ? 0.915 : 0.945) - 4.5 * se) << k << " draws";
    EXPECT_LT(below / double(trials), k == 16 ? 0.085 : 0.045) << k << " draws";
  }
}

// Student's t at 0.975 against tabled values, and its limit.
TEST(ClusteredIntervalTest, StudentQuantile) {
  EXPECT_NEAR(student_t_975(1), 12.7062, 1e-4);
  EXPECT_NEAR(student_t_975(30), 2.0423, 1e-4);
  EXPECT_NEAR(student_t_975(31), 2.0395, 1e-4);
  EXPECT_NEAR(student_t_975(60), 2.0003, 1e-4);
  EXPECT_NEAR(student_t_975(100000), 1.96, 1e-4);
  // Identical draws: the replications' own Wilson interval.
  const Interval same = clustered_interval({50, 50, 50}, {100, 100, 100});
  const Interval wilson = wilson_interval(150, 300);
  EXPECT_DOUBLE_EQ(same.lower, wilson.lower);
  EXPECT_DOUBLE_EQ(same.upper, wilson.upper);
}

class CollectingSink : public ResultSink {
 public:
  explicit CollectingSink(const SweepPlan& plan) : recorder(plan, nullptr) {}
  void consume(BlockResult&& block) override {
    order.push_back(block.spec.first_replication);
    recorder.consume(std::move(block));
  }
  void point_finished(std::int64_t point, std::int64_t replications) override {
    recorder.point_finished(point, replications);
  }
  Recorder recorder;
  std::vector<std::int64_t> order;
};

TEST(ExecutorTest, SummariesAreIdenticalForAnyThreadCount) {
  const LoadedScenario loaded =
      load_scenario({"flagship", testing::flagship_text()}, std::vector<Override>{{"run.replications", "2000"}});
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
  const LoadedScenario loaded =
      load_scenario({"flagship", testing::flagship_text()}, std::vector<Override>{{"run.replications", "1000"}});
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
    void point_finished(std::int64_t, std::int64_t) override {}
  } failing;
  EXPECT_THROW(execute(plan, 2, failing), std::runtime_error);
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

TEST(AppendArrayTest, KeepsItsValuesAcrossGrowthsPastTheMmapThreshold) {
  // 4 MiB of doubles at the end: glibc moves blocks this large by remapping
  // their pages, a path a small test would never take.
  AppendArray<double> values;
  constexpr std::size_t kCount = std::size_t{1} << 19;
  for (std::size_t i = 0; i < kCount; ++i) {
    values.push_back(static_cast<double>(i) * 0.5);
    if ((i & (i + 1)) != 0) continue;  // checks after each doubling
    for (std::size_t j = 0; j <= i; j += 997) ASSERT_EQ(values.begin()[j], static_cast<double>(j) * 0.5) << j;
  }
  ASSERT_EQ(values.size(), kCount);
  EXPECT_EQ(values.end()[-1], static_cast<double>(kCount - 1) * 0.5);
  AppendArray<double> moved(std::move(values));
  EXPECT_EQ(moved.size(), kCount);
  EXPECT_EQ(values.size(), 0u);
}

TEST(QuantileTest, MatchesTheLinearInterpolationDefinition) {
  const std::vector<double> sorted = {1, 2, 4, 8, 16};
  EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.0), 1);
  EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.5), 4);
  EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 1.0), 16);
  EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.05), 1 + 0.2 * 1);  // h = 4 * 0.05 = 0.2
  EXPECT_DOUBLE_EQ(quantile_of_sorted(sorted, 0.95), 8 + 0.8 * 8);  // h = 3.8
}

SweepPlan adaptive_plan(const std::string& rule, int points) {
  std::string text = testing::flagship_text();
  text.replace(text.find("  replications: 20000"), std::string("  replications: 20000").size(),
               "  replications: " + rule);
  text += "sweep:\n  design: grid\n  parameters:\n    actors.RUS.decision.patience_days: [";
  for (int p = 0; p < points; ++p) text += (p ? ", " : "") + std::to_string(10 + 40 * p);
  text += "]\n";
  const ScenarioSource source{"adaptive", text};
  const LoadedScenario loaded = load_scenario(source);
  return make_plan(loaded, {});
}

TEST(SchedulerTest, AdaptiveRunsStopWhereTheIntervalSaysAndIgnoreThreadCount) {
  const SweepPlan plan = adaptive_plan("{min: 256, max: 4096, ci_halfwidth: 0.03}", 3);
  ASSERT_EQ(plan.points.size(), 3u);
  CollectingSink one(plan), two(plan);
  BlockScheduler s1(plan), s2(plan);
  execute(plan, 1, one, {}, &s1);
  execute(plan, 2, two, {}, &s2);
  ASSERT_EQ(one.recorder.summaries().size(), 3u);
  for (int p = 0; p < 3; ++p) {
    const PointSummary& a = one.recorder.summaries()[p];
    const PointSummary& b = two.recorder.summaries()[p];
    EXPECT_EQ(a.replications, b.replications);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.replications % kBlockLanes, 0);
    // Stopped because every half-width met the target, or at the cap.
    double widest = 0;
    for (const Interval& i : a.interval) widest = std::max(widest, (i.upper - i.lower) / 2);
    EXPECT_TRUE(widest <= 0.03 || a.replications == 4096) << "point " << p;
    // ...and not a round later than needed: one block fewer would have been too wide
    // only if a round ended there, so check the rule held at stop, not before.
    EXPECT_GE(a.replications, 256);
  }
}

TEST(SchedulerTest, ReplayingFinishedBlocksResumesTheSameDecisions) {
  const SweepPlan plan = adaptive_plan("{min: 256, max: 2048, ci_halfwidth: 0.03}", 2);
  // Full run, remembering every block.
  struct Keep : ResultSink {
    std::vector<BlockResult> blocks;
    std::vector<std::pair<std::int64_t, std::int64_t>> finished;
    void consume(BlockResult&& b) override { blocks.push_back(std::move(b)); }
    void point_finished(std::int64_t p, std::int64_t n) override { finished.emplace_back(p, n); }
  } full;
  execute(plan, 2, full);
  // Resume from the first half of the blocks (sorted as the file would give them).
  std::sort(full.blocks.begin(), full.blocks.end(), [](const BlockResult& a, const BlockResult& b) {
    return std::tie(a.spec.point, a.spec.first_replication) < std::tie(b.spec.point, b.spec.first_replication);
  });
  BlockScheduler resumed(plan);
  Keep rest;
  for (std::size_t i = 0; i < full.blocks.size() / 2; ++i)
    if (resumed.complete(full.blocks[i]))
      rest.point_finished(full.blocks[i].spec.point, resumed.replications(full.blocks[i].spec.point));
  execute(plan, 1, rest, {}, &resumed);
  EXPECT_EQ(rest.blocks.size(), full.blocks.size() - full.blocks.size() / 2);
  std::sort(full.finished.begin(), full.finished.end());
  std::sort(rest.finished.begin(), rest.finished.end());
  EXPECT_EQ(rest.finished, full.finished);
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

TEST(PlanTest, LargeSweepsResolvePointsOnDemandToTheSameScenarios) {
  std::string text = testing::flagship_text();
  text.replace(text.find("  replications: 20000"), std::string("  replications: 20000").size(), "  replications: 256");
  text.replace(text.find("  horizon_days: 120"), std::string("  horizon_days: 120").size(), "  horizon_days: 20");
  text += "sweep:\n  design: grid\n  parameters:\n    actors.RUS.forces.deployed: [";
  for (int p = 0; p < 80; ++p) text += (p ? ", " : "") + std::to_string(60000 + 1000 * p);
  text += "]\n";
  const ScenarioSource source{"large", text};
  const SweepPlan plan = make_plan(load_scenario(source), {});
  ASSERT_EQ(plan.points.size(), 80u);
  EXPECT_EQ(plan.kept.size(), 1u);  // point 0 stays resolved; the rest are resolved when they run
  for (int p : {1, 42, 79}) {
    const Scenario& s = plan.model_of(p)->scenario();
    EXPECT_EQ(s.actors[s.actor_index("RUS")].forces.deployed, 60000 + 1000 * p);
    EXPECT_EQ(plan.model_of(p).get(), plan.model_of(p).get());  // cached while in flight
  }
  CollectingSink one(plan), two(plan);
  execute(plan, 1, one);
  execute(plan, 2, two);
  ASSERT_EQ(one.recorder.summaries().size(), 80u);
  for (int p = 0; p < 80; ++p) EXPECT_EQ(one.recorder.summaries()[p].count, two.recorder.summaries()[p].count);
}

// The summary's statistics against their definitions, computed directly from
// every replication's values in replication order: counts, means summed in
// that order (bitwise), and quantiles of the sorted values. Blocks arrive out
// of order on three threads; dt = 0.3 days is not a binary fraction, so a
// mean summed in another order would differ in its last bits.
TEST(PointAccumulatorTest, SummaryIsItsDefinitionOverEveryReplication) {
  const LoadedScenario loaded = load_scenario(
      {"flagship", testing::flagship_text()},
      std::vector<Override>{{"run.replications", "3000"}, {"run.dt_days", "0.3"}, {"run.horizon_days", "60"}});
  const SweepPlan plan = single_point_plan(loaded, {});
  struct Keeping : CollectingSink {
    using CollectingSink::CollectingSink;
    void consume(BlockResult&& block) override {
      blocks.push_back(block);
      CollectingSink::consume(std::move(block));
    }
    std::vector<BlockResult> blocks;
  } sink(plan);
  execute(plan, 3, sink);
  std::sort(sink.blocks.begin(), sink.blocks.end(), [](const BlockResult& a, const BlockResult& b) {
    return a.spec.first_replication < b.spec.first_replication;
  });
  const int actors = plan.model(0).actors();
  const double dt = loaded.scenario.run.dt_days;
  std::array<std::int64_t, kOutcomeCount> count{};
  std::vector<double> end_day, casualty_sum(actors, 0.0);
  std::vector<std::vector<double>> casualties(actors);
  double end_sum = 0.0;
  for (const BlockResult& b : sink.blocks)
    for (int r = 0; r < b.spec.count; ++r) {
      ++count[b.outcome[r]];
      end_day.push_back(b.end_step[r] * dt);
      end_sum += end_day.back();
      for (int a = 0; a < actors; ++a) {
        casualties[a].push_back(b.casualties[static_cast<std::size_t>(r) * actors + a]);
        casualty_sum[a] += casualties[a].back();
      }
    }
  ASSERT_EQ(end_day.size(), 3000u);
  const PointSummary& s = sink.recorder.summaries().at(0);
  EXPECT_EQ(s.count, count);
  EXPECT_EQ(s.mean_end_day, end_sum / 3000.0);
  std::sort(end_day.begin(), end_day.end());
  for (std::size_t k = 0; k < kQuantiles.size(); ++k)
    EXPECT_EQ(s.end_day_quantiles[k], quantile_of_sorted(end_day, kQuantiles[k])) << kQuantiles[k];
  int with_war = 0;
  for (int a = 0; a < actors; ++a) {
    EXPECT_EQ(s.mean_casualties[a], casualty_sum[a] / 3000.0) << a;
    with_war += casualty_sum[a] > 0.0 ? 1 : 0;
    std::sort(casualties[a].begin(), casualties[a].end());
    for (std::size_t k = 0; k < kQuantiles.size(); ++k)
      EXPECT_EQ(s.casualty_quantiles[a][k], quantile_of_sorted(casualties[a], kQuantiles[k])) << a << " " << k;
  }
  EXPECT_GE(with_war, 2);  // the quantiles above saw both zeros and losses
}

}  // namespace
}  // namespace brink
