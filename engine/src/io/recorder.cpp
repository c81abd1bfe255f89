#include "brink/io/recorder.hpp"

#include <algorithm>

namespace brink {

Recorder::Recorder(const SweepPlan& plan, Hdf5Writer* writer)
    : writer_(writer),
      accumulator_(plan.replications, plan.model(0).actors(), plan.model(0).scenario().run.dt_days) {}

void Recorder::consume(BlockResult&& block) {
  if (writer_) writer_->write_block(block);
  summarize(block);
}

void Recorder::restore(BlockResult&& block) { summarize(block); }

void Recorder::summarize(const BlockResult& block) {
  PointSummary summary;
  if (!accumulator_.add(block, &summary)) return;
  if (writer_) writer_->write_summary(summary);
  const auto at = std::upper_bound(summaries_.begin(), summaries_.end(), summary.point,
                                   [](std::int64_t p, const PointSummary& s) { return p < s.point; });
  summaries_.insert(at, std::move(summary));
}

}  // namespace brink
