// Unit costs of the operations no implementation of the model can avoid, per
// element on 256-lane arrays, measured on the running machine, and the
// flagship's floor built from them (docs/performance.md, "What no
// implementation can avoid"). Built once per kernel path, with that path's
// -march, so each path's floor is measured with its own instructions:
//   build/release/bench/brink_unit_bench_avx2
//   build/release/bench/brink_unit_bench_avx512   (on a CPU with AVX-512)
// bench/floor.py runs both and the kernel on each path, and prints the ratios.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "brink/model/block_result.hpp"
#include "brink/model/rng.hpp"
#include "brink/model/rules.hpp"
#include "packet_math.hpp"

namespace {

constexpr int L = brink::kBlockLanes;

// A counter of time per element: `elements` processed in each iteration.
benchmark::Counter time_per(double elements) {
  return benchmark::Counter(elements, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class Array>
Array inputs(double lo, double hi) {
  Array a(L);
  for (int l = 0; l < L; ++l) a(l) = static_cast<typename Array::Scalar>(lo + (hi - lo) * (l + 0.5) / L);
  return a;
}

// The exp the kernel takes: logit_exp for float (packet_math.hpp: Eigen's
// bits, with 2^m built directly on the AVX2 path), Eigen's exp for double.
template <class Array>
void exp_of(const Array& x, Array& y) {
  if constexpr (std::is_same_v<typename Array::Scalar, float>) {
    y = x;
    brink::logit_exp_in_place(y.data(), L);
  } else {
    y = x.exp();
  }
}

template <class Array>
void BM_UnitExp(benchmark::State& state) {
  const Array x = inputs<Array>(-20.0, 0.0);
  Array y(L);
  for (auto _ : state) {
    exp_of(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = time_per(L);
}
BENCHMARK_TEMPLATE(BM_UnitExp, Eigen::ArrayXf);
BENCHMARK_TEMPLATE(BM_UnitExp, Eigen::ArrayXd);

// The log the kernel takes: log_packet for float (packet_math.hpp:
// rules::log_float's bits, which are Eigen's; on the AVX-512 path Eigen's
// own float log is 2-3 times slower), Eigen's log for double.
template <class Array>
void log_of(const Array& x, Array& y) {
  if constexpr (std::is_same_v<typename Array::Scalar, float>) {
    y = x;
    brink::log_in_place(y.data(), L);
  } else {
    y = x.log();
  }
}

template <class Array>
void BM_UnitLog(benchmark::State& state) {
  const Array x = inputs<Array>(0.5, 2.0);
  Array y(L);
  for (auto _ : state) {
    log_of(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = time_per(L);
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
  state.counters["ns/element"] = time_per(L);
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
  state.counters["ns/element"] = time_per(L);
}
BENCHMARK(BM_UnitPhiloxScalar);

void BM_UnitSqrt(benchmark::State& state) {
  const Eigen::ArrayXd x = inputs<Eigen::ArrayXd>(1e8, 4e10);
  Eigen::ArrayXd y(L);
  for (auto _ : state) {
    y = x.sqrt();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = time_per(L);
}
BENCHMARK(BM_UnitSqrt);

// `ops` lane operations on every lane of a block, kept in registers: one
// FMA (the cost of an add, a max or a select as well: one instruction per
// vector on the same ports) per operation, in enough independent chains to
// fill the pipelines. The arithmetic of utilities, logit, choice and Bayes
// without a load or a store: a lower bound for it.
#ifdef __AVX512F__
constexpr int kVectorBytes = 64;  // zmm
#else
constexpr int kVectorBytes = 32;  // ymm
#endif
constexpr int kChains = 8;  // FMA latency 4 × 2 ports
template <class T>
struct LaneVector;
template <>
struct LaneVector<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
};
template <>
struct LaneVector<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
};
template <class T>
void lane_ops(T* lanes, int ops) {
  using Vector = typename LaneVector<T>::type;
  constexpr int kLanes = kVectorBytes / static_cast<int>(sizeof(T)) * kChains;
  static_assert(L % kLanes == 0);
  const Vector scale = Vector{} + T(0.999), shift = Vector{} + T(0.001);
  for (int c = 0; c < L; c += kLanes) {
    Vector chain[kChains];
    std::memcpy(chain, lanes + c, sizeof chain);
    for (int k = 0; k < ops; ++k)
      for (int j = 0; j < kChains; ++j) chain[j] = chain[j] * scale + shift;
    std::memcpy(lanes + c, chain, sizeof chain);
  }
}

void BM_UnitFloatLaneOp(benchmark::State& state) {
  constexpr int kOps = 64;
  Eigen::ArrayXf lanes = inputs<Eigen::ArrayXf>(0.5, 2.0);
  for (auto _ : state) {
    lane_ops(lanes.data(), kOps);
    benchmark::DoNotOptimize(lanes.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = time_per(static_cast<double>(L) * kOps);
}
BENCHMARK(BM_UnitFloatLaneOp);

template <class Array>
void BM_UnitDivide(benchmark::State& state) {
  const Array x = inputs<Array>(0.5, 2.0), y = inputs<Array>(1.0, 3.0);
  Array z(L);
  for (auto _ : state) {
    z = x / y;
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  state.counters["ns/element"] = time_per(L);
}
BENCHMARK_TEMPLATE(BM_UnitDivide, Eigen::ArrayXf);

// What one replication-step of jan-2022-standoff cannot avoid, whatever the
// implementation (the table in docs/performance.md). Transcendentals and
// draws: the logit weight of every (type, action), the log of every troop
// move's security gain, and the decision and incident Philox calls (the
// attacks' war gain is Russia's war value from the combat forecast, with no
// log). Lane arithmetic, counted from the flagship's menus
// (docs/performance.md): the utilities' lane-varying terms, the logit's
// exponent, running maximum and total, the choice's cumulative sum and
// comparison, the Bayes updates, and the features' arguments. Utilities,
// logit and beliefs in float, the rest in double. The incident's exp and
// the contact's square roots are not in it: a draw above a bound of p that
// needs neither (all but 1–2% of them) is no incident, and a draw below
// h − h²/2 is one.
struct FlagshipFloor {
  int float_exp = 48;  // 2·10 + 2·9 + 1·6 + 1·4 (types × menu)
  int float_log = 8;   // the 8 troop-moving actions
  int philox = 2;      // decision uniforms of 4 actors, incident uniforms
  // 71 utility terms + 48·3 logit + 29·2 choice + 2·(19 + 6) Bayes + 8 security arguments
  // + 30 war forecast + 7 credibility
  int lane_ops = 368;
  int divide = 8;  // 2 Bayes normalisations, 4 actors' 1/Own, the forecast's p, credibility's 1/OwnD
  // After the decisions (docs/performance.md, "After the decisions"): the
  // phases every implementation of the model runs in every lane, counted at
  // their least. In double: the chosen actions' tension (3 per actor); the
  // Richardson drift with its transport budget and bounds (16 per actor, and
  // Russia's 3-adversary threat, 2); combat's test (2) and, in the 11% of
  // lane-steps at war, sums, coefficients and one square-law step (5 on
  // average); the incident bound over 3 pairs (12); tension decay (3); the
  // records' troop and belief sums (16). In float or int: the action counts
  // (4), the open issue's window test and the others' agreed checks (14), the
  // settlement test (5), the rung histogram (1), the active mask (1).
  int after_double = 12 + 66 + 7 + 12 + 3 + 16;  // 116
  int after_float = 4 + 14 + 5 + 1 + 1;          // 25
};

// The floor's operations over a block of 256 lanes, in the kernel's form
// (the kernel's exp and log over the whole array, Philox over lanes, lane arithmetic in
// registers): time per replication-step without the loads and stores
// around them. Utility: the precision of the logit's exp and the features'
// log and the lane arithmetic (float in the kernel; double for the floor of
// an all-double kernel).
//
// state.range(0): 1 for the whole step, 0 for the decisions alone (the floor
// until the fifteenth round).
template <class Utility>
void BM_FlagshipFloor(benchmark::State& state) {
  using Array = Eigen::Array<Utility, Eigen::Dynamic, 1>;
  const FlagshipFloor f;
  const bool whole_step = state.range(0) != 0;
  Eigen::ArrayXd double_lanes = inputs<Eigen::ArrayXd>(0.5, 2.0);
  const Array exp_in = inputs<Array>(-20.0, 0.0), log_in = inputs<Array>(0.5, 2.0);
  const Array numerator = inputs<Array>(0.5, 2.0), denominator = inputs<Array>(1.0, 3.0);
  Array lanes = inputs<Array>(0.5, 2.0), quotient(L);
  Array out_f(L);
  std::uint32_t words[4][L];
  std::uint32_t step = 0;
  for (auto _ : state) {
    for (int k = 0; k < f.float_exp; ++k) {
      exp_of(exp_in, out_f);
      benchmark::DoNotOptimize(out_f.data());
    }
    for (int k = 0; k < f.float_log; ++k) {
      log_of(log_in, out_f);
      benchmark::DoNotOptimize(out_f.data());
    }
    for (int k = 0; k < f.philox; ++k) {
      brink::philox_lanes<L>({12345, 0}, 0, step++, brink::purpose_word(brink::Purpose::kDecision, 0), words);
      benchmark::DoNotOptimize(&words[0][0]);
    }
    lane_ops(lanes.data(), f.lane_ops + (whole_step ? f.after_float : 0));
    benchmark::DoNotOptimize(lanes.data());
    if (whole_step) {
      lane_ops(double_lanes.data(), f.after_double);
      benchmark::DoNotOptimize(double_lanes.data());
    }
    for (int k = 0; k < f.divide; ++k) {
      quotient = numerator / denominator;
      benchmark::DoNotOptimize(quotient.data());
    }
    benchmark::ClobberMemory();
  }
  state.counters["time/rep-step"] = time_per(L);
}
BENCHMARK_TEMPLATE(BM_FlagshipFloor, float)->ArgName("whole_step")->Arg(1)->Arg(0);
BENCHMARK_TEMPLATE(BM_FlagshipFloor, double)->ArgName("whole_step")->Arg(1)->Arg(0);

}  // namespace
