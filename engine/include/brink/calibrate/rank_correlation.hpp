// Rank correlations of a weighted sample: which calibrated parameters the
// posterior ties together. A ridge (two parameters whose product or sum the
// observations fix) leaves each marginal almost as wide as its prior while
// the pair lies on a curve, and the pair's means then need not be a point of
// it (docs/calibration.md, "Parameters the observations did not inform").
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace brink {

// |rho| at or above which two parameters are called rank-correlated in the
// posterior: on a ridge the means of the pair lie off it, and the posterior
// scenario of means is no fit (the tester's product ridge: rho -0.9, its
// means giving 27.9 incidents against the 12 observed).
inline constexpr double kStrongRankCorrelation = 0.8;

// Each value's weighted mid-rank in (0, 1): the weight of the values below
// it plus half the weight of those equal to it, over the total weight (the
// weighted empirical distribution function; ties share their midpoint).
// Equal weights give the ordinary ranks (r - 1/2) / n.
std::vector<double> weighted_ranks(std::span<const double> values, std::span<const double> weights);

// The weighted Pearson correlation of x and y; NaN when either has no spread.
double weighted_pearson(std::span<const double> x, std::span<const double> y, std::span<const double> weights);

// The weighted Spearman correlation: weighted_pearson of the weighted ranks.
double weighted_spearman(std::span<const double> x, std::span<const double> y, std::span<const double> weights);

struct RankCorrelation {
  std::size_t first = 0, second = 0;  // parameter indices, first < second
  double rho = 0.0;
};

// The weighted Spearman correlation of every pair of the d columns of
// `points` (n × d, row-major), pairs in order (0,1), (0,2), ..., (1,2), ...
std::vector<RankCorrelation> rank_correlations(std::span<const double> points, std::span<const double> weights,
                                               std::size_t d);

}  // namespace brink
