// The sink a run writes through: it files each block in the HDF5 file (if
// any) and turns finished points into summaries for the file and stdout.
#pragma once

#include <string>
#include <vector>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/table.hpp"
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
  // summary without being written again. Read back without its sums on the
  // step axis, which restore_sums then gives for the point's first blocks.
  void restore(const BlockResult& block) { accumulator_.add(block); }
  void restore_sums(const ResumeSums& sums) { accumulator_.restore_sums(sums); }
  // Every point's summary, in point order, where the plan needs them all
  // (needs_every_summary); in a sweep without the time summaries (those are
  // in the file). Otherwise empty: a large sweep keeps only table().
  const std::vector<PointSummary>& summaries() const { return summaries_; }
  // The rows of the run's table (all its points' summaries offered).
  const TableRows& table() const { return table_; }
  // Replications of the points recorded so far.
  std::int64_t replications() const { return replications_; }
  // The points recorded so far that stopped at an adaptive run's max short of its ci_halfwidth.
  const PrecisionShortfall& shortfall() const { return shortfall_; }
  // Sobol indices and Morris measures need every point's outputs, and a
  // posterior's pooled table (at most kMaxKeptPoints draws) every summary;
  // any other plan of more points keeps only its table's rows, so memory
  // does not grow with the number of points.
  static constexpr std::int64_t kMaxKeptPoints = 1000;
  static bool needs_every_summary(const SweepPlan& plan);
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
  bool keep_every_summary_;
  std::vector<PointSummary> summaries_;
  TableRows table_;
  std::int64_t replications_ = 0;
  PrecisionShortfall shortfall_;
};

}  // namespace brink
