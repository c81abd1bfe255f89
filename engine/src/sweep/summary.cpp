#include "brink/sweep/summary.hpp"

#include <algorithm>
#include <cmath>

#include "brink/sweep/plan.hpp"
#include "brink/sweep/sensitivity.hpp"

namespace brink {

Interval wilson_interval(std::int64_t k, std::int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(k) / nn;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denominator;
  const double half = z / denominator * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  // In exact arithmetic lower <= p <= upper; at p = 0 or 1 rounding can put a bound a hair on the wrong side.
  return {std::min(p, std::max(0.0, center - half)), std::max(p, std::min(1.0, center + half))};
}

namespace {

// The quantile q of n values (linear interpolation between order statistics,
// type 7 of Hyndman & Fan): the 0-based rank h, interpolated between the
// order statistics at floor(h) and the next.
double rank_of(std::size_t n, double q) { return (static_cast<double>(n) - 1.0) * q; }
double interpolated(double low, double high, double h) { return low + (h - std::floor(h)) * (high - low); }

}  // namespace

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double h = rank_of(sorted.size(), q);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return interpolated(sorted[lo], sorted[hi], h);
}

namespace {

// quantile_of_sorted at each of kQuantiles without sorting: the two order
// statistics each needs come from nth_element (linear time; a sort of a
// point's 400,000 values was 2% of a run): the same order statistics. The
// levels ascend, so each nth_element partitions only what lies above the
// previous one's place (everything below it is no larger).
std::array<double, kQuantiles.size()> quantiles_in_place(std::vector<double>& values) {
  static_assert(std::is_sorted(kQuantiles.begin(), kQuantiles.end()));
  std::array<double, kQuantiles.size()> out{};
  if (values.empty()) return out;
  auto unordered = values.begin();  // [begin, unordered) is ordered and no larger than the rest
  for (std::size_t k = 0; k < kQuantiles.size(); ++k) {
    const double h = rank_of(values.size(), kQuantiles[k]);
    const auto at = values.begin() + static_cast<std::ptrdiff_t>(std::floor(h));
    if (at >= unordered) std::nth_element(unordered, at, values.end());
    const double high = at + 1 < values.end() ? *std::min_element(at + 1, values.end()) : *at;
    out[k] = interpolated(*at, high, h);
    unordered = at + 1;
  }
  return out;
}

}  // namespace

std::vector<double> summary_outputs(const PointSummary& summary) {
  std::vector<double> out(summary.probability.begin(), summary.probability.end());
  out.insert(out.end(), summary.mean_casualties.begin(), summary.mean_casualties.end());
  return out;
}

std::vector<SobolIndex> sweep_sensitivity(const SweepPlan& plan, const std::vector<PointSummary>& summaries) {
  const int dimensions = plan.swept;
  const std::size_t outputs = summaries.empty() ? 0 : summary_outputs(summaries.front()).size();
  std::vector<std::vector<double>> columns(outputs, std::vector<double>(summaries.size()));
  for (std::size_t p = 0; p < summaries.size(); ++p) {
    const std::vector<double> values = summary_outputs(summaries[p]);
    for (std::size_t k = 0; k < outputs; ++k) columns[k][p] = values[k];
  }
  std::vector<SobolIndex> out;
  for (const auto& column : columns) {
    const std::vector<SobolIndex> indices = sobol_indices(column, dimensions, plan.base_samples, 500, plan.run().seed);
    out.insert(out.end(), indices.begin(), indices.end());
  }
  return out;
}

PointAccumulator::PointAccumulator(std::int64_t max_replications, const Model& model)
    : max_replications_(max_replications),
      actors_(model.actors()),
      rungs_(static_cast<int>(model.scenario().escalation.rungs.size())),
      issues_(static_cast<int>(model.scenario().negotiation.issues.size())),
      record_every_(model.record_every()),
      records_(model.records()),
      steps_(model.steps()),
      dt_days_(model.scenario().run.dt_days) {}

void PointAccumulator::add(const BlockResult& block) {
  Pending& p = pending_[block.spec.point];
  // A point's first block sizes its counts (rung_count is never empty; agreed
  // is empty in a scenario without issues, so it cannot tell).
  if (p.rung_count.empty()) {
    p.agreed.assign(issues_, 0);
    p.rung_count.assign(static_cast<std::size_t>(records_) * rungs_, 0);
  }
  const std::int64_t first = block.spec.first_replication;
  // Grow with the replications that actually run (doubling), not to the
  // adaptive maximum, which may be far larger.
  const auto needed = static_cast<std::size_t>(first + block.spec.count);
  if (needed > p.outcome.size()) {
    const std::size_t size =
        std::min<std::size_t>(std::max(needed, 2 * p.outcome.size()), static_cast<std::size_t>(max_replications_));
    p.outcome.grow(size);
    p.end_step.grow(size);
    p.war_start_step.grow(size);
    p.casualties.grow(size * actors_);
  }
  std::copy(block.outcome.begin(), block.outcome.end(), p.outcome.data() + first);
  std::copy(block.end_step.begin(), block.end_step.end(), p.end_step.data() + first);
  std::copy(block.war_start_step.begin(), block.war_start_step.end(), p.war_start_step.data() + first);
  std::copy(block.casualties.begin(), block.casualties.end(), p.casualties.data() + first * actors_);
  if (!block.agreed.empty())
    for (int r = 0; r < block.spec.count; ++r)
      for (int k = 0; k < issues_; ++k) p.agreed[k] += block.agreed[static_cast<std::size_t>(r) * issues_ + k];
  for (std::size_t c = 0; c < block.record_rung_count.size(); ++c) p.rung_count[c] += block.record_rung_count[c];
  auto fold = [&p](const std::vector<double>& troops, const std::vector<double>& belief) {
    if (p.troops.empty()) p.troops.assign(troops.size(), 0.0);
    if (p.belief.empty()) p.belief.assign(belief.size(), 0.0);
    for (std::size_t c = 0; c < troops.size(); ++c) p.troops[c] += troops[c];
    for (std::size_t c = 0; c < belief.size(); ++c) p.belief[c] += belief[c];
    ++p.next_block;
  };
  // A block in order is folded at once; one that arrives early waits, copied.
  if (first / kBlockLanes == p.next_block)
    fold(block.record_troops_sum, block.record_belief_sum);
  else
    p.early[first / kBlockLanes] = {block.record_troops_sum, block.record_belief_sum};
  for (auto it = p.early.begin(); it != p.early.end() && it->first == p.next_block; it = p.early.erase(it))
    fold(it->second.first, it->second.second);
}

PointSummary PointAccumulator::finish(std::int64_t point, std::int64_t replications) {
  Pending& p = pending_[point];
  PointSummary s;
  s.point = point;
  s.replications = replications;
  for (int q = 0; q < records_; ++q) s.record_day.push_back(std::min(q * record_every_, steps_) * dt_days_);
  const double n = static_cast<double>(replications);
  for (std::int64_t r = 0; r < replications; ++r) ++s.count[p.outcome[r]];
  for (int o = 0; o < kOutcomeCount; ++o) {
    s.probability[o] = static_cast<double>(s.count[o]) / n;
    s.interval[o] = wilson_interval(s.count[o], replications);
  }
  s.mean_casualties.assign(actors_, 0.0);
  s.casualty_quantiles.resize(actors_);
  std::vector<double> values(replications);
  for (int a = 0; a < actors_; ++a) {
    for (std::int64_t r = 0; r < replications; ++r) {
      values[r] = p.casualties[r * actors_ + a];
      s.mean_casualties[a] += values[r];
    }
    s.mean_casualties[a] /= n;
    s.casualty_quantiles[a] = quantiles_in_place(values);
  }
  double end_sum = 0.0;
  for (std::int64_t r = 0; r < replications; ++r) {
    values[r] = p.end_step[r] * dt_days_;
    end_sum += values[r];
  }
  s.mean_end_day = end_sum / n;
  s.end_day_quantiles = quantiles_in_place(values);
  // Survival at each record's step t: no fighting began in steps [0, t).
  const int last_step = std::min((records_ - 1) * record_every_, steps_);
  std::vector<std::int64_t> starts(static_cast<std::size_t>(last_step) + 1, 0);
  for (std::int64_t r = 0; r < replications; ++r)
    if (p.war_start_step[r] >= 0 && p.war_start_step[r] < last_step) ++starts[p.war_start_step[r]];
  s.survival.resize(records_);
  s.survival_interval.resize(records_);
  std::int64_t started = 0;
  for (int q = 0; q < records_; ++q) {
    if (q > 0)
      for (int t = (q - 1) * record_every_; t < std::min(q * record_every_, steps_); ++t) started += starts[t];
    s.survival[q] = static_cast<double>(replications - started) / n;
    s.survival_interval[q] = wilson_interval(replications - started, replications);
  }
  s.rung_share.resize(p.rung_count.size());
  for (std::size_t c = 0; c < p.rung_count.size(); ++c) s.rung_share[c] = static_cast<double>(p.rung_count[c]) / n;
  // Every block of the point has arrived, so all were folded in order.
  s.mean_troops = p.troops;
  s.mean_belief = p.belief;
  for (double& v : s.mean_troops) v /= n;
  for (double& v : s.mean_belief) v /= n;
  s.agreement.resize(issues_);
  for (int k = 0; k < issues_; ++k) s.agreement[k] = static_cast<double>(p.agreed[k]) / n;
  pending_.erase(point);
  return s;
}

}  // namespace brink
