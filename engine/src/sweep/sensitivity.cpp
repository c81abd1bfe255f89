#include "brink/sweep/sensitivity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "brink/sweep/design.hpp"

namespace brink {
namespace {

// Views of the output blocks of a Saltelli plan.
struct Blocks {
  const double* a;
  const double* b;
  std::vector<const double*> ab;  // ab[i] = f(A_B^(i))
  std::int64_t n;
};

// Estimates over the rows rows[0..n) (all rows when `rows` is null).
void estimate(const Blocks& f, const std::int64_t* rows, std::vector<double>* first, std::vector<double>* total) {
  const std::int64_t n = f.n;
  const auto row = [rows](std::int64_t k) { return rows ? rows[k] : k; };
  double sum = 0.0;
  for (std::int64_t k = 0; k < n; ++k) sum += f.a[row(k)] + f.b[row(k)];
  const double mean = sum / static_cast<double>(2 * n);
  double squares = 0.0;
  for (std::int64_t k = 0; k < n; ++k) {
    const double da = f.a[row(k)] - mean, db = f.b[row(k)] - mean;
    squares += da * da + db * db;
  }
  const double variance = squares / static_cast<double>(2 * n);
  const std::size_t d = f.ab.size();
  if (!(variance > 0.0)) {
    first->assign(d, std::numeric_limits<double>::quiet_NaN());
    total->assign(d, std::numeric_limits<double>::quiet_NaN());
    return;
  }
  first->resize(d);
  total->resize(d);
  for (std::size_t i = 0; i < d; ++i) {
    double cross = 0.0, jansen = 0.0;
    for (std::int64_t k = 0; k < n; ++k) {
      const std::int64_t r = row(k);
      const double step = f.ab[i][r] - f.a[r];
      // Centring f(B) leaves the expectation alone but removes the noise
      // mean * mean(f(A_B) - f(A)), which swamps the estimate when the
      // output's mean is large against its spread (casualties in troops).
      cross += (f.b[r] - mean) * step;
      jansen += step * step;
    }
    (*first)[i] = cross / static_cast<double>(n) / variance;
    (*total)[i] = jansen / static_cast<double>(2 * n) / variance;
  }
}

// Quantile q of sorted values, linear between order statistics (Hyndman–Fan 7).
double quantile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Whether the output is a rare event the bootstrap cannot judge: more than
// half of the 2N values of A and B share one value (the median), and the
// rows where both A's and B's differ from it are expected fewer than
// kFewCoincidences times, N·d² for a share d of differing values. Jansen's
// estimate then moves by a lump with each such row, which a resample of
// the rows at hand almost never adds: a single reading with no coincidence
// gives S_T = 1/(1 − d) whatever the truth, and the percentile interval
// around it only says how d varies (an outside check: every total index
// of 1 excluded at N = 256 with 4 to 16 rows differing). Simulated binary
// outputs with S_T = 1 cover at about 90% from N·d² ≈ 2.5 on, against 10–
// 40% below 1.
constexpr double kFewCoincidences = 3.0;
bool too_sparse_for_the_bootstrap(const std::vector<double>& outputs, std::int64_t n) {
  std::vector<double> values(outputs.begin(), outputs.begin() + 2 * n);
  const auto middle = values.begin() + n;
  std::nth_element(values.begin(), middle, values.end());
  const double median = *middle;
  const auto differing = static_cast<double>(
      std::count_if(outputs.begin(), outputs.begin() + 2 * n, [median](double v) { return v != median; }));
  const double share = differing / static_cast<double>(2 * n);
  return share < 0.5 && static_cast<double>(n) * share * share < kFewCoincidences;
}

}  // namespace

std::vector<SobolIndex> sobol_indices(const std::vector<double>& outputs, int dimensions, std::int64_t base_samples,
                                      int bootstrap, std::uint64_t seed, double confidence) {
  if (dimensions < 1) {
    throw std::invalid_argument(fmt::format("Sobol' indices need dimensions >= 1, got {}", dimensions));
  }
  if (base_samples < 1) {
    throw std::invalid_argument(fmt::format("Sobol' indices need base samples >= 1, got {}", base_samples));
  }
  const std::int64_t n = base_samples;
  const auto expected = static_cast<std::size_t>(n * (dimensions + 2));
  if (outputs.size() != expected) {
    throw std::invalid_argument(fmt::format("Sobol' indices: {} outputs, a Saltelli plan of N = {} and d = {} has {}",
                                            outputs.size(), n, dimensions, expected));
  }
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!std::isfinite(outputs[k])) {
      throw std::invalid_argument(fmt::format("Sobol' indices: output {} is not finite ({})", k, outputs[k]));
    }
  }
  if (bootstrap < 0) throw std::invalid_argument(fmt::format("bootstrap must be >= 0, got {}", bootstrap));
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw std::invalid_argument(fmt::format("confidence must be in (0, 1), got {}", confidence));
  }

  Blocks f{outputs.data(), outputs.data() + n, {}, n};
  for (int i = 0; i < dimensions; ++i) f.ab.push_back(outputs.data() + (2 + i) * n);

  std::vector<double> first, total;
  estimate(f, nullptr, &first, &total);
  std::vector<SobolIndex> result(dimensions);
  for (int i = 0; i < dimensions; ++i) {
    result[i] = {first[i], first[i], first[i], total[i], total[i], total[i]};
  }
  if (bootstrap == 0 || std::isnan(result[0].first)) return result;  // V = 0: NaN throughout
  if (too_sparse_for_the_bootstrap(outputs, n)) {
    const double none = std::numeric_limits<double>::quiet_NaN();
    for (SobolIndex& index : result) index.first_low = index.first_high = index.total_low = index.total_high = none;
    return result;
  }

  // Resample rows, not points: row r of A, B and every A_B^(i) move together,
  // which is what makes the estimators' differences small-variance.
  std::vector<std::vector<double>> first_draws(dimensions, std::vector<double>(bootstrap));
  std::vector<std::vector<double>> total_draws(dimensions, std::vector<double>(bootstrap));
  std::vector<std::int64_t> rows(n);
  for (int b = 0; b < bootstrap; ++b) {
    for (std::int64_t k = 0; k < n; ++k) {
      rows[k] = static_cast<std::int64_t>(design_below(seed, DesignStream::kBootstrap, static_cast<std::uint32_t>(b),
                                                       static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(n)));
    }
    estimate(f, rows.data(), &first, &total);
    for (int i = 0; i < dimensions; ++i) {
      first_draws[i][b] = first[i];
      total_draws[i][b] = total[i];
    }
  }

  const double lower = (1.0 - confidence) / 2.0, upper = (1.0 + confidence) / 2.0;
  for (int i = 0; i < dimensions; ++i) {
    // A resample without variance (all its rows alike) has no index. Where
    // more of them than the interval's tail (2.5% at 95%) are such, the
    // signal sits in a few rows and the remaining draws would only say how
    // those rows vary: a narrow, confident-looking interval around an index
    // the data cannot give. The interval is then NaN: no estimate. Fewer such
    // draws are left out.
    const auto undefined = static_cast<double>(
        std::count_if(first_draws[i].begin(), first_draws[i].end(), [](double x) { return std::isnan(x); }));
    if (undefined > lower * bootstrap) {
      const double none = std::numeric_limits<double>::quiet_NaN();
      result[i].first_low = result[i].first_high = result[i].total_low = result[i].total_high = none;
      continue;
    }
    for (auto* draws : {&first_draws[i], &total_draws[i]}) {
      std::erase_if(*draws, [](double x) { return std::isnan(x); });
      std::sort(draws->begin(), draws->end());
    }
    if (first_draws[i].empty()) continue;
    result[i].first_low = quantile(first_draws[i], lower);
    result[i].first_high = quantile(first_draws[i], upper);
    result[i].total_low = quantile(total_draws[i], lower);
    result[i].total_high = quantile(total_draws[i], upper);
  }
  return result;
}

}  // namespace brink
