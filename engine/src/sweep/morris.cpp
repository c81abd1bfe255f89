#include "brink/sweep/morris.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "brink/sweep/design.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {
namespace {

// effects[t * d + i]: trajectory t's elementary effect of parameter i.
std::vector<double> elementary_effects(const std::vector<double>& f, const std::vector<std::vector<double>>& unit,
                                       int d) {
  const std::size_t per = static_cast<std::size_t>(d) + 1;
  const std::size_t r = f.size() / per;
  std::vector<double> effects(r * d, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t t = 0; t < r; ++t) {
    for (std::size_t s = 1; s < per; ++s) {
      const std::vector<double>& before = unit[t * per + s - 1];
      const std::vector<double>& after = unit[t * per + s];
      int moved = -1;
      for (int j = 0; j < d; ++j) {
        if (after[j] == before[j]) continue;
        if (moved >= 0)
          throw std::invalid_argument(
              fmt::format("Morris trajectory {} step {} changes more than one coordinate ({} and {})", t, s, moved, j));
        moved = j;
      }
      if (moved < 0)
        throw std::invalid_argument(fmt::format("Morris trajectory {} step {} changes no coordinate", t, s));
      effects[t * d + moved] = (f[t * per + s] - f[t * per + s - 1]) / (after[moved] - before[moved]);
    }
  }
  return effects;
}

// μ* of parameter i over the trajectories rows[0..r) (all when null).
double mu_star(const std::vector<double>& effects, int d, int i, std::size_t r, const std::int64_t* rows) {
  double sum = 0.0;
  for (std::size_t k = 0; k < r; ++k) sum += std::abs(effects[(rows ? rows[k] : k) * d + i]);
  return sum / static_cast<double>(r);
}

double quantile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

void check(const std::vector<double>& outputs, const std::vector<std::vector<double>>& unit, int d, int bootstrap,
           double confidence) {
  if (d < 1) throw std::invalid_argument(fmt::format("Morris indices need dimensions >= 1, got {}", d));
  const std::size_t per = static_cast<std::size_t>(d) + 1;
  if (outputs.empty() || outputs.size() % per != 0 || unit.size() != outputs.size())
    throw std::invalid_argument(
        fmt::format("Morris indices: {} outputs and {} points; {} trajectories of {} points "
                    "need a whole multiple of {} of each",
                    outputs.size(), unit.size(), outputs.size() / per, per, per));
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!std::isfinite(outputs[k]))
      throw std::invalid_argument(fmt::format("Morris indices: output {} is not finite ({})", k, outputs[k]));
    if (unit[k].size() != static_cast<std::size_t>(d))
      throw std::invalid_argument(
          fmt::format("Morris indices: point {} has {} coordinates, not {}", k, unit[k].size(), d));
  }
  if (bootstrap < 0) throw std::invalid_argument(fmt::format("bootstrap must be >= 0, got {}", bootstrap));
  if (!(confidence > 0.0 && confidence < 1.0))
    throw std::invalid_argument(fmt::format("confidence must be in (0, 1), got {}", confidence));
}

}  // namespace

std::vector<MorrisIndex> morris_indices(const std::vector<double>& outputs,
                                        const std::vector<std::vector<double>>& unit, int dimensions, int bootstrap,
                                        std::uint64_t seed, double confidence) {
  check(outputs, unit, dimensions, bootstrap, confidence);
  const int d = dimensions;
  const std::size_t r = outputs.size() / (static_cast<std::size_t>(d) + 1);
  const std::vector<double> effects = elementary_effects(outputs, unit, d);
  std::vector<MorrisIndex> out(d);
  for (int i = 0; i < d; ++i) {
    double sum = 0.0;
    for (std::size_t t = 0; t < r; ++t) sum += effects[t * d + i];
    const double mean = sum / static_cast<double>(r);
    double squares = 0.0;
    for (std::size_t t = 0; t < r; ++t) squares += (effects[t * d + i] - mean) * (effects[t * d + i] - mean);
    out[i].mu = mean;
    out[i].mu_star = mu_star(effects, d, i, r, nullptr);
    out[i].sigma = r > 1 ? std::sqrt(squares / static_cast<double>(r - 1)) : std::numeric_limits<double>::quiet_NaN();
    out[i].mu_star_low = out[i].mu_star_high = out[i].mu_star;
  }
  if (bootstrap == 0) return out;
  // Whole trajectories are resampled: the same rows for every parameter.
  std::vector<std::vector<double>> resampled(d, std::vector<double>(static_cast<std::size_t>(bootstrap)));
  std::vector<std::int64_t> rows(r);
  for (int b = 0; b < bootstrap; ++b) {
    for (std::size_t k = 0; k < r; ++k)
      rows[k] = static_cast<std::int64_t>(design_below(
          seed, DesignStream::kMorrisBootstrap, static_cast<std::uint32_t>(b), static_cast<std::uint64_t>(k), r));
    for (int i = 0; i < d; ++i) resampled[i][b] = mu_star(effects, d, i, r, rows.data());
  }
  for (int i = 0; i < d; ++i) {
    std::sort(resampled[i].begin(), resampled[i].end());
    out[i].mu_star_low = quantile(resampled[i], (1.0 - confidence) / 2.0);
    out[i].mu_star_high = quantile(resampled[i], (1.0 + confidence) / 2.0);
  }
  return out;
}

std::vector<MorrisIndex> sweep_morris(const SweepPlan& plan, const std::vector<PointSummary>& summaries) {
  const int d = plan.swept;
  const std::vector<std::vector<double>> unit =
      morris_trajectories(d, plan.samples, plan.morris_levels, plan.run().seed);
  const std::size_t outputs = summaries.empty() ? 0 : summary_outputs(summaries.front()).size();
  std::vector<std::vector<double>> columns(outputs, std::vector<double>(summaries.size()));
  for (std::size_t p = 0; p < summaries.size(); ++p) {
    const std::vector<double> values = summary_outputs(summaries[p]);
    for (std::size_t k = 0; k < outputs; ++k) columns[k][p] = values[k];
  }
  std::vector<MorrisIndex> out;
  for (const auto& column : columns) {
    const std::vector<MorrisIndex> indices = morris_indices(column, unit, d, 500, plan.run().seed);
    out.insert(out.end(), indices.begin(), indices.end());
  }
  return out;
}

}  // namespace brink
