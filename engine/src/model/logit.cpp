#include "brink/model/logit.hpp"

#include <limits>

namespace brink {

void logit_probabilities(const Eigen::ArrayXXd& utilities, const Eigen::ArrayXXd& feasible, double lambda,
                         Eigen::ArrayXXd* probabilities) {
  constexpr double kFar = 1e300;
  const Eigen::Index lanes = utilities.rows();
  const Eigen::Index actions = utilities.cols();
  // Column by column, and with arithmetic instead of .select() (which Eigen
  // does not vectorize): infeasible actions are pushed 1e300 below the rest.
  Eigen::ArrayXd best = Eigen::ArrayXd::Constant(lanes, -kFar);
  for (Eigen::Index m = 0; m < actions; ++m) best = best.max(utilities.col(m) + (feasible.col(m) - 1.0) * kFar);
  probabilities->resize(lanes, actions);
  Eigen::ArrayXd total = Eigen::ArrayXd::Zero(lanes);
  Eigen::ArrayXd z(lanes);
  for (Eigen::Index m = 0; m < actions; ++m) {
    // Subtracting the best utility keeps exp() in range for any λ.
    z = ((utilities.col(m) - best) * lambda).max(-745.0);
    auto weight = probabilities->col(m);
    weight = z.exp();
    // Eigen's vectorized exp returns ~1e-309 rather than 0 far in the tail:
    // weights below e^-700, and infeasible actions, are exactly 0, so that
    // an infeasible action is never chosen and λ → ∞ is exact best response.
    const double* zd = z.data();
    const double* fd = feasible.col(m).data();
    double* wd = weight.data();
    for (Eigen::Index r = 0; r < lanes; ++r) wd[r] = (zd[r] > -700.0) & (fd[r] > 0.5) ? wd[r] : 0.0;
    total += weight;
  }
  const Eigen::ArrayXd inverse = total.inverse();
  for (Eigen::Index m = 0; m < actions; ++m) probabilities->col(m) *= inverse;
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
