// Kernel throughput in replication-steps per second on the flagship scenario.
//
// Run: build/release/bench/brink_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// The counter "rep_steps/s" is replications × steps simulated per second of
// one thread; compare block sizes in the same run, not across machines.
#include <benchmark/benchmark.h>

#include "brink/io/recorder.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/scalar_twin.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "brink/sweep/executor.hpp"

namespace {

const brink::LoadedScenario& flagship() {
  static const brink::LoadedScenario loaded = [] {
    const auto* s = brink::find_shipped(brink::kFlagshipScenario);
    return brink::load_scenario({std::string(s->path), std::string(s->text)});
  }();
  return loaded;
}

// One block of 256 replications over the whole horizon, no early exit;
// retire:1 retires finished lanes from the passes as `brink run` does,
// retire:0 steps every lane to the horizon (their ratio is what retiring saves).
void BM_KernelBlock(benchmark::State& state) {
  const brink::Model model(flagship().scenario);
  std::int64_t block = 0;
  for (auto _ : state) {
    brink::BlockSpec spec{0, block++ * brink::kBlockLanes, brink::kBlockLanes};
    spec.retire_finished = state.range(0) != 0;
    brink::BlockSimulator sim(model, spec);
    for (int s = 0; s < model.steps(); ++s) sim.step(s);
    sim.finish();
    benchmark::DoNotOptimize(sim.state().outcome.data());
  }
  state.counters["rep_steps/s"] = benchmark::Counter(static_cast<double>(brink::kBlockLanes) * model.steps(),
                                                     benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_KernelBlock)->ArgName("retire")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// The scalar reference twin on the same block: the baseline of the speed-up
// (the ratio of the two rep_steps/s counters in one run).
void BM_ScalarTwinBlock(benchmark::State& state) {
  const brink::Model model(flagship().scenario);
  std::int64_t block = 0;
  for (auto _ : state) {
    const brink::BlockResult r =
        brink::simulate_block_scalar(model, {0, block++ * brink::kBlockLanes, brink::kBlockLanes});
    benchmark::DoNotOptimize(r.outcome.data());
  }
  state.counters["rep_steps/s"] = benchmark::Counter(static_cast<double>(brink::kBlockLanes) * model.steps(),
                                                     benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ScalarTwinBlock)->Unit(benchmark::kMillisecond);

// The engine's path as `brink run` uses it: fixed 256-lane blocks with
// early exit, executor threads and summaries, no file.
void BM_ExecuteFlagship(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const brink::SweepPlan plan = brink::single_point_plan(
      brink::load_scenario({"flagship", std::string(brink::find_shipped(brink::kFlagshipScenario)->text)},
                           std::vector<brink::Override>{{"run.replications", "4096"}}),
      {});
  for (auto _ : state) {
    brink::Recorder recorder(plan, nullptr);
    brink::execute(plan, threads, recorder);
    benchmark::DoNotOptimize(recorder.summaries().data());
  }
  state.counters["rep_steps/s"] =
      benchmark::Counter(4096.0 * plan.model(0).steps(), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ExecuteFlagship)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
