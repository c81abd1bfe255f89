#include "brink/sweep/sensitivity.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "brink/sweep/design.hpp"

namespace brink {
namespace {

constexpr double kA = 7.0;
constexpr double kB = 0.1;
constexpr double kPi = std::numbers::pi;

double ishigami(const std::vector<double>& x) {
  return std::sin(x[0]) + kA * std::sin(x[1]) * std::sin(x[1]) + kB * std::pow(x[2], 4) * std::sin(x[0]);
}

// Analytic indices of the Ishigami function on [-pi, pi]^3 (Ishigami and Homma
// 1990; Sobol' and Levitan 1999): partial variances
//   V1 = (1 + b pi^4 / 5)^2 / 2,  V2 = a^2 / 8,  V13 = b^2 pi^8 (1/18 - 1/50),
//   V = V1 + V2 + V13 = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2,
// all other terms zero: S1 = V1/V, S2 = V2/V, S3 = 0, ST1 = (V1 + V13)/V,
// ST2 = S2, ST3 = V13/V.
struct Analytic {
  double first[3];
  double total[3];
};

Analytic ishigami_analytic() {
  const double pi4 = std::pow(kPi, 4), pi8 = std::pow(kPi, 8);
  const double v1 = 0.5 * std::pow(1.0 + kB * pi4 / 5.0, 2);
  const double v2 = kA * kA / 8.0;
  const double v13 = kB * kB * pi8 * (1.0 / 18.0 - 1.0 / 50.0);
  const double v = kA * kA / 8.0 + kB * pi4 / 5.0 + kB * kB * pi8 / 18.0 + 0.5;
  return {{v1 / v, v2 / v, 0.0}, {(v1 + v13) / v, v2 / v, v13 / v}};
}

std::vector<Axis> cube(int dimensions, double low, double high) {
  std::vector<Axis> axes;
  for (int i = 0; i < dimensions; ++i) axes.push_back({.path = fmt::format("x{}", i + 1), .min = low, .max = high});
  return axes;
}

// Ishigami indices from N = 2^13 base samples (40 960 evaluations), plus a
// fourth input the function ignores; computed once for the tests below.
const std::vector<SobolIndex>& ishigami_indices() {
  static const std::vector<SobolIndex> indices = [] {
    const SaltelliPlan plan = saltelli_points(cube(4, -kPi, kPi), 8192, 2024);
    std::vector<double> outputs;
    for (const auto& x : plan.points) outputs.push_back(ishigami(x));
    return sobol_indices(outputs, plan.dimensions, plan.base_samples, 500, 7);
  }();
  return indices;
}

TEST(SensitivityTest, IshigamiClosedFormsGiveThePublishedIndices) {
  const Analytic exact = ishigami_analytic();
  EXPECT_NEAR(exact.first[0], 0.3139, 5e-5);
  EXPECT_NEAR(exact.first[1], 0.4424, 5e-5);
  EXPECT_NEAR(exact.total[0], 0.5576, 5e-5);
  EXPECT_NEAR(exact.total[1], 0.4424, 5e-5);
  EXPECT_NEAR(exact.total[2], 0.2437, 5e-5);
  // The partial variances add up to V: no other ANOVA term is non-zero.
  EXPECT_NEAR(exact.first[0] + exact.first[1] + (exact.total[2] - exact.first[2]), 1.0, 1e-12);
}

TEST(SensitivityTest, RecoversTheIshigamiIndices) {
  const Analytic exact = ishigami_analytic();
  const std::vector<SobolIndex>& s = ishigami_indices();
  ASSERT_EQ(s.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    const bool first_covered = s[i].first_low <= exact.first[i] && exact.first[i] <= s[i].first_high;
    const bool total_covered = s[i].total_low <= exact.total[i] && exact.total[i] <= s[i].total_high;
    EXPECT_TRUE(first_covered || std::abs(s[i].first - exact.first[i]) < 0.03)
        << "S" << i + 1 << " = " << s[i].first << " [" << s[i].first_low << ", " << s[i].first_high << "], exact "
        << exact.first[i];
    EXPECT_TRUE(total_covered || std::abs(s[i].total - exact.total[i]) < 0.03)
        << "ST" << i + 1 << " = " << s[i].total << " [" << s[i].total_low << ", " << s[i].total_high << "], exact "
        << exact.total[i];
    // Never far off, and the intervals are informative (not [-inf, inf]).
    EXPECT_NEAR(s[i].first, exact.first[i], 0.02);
    EXPECT_NEAR(s[i].total, exact.total[i], 0.02);
    EXPECT_LT(s[i].first_high - s[i].first_low, 0.1);
    EXPECT_LT(s[i].total_high - s[i].total_low, 0.1);
  }
}

TEST(SensitivityTest, AnIgnoredInputGetsNoShare) {
  const SobolIndex& dummy = ishigami_indices()[3];
  EXPECT_LT(std::abs(dummy.first), 0.01);
  EXPECT_LT(std::abs(dummy.total), 0.01);
  EXPECT_LT(std::abs(dummy.first_low), 0.01);
  EXPECT_LT(std::abs(dummy.first_high), 0.01);
  EXPECT_LT(dummy.total_high, 0.01);
}

TEST(SensitivityTest, BootstrapIntervalsContainTheEstimate) {
  for (const SobolIndex& s : ishigami_indices()) {
    EXPECT_LE(s.first_low, s.first);
    EXPECT_LE(s.first, s.first_high);
    EXPECT_LE(s.total_low, s.total);
    EXPECT_LE(s.total, s.total_high);
  }
}

TEST(SensitivityTest, AdditiveModelSplitsVarianceBySquaredCoefficients) {
  // f = x1 + 2 x2 + 3 x3 on [0, 1]^3: no interactions, so S_i = ST_i =
  // c_i^2 / sum c^2 = 1/14, 4/14, 9/14. A constant offset changes nothing.
  const SaltelliPlan plan = saltelli_points(cube(3, 0.0, 1.0), 1024, 3);
  std::vector<double> outputs, shifted;
  for (const auto& x : plan.points) {
    outputs.push_back(x[0] + 2 * x[1] + 3 * x[2]);
    shifted.push_back(outputs.back() + 1e6);
  }
  const auto s = sobol_indices(outputs, 3, 1024, 100, 1);
  const auto t = sobol_indices(shifted, 3, 1024, 100, 1);
  const double expected[3] = {1.0 / 14, 4.0 / 14, 9.0 / 14};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(s[i].first, expected[i], 0.01);
    EXPECT_NEAR(s[i].total, expected[i], 0.01);
    EXPECT_NEAR(t[i].first, s[i].first, 1e-6);
    EXPECT_NEAR(t[i].total, s[i].total, 1e-6);
  }
}

TEST(SensitivityTest, SignalInOneRowGivesNoIntervalRatherThanACertainOne) {
  // Outputs zero everywhere but in base row 12 (a rare event seen in one
  // row): the estimate exists, but about a third of the resamples leave the
  // row out and have no variance, and every other resample gives the same
  // ratio. Dropping the first would show the estimate as certain.
  constexpr int kDimensions = 3;
  constexpr std::int64_t kRows = 64;
  std::vector<double> outputs(static_cast<std::size_t>(kRows * (kDimensions + 2)), 0.0);
  outputs[kRows + 12] = 3.0;      // B
  outputs[2 * kRows + 12] = 2.0;  // A_B for the first input
  const auto s = sobol_indices(outputs, kDimensions, kRows, 500, 3);
  EXPECT_TRUE(std::isfinite(s[0].first));
  for (const SobolIndex& index : s) {
    EXPECT_TRUE(std::isnan(index.first_low) && std::isnan(index.first_high)) << index.first_low;
    EXPECT_TRUE(std::isnan(index.total_low) && std::isnan(index.total_high)) << index.total_low;
  }
  // The additive model's resamples all have variance: its intervals stay.
  const SaltelliPlan plan = saltelli_points(cube(3, 0.0, 1.0), 256, 3);
  std::vector<double> additive;
  for (const auto& x : plan.points) additive.push_back(x[0] + 2 * x[1] + 3 * x[2]);
  for (const SobolIndex& index : sobol_indices(additive, 3, 256, 200, 1)) EXPECT_LT(index.first_low, index.first_high);
}

// A rare event that the first input alone decides: f(A_B^(1)) = f(B) and
// f(A_B^(2)) = f(A), so S_1 = S_T1 = 1 and input 2 has no share; `every`
// sets how rare (a row of A and one of B in each `every`, never the same).
std::vector<SobolIndex> rare_event_indices(std::int64_t rows, std::int64_t every) {
  std::vector<double> outputs(static_cast<std::size_t>(rows * 4), 0.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const double a = r % every == 0 ? 1.0 : 0.0, b = r % every == every / 2 ? 1.0 : 0.0;
    outputs[static_cast<std::size_t>(r)] = a;
    outputs[static_cast<std::size_t>(rows + r)] = b;
    outputs[static_cast<std::size_t>(2 * rows + r)] = b;
    outputs[static_cast<std::size_t>(3 * rows + r)] = a;
  }
  return sobol_indices(outputs, 2, rows, 500, 11);
}

TEST(SensitivityTest, ARareEventGetsNoIntervalRatherThanOneThatExcludesTheTruth) {
  // 16 of 512 values differ (N·d² = 0.25 coincidences expected, none here):
  // S_T1 reads 1/(1 − 1/32) = 1.032 in every resample, so the interval would
  // be about [1.02, 1.05], away from the true 1. No interval instead.
  const auto sparse = rare_event_indices(256, 32);
  EXPECT_NEAR(sparse[0].total, 1.0 / (1.0 - 1.0 / 32.0), 1e-12);
  for (const SobolIndex& index : sparse) {
    EXPECT_TRUE(std::isnan(index.first_low) && std::isnan(index.first_high)) << index.first_low;
    EXPECT_TRUE(std::isnan(index.total_low) && std::isnan(index.total_high)) << index.total_low;
  }
  // Common enough for coincidences (a quarter of the values differ: N·d² = 16
  // expected): the intervals stay, and the first input's covers 1.
  std::vector<double> outputs(256 * 4);
  const SaltelliPlan plan = saltelli_points(cube(2, 0.0, 1.0), 256, 5);
  for (std::size_t k = 0; k < plan.points.size(); ++k) outputs[k] = plan.points[k][0] < 0.25 ? 1.0 : 0.0;
  const auto common = sobol_indices(outputs, 2, 256, 500, 11);
  EXPECT_LE(common[0].total_low, 1.0);
  EXPECT_GE(common[0].total_high, 1.0);
  EXPECT_LT(common[1].total_low, common[1].total_high + 1e-12);
  EXPECT_TRUE(std::isfinite(common[1].total_low));
}

TEST(SensitivityTest, BootstrapIsDeterministicFromTheSeed) {
  const SaltelliPlan plan = saltelli_points(cube(3, -kPi, kPi), 256, 5);
  std::vector<double> outputs;
  for (const auto& x : plan.points) outputs.push_back(ishigami(x));
  const auto a = sobol_indices(outputs, 3, 256, 200, 11);
  const auto b = sobol_indices(outputs, 3, 256, 200, 11);
  const auto c = sobol_indices(outputs, 3, 256, 200, 12);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i].first_low, b[i].first_low);
    EXPECT_EQ(a[i].total_high, b[i].total_high);
    EXPECT_EQ(a[i].first, c[i].first);  // the estimate does not depend on the bootstrap
    EXPECT_NE(a[i].first_low, c[i].first_low);
  }
  // Wider confidence, wider interval; no resamples, no width.
  const auto wide = sobol_indices(outputs, 3, 256, 200, 11, 0.99);
  const auto none = sobol_indices(outputs, 3, 256, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_LE(wide[i].first_low, a[i].first_low);
    EXPECT_GE(wide[i].first_high, a[i].first_high);
    EXPECT_EQ(none[i].first_low, none[i].first);
    EXPECT_EQ(none[i].total_high, none[i].total);
  }
}

TEST(SensitivityTest, ConstantOutputHasNoIndices) {
  const auto s = sobol_indices(std::vector<double>(8 * 4, 3.0), 2, 8, 50);
  for (const SobolIndex& i : s) {
    EXPECT_TRUE(std::isnan(i.first));
    EXPECT_TRUE(std::isnan(i.total_high));
  }
}

TEST(SensitivityTest, RejectsOutputsThatDoNotFitThePlan) {
  std::vector<double> outputs(8 * 5, 1.0);
  outputs[3] = 2.0;
  EXPECT_NO_THROW(sobol_indices(outputs, 3, 8, 10));
  EXPECT_THROW(sobol_indices(outputs, 2, 8, 10), std::invalid_argument);
  EXPECT_THROW(sobol_indices(outputs, 3, 8, -1), std::invalid_argument);
  EXPECT_THROW(sobol_indices(outputs, 3, 8, 10, 1, 1.0), std::invalid_argument);
  outputs[7] = std::nan("");
  EXPECT_THROW(sobol_indices(outputs, 3, 8, 10), std::invalid_argument);
}

}  // namespace
}  // namespace brink
