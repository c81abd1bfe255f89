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
  const double gamma = std::sqrt(alpha * beta);
  const double k = std::sqrt(beta / alpha);  // A is worth k·B
  const double g = gamma * t;
  if (!(s.a < k * s.b) && !(s.a > k * s.b)) {
    // Evenly matched: both decay as e^(-gamma·t) and neither is ever annihilated.
    const double decay = std::exp(-g);
    return {s.a * decay, s.b * decay};
  }
  // cosh, sinh and tanh of gamma·t from one expm1 (a war step calls this for
  // every fighting replication). Beyond gamma·t = 20, tanh is 1 in double and
  // the weaker side is annihilated within the step, so e^20 bounds the terms.
  const double em = std::expm1(std::min(g, 20.0));
  const double e = 1.0 + em;
  const double h = 0.5 * (em + em / e);      // sinh: e - 1/e = (e - 1) + (e - 1)/e
  const double c = 1.0 + 0.5 * em * em / e;  // cosh: 1 + (e - 1)²/(2e)
  const double tanh_g = g >= 20.0 ? 1.0 : h / c;
  // Whether a side is annihilated within the step follows from the invariant
  // alpha·A² - beta·B² alone: when the ratio of the weaker to the stronger
  // (in units of the other's worth) is at most tanh(gamma·t).
  if (s.a < k * s.b) {
    if (s.a / (k * s.b) <= tanh_g) return {0.0, std::sqrt(std::max(s.b * s.b - s.a * s.a / (k * k), 0.0))};
  } else if (k * s.b / s.a <= tanh_g) {
    return {std::sqrt(std::max(s.a * s.a - k * k * s.b * s.b, 0.0)), 0.0};
  }
  return {std::max(s.a * c - k * s.b * h, 0.0), std::max(s.b * c - s.a / k * h, 0.0)};
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
