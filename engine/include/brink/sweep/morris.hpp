// Morris elementary-effects screening: μ, μ* and σ of each parameter's
// elementary effects along the one-at-a-time trajectories of
// morris_trajectories (brink/sweep/design.hpp).
#pragma once

#include <cstdint>
#include <vector>

namespace brink {

// Statistics of the r elementary effects EE_i = (f(x + Δe_i) − f(x)) / Δ of one
// parameter, Δ in unit coordinates (so EE is the output's change per whole
// range of the parameter: for f linear in the parameter, EE = slope × (max −
// min) exactly). μ* ranks importance (Campolongo et al. 2007); σ large against
// μ* flags interactions or non-linearity. [low, high] is a percentile
// bootstrap interval of μ* over resampled trajectories.
struct MorrisIndex {
  double mu = 0.0;       // mean of EE
  double mu_star = 0.0;  // mean of |EE|
  double sigma = 0.0;    // standard deviation of EE (divisor r - 1; NaN for r = 1)
  double mu_star_low = 0.0;
  double mu_star_high = 0.0;
};

// `outputs` holds f at the r (d + 1) points of a Morris design, `unit` the
// points' unit coordinates (as morris_trajectories gives them). Between
// consecutive points of a trajectory exactly one coordinate changes; its
// elementary effect is the output's change over the coordinate's change.
// Throws std::invalid_argument for sizes that do not match, a step that
// changes other than one coordinate, or a non-finite output.
std::vector<MorrisIndex> morris_indices(const std::vector<double>& outputs,
                                        const std::vector<std::vector<double>>& unit, int dimensions,
                                        int bootstrap = 500, std::uint64_t seed = 1, double confidence = 0.95);

}  // namespace brink
