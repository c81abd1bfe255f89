// Per-point summaries, computed once all of a point's replications are in,
// the same bits whatever order the blocks arrived in.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
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
// The same for a share p of n trials (n > 0).
Interval wilson_interval_of_share(double p, double n, double z);
// The trials n at which the Wilson interval of a share p has half-width h
// (0 < h < 1/2; the half-width falls as n grows), from the same formula.
double wilson_trials_for_half_width(double p, double h, double z = 1.959963984540054);
// Student's t quantile at 0.975 with `df` >= 1 degrees of freedom.
double student_t_975(std::int64_t df);

// The 95% interval of an outcome's share pooled over points whose parameters
// were drawn (a posterior run's draws as points): the points are clusters, so
// the share ± Student's t (the points' degrees of freedom) × the ratio
// estimator's between-point standard error, and never narrower than the
// replications' Wilson interval.
Interval clustered_interval(const std::vector<std::int64_t>& counts, const std::vector<std::int64_t>& replications);

// The quantiles summaries report (numpy's default "linear" definition).
inline constexpr std::array<double, 3> kQuantiles = {0.05, 0.5, 0.95};
double quantile_of_sorted(const std::vector<double>& sorted, double q);

struct PointSummary {
  std::int64_t point = 0;
  std::int64_t replications = 0;
  std::array<std::int64_t, kOutcomeCount> count{};
  std::array<double, kOutcomeCount> probability{};
  std::array<Interval, kOutcomeCount> interval{};         // 95% Wilson (clustered_interval where pooled over draws)
  bool pooled_over_draws = false;                         // the points pooled are drawn parameter sets
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

// The widest 95% Wilson half-width, (upper - lower)/2, over a point's outcome
// probabilities: what adaptive replications hold to
// run.replications.ci_halfwidth (the round rule of BlockScheduler).
double widest_halfwidth(const PointSummary& summary);

// The points of an adaptive run whose widest half-width is above the
// target `ci_halfwidth`: they stopped at run.replications.max short of it.
// Offered every finished point by the run (Recorder) and by `brink inspect`.
struct PrecisionShortfall {
  double target = 0.0;  // the run's ci_halfwidth; 0 (fixed replications): nothing is counted
  std::int64_t points = 0;
  double widest = 0.0;  // the widest half-width of those points, at widest_point
  std::int64_t widest_point = -1;
  std::vector<std::int64_t> first;  // the first kListed of them
  static constexpr std::size_t kListed = 20;
  void offer(const PointSummary& summary);
};

// The outputs a sensitivity analysis decomposes, for one point: each outcome's
// probability, the probability of any war (limited, full or alliance: a
// parameter that only moves wars between those labels, such as a commitment
// that brings an ally in, leaves it alone), then each actor's mean casualties.
std::vector<double> summary_outputs(const PointSummary& summary);
inline std::size_t summary_output_count(std::size_t actors) { return kOutcomeCount + 1 + actors; }

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

// An array of a trivially copyable type that grows at its end, on realloc:
// glibc grows a block of megabytes by remapping its pages, where a
// std::vector copies them and touches them all again.
template <class T>
class AppendArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  AppendArray() = default;
  AppendArray(AppendArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  AppendArray(const AppendArray&) = delete;
  AppendArray& operator=(const AppendArray&) = delete;
  AppendArray& operator=(AppendArray&&) = delete;
  ~AppendArray() { std::free(data_); }

  std::size_t size() const { return size_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  void push_back(T value) {
    if (size_ == capacity_) reserve(std::max<std::size_t>(2 * capacity_, 1024));
    data_[size_++] = value;
  }

 private:
  void reserve(std::size_t capacity) {
    void* grown = std::realloc(data_, capacity * sizeof(T));
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(grown);
    capacity_ = capacity;
  }
  T* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

// What --resume needs of a point it had not finished, besides its blocks'
// per-replication values: the sums on the step axis over its first `blocks`
// blocks, folded in block order (PointAccumulator::sums_so_far).
struct ResumeSums {
  std::int64_t point = 0;
  std::int64_t blocks = 0;
  std::vector<std::int64_t> rung_count;  // records × rungs
  std::vector<double> troops;            // records × actors × pools
  std::vector<double> belief;            // records × actors × type slots
};

// Collects the blocks of the points in flight; turns a point into its summary
// when the scheduler says it is finished.
class PointAccumulator {
 public:
  explicit PointAccumulator(const Model& model);
  // A block, with or without its sums on the step axis (a block --resume
  // reads back has none: restore_sums gives them for all its blocks at once).
  void add(const BlockResult& block);
  // The sums over the point's blocks folded so far (its first ones, in order).
  ResumeSums sums_so_far(std::int64_t point) const;
  // Sets the sums of a point whose first `sums.blocks` blocks were added
  // without theirs.
  void restore_sums(const ResumeSums& sums);
  // Summarizes replications [0, replications) of `point` and forgets it.
  PointSummary finish(std::int64_t point, std::int64_t replications);

 private:
  // What a point's summary needs of its blocks, kept so that the summary
  // has the same bits whatever order the blocks arrived in: counts, which
  // any order sums alike; sums over replications, folded in block order
  // (blocks that arrive early wait, a few, bounded by the executor's queue);
  // and the values quantiles need as a multiset. Nothing per replication
  // but the casualties that are not zero (most replications have none, and
  // a fresh page costs more to touch than to fill on a virtual machine).
  struct BlockSums {
    std::vector<std::int32_t> end_step;
    std::vector<double> casualties;
    std::vector<std::int32_t> rung_count;
    std::vector<double> troops, belief;
  };
  struct Pending {
    std::array<std::int64_t, kOutcomeCount> outcome_count{};
    std::vector<std::int64_t> end_step_count;     // per step 0..steps
    std::vector<std::int64_t> war_start_count;    // per step 0..steps
    std::vector<std::int64_t> zero_casualties;    // per actor
    std::vector<AppendArray<double>> casualties;  // per actor, those not zero, in any order
    std::vector<std::int64_t> agreed;             // per issue
    // Folded in block order (the counts too, so that sums_so_far is a prefix):
    std::vector<std::int64_t> rung_count;  // records × rungs
    double end_day_sum = 0.0;
    std::vector<double> casualty_sum;  // per actor
    std::vector<double> troops, belief;
    std::int64_t next_block = 0;
    std::map<std::int64_t, BlockSums> early;
  };
  void fold(Pending& p, const std::vector<std::int32_t>& end_step, const std::vector<double>& casualties,
            const std::vector<std::int32_t>& rung_count, const std::vector<double>& troops,
            const std::vector<double>& belief) const;
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
