#include "brink/io/recorder.hpp"

#include <algorithm>

namespace brink {

Recorder::Recorder(const SweepPlan& plan, Hdf5Writer* writer)
    : writer_(writer), accumulator_(plan.replications, plan.model(0)) {}

void Recorder::consume(BlockResult&& block) {
  if (writer_) writer_->write_block(block);
  accumulator_.add(block);
}

void Recorder::point_finished(std::int64_t point, std::int64_t replications) {
  PointSummary summary = accumulator_.finish(point, replications);
  if (writer_) writer_->write_summary(summary);
  const auto at = std::upper_bound(summaries_.begin(), summaries_.end(), summary.point,
                                   [](std::int64_t p, const PointSummary& s) { return p < s.point; });
  summaries_.insert(at, std::move(summary));
}

}  // namespace brink
