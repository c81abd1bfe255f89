// Exact Lanchester (1916) attrition over one interval of constant
// coefficients. Side A loses troops to side B at rate beta, side B to A at
// rate alpha:
//   square law: dA/dt = -beta·B,   dB/dt = -alpha·A   (invariant alpha·A² - beta·B²)
//   linear law: dA/dt = -beta·A·B, dB/dt = -alpha·A·B (invariant alpha·A - beta·B)
// Using the closed form per step (not Euler) makes the engine reproduce the
// analytic solution to rounding for any dt, with reinforcements applied
// exactly at step boundaries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace brink {

struct Strengths {
  double a = 0.0;
  double b = 0.0;
};

// The square law's terms: A is worth k·B, g = gamma·t; `general` when both
// sides are positive and fire and neither is exactly matched by the other
// (the case square_law_step computes).
struct SquareLawTerms {
  double k = 0.0, g = 0.0;
  bool general = false;
};
inline SquareLawTerms square_law_terms(Strengths s, double alpha, double beta, double t) {
  const double gamma = std::sqrt(alpha * beta);
  const double k = std::sqrt(beta / alpha);
  const double g = gamma * t;
  const bool firing = (s.a > 0.0) && (s.b > 0.0) && (t > 0.0) && (alpha > 0.0) && (beta > 0.0);
  const bool unmatched = (s.a < k * s.b) | (s.a > k * s.b);
  return {k, g, firing && unmatched};
}
// The argument of the expm1 that square_law_step needs. Beyond gamma·t = 20,
// tanh is 1 in double and the weaker side is annihilated within the step, so
// e^20 bounds the terms.
inline double square_law_exponent(double g) { return std::min(g, 20.0); }

// e^x - 1 for x in [0, 20] (square_law_exponent's range), within 2 ulp of
// the exact value (tests/model/lanchester_test.cpp checks it against
// std::expm1 over the range). glibc has no vectorized expm1 without
// -ffast-math; this one has no branch and no table, so a loop over lanes
// vectorizes. x = n·ln2 + r with |r| <= ln2/2 (Cody and Waite's two-part
// ln2), expm1(r) by its Taylor series to degree 13 (the next term is below
// 2^-56 of it), and e^x - 1 = 2^n·expm1(r) + (2^n - 1) in one rounding.
// Arguments outside the range give unspecified values (no fault).
inline double expm1_nonneg(double x) {
  constexpr double kShifter = 0x1.8p52;  // adding it rounds to an integer held in the low mantissa bits
  const double shifted = std::fma(x, 1.4426950408889634, kShifter);  // x·log2(e)
  const double n = shifted - kShifter;
  const double r = std::fma(-n, 1.90821492927058770002e-10, std::fma(-n, 6.93147180369123816490e-01, x));
  // Horner's rule on 1/2! + r/3! + ... + r^11/13!, written out: a loop over
  // the coefficients inside the loop over lanes keeps GCC from vectorizing.
  double q = 1.0 / 6227020800;
  q = std::fma(q, r, 1.0 / 479001600);
  q = std::fma(q, r, 1.0 / 39916800);
  q = std::fma(q, r, 1.0 / 3628800);
  q = std::fma(q, r, 1.0 / 362880);
  q = std::fma(q, r, 1.0 / 40320);
  q = std::fma(q, r, 1.0 / 5040);
  q = std::fma(q, r, 1.0 / 720);
  q = std::fma(q, r, 1.0 / 120);
  q = std::fma(q, r, 1.0 / 24);
  q = std::fma(q, r, 1.0 / 6);
  q = std::fma(q, r, 1.0 / 2);
  const double p = std::fma(q, r * r, r);  // expm1(r)
  // 2^n from n's bits in `shifted` (n + 1023 in the exponent field; the bits above it shift out).
  std::uint64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits + 1023u) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return std::fma(scale, p, scale - 1.0);
}

// The general case of the square law in one interval, given
// em = expm1_nonneg(square_law_exponent(g)): cosh, sinh and tanh of gamma·t
// from that one expm1, and no branch, so that a loop over lanes vectorizes
// (the kernel calls both for every fighting replication).
inline Strengths square_law_step(Strengths s, double k, double g, double em) {
  const double e = 1.0 + em;
  const double h = 0.5 * (em + em / e);      // sinh: e - 1/e = (e - 1) + (e - 1)/e
  const double c = 1.0 + 0.5 * em * em / e;  // cosh: 1 + (e - 1)²/(2e)
  const double tanh_g = g >= 20.0 ? 1.0 : h / c;
  // Whether a side is annihilated within the step follows from the invariant
  // alpha·A² - beta·B² alone: when the ratio of the weaker to the stronger
  // (in units of the other's worth) is at most tanh(gamma·t).
  const double kb = k * s.b;
  const bool a_weaker = s.a < kb;
  const bool a_annihilated = a_weaker & (s.a / kb <= tanh_g);
  const bool b_annihilated = !a_weaker & (kb / s.a <= tanh_g);
  const double a_left = std::sqrt(std::max(s.a * s.a - k * k * s.b * s.b, 0.0));
  const double b_left = std::sqrt(std::max(s.b * s.b - s.a * s.a / (k * k), 0.0));
  const double a_fought = std::max(s.a * c - kb * h, 0.0);
  const double b_fought = std::max(s.b * c - s.a / k * h, 0.0);
  return {a_annihilated ? 0.0 : (b_annihilated ? a_left : a_fought),
          a_annihilated ? b_left : (b_annihilated ? 0.0 : b_fought)};
}

// Strengths after `t` days; a side that reaches zero stays at zero and the
// other keeps what the invariant leaves it.
Strengths lanchester_square(Strengths start, double alpha, double beta, double t);
Strengths lanchester_linear(Strengths start, double alpha, double beta, double t);

}  // namespace brink
