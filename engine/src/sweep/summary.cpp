#include "brink/sweep/summary.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "brink/sweep/plan.hpp"
#include "brink/sweep/sensitivity.hpp"

namespace brink {

Interval wilson_interval(std::int64_t k, std::int64_t n, double z) {
  if (n <= 0) return {0.0, 1.0};
  return wilson_interval_of_share(static_cast<double>(k) / static_cast<double>(n), static_cast<double>(n), z);
}

Interval wilson_interval_of_share(double p, double n, double z) {
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double center = (p + z2 / (2.0 * n)) / denominator;
  const double half = z / denominator * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  // In exact arithmetic lower <= p <= upper; at p = 0 or 1 rounding can put a bound a hair on the wrong side.
  return {std::min(p, std::max(0.0, center - half)), std::max(p, std::min(1.0, center + half))};
}

double wilson_trials_for_half_width(double p, double h, double z) {
  // The half-width z·sqrt(n·p(1−p) + z²/4)/(n + z²) equals h at the larger root
  // of h²n² − b·n + c = 0, b = z²(p(1−p) − 2h²), c = z⁴(h² − 1/4) < 0.
  const double z2 = z * z, h2 = h * h;
  const double b = z2 * (p * (1.0 - p) - 2.0 * h2), c = z2 * z2 * (h2 - 0.25);
  return (b + std::sqrt(b * b - 4.0 * h2 * c)) / (2.0 * h2);
}

double student_t_975(std::int64_t df) {
  static constexpr std::array<double, 30> kTable = {
      12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
      2.200985,  2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
      2.079614,  2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (df <= 30) return kTable[static_cast<std::size_t>(std::max<std::int64_t>(df, 1) - 1)];
  // Above 30 degrees of freedom the Cornish-Fisher expansion (Abramowitz and Stegun 26.7.5) is exact to 1e-7.
  const double z = 1.959963984540054, v = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
  return z + (z3 + z) / 4 / v + (5 * z5 + 16 * z3 + 3 * z) / 96 / (v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384 / (v * v * v) +
         (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160 / (v * v * v * v);
}

Interval clustered_interval(const std::vector<std::int64_t>& counts, const std::vector<std::int64_t>& replications) {
  const std::size_t k = counts.size();
  double total = 0, hits = 0;
  for (std::size_t i = 0; i < k; ++i) {
    total += static_cast<double>(replications[i]);
    hits += static_cast<double>(counts[i]);
  }
  if (k < 2 || total <= 0) return wilson_interval(static_cast<std::int64_t>(hits), static_cast<std::int64_t>(total));
  const double p = hits / total;
  // The ratio estimator's between-cluster variance of p.
  double variance = 0;
  for (std::size_t i = 0; i < k; ++i)
    variance += std::pow(static_cast<double>(counts[i]) - p * static_cast<double>(replications[i]), 2);
  variance *= static_cast<double>(k) / static_cast<double>(k - 1) / (total * total);
  // Korn and Graubard (1998): the Wilson interval at the effective number of
  // replications p(1 − p)/V, shrunk by (z/t)² for the k − 1 degrees of freedom
  // of V and never above the replications' own (draws that happen to agree).
  // Unlike p ± t·√V it is skewed away from 0 and 1 as the binomial is: a rare
  // outcome carried by a few draws was covered 75-89% of the time by p ± t·√V,
  // its whole interval below the truth in 10-24% of runs (an outside review).
  const double z = 1.959963984540054, t = student_t_975(static_cast<std::int64_t>(k) - 1);
  const double effective = variance > 0 ? std::min(total, p * (1.0 - p) / variance * (z / t) * (z / t)) : total;
  return wilson_interval_of_share(p, effective, z);
}

double widest_halfwidth(const PointSummary& summary) {
  double widest = 0.0;
  for (const Interval& ci : summary.interval) widest = std::max(widest, (ci.upper - ci.lower) / 2);
  return widest;
}

void PrecisionShortfall::offer(const PointSummary& summary) {
  if (!(target > 0)) return;
  const double half = widest_halfwidth(summary);
  if (!(half > target)) return;
  ++points;
  if (first.size() < kListed) first.push_back(summary.point);
  if (half > widest) {
    widest = half;
    widest_point = summary.point;
  }
}

namespace {

// The quantile q of n values (linear interpolation between order statistics,
// type 7 of Hyndman & Fan): the 0-based rank h, interpolated between the
// order statistics at floor(h) and the next.
double rank_of(std::int64_t n, double q) { return (static_cast<double>(n) - 1.0) * q; }
double interpolated(double low, double high, double h) { return low + (h - std::floor(h)) * (high - low); }

// The quantile q of n values, from their k-th smallest (0-based) for any k.
template <class OrderStatistic>
double quantile_of(std::int64_t n, double q, OrderStatistic&& order_statistic) {
  if (n == 0) return 0.0;
  const double h = rank_of(n, q);
  const auto at = static_cast<std::int64_t>(std::floor(h));
  const double low = order_statistic(at);
  return interpolated(low, order_statistic(std::min(at + 1, n - 1)), h);
}

// quantile_of at each of kQuantiles.
template <class OrderStatistic>
std::array<double, kQuantiles.size()> quantiles_of(std::int64_t n, OrderStatistic&& order_statistic) {
  std::array<double, kQuantiles.size()> out{};
  for (std::size_t k = 0; k < kQuantiles.size(); ++k) out[k] = quantile_of(n, kQuantiles[k], order_statistic);
  return out;
}

}  // namespace

double quantile_of_sorted(const std::vector<double>& sorted, double q) {
  return quantile_of(static_cast<std::int64_t>(sorted.size()), q, [&](std::int64_t k) { return sorted[k]; });
}

namespace {

// The quantiles of the values v·scale, counts[v] of each (scale > 0 keeps
// their order).
std::array<double, kQuantiles.size()> quantiles_of_counts(const std::vector<std::int64_t>& counts, double scale) {
  std::int64_t n = 0;
  for (std::int64_t c : counts) n += c;
  return quantiles_of(n, [&](std::int64_t k) {
    std::size_t v = 0;
    for (; v + 1 < counts.size() && k >= counts[v]; ++v) k -= counts[v];
    return static_cast<double>(v) * scale;
  });
}

// The quantiles of `zeros` zeros and the values in [begin, end), which it
// reorders. The order statistics come from nth_element (linear time; a sort
// of a point's 400,000 values was 2% of a run) within the values below zero,
// the zeros, or those above.
std::array<double, kQuantiles.size()> quantiles_with_zeros(double* begin, double* end, std::int64_t zeros) {
  double* const positive = std::partition(begin, end, [](double v) { return v < 0.0; });
  const std::int64_t negatives = positive - begin;
  return quantiles_of((end - begin) + zeros, [&](std::int64_t k) {
    if (k >= negatives && k < negatives + zeros) return 0.0;
    double* const at = k < negatives ? begin + k : positive + (k - negatives - zeros);
    std::nth_element(k < negatives ? begin : positive, at, k < negatives ? positive : end);
    return *at;
  });
}

}  // namespace

std::vector<double> summary_outputs(const PointSummary& summary) {
  std::vector<double> out(summary.probability.begin(), summary.probability.end());
  double war = 0.0;
  for (int o = static_cast<int>(Outcome::kLimitedWar); o < kOutcomeCount; ++o) war += summary.probability[o];
  out.push_back(war);
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

PointAccumulator::PointAccumulator(const Model& model)
    : actors_(model.actors()),
      rungs_(static_cast<int>(model.scenario().escalation.rungs.size())),
      issues_(static_cast<int>(model.scenario().negotiation.issues.size())),
      record_every_(model.record_every()),
      records_(model.records()),
      steps_(model.steps()),
      dt_days_(model.scenario().run.dt_days) {}

namespace {

// Counts each step of [0, steps] in `values`. -1 means never: not counted
// where `never_allowed` (a war that did not begin), an error otherwise
// (every crisis ends by the horizon: the kernel's finish sets the rest to it).
void count_steps(const std::vector<std::int32_t>& values, bool never_allowed, std::vector<std::int64_t>& counts) {
  for (std::int32_t v : values) {
    if (v >= 0)
      ++counts.at(static_cast<std::size_t>(v));
    else if (!never_allowed)
      throw std::logic_error("a replication without an end step reached the summary");
  }
}

}  // namespace

void PointAccumulator::add(const BlockResult& block) {
  Pending& p = pending_[block.spec.point];
  if (p.rung_count.empty()) {  // the point's first block sizes what it keeps
    p.end_step_count.assign(static_cast<std::size_t>(steps_) + 1, 0);
    p.war_start_count.assign(static_cast<std::size_t>(steps_) + 1, 0);
    p.zero_casualties.assign(actors_, 0);
    p.casualties.resize(actors_);
    p.casualty_sum.assign(actors_, 0.0);
    p.agreed.assign(issues_, 0);
    p.rung_count.assign(static_cast<std::size_t>(records_) * rungs_, 0);
  }
  for (std::int8_t o : block.outcome) ++p.outcome_count[o];
  count_steps(block.end_step, false, p.end_step_count);
  count_steps(block.war_start_step, true, p.war_start_count);
  for (int r = 0; r < block.spec.count; ++r)
    for (int a = 0; a < actors_; ++a) {
      const double c = block.casualties[static_cast<std::size_t>(r) * actors_ + a];
      if (c == 0.0)
        ++p.zero_casualties[a];
      else
        p.casualties[a].push_back(c);
    }
  if (!block.agreed.empty())
    for (int r = 0; r < block.spec.count; ++r)
      for (int k = 0; k < issues_; ++k) p.agreed[k] += block.agreed[static_cast<std::size_t>(r) * issues_ + k];
  // A block in order is folded at once; one that arrives early waits, copied.
  const std::int64_t index = block.spec.first_replication / kBlockLanes;
  if (index == p.next_block)
    fold(p, block.end_step, block.casualties, block.record_rung_count, block.record_troops_sum,
         block.record_belief_sum);
  else
    p.early[index] = {block.end_step, block.casualties, block.record_rung_count, block.record_troops_sum,
                      block.record_belief_sum};
  for (auto it = p.early.begin(); it != p.early.end() && it->first == p.next_block; it = p.early.erase(it))
    fold(p, it->second.end_step, it->second.casualties, it->second.rung_count, it->second.troops, it->second.belief);
}

ResumeSums PointAccumulator::sums_so_far(std::int64_t point) const {
  const Pending& p = pending_.at(point);
  return {point, p.next_block, p.rung_count, p.troops, p.belief};
}

void PointAccumulator::restore_sums(const ResumeSums& sums) {
  Pending& p = pending_.at(sums.point);
  if (p.next_block != sums.blocks || sums.rung_count.size() != p.rung_count.size())
    throw std::logic_error("resume sums restored over other blocks than they cover");
  p.rung_count = sums.rung_count;
  p.troops = sums.troops;
  p.belief = sums.belief;
}

// The sums over replications, in replication order: the same bits whatever
// order the blocks arrived in.
void PointAccumulator::fold(Pending& p, const std::vector<std::int32_t>& end_step,
                            const std::vector<double>& casualties, const std::vector<std::int32_t>& rung_count,
                            const std::vector<double>& troops, const std::vector<double>& belief) const {
  for (std::int32_t e : end_step) p.end_day_sum += e * dt_days_;
  for (std::size_t r = 0; r < end_step.size(); ++r)
    for (int a = 0; a < actors_; ++a) p.casualty_sum[a] += casualties[r * actors_ + a];
  for (std::size_t c = 0; c < rung_count.size(); ++c) p.rung_count[c] += rung_count[c];
  if (p.troops.empty()) p.troops.assign(troops.size(), 0.0);
  if (p.belief.empty()) p.belief.assign(belief.size(), 0.0);
  for (std::size_t c = 0; c < troops.size(); ++c) p.troops[c] += troops[c];
  for (std::size_t c = 0; c < belief.size(); ++c) p.belief[c] += belief[c];
  ++p.next_block;
}

PointSummary PointAccumulator::finish(std::int64_t point, std::int64_t replications) {
  Pending& p = pending_[point];
  PointSummary s;
  s.point = point;
  s.replications = replications;
  for (int q = 0; q < records_; ++q) s.record_day.push_back(std::min(q * record_every_, steps_) * dt_days_);
  const double n = static_cast<double>(replications);
  s.count = p.outcome_count;
  for (int o = 0; o < kOutcomeCount; ++o) {
    s.probability[o] = static_cast<double>(s.count[o]) / n;
    s.interval[o] = wilson_interval(s.count[o], replications);
  }
  s.mean_casualties.resize(actors_);
  s.casualty_quantiles.resize(actors_);
  for (int a = 0; a < actors_; ++a) {
    s.mean_casualties[a] = p.casualty_sum[a] / n;
    s.casualty_quantiles[a] =
        quantiles_with_zeros(p.casualties[a].begin(), p.casualties[a].end(), p.zero_casualties[a]);
  }
  s.mean_end_day = p.end_day_sum / n;
  s.end_day_quantiles = quantiles_of_counts(p.end_step_count, dt_days_);
  // Survival at each record's step t: no fighting began in steps [0, t).
  s.survival.resize(records_);
  s.survival_interval.resize(records_);
  std::int64_t started = 0;
  for (int q = 0; q < records_; ++q) {
    if (q > 0)
      for (int t = (q - 1) * record_every_; t < std::min(q * record_every_, steps_); ++t)
        started += p.war_start_count[t];
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
