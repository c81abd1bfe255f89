// The sink a run writes through: it files each block in the HDF5 file (if
// any) and turns finished points into summaries for the file and stdout.
#pragma once

#include <string>
#include <vector>

#include "brink/io/hdf5_writer.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

// The indices a whole plan yields once every point is in: Sobol' indices of a
// Saltelli plan, Morris measures of Morris trajectories, and the names of the
// outputs they decompose.
struct Screening {
  std::vector<SobolIndex> sobol;
  std::vector<MorrisIndex> morris;
  std::vector<std::string> outputs;
};

class Recorder : public ResultSink {
 public:
  // `writer` may be null (summaries only).
  Recorder(const SweepPlan& plan, Hdf5Writer* writer);
  // On the worker thread: compresses the block's chunks for the writer.
  void encode(std::span<BlockResult> points) const override {
    if (writer_) writer_->encode(points);
  }
  void consume(BlockResult&& block) override;
  void point_finished(std::int64_t point, std::int64_t replications) override;
  // Files a finished point's summary and keeps it for summaries(), as
  // point_finished does with the summary it computes; a merge of
  // --summary-only shards, which keep no blocks, passes the summaries it reads.
  void record(PointSummary summary);
  // A block already in the file (a resumed run): counts toward its point's
  // summary without being written again.
  void restore(const BlockResult& block) { accumulator_.add(block); }
  // In point order once the run is over; in a sweep, without the time
  // summaries (those are in the file).
  const std::vector<PointSummary>& summaries() const { return summaries_; }
  // Ends a run, or a merge of shards, once every point is in: the Sobol
  // indices of a whole Saltelli plan, or the Morris measures of a Morris plan,
  // are computed from the summaries, written and returned; a shard, which
  // holds a part of the points, has none. Then the file is marked complete
  // and closed.
  Screening finish();

 private:
  const SweepPlan& plan_;
  Hdf5Writer* writer_;
  std::int64_t points_;
  PointAccumulator accumulator_;
  std::vector<PointSummary> summaries_;
};

}  // namespace brink
