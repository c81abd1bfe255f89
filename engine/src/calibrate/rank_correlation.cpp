#include "brink/calibrate/rank_correlation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace brink {

std::vector<double> weighted_ranks(std::span<const double> values, std::span<const double> weights) {
  const std::size_t n = values.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> rank(n, 0.0);
  double below = 0.0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    double tied = 0.0;
    for (; j < n && values[order[j]] == values[order[i]]; ++j) tied += weights[order[j]];
    for (std::size_t k = i; k < j; ++k) rank[order[k]] = (below + tied / 2) / total;
    below += tied;
    i = j;
  }
  return rank;
}

double weighted_pearson(std::span<const double> x, std::span<const double> y, std::span<const double> weights) {
  const std::size_t n = weights.size();
  double total = 0, mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += weights[i];
    mx += weights[i] * x[i];
    my += weights[i] * y[i];
  }
  if (!(total > 0)) return std::numeric_limits<double>::quiet_NaN();
  mx /= total;
  my /= total;
  double sxx = 0, syy = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += weights[i] * (x[i] - mx) * (x[i] - mx);
    syy += weights[i] * (y[i] - my) * (y[i] - my);
    sxy += weights[i] * (x[i] - mx) * (y[i] - my);
  }
  if (!(sxx > 0 && syy > 0)) return std::numeric_limits<double>::quiet_NaN();
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

double weighted_spearman(std::span<const double> x, std::span<const double> y, std::span<const double> weights) {
  return weighted_pearson(weighted_ranks(x, weights), weighted_ranks(y, weights), weights);
}

std::vector<RankCorrelation> rank_correlations(std::span<const double> points, std::span<const double> weights,
                                               std::size_t d) {
  const std::size_t n = weights.size();
  std::vector<std::vector<double>> ranks(d);
  for (std::size_t a = 0; a < d; ++a) {
    std::vector<double> column(n);
    for (std::size_t i = 0; i < n; ++i) column[i] = points[i * d + a];
    ranks[a] = weighted_ranks(column, weights);
  }
  std::vector<RankCorrelation> out;
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t b = a + 1; b < d; ++b)
      out.push_back({.first = a, .second = b, .rho = weighted_pearson(ranks[a], ranks[b], weights)});
  return out;
}

}  // namespace brink
