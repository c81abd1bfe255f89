// Logit quantal response (McKelvey & Palfrey 1995): P(a) ∝ exp(λ·U(a)) over
// the feasible actions. λ = 0 is uniform; λ → ∞ is best response (ties split
// evenly).
#pragma once

#include <Eigen/Core>

namespace brink {

// utilities: lanes × actions; feasible: lanes × actions, 1 or 0 (every lane
// needs at least one feasible action). Writes choice probabilities.
void logit_probabilities(const Eigen::ArrayXXd& utilities, const Eigen::ArrayXXd& feasible, double lambda,
                         Eigen::ArrayXXd* probabilities);

// Samples one action per lane by inverse CDF with uniform u in (0,1).
void logit_choose(const Eigen::ArrayXXd& probabilities, const Eigen::ArrayXd& u, Eigen::ArrayXi* choice);

}  // namespace brink
