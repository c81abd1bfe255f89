// Runs a SweepPlan on worker threads. Results reach the sink on one thread
// only (the caller's), so the sink may own non-thread-safe resources such as
// an HDF5 file. Blocks may arrive in any order; each carries its position.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "brink/sweep/plan.hpp"

namespace brink {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Runs on the worker thread that simulated a block, right after it, with
  // its points' results in order (one unless points share the block), on
  // several threads at once: it may only read state that does not change
  // during the run. Per-block work that needs no shared resource
  // (compressing the block's chunks) belongs here, so that the sink's single
  // thread only stores the results, which reach consume() in this order.
  virtual void encode(std::span<BlockResult> points) const { (void)points; }
  virtual void consume(BlockResult&& block) = 0;
  // Called once per point, after its last block, with the replications it ran.
  virtual void point_finished(std::int64_t point, std::int64_t replications) = 0;
};

// Decides which blocks run. Its decisions are a function of which blocks are
// complete and what they contain, never of arrival order or thread count:
// a point runs in rounds of whole blocks, and only when a round is complete
// does the adaptive rule (95% Wilson half-width of every outcome probability
// at most rule.ci_halfwidth) decide whether another round follows. Not
// thread-safe: the executor calls it under its lock.
class BlockScheduler {
 public:
  explicit BlockScheduler(const SweepPlan& plan);
  // The specs of the next block to simulate: the lowest-numbered runnable block, then
  // block 0 of the next runnable points that may share it
  // (SweepPlan::share_a_block), up to `most` points in all. With
  // SweepPlan::points_per_chunk() > 1, the runnable points of the first
  // one's chunk group instead, whatever `most`: a chunk group is simulated,
  // and its chunks encoded, as one block. Empty when nothing is runnable now.
  std::vector<BlockSpec> next_block(std::size_t most);
  // Records a finished block. Returns true when this finishes its point.
  bool complete(const BlockResult& block);
  bool finished() const { return points_finished_ == static_cast<std::int64_t>(points_.size()); }
  std::int64_t replications(std::int64_t point) const { return points_[point].replications; }
  std::int64_t blocks_completed() const { return blocks_completed_; }
  // Blocks completed plus blocks committed to (grows as rounds are added).
  std::int64_t blocks_planned() const { return blocks_planned_; }

 private:
  enum : std::uint8_t { kWaiting = 0, kRunning = 1, kDone = 2 };
  // 24 bytes a point, its blocks' states in block_ (grown_ with adaptive
  // replications) and, with adaptive replications only, its outcome counts in
  // counts_: a sweep of millions of points sets aside little for its schedule.
  struct PointState {
    std::int64_t replications = 0;
    std::int32_t target = 0;  // blocks in the rounds decided so far
    std::int32_t done_below_target = 0;
    bool finished = false;
  };
  // With adaptive replications a point's states grow with the blocks it
  // reaches (its rounds, or a resumed file's blocks), never sized to `max`
  // up front: a generous max costs nothing until a point runs that far.
  std::uint8_t& block_state(std::int64_t point, std::int64_t block) {
    if (grown_.empty()) return block_[static_cast<std::size_t>(point * plan_.blocks_per_point() + block)];
    std::vector<std::uint8_t>& states = grown_[static_cast<std::size_t>(point)];
    if (states.size() <= static_cast<std::size_t>(block)) states.resize(static_cast<std::size_t>(block) + 1, kWaiting);
    return states[static_cast<std::size_t>(block)];
  }
  // Called when every block below the target is done.
  void end_round(std::int64_t point);
  // (point, block) of the lowest-numbered runnable block, not yet marked running.
  std::optional<std::pair<std::int64_t, std::int64_t>> lowest_runnable();

  const SweepPlan& plan_;
  std::vector<PointState> points_;
  std::vector<std::uint8_t> block_;                              // point-major, fixed replications only
  std::vector<std::vector<std::uint8_t>> grown_;                 // per point, adaptive plans only
  std::vector<std::array<std::int64_t, kOutcomeCount>> counts_;  // per point, adaptive plans only
  std::int64_t first_open_ = 0;                                  // points below this are finished or fully dispatched
  std::int64_t points_finished_ = 0;
  std::int64_t blocks_completed_ = 0;
  std::int64_t blocks_planned_ = 0;
};

// Blocks simulated outside this process under the same scheduler: the other
// ranks of an MPI run (src/mpi/distributed_executor.cpp).
class RemoteWorkers {
 public:
  virtual ~RemoteWorkers() = default;
  // Called on the sink's thread about every millisecond, never under the
  // scheduler's lock: hands out blocks through `next` (the specs of one
  // block, BlockScheduler::next_block; none when no block is runnable now)
  // and returns the points' results finished elsewhere since the last call,
  // encoded (ResultSink::encode) where they ran, each block's in order. May
  // throw, which stops the run like a worker's exception.
  virtual std::vector<BlockResult> poll(const std::function<std::vector<BlockSpec>()>& next) = 0;
};

// Called on the sink's thread after each block: (blocks done, blocks planned).
using ProgressFn = std::function<void(std::int64_t, std::int64_t)>;

// Runs every block the scheduler hands out. Pass a scheduler that already
// knows some blocks are complete to resume; otherwise one is made.
// Rethrows the first exception a worker or the sink raised, after stopping all workers.
// When *stop becomes true, returns soon without recording the blocks in flight
// (the kernel checks it between steps). `threads` is capped at max_threads();
// a thread that cannot be created is a std::runtime_error saying so.
// `remote`, if given, shares the scheduler and the sink with the local threads.
void execute(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress = {},
             BlockScheduler* scheduler = nullptr, const std::atomic<bool>* stop = nullptr,
             RemoteWorkers* remote = nullptr);

// The CPUs this process may run on (its affinity mask, which mpirun or Slurm
// may narrow to one core): the default thread count.
int usable_cpus();
// The most worker threads worth starting: 4 per usable CPU, so that a huge
// --threads cannot exhaust memory.
int max_threads();

}  // namespace brink
