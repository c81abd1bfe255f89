// Per-point summaries, computed once all of a point's replications are in,
// from arrays in replication order, so they are the same bits whatever order
// the blocks arrived in.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "brink/model/kernel.hpp"

namespace brink {

struct Interval {
  double lower = 0.0;
  double upper = 0.0;
};

// Wilson score interval for k successes in n trials at normal quantile z.
Interval wilson_interval(std::int64_t k, std::int64_t n, double z = 1.959963984540054);

// The quantiles summaries report (numpy's default "linear" definition).
inline constexpr std::array<double, 3> kQuantiles = {0.05, 0.5, 0.95};
double quantile_of_sorted(const std::vector<double>& sorted, double q);

struct PointSummary {
  std::int64_t point = 0;
  std::int64_t replications = 0;
  std::array<std::int64_t, kOutcomeCount> count{};
  std::array<double, kOutcomeCount> probability{};
  std::array<Interval, kOutcomeCount> interval{};         // 95% Wilson
  std::vector<double> mean_casualties;                    // per actor [troops]
  std::vector<std::array<double, 3>> casualty_quantiles;  // per actor, at kQuantiles [troops]
  double mean_end_day = 0.0;                              // day the outcome was decided [days]
  std::array<double, 3> end_day_quantiles{};              // at kQuantiles [days]
  // On the record grid (steps 0, K, 2K, ...; days = step · dt):
  std::vector<double> survival;             // P(no fighting has begun before the record's step)
  std::vector<Interval> survival_interval;  // 95% Wilson
  std::vector<double> rung_share;           // records × rungs: share of replications on each rung
  std::vector<double> mean_troops;          // records × actors × pools [troops]
  std::vector<double> mean_belief;          // records × actors × type slots (Scenario::type_slots)
  std::vector<double> agreement;            // per issue: share of replications that agreed it
  std::vector<double> record_day;           // the day of each record
};

// The outputs a sensitivity analysis decomposes, for one point: each outcome's
// probability, then each actor's mean casualties.
std::vector<double> summary_outputs(const PointSummary& summary);

struct SweepPlan;
struct SobolIndex;
struct MorrisIndex;
// First-order and total Sobol indices of every summary output with respect to
// every swept parameter, from the summaries of a Saltelli plan's points (in
// point order). Output-major: index [output · plan.swept + parameter]. Each
// output is a Monte Carlo estimate, so its noise adds to the variance that is
// decomposed; common random numbers (run.random_numbers: common) reduce it.
std::vector<SobolIndex> sweep_sensitivity(const SweepPlan& plan, const std::vector<PointSummary>& summaries);
// Morris measures of every summary output (output-major, then parameter) for
// a Morris plan; the trajectories' unit coordinates are drawn again from the
// seed (the design is a pure function of it).
std::vector<MorrisIndex> sweep_morris(const SweepPlan& plan, const std::vector<PointSummary>& summaries);

// A growable array of a trivially copyable type on realloc. A point's
// per-replication arrays grow by doubling to megabytes; glibc grows a block
// that large by remapping its pages, where a std::vector copies them and
// touches them all again (4% of a 400,000-replication run's CPU time).
// New elements are zero, as a std::vector's would be.
template <class T>
class GrowableArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  GrowableArray() = default;
  GrowableArray(const GrowableArray&) = delete;
  GrowableArray& operator=(const GrowableArray&) = delete;
  ~GrowableArray() { std::free(data_); }

  std::size_t size() const { return size_; }
  void grow(std::size_t size) {
    if (size <= size_) return;
    void* grown = std::realloc(data_, size * sizeof(T));
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(grown);
    std::memset(static_cast<void*>(data_ + size_), 0, (size - size_) * sizeof(T));
    size_ = size;
  }
  T* data() { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Collects the blocks of the points in flight; turns a point into its summary
// when the scheduler says it is finished.
class PointAccumulator {
 public:
  PointAccumulator(std::int64_t max_replications, const Model& model);
  void add(const BlockResult& block);
  // Summarizes replications [0, replications) of `point` and forgets it.
  PointSummary finish(std::int64_t point, std::int64_t replications);

 private:
  struct Pending {
    GrowableArray<std::int8_t> outcome;
    GrowableArray<std::int32_t> end_step, war_start_step;
    GrowableArray<double> casualties;
    std::vector<std::int64_t> agreed;  // per issue
    // Per-record sums, folded in block order so that the bits do not depend
    // on arrival; blocks that arrive early wait (a few, bounded by the
    // executor's queue), so memory does not grow with the replications.
    std::vector<double> troops, belief;
    std::int64_t next_block = 0;
    std::map<std::int64_t, std::pair<std::vector<double>, std::vector<double>>> early;
    std::vector<std::int64_t> rung_count;
  };
  std::int64_t max_replications_;
  int actors_;
  int rungs_;
  int issues_;
  int record_every_;
  int records_;
  int steps_;
  double dt_days_;
  std::map<std::int64_t, Pending> pending_;
};

}  // namespace brink
