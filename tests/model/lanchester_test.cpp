#include "brink/model/lanchester.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace brink {
namespace {

// Independent oracle: classical RK4 on the Lanchester ODEs with a tiny step.
Strengths rk4(Strengths s, double alpha, double beta, double t, bool square) {
  constexpr int kSteps = 200000;
  const double h = t / kSteps;
  auto f = [&](double a, double b) {
    return square ? Strengths{-beta * b, -alpha * a} : Strengths{-beta * a * b, -alpha * a * b};
  };
  for (int i = 0; i < kSteps; ++i) {
    const Strengths k1 = f(s.a, s.b);
    const Strengths k2 = f(s.a + h / 2 * k1.a, s.b + h / 2 * k1.b);
    const Strengths k3 = f(s.a + h / 2 * k2.a, s.b + h / 2 * k2.b);
    const Strengths k4 = f(s.a + h * k3.a, s.b + h * k3.b);
    s.a += h / 6 * (k1.a + 2 * k2.a + 2 * k3.a + k4.a);
    s.b += h / 6 * (k1.b + 2 * k2.b + 2 * k3.b + k4.b);
  }
  return s;
}

TEST(LanchesterTest, SquareLawMatchesNumericalIntegration) {
  const Strengths start{100000, 80000};
  const Strengths exact = lanchester_square(start, 0.01, 0.015, 20.0);
  const Strengths numeric = rk4(start, 0.01, 0.015, 20.0, true);
  EXPECT_NEAR(exact.a, numeric.a, 1e-6 * start.a);
  EXPECT_NEAR(exact.b, numeric.b, 1e-6 * start.b);
}

TEST(LanchesterTest, SquareLawConservesItsInvariantAndComposesOverSteps) {
  const double alpha = 0.012, beta = 0.008;
  Strengths s{120000, 90000};
  const double invariant = alpha * s.a * s.a - beta * s.b * s.b;
  const Strengths one_step = lanchester_square(s, alpha, beta, 30.0);
  for (int i = 0; i < 30; ++i) s = lanchester_square(s, alpha, beta, 1.0);
  EXPECT_NEAR(s.a, one_step.a, 1e-7 * 120000);
  EXPECT_NEAR(s.b, one_step.b, 1e-7 * 90000);
  EXPECT_NEAR(alpha * s.a * s.a - beta * s.b * s.b, invariant, 1e-9 * std::abs(invariant));
}

TEST(LanchesterTest, SquareLawAnnihilationLeavesTheWinnerWhatTheInvariantSays) {
  // B is annihilated: A keeps sqrt(A0² - (beta/alpha)·B0²).
  const double alpha = 0.02, beta = 0.01;
  const Strengths start{100000, 100000};
  const Strengths end = lanchester_square(start, alpha, beta, 1000.0);
  EXPECT_EQ(end.b, 0.0);
  EXPECT_NEAR(end.a, std::sqrt(1e10 - 0.5 * 1e10), 1e-6);
  // Stepping through the annihilation gives the same survivors.
  Strengths stepped = start;
  for (int i = 0; i < 1000; ++i) stepped = lanchester_square(stepped, alpha, beta, 1.0);
  EXPECT_EQ(stepped.b, 0.0);
  EXPECT_NEAR(stepped.a, end.a, 1e-6);
}

TEST(LanchesterTest, SquareLawStaysFiniteForHugeRatesAndSteps) {
  // gamma·t = 1e4: cosh would overflow; the invariant still decides the winner.
  const Strengths end = lanchester_square({1000, 2000}, 100.0, 100.0, 100.0);
  EXPECT_EQ(end.a, 0.0);
  EXPECT_NEAR(end.b, std::sqrt(2000.0 * 2000 - 1000.0 * 1000), 1e-9);
  const Strengths even = lanchester_square({1000, 1000}, 0.01, 0.01, 10.0);
  EXPECT_NEAR(even.a, 1000 * std::exp(-0.1), 1e-9);
  EXPECT_NEAR(even.b, 1000 * std::exp(-0.1), 1e-9);
}

TEST(LanchesterTest, LinearLawMatchesNumericalIntegrationAndInvariant) {
  const double alpha = 2e-7, beta = 3e-7;
  const Strengths start{50000, 40000};
  const Strengths exact = lanchester_linear(start, alpha, beta, 15.0);
  const Strengths numeric = rk4(start, alpha, beta, 15.0, false);
  EXPECT_NEAR(exact.a, numeric.a, 1e-6 * start.a);
  EXPECT_NEAR(exact.b, numeric.b, 1e-6 * start.b);
  EXPECT_NEAR(alpha * exact.a - beta * exact.b, alpha * start.a - beta * start.b, 1e-12);
  // Long run: the side with the larger alpha·A - beta·B keeps (alpha·A - beta·B)/alpha.
  const Strengths end = lanchester_linear(start, alpha, beta, 1e4);
  EXPECT_NEAR(end.b, (beta * start.b - alpha * start.a) / beta, 1e-3);
  EXPECT_LT(end.a, 1e-3);
}

TEST(LanchesterTest, LinearLawWithEqualStrengthsUsesTheBalancedForm) {
  // alpha·A = beta·B: A(t) = A0 / (1 + alpha·A0·t).
  const Strengths end = lanchester_linear({1000, 2000}, 2e-4, 1e-4, 10.0);
  EXPECT_NEAR(end.a, 1000.0 / (1.0 + 2e-4 * 1000 * 10), 1e-9);
  EXPECT_NEAR(end.b, 2000.0 / (1.0 + 1e-4 * 2000 * 10), 1e-9);
}

TEST(LanchesterTest, OneSidedFireIsLinearInTimeOrExponential) {
  const Strengths sq = lanchester_square({1000, 500}, 0.0, 0.1, 5.0);
  EXPECT_DOUBLE_EQ(sq.a, 1000 - 0.1 * 500 * 5);
  EXPECT_DOUBLE_EQ(sq.b, 500);
  const Strengths lin = lanchester_linear({1000, 500}, 0.0, 1e-4, 5.0);
  EXPECT_NEAR(lin.a, 1000 * std::exp(-1e-4 * 500 * 5), 1e-9);
  EXPECT_DOUBLE_EQ(lin.b, 500);
}

}  // namespace
}  // namespace brink

// The square law's own expm1 against glibc's over its whole range [0, 20]:
// within 2 ulp everywhere, exact at 0, and equal to x where x is too small
// for its square to matter.
TEST(LanchesterTest, Expm1NonnegIsWithinTwoUlpOfTheLibraryOverItsRange) {
  auto ulp_error = [](double got, double want) {
    const double ulp = std::nextafter(want, std::numeric_limits<double>::infinity()) - want;
    return std::abs(got - want) / ulp;
  };
  double worst = 0.0, worst_at = 0.0;
  const int samples = 2'000'000;
  for (int i = 0; i <= samples; ++i) {
    const double x = 20.0 * i / samples;
    const double e = ulp_error(brink::expm1_nonneg(x), std::expm1(x));
    if (e > worst) worst = e, worst_at = x;
  }
  // Small arguments, where a naive exp(x) - 1 loses every digit.
  for (double x = 1e-300; x < 1.0; x *= 1.37) {
    const double e = ulp_error(brink::expm1_nonneg(x), std::expm1(x));
    if (e > worst) worst = e, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
  EXPECT_EQ(brink::expm1_nonneg(0.0), 0.0);
  EXPECT_EQ(brink::expm1_nonneg(1e-200), 1e-200);
}
