// Variance-based global sensitivity: first-order and total Sobol' indices of one
// scalar output with respect to each swept parameter, from the outputs at the
// points of a SaltelliPlan (brink/sweep/design.hpp).
#pragma once

#include <cstdint>
#include <vector>

namespace brink {

// Indices are fractions of the output variance (dimensionless; estimates may
// fall slightly outside [0, 1]). [low, high] is a percentile bootstrap interval.
struct SobolIndex {
  double first = 0.0;  // S_i: share of Var f explained by x_i alone
  double first_low = 0.0;
  double first_high = 0.0;
  double total = 0.0;  // ST_i: share involving x_i, interactions included
  double total_low = 0.0;
  double total_high = 0.0;
};

// `outputs` holds f at the N * (d + 2) points of a SaltelliPlan, in its order
// (A, B, A_B^(1), ..., A_B^(d); N = base_samples, d = dimensions). For each i:
//   S_i  = mean(f(B) * (f(A_B^(i)) - f(A))) / V        (Saltelli et al. 2010)
//   ST_i = mean((f(A) - f(A_B^(i)))^2) / 2 / V          (Jansen 1999)
// with V the variance of f(A) and f(B) together (divisor 2N), and f centred on
// their mean first. Intervals resample the N rows with replacement `bootstrap`
// times (the same rows for every i and both indices), drawing from Philox keyed
// by `seed`, and take the (1 - confidence)/2 and (1 + confidence)/2 quantiles
// (linear interpolation); with bootstrap = 0 they collapse to the estimate.
// If V = 0 every index and bound is NaN. When more resamples than the
// interval's tail (1 − confidence)/2 have no variance (the signal sits in a
// few rows), that index's bounds are NaN: the data give no interval.
// Throws std::invalid_argument for dimensions < 1, base_samples < 1, a size
// other than N * (d + 2), a non-finite output, bootstrap < 0, or confidence
// outside (0, 1).
std::vector<SobolIndex> sobol_indices(const std::vector<double>& outputs, int dimensions, std::int64_t base_samples,
                                      int bootstrap = 500, std::uint64_t seed = 1, double confidence = 0.95);

}  // namespace brink
