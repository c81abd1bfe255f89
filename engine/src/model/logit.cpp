#include "brink/model/logit.hpp"

#include <limits>

namespace brink {

void logit_probabilities(const Eigen::ArrayXXd& utilities, const Eigen::ArrayXXd& feasible, double lambda,
                         Eigen::ArrayXXd* probabilities) {
  constexpr double kLowest = std::numeric_limits<double>::lowest();
  const Eigen::ArrayXXd masked = (feasible > 0.5).select(utilities, kLowest);
  const Eigen::ArrayXd best = masked.rowwise().maxCoeff();
  // Subtracting the best utility keeps exp() in range for any λ; the infeasible
  // are zeroed after exp so that λ = 0 cannot make them 0·∞.
  Eigen::ArrayXXd z = (masked.colwise() - best) * lambda;
  z = z.max(-745.0);  // exp(-745) is the smallest positive double: no -inf·0
  Eigen::ArrayXXd weight = z.exp() * feasible;
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
