#include "brink/io/recorder.hpp"

#include <algorithm>

#include "brink/sweep/plan.hpp"

namespace brink {

Recorder::Recorder(const SweepPlan& plan, Hdf5Writer* writer)
    : plan_(plan),
      writer_(writer),
      points_(static_cast<std::int64_t>(plan.points.size())),
      accumulator_(plan.model(0)),
      keep_every_summary_(needs_every_summary(plan)) {
  if (plan.rule.adaptive) shortfall_.target = plan.rule.ci_halfwidth;
}

bool Recorder::needs_every_summary(const SweepPlan& plan) {
  return plan.sensitivity || plan.morris || static_cast<std::int64_t>(plan.points.size()) <= kMaxKeptPoints;
}

void Recorder::consume(BlockResult&& block) {
  accumulator_.add(block);
  if (!writer_) return;
  // Staged first, so that a flush this block brings about vouches for its point's sums with it.
  if (plan_.resume_sums_in_file()) writer_->stage_resume_sums(accumulator_.sums_so_far(block.spec.point));
  writer_->write_block(block);
}

void Recorder::point_finished(std::int64_t point, std::int64_t replications) {
  record(accumulator_.finish(point, replications));
}

void Recorder::record(PointSummary summary) {
  if (writer_) writer_->write_summary(summary);
  if (points_ > 1) {
    // Only the one-point table prints the time summaries; in a sweep they live
    // in the file alone, so memory does not grow with the number of points.
    // (Swapping with empty vectors frees the memory; clear() would keep it.)
    std::vector<double>().swap(summary.survival);
    std::vector<Interval>().swap(summary.survival_interval);
    std::vector<double>().swap(summary.rung_share);
    std::vector<double>().swap(summary.mean_troops);
    std::vector<double>().swap(summary.mean_belief);
    std::vector<double>().swap(summary.record_day);
  }
  replications_ += summary.replications;
  shortfall_.offer(summary);
  table_.offer(summary);
  if (!keep_every_summary_) return;
  const auto at = std::upper_bound(summaries_.begin(), summaries_.end(), summary.point,
                                   [](std::int64_t p, const PointSummary& s) { return p < s.point; });
  summaries_.insert(at, std::move(summary));
}

Screening Recorder::finish() {
  Screening screening;
  if (plan_.sharded()) {
    // Indices exist only for the whole plan: NaN in a shard, computed at merge.
    if (writer_ && plan_.sensitivity) writer_->write_sensitivity({}, 0);
    if (writer_ && plan_.morris) writer_->write_morris({}, 0);
  } else if (plan_.sensitivity) {
    screening.sobol = sweep_sensitivity(plan_, summaries_);
    if (writer_) writer_->write_sensitivity(screening.sobol, plan_.swept);
  } else if (plan_.morris) {
    screening.morris = sweep_morris(plan_, summaries_);
    if (writer_) writer_->write_morris(screening.morris, plan_.swept);
  }
  if (writer_) {
    if (plan_.sensitivity || plan_.morris) screening.outputs = writer_->sensitivity_outputs();
    writer_->close();
  }
  return screening;
}

}  // namespace brink
