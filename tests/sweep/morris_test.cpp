#include "brink/sweep/morris.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "brink/sweep/design.hpp"

namespace brink {
namespace {

using Points = std::vector<std::vector<double>>;

std::vector<double> outputs_of(const Points& unit, double (*f)(const std::vector<double>&)) {
  std::vector<double> out;
  for (const auto& u : unit) out.push_back(f(u));
  return out;
}

TEST(MorrisTrajectories, EveryStepMovesOneCoordinateByDeltaOnTheLevelGrid) {
  const int d = 5, r = 40, p = 4;
  const double delta = p / (2.0 * (p - 1));
  const Points unit = morris_trajectories(d, r, p, 7);
  ASSERT_EQ(unit.size(), static_cast<std::size_t>(r * (d + 1)));
  for (int t = 0; t < r; ++t) {
    std::vector<int> moved(d, 0);
    for (int s = 0; s <= d; ++s) {
      for (double x : unit[t * (d + 1) + s]) {
        EXPECT_GE(x, 0.0);
        EXPECT_LE(x, 1.0);
        EXPECT_NEAR(x * (p - 1), std::round(x * (p - 1)), 1e-12) << "off the level grid";
      }
      if (s == 0) continue;
      int changes = 0;
      for (int j = 0; j < d; ++j) {
        const double step = unit[t * (d + 1) + s][j] - unit[t * (d + 1) + s - 1][j];
        if (step == 0.0) continue;
        ++changes;
        ++moved[j];
        EXPECT_NEAR(std::abs(step), delta, 1e-12);
      }
      EXPECT_EQ(changes, 1);
    }
    for (int j = 0; j < d; ++j) EXPECT_EQ(moved[j], 1) << "trajectory " << t << " coordinate " << j;
  }
}

TEST(MorrisTrajectories, AreAPureFunctionOfTheSeed) {
  EXPECT_EQ(morris_trajectories(3, 10, 4, 11), morris_trajectories(3, 10, 4, 11));
  EXPECT_NE(morris_trajectories(3, 10, 4, 11), morris_trajectories(3, 10, 4, 12));
}

TEST(MorrisTrajectories, VisitEveryLevelAndBothDirections) {
  const Points unit = morris_trajectories(2, 400, 6, 3);
  std::vector<int> level_count(6, 0);
  int up = 0, down = 0;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    for (double x : unit[i]) ++level_count[static_cast<int>(std::lround(x * 5))];
    if (i % 3 == 0) continue;
    for (int j = 0; j < 2; ++j) {
      const double step = unit[i][j] - unit[i - 1][j];
      up += step > 0;
      down += step < 0;
    }
  }
  for (int c : level_count) EXPECT_GT(c, 0);
  // 800 steps, each up or down with probability 1/2: far from the 400 ± 4.5 sd
  // bounds only if the signs are broken.
  EXPECT_NEAR(up, 400, 4.5 * std::sqrt(200.0));
  EXPECT_EQ(up + down, 800);
}

TEST(MorrisTrajectories, RefuseBadArguments) {
  EXPECT_THROW(morris_trajectories(0, 4, 4, 1), std::invalid_argument);
  EXPECT_THROW(morris_trajectories(2, 0, 4, 1), std::invalid_argument);
  EXPECT_THROW(morris_trajectories(2, 4, 3, 1), std::invalid_argument);
}

// A linear function of the parameters in their units: every elementary effect
// is slope × range exactly, so mu = mu* (up to sign) and sigma = 0.
TEST(MorrisIndices, LinearFunctionGivesSlopeTimesRange) {
  const std::vector<Axis> axes = {{.path = "a", .min = 10, .max = 90},
                                  {.path = "b", .min = 80000, .max = 160000},
                                  {.path = "c", .min = 0, .max = 5}};
  const double slope[] = {0.25, -2e-5, 0.0};
  const Points unit = morris_trajectories(3, 30, 4, 5);
  const Points values = sweep_points(DesignKind::kMorris, axes, 30, 5);
  ASSERT_EQ(values.size(), unit.size());
  std::vector<double> f;
  for (const auto& x : values) f.push_back(3.0 + slope[0] * x[0] + slope[1] * x[1] + slope[2] * x[2]);
  const std::vector<MorrisIndex> m = morris_indices(f, unit, 3, 200, 9);
  for (int i = 0; i < 3; ++i) {
    const double expected = slope[i] * (axes[i].max - axes[i].min);
    EXPECT_NEAR(m[i].mu, expected, 1e-9 * (1 + std::abs(expected))) << i;
    EXPECT_NEAR(m[i].mu_star, std::abs(expected), 1e-9 * (1 + std::abs(expected))) << i;
    EXPECT_NEAR(m[i].sigma, 0.0, 1e-9) << i;
    EXPECT_NEAR(m[i].mu_star_low, m[i].mu_star, 1e-9);
    EXPECT_NEAR(m[i].mu_star_high, m[i].mu_star, 1e-9);
  }
}

// Only some parameters matter: mu* ranks them as built, gives exactly 0 to the
// inert one, and sigma picks out the interacting pair.
double screened(const std::vector<double>& u) { return 8.0 * u[0] + 3.0 * u[1] * u[2] + 0.0 * u[3] + u[4] * u[4]; }

TEST(MorrisIndices, RankImportanceAndFlagInteractions) {
  const Points unit = morris_trajectories(5, 200, 4, 21);
  const std::vector<MorrisIndex> m = morris_indices(outputs_of(unit, screened), unit, 5, 300, 21);
  EXPECT_NEAR(m[0].mu_star, 8.0, 1e-9);
  EXPECT_NEAR(m[0].sigma, 0.0, 1e-9);
  EXPECT_EQ(m[3].mu_star, 0.0);
  EXPECT_GT(m[0].mu_star, m[1].mu_star);
  EXPECT_GT(m[1].mu_star, m[4].mu_star);
  EXPECT_GT(m[4].mu_star, m[3].mu_star);
  // u1·u2: the effect of u1 is 3·u2, which varies: sigma clearly above 0.
  EXPECT_GT(m[1].sigma, 0.5);
  // E|3 u2| over the levels {0, 1/3, 2/3, 1} (uniform in the limit) is 1.5.
  EXPECT_NEAR(m[1].mu_star, 1.5, 0.2);
  for (const MorrisIndex& x : m) {
    EXPECT_LE(x.mu_star_low, x.mu_star + 1e-12);
    EXPECT_GE(x.mu_star_high, x.mu_star - 1e-12);
  }
}

TEST(MorrisIndices, RefuseMismatchedInput) {
  const Points unit = morris_trajectories(2, 3, 4, 1);
  std::vector<double> f(unit.size(), 1.0);
  EXPECT_THROW(morris_indices({1.0, 2.0}, unit, 2), std::invalid_argument);
  Points moved_two = unit;
  moved_two[1] = {1.0 - moved_two[0][0], 1.0 - moved_two[0][1]};
  EXPECT_THROW(morris_indices(f, moved_two, 2), std::invalid_argument);
  f[2] = std::nan("");
  EXPECT_THROW(morris_indices(f, unit, 2), std::invalid_argument);
}

}  // namespace
}  // namespace brink
