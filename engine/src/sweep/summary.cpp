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
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

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
    const std::vector<SobolIndex> indices =
        sobol_indices(column, dimensions, plan.base_samples, 500, plan.options.seed);
    out.insert(out.end(), indices.begin(), indices.end());
  }
  return out;
}

PointAccumulator::PointAccumulator(std::int64_t max_replications, int actors, int steps, double dt_days)
    : max_replications_(max_replications), actors_(actors), steps_(steps), dt_days_(dt_days) {}

void PointAccumulator::add(const BlockResult& block) {
  Pending& p = pending_[block.spec.point];
  if (p.outcome.empty()) {
    p.outcome.resize(max_replications_);
    p.end_step.resize(max_replications_);
    p.war_start_step.resize(max_replications_);
    p.casualties.resize(static_cast<std::size_t>(max_replications_) * actors_);
  }
  const std::int64_t first = block.spec.first_replication;
  std::copy(block.outcome.begin(), block.outcome.end(), p.outcome.begin() + first);
  std::copy(block.end_step.begin(), block.end_step.end(), p.end_step.begin() + first);
  std::copy(block.war_start_step.begin(), block.war_start_step.end(), p.war_start_step.begin() + first);
  std::copy(block.casualties.begin(), block.casualties.end(), p.casualties.begin() + first * actors_);
}

PointSummary PointAccumulator::finish(std::int64_t point, std::int64_t replications) {
  Pending& p = pending_[point];
  PointSummary s;
  s.point = point;
  s.replications = replications;
  s.dt_days = dt_days_;
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
    std::sort(values.begin(), values.end());
    for (std::size_t q = 0; q < kQuantiles.size(); ++q)
      s.casualty_quantiles[a][q] = quantile_of_sorted(values, kQuantiles[q]);
  }
  double end_sum = 0.0;
  for (std::int64_t r = 0; r < replications; ++r) {
    values[r] = p.end_step[r] * dt_days_;
    end_sum += values[r];
  }
  s.mean_end_day = end_sum / n;
  std::sort(values.begin(), values.end());
  for (std::size_t q = 0; q < kQuantiles.size(); ++q)
    s.end_day_quantiles[q] = quantile_of_sorted(values, kQuantiles[q]);
  // Survival: the share of replications with no fighting by the end of each step.
  std::vector<std::int64_t> starts(steps_ + 1, 0);
  for (std::int64_t r = 0; r < replications; ++r)
    if (p.war_start_step[r] >= 0) ++starts[std::min(p.war_start_step[r], steps_)];
  s.survival.resize(steps_);
  s.survival_interval.resize(steps_);
  std::int64_t started = 0;
  for (int step = 0; step < steps_; ++step) {
    started += starts[step];
    s.survival[step] = static_cast<double>(replications - started) / n;
    s.survival_interval[step] = wilson_interval(replications - started, replications);
  }
  pending_.erase(point);
  return s;
}

}  // namespace brink
