// Sweep set-up: building a SweepPlan from a loaded scenario (design points,
// per-point rule checks, point 0's model), and building one point's model on
// demand as a worker does.
//
// Run: build/release/bench/brink_plan_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "brink/sweep/plan.hpp"

namespace {

brink::LoadedScenario flagship() {
  const auto* s = brink::find_shipped(brink::kFlagshipScenario);
  return brink::load_scenario({std::string(s->path), std::string(s->text)});
}

std::string values(double first, double step, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i) out += ',';
    out += std::to_string(first + step * i);
  }
  return out;
}

// A grid of n × n points over troops (a rule input: deployed <= deployed_cap) and patience.
void BM_GridPlan(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  brink::LoadedScenario loaded = flagship();
  const std::vector<std::string> axes = {std::string("actors.RUS.forces.deployed=").append(values(50000, 100, n)),
                                         std::string("actors.RUS.decision.patience_days=").append(values(5, 0.1, n))};
  brink::apply_sweep_options(loaded, axes, "grid", 0);
  for (auto _ : state) benchmark::DoNotOptimize(brink::make_plan(loaded, {}));
  state.counters["points"] = static_cast<double>(n) * n;
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(n) * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GridPlan)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// A Latin hypercube of `samples` points over two ranges.
void BM_LhsPlan(benchmark::State& state) {
  brink::LoadedScenario loaded = flagship();
  brink::apply_sweep_options(loaded,
                             {"actors.USA.forces.ready=8500:50000", "escalation.incidents.base_rate=0.0005:0.005:log"},
                             "lhs", state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(brink::make_plan(loaded, {}));
  state.counters["points/s"] =
      benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LhsPlan)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// What a worker pays to start a point of a large plan.
void BM_ModelOfPoint(benchmark::State& state) {
  brink::LoadedScenario loaded = flagship();
  brink::apply_sweep_options(loaded, {"actors.USA.forces.ready=8500:50000"}, "lhs", 1000);
  const brink::SweepPlan plan = brink::make_plan(loaded, {});
  std::int64_t point = 100;
  for (auto _ : state) benchmark::DoNotOptimize(brink::Model(plan.scenario_of(point++ % 1000)));
}
BENCHMARK(BM_ModelOfPoint)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
