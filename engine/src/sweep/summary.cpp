#include "brink/sweep/summary.hpp"

#include <algorithm>
#include <cmath>

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

PointAccumulator::PointAccumulator(std::int64_t replications, int actors, double dt_days)
    : replications_(replications), actors_(actors), dt_days_(dt_days) {}

bool PointAccumulator::add(const BlockResult& block, PointSummary* summary) {
  Pending& p = pending_[block.spec.point];
  if (p.outcome.empty()) {
    p.outcome.resize(replications_);
    p.end_step.resize(replications_);
    p.casualties.resize(static_cast<std::size_t>(replications_) * actors_);
  }
  const std::int64_t first = block.spec.first_replication;
  std::copy(block.outcome.begin(), block.outcome.end(), p.outcome.begin() + first);
  std::copy(block.end_step.begin(), block.end_step.end(), p.end_step.begin() + first);
  std::copy(block.casualties.begin(), block.casualties.end(), p.casualties.begin() + first * actors_);
  p.received += block.spec.count;
  if (p.received < replications_) return false;

  PointSummary s;
  s.point = block.spec.point;
  s.replications = replications_;
  for (std::int8_t o : p.outcome) ++s.count[o];
  for (int o = 0; o < kOutcomeCount; ++o) {
    s.probability[o] = static_cast<double>(s.count[o]) / static_cast<double>(replications_);
    s.interval[o] = wilson_interval(s.count[o], replications_);
  }
  s.mean_casualties.assign(actors_, 0.0);
  double end_sum = 0.0;
  for (std::int64_t r = 0; r < replications_; ++r) {
    for (int a = 0; a < actors_; ++a) s.mean_casualties[a] += p.casualties[r * actors_ + a];
    end_sum += p.end_step[r];
  }
  for (double& c : s.mean_casualties) c /= static_cast<double>(replications_);
  s.mean_end_day = end_sum / static_cast<double>(replications_) * dt_days_;
  *summary = std::move(s);
  pending_.erase(block.spec.point);
  return true;
}

}  // namespace brink
