#include "brink/model/lanchester.hpp"

#include <algorithm>
#include <cmath>

namespace brink {

Strengths lanchester_square(Strengths s, double alpha, double beta, double t) {
  if (s.a <= 0.0 || s.b <= 0.0 || t <= 0.0) return s;
  if (alpha <= 0.0 || beta <= 0.0) {
    // One side does not fire: the other loses at a constant rate.
    Strengths out{s.a - beta * s.b * t, s.b - alpha * s.a * t};
    return {std::max(out.a, 0.0), std::max(out.b, 0.0)};
  }
  const SquareLawTerms q = square_law_terms(s, alpha, beta, t);
  if (!q.general) {
    // Evenly matched: both decay as e^(-gamma·t) and neither is ever annihilated.
    const double decay = std::exp(-q.g);
    return {s.a * decay, s.b * decay};
  }
  return square_law_step(s, q.k, q.g, expm1_nonneg(square_law_exponent(q.g)));
}

namespace {
// x(t) for dx/dt = c·x - k·x², x(0) = x0 (the linear law seen from one side).
double logistic_decay(double x0, double c, double k, double t) {
  if (k <= 0.0) return x0 * std::exp(c * t);
  if (c == 0.0) return x0 / (1.0 + k * x0 * t);
  return c * x0 / (-k * x0 * std::expm1(-c * t) + c * std::exp(-c * t));
}
}  // namespace

Strengths lanchester_linear(Strengths s, double alpha, double beta, double t) {
  if (s.a <= 0.0 || s.b <= 0.0 || t <= 0.0) return s;
  // dA/dt = -beta·A·B with B = (alpha·A - c)/beta gives dA/dt = c·A - alpha·A².
  const double c = alpha * s.a - beta * s.b;
  const double a = beta > 0.0 ? logistic_decay(s.a, c, alpha, t) : s.a;
  const double b = alpha > 0.0 ? logistic_decay(s.b, -c, beta, t) : s.b;
  return {std::max(a, 0.0), std::max(b, 0.0)};
}

}  // namespace brink
