// Unit costs of the operations no implementation of the model can avoid, per
// element on 256-lane arrays, measured on the running machine: the inputs of
// the arithmetic floor in docs/performance.md. Run with the kernel benchmarks:
//   build/release/bench/brink_bench --benchmark_filter='Unit|Kernel'
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <cstdint>

#include "brink/model/block_result.hpp"
#include "brink/model/rng.hpp"

namespace {

constexpr int L = brink::kBlockLanes;

template <class Array>
Array inputs(double lo, double hi) {
  Array a(L);
  for (int l = 0; l < L; ++l) a(l) = static_cast<typename Array::Scalar>(lo + (hi - lo) * (l + 0.5) / L);
  return a;
}

template <class Array>
void BM_UnitExp(benchmark::State& state) {
  const Array x = inputs<Array>(-20.0, 0.0);
  Array y(L);
  for (auto _ : state) {
    y = x.exp();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = benchmark::Counter(
      static_cast<double>(L), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK_TEMPLATE(BM_UnitExp, Eigen::ArrayXf);
BENCHMARK_TEMPLATE(BM_UnitExp, Eigen::ArrayXd);

template <class Array>
void BM_UnitLog(benchmark::State& state) {
  const Array x = inputs<Array>(0.5, 2.0);
  Array y(L);
  for (auto _ : state) {
    y = x.log();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = benchmark::Counter(
      static_cast<double>(L), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK_TEMPLATE(BM_UnitLog, Eigen::ArrayXf);
BENCHMARK_TEMPLATE(BM_UnitLog, Eigen::ArrayXd);

// One Philox4x32-10 call per lane, vectorized over lanes (the kernel's way).
void BM_UnitPhiloxLanes(benchmark::State& state) {
  std::uint32_t words[4][L];
  std::uint32_t step = 0;
  for (auto _ : state) {
    brink::philox_lanes<L>({12345, 0}, 0, step++, brink::purpose_word(brink::Purpose::kDecision, 0), words);
    benchmark::DoNotOptimize(&words[0][0]);
  }
  state.counters["ns/element"] = benchmark::Counter(
      static_cast<double>(L), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_UnitPhiloxLanes);

// One Philox4x32-10 call at a time (Random123, the scalar twin's way).
void BM_UnitPhiloxScalar(benchmark::State& state) {
  std::uint32_t step = 0, sink = 0;
  for (auto _ : state) {
    for (int l = 0; l < L; ++l) sink ^= brink::philox_words({12345, 0}, l, step, 1)[0];
    ++step;
    benchmark::DoNotOptimize(sink);
  }
  state.counters["ns/element"] = benchmark::Counter(
      static_cast<double>(L), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_UnitPhiloxScalar);

}  // namespace
