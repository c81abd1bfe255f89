#include "brink/model/logit.hpp"

#include <limits>

namespace brink {

void logit_probabilities(const Eigen::ArrayXXd& utilities, const Eigen::ArrayXXd& feasible, double lambda,
                         Eigen::ArrayXXd* probabilities) {
  constexpr double kLowest = std::numeric_limits<double>::lowest();
  constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();
  const Eigen::ArrayXXd masked = (feasible > 0.5).select(utilities, kLowest);
  const Eigen::ArrayXd best = masked.rowwise().maxCoeff();
  // Subtracting the best utility keeps exp() in range for any λ. Infeasible
  // actions get exactly -inf (never (lowest - best)·0 = NaN when λ = 0).
  const Eigen::ArrayXXd z = (feasible > 0.5).select((utilities.colwise() - best) * lambda, kMinusInfinity);
  // Eigen's vectorized exp clamps its argument and returns ~1e-309 rather
  // than 0 far in the tail; weights below e^-700 are exactly 0 here, so that
  // infeasible actions are never chosen and λ → ∞ is exact best response.
  const Eigen::ArrayXXd weight = (z > -700.0).select(z.exp(), 0.0);
  const Eigen::ArrayXd total = weight.rowwise().sum();
  *probabilities = weight.colwise() / total;
}

void logit_choose(const Eigen::ArrayXXd& probabilities, const Eigen::ArrayXd& u, Eigen::ArrayXi* choice) {
  const Eigen::Index lanes = probabilities.rows();
  const Eigen::Index actions = probabilities.cols();
  choice->resize(lanes);
  for (Eigen::Index r = 0; r < lanes; ++r) {
    double cumulative = 0.0;
    int picked = -1;
    int last_possible = 0;
    for (Eigen::Index m = 0; m < actions; ++m) {
      const double p = probabilities(r, m);
      if (p <= 0.0) continue;
      last_possible = static_cast<int>(m);
      cumulative += p;
      if (picked < 0 && u(r) < cumulative) picked = static_cast<int>(m);
    }
    // Rounding can leave the cumulative sum a hair below u: take the last possible action.
    (*choice)(r) = picked >= 0 ? picked : last_possible;
  }
}

}  // namespace brink
