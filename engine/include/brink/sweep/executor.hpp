// Runs a SweepPlan on worker threads. Results reach the sink on one thread
// only (the caller's), so the sink may own non-thread-safe resources such as
// an HDF5 file. Blocks may arrive in any order; each carries its position.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "brink/sweep/plan.hpp"

namespace brink {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void consume(BlockResult&& block) = 0;
};

// Called on the sink's thread after each block: (blocks done, blocks total).
using ProgressFn = std::function<void(std::int64_t, std::int64_t)>;

// Rethrows the first exception a worker or the sink raised, after stopping all
// workers. Blocks whose entry in `skip` is non-zero (a resumed run's finished
// blocks) are not run; they count as done for progress.
void execute(const SweepPlan& plan, int threads, ResultSink& sink, const ProgressFn& progress = {},
             const std::vector<std::uint8_t>* skip = nullptr);

}  // namespace brink
