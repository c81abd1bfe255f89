// A rank other than 0: waits for the job, then simulates the blocks rank 0
// sends until rank 0 says the run is over. Never prints.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brink/model/block_result.hpp"
#include "brink/mpi/distributed.hpp"
#include "mpi_env.hpp"

namespace brink {
struct SweepPlan;
namespace mpi {

// Returns rank 0's exit code.
int serve_as_worker(const Session& session, PlanFn plan_of);

// Compresses a block's chunks exactly as the HDF5 writer on rank 0 would
// (Hdf5Writer::encode), without a file.
class ChunkEncoder {
 public:
  explicit ChunkEncoder(const SweepPlan& plan);
  ~ChunkEncoder();
  void encode(std::span<BlockResult> points) const;
  // Whether the file holds per-replication variables (chunks to encode).
  bool writes_runs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpi
}  // namespace brink
