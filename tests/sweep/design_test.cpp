#include "brink/sweep/design.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace brink {
namespace {

using Points = std::vector<std::vector<double>>;

// Exactly one of the first 2^m values of column j in each [k/2^m, (k+1)/2^m).
bool balanced(const Points& points, int j, int m) {
  const std::int64_t n = std::int64_t{1} << m;
  std::vector<int> count(n, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = points[i][j];
    if (!(x >= 0.0 && x < 1.0)) return false;
    ++count[static_cast<std::int64_t>(std::ldexp(x, m))];
  }
  return std::all_of(count.begin(), count.end(), [](int c) { return c == 1; });
}

// The first 2^m points, projected on columns (j, l), form a (0, m, 2)-net:
// every box [a/2^k, (a+1)/2^k) x [b/2^(m-k), (b+1)/2^(m-k)) holds one point.
bool two_dimensional_net(const Points& points, int j, int l, int m) {
  const std::int64_t n = std::int64_t{1} << m;
  for (int k = 0; k <= m; ++k) {
    std::vector<int> count(n, 0);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto a = static_cast<std::int64_t>(std::ldexp(points[i][j], k));
      const auto b = static_cast<std::int64_t>(std::ldexp(points[i][l], m - k));
      ++count[(a << (m - k)) + b];
    }
    if (!std::all_of(count.begin(), count.end(), [](int c) { return c == 1; })) return false;
  }
  return true;
}

bool in_unit_cube(const Points& points) {
  for (const auto& p : points) {
    for (double x : p) {
      if (!(x >= 0.0 && x < 1.0)) return false;
    }
  }
  return true;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Independent oracle: SciPy 1.10.1 (Debian python3-scipy), whose Sobol' engine
// uses the Joe–Kuo new-joe-kuo-6.21201 directions, printed by
//   /usr/bin/python3 -c "from scipy.stats import qmc; print(qmc.Sobol(8, scramble=False).random(17))"
// (all 17 rows; row 0 is the origin).
const double kScipySobol8[17][8] = {
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0},
    {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
    {0.75, 0.25, 0.25, 0.25, 0.75, 0.75, 0.25, 0.75},
    {0.25, 0.75, 0.75, 0.75, 0.25, 0.25, 0.75, 0.25},
    {0.375, 0.375, 0.625, 0.875, 0.375, 0.125, 0.375, 0.875},
    {0.875, 0.875, 0.125, 0.375, 0.875, 0.625, 0.875, 0.375},
    {0.625, 0.125, 0.875, 0.625, 0.625, 0.875, 0.125, 0.125},
    {0.125, 0.625, 0.375, 0.125, 0.125, 0.375, 0.625, 0.625},
    {0.1875, 0.3125, 0.9375, 0.4375, 0.5625, 0.3125, 0.4375, 0.9375},
    {0.6875, 0.8125, 0.4375, 0.9375, 0.0625, 0.8125, 0.9375, 0.4375},
    {0.9375, 0.0625, 0.6875, 0.1875, 0.3125, 0.5625, 0.1875, 0.1875},
    {0.4375, 0.5625, 0.1875, 0.6875, 0.8125, 0.0625, 0.6875, 0.6875},
    {0.3125, 0.1875, 0.3125, 0.5625, 0.9375, 0.4375, 0.0625, 0.0625},
    {0.8125, 0.6875, 0.8125, 0.0625, 0.4375, 0.9375, 0.5625, 0.5625},
    {0.5625, 0.4375, 0.0625, 0.8125, 0.1875, 0.6875, 0.3125, 0.8125},
    {0.0625, 0.9375, 0.5625, 0.3125, 0.6875, 0.1875, 0.8125, 0.3125},
    {0.09375, 0.46875, 0.46875, 0.65625, 0.28125, 0.96875, 0.53125, 0.84375},
};

TEST(DesignTest, SobolMatchesScipyInTheFirstEightDimensions) {
  const Points sequence = sobol_sequence(8, 0, 17);
  ASSERT_EQ(sequence.size(), 17u);
  for (int i = 0; i < 17; ++i) {
    for (int j = 0; j < 8; ++j) EXPECT_EQ(sequence[i][j], kScipySobol8[i][j]) << "point " << i << " dim " << j + 1;
  }
  // The design skips the origin: its point i is sequence point i + 1, whatever the seed.
  for (std::uint64_t seed : {1u, 99u}) {
    const Points design = unit_design(DesignKind::kSobol, 8, 16, seed);
    ASSERT_EQ(design.size(), 16u);
    for (int i = 0; i < 16; ++i) {
      for (int j = 0; j < 8; ++j) EXPECT_EQ(design[i][j], kScipySobol8[i + 1][j]);
    }
  }
}

TEST(DesignTest, SobolMatchesScipyAcrossTheWholeDirectionTable) {
  // Point 5461 has Gray code 2^13 - 1, so each coordinate is the XOR of the
  // direction numbers v_1..v_13: a wrong m_k in any dimension changes it.
  // Oracle, SciPy 1.10.1:
  //   x = qmc.Sobol(1111, scramble=False).random(5462)[5461]
  //   k = (x * 2**30).astype(np.int64)
  //   sum(int(v) * (j + 1) for j, v in enumerate(k))      -> 317716944912384
  //   [int(v) for v in k[-5:]]  -> [185466880, 14548992, 1053687808, 86114304, 389677056]
  //   y = qmc.Sobol(64, scramble=False).random(1001)[1000]
  //   [int(v) for v in y[59:64] * 2**30]  -> [613416960, 479199232, 646971392, 277872640, 479199232]
  const Points deep = sobol_sequence(kMaxSobolDimensions, 5461, 1);
  std::int64_t checksum = 0;
  std::vector<std::int64_t> scaled;
  for (int j = 0; j < kMaxSobolDimensions; ++j) {
    const double k = std::ldexp(deep[0][j], 30);
    ASSERT_EQ(k, std::floor(k)) << "dimension " << j + 1 << " has bits below 2^-30";
    scaled.push_back(static_cast<std::int64_t>(k));
    checksum += scaled.back() * (j + 1);
  }
  EXPECT_EQ(checksum, 317716944912384);
  EXPECT_EQ(std::vector<std::int64_t>(scaled.end() - 5, scaled.end()),
            (std::vector<std::int64_t>{185466880, 14548992, 1053687808, 86114304, 389677056}));

  const Points mid = sobol_sequence(64, 1000, 1);
  const std::vector<std::int64_t> expected = {613416960, 479199232, 646971392, 277872640, 479199232};
  for (int j = 59; j < 64; ++j) EXPECT_EQ(std::ldexp(mid[0][j], 30), expected[j - 59]) << "dimension " << j + 1;

  // Starting mid-sequence (Gray-code jump) agrees with stepping from 0.
  const Points from_zero = sobol_sequence(64, 0, 1010);
  const Points from_mid = sobol_sequence(64, 997, 13);
  for (int i = 0; i < 13; ++i) EXPECT_EQ(from_mid[i], from_zero[997 + i]);
}

TEST(DesignTest, SobolPrefixesHaveOnePointPerDyadicIntervalInEveryDimension) {
  const Points sequence = sobol_sequence(kMaxSobolDimensions, 0, 4096);
  for (int j = 0; j < kMaxSobolDimensions; ++j) {
    for (int m = 0; m <= 12; ++m) ASSERT_TRUE(balanced(sequence, j, m)) << "dimension " << j + 1 << ", 2^" << m;
  }
  // Dimensions 1 and 2 of Sobol' are a (0, m, 2)-net for every m.
  for (int m = 1; m <= 12; ++m) EXPECT_TRUE(two_dimensional_net(sequence, 0, 1, m)) << "2^" << m;
  EXPECT_THROW(sobol_sequence(kMaxSobolDimensions + 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(sobol_sequence(2, std::int64_t{1} << 32, 1), std::invalid_argument);
}

TEST(DesignTest, ScrambledSobolKeepsTheNetsAndFollowsTheSeed) {
  const Points a = scrambled_sobol(16, 1024, 7);
  EXPECT_TRUE(in_unit_cube(a));
  for (int j = 0; j < 16; ++j) {
    for (int m = 0; m <= 10; ++m) ASSERT_TRUE(balanced(a, j, m)) << "dimension " << j + 1 << ", 2^" << m;
  }
  for (int m = 1; m <= 10; ++m) EXPECT_TRUE(two_dimensional_net(a, 0, 1, m)) << "2^" << m;

  EXPECT_EQ(scrambled_sobol(16, 1024, 7), a);
  const Points b = scrambled_sobol(16, 1024, 8);
  EXPECT_NE(b, a);
  EXPECT_NE(a, sobol_sequence(16, 0, 1024));
  // The origin is scrambled away: point 0 is a fresh uniform in every dimension.
  int zeros = 0;
  for (double x : a[0]) zeros += x == 0.0 ? 1 : 0;
  EXPECT_EQ(zeros, 0);
  // Nested scrambling: the flip of bit l is a function of the l bits above it
  // (the same for every point sharing them), and not a constant as in a
  // digital shift. Each of the 2^l prefixes occurs in the first 1024 points;
  // a constant flip at level l happens by chance with probability 2^(1 - 2^l),
  // about 10 of the 16 x 9 (dimension, level) pairs below, all 144 for a shift.
  const Points plain = sobol_sequence(16, 0, 1024);
  const auto bits = [](double x) { return static_cast<std::uint32_t>(std::ldexp(x, 32)); };
  int constant = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 1; l <= 9; ++l) {
      std::vector<int> flip_of_prefix(std::size_t{1} << l, -1);
      for (int i = 0; i < 1024; ++i) {
        const std::uint32_t x = bits(plain[i][j]);
        const int flip = static_cast<int>(((x ^ bits(a[i][j])) >> (31 - l)) & 1);
        int& seen = flip_of_prefix[x >> (32 - l)];
        if (seen == -1) seen = flip;
        ASSERT_EQ(seen, flip) << "dimension " << j + 1 << " level " << l << ": flip not a function of the prefix";
      }
      constant +=
          std::all_of(flip_of_prefix.begin(), flip_of_prefix.end(), [&](int f) { return f == flip_of_prefix[0]; });
    }
  }
  EXPECT_LT(constant, 40);
}

TEST(DesignTest, LatinHypercubeHasOnePointPerStratumInEveryDimension) {
  for (std::int64_t n : {1, 2, 7, 1000}) {
    const Points points = unit_design(DesignKind::kLhs, 5, n, 2024);
    ASSERT_EQ(points.size(), static_cast<std::size_t>(n));
    for (int j = 0; j < 5; ++j) {
      std::vector<int> count(n, 0);
      for (const auto& p : points) {
        ASSERT_GE(p[j], 0.0);
        ASSERT_LT(p[j], 1.0);
        ++count[static_cast<std::int64_t>(std::floor(p[j] * static_cast<double>(n)))];
      }
      for (std::int64_t k = 0; k < n; ++k) ASSERT_EQ(count[k], 1) << "n " << n << " dim " << j << " stratum " << k;
    }
  }
  // The strata are matched at random: dimension pairs are not in lockstep.
  const Points points = unit_design(DesignKind::kLhs, 2, 1000, 2024);
  int same = 0;
  for (const auto& p : points) same += std::floor(p[0] * 1000) == std::floor(p[1] * 1000);
  EXPECT_LT(same, 10);
}

TEST(DesignTest, RandomAndLhsAreDeterministicFromTheSeedAndDifferAcrossSeeds) {
  for (DesignKind kind : {DesignKind::kRandom, DesignKind::kLhs}) {
    const Points a = unit_design(kind, 4, 256, 11);
    EXPECT_EQ(unit_design(kind, 4, 256, 11), a);
    const Points b = unit_design(kind, 4, 256, 12);
    int equal = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      for (int j = 0; j < 4; ++j) equal += a[i][j] == b[i][j];
    }
    EXPECT_EQ(equal, 0);
    // A longer design extends a shorter one for random draws (counter-based);
    // LHS re-stratifies, so only random is checked.
    if (kind == DesignKind::kRandom) {
      const Points longer = unit_design(kind, 4, 300, 11);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), longer.begin()));
    }
  }
}

TEST(DesignTest, EveryUnitDesignLiesInTheUnitCube) {
  for (DesignKind kind : {DesignKind::kRandom, DesignKind::kLhs, DesignKind::kSobol}) {
    const Points points = unit_design(kind, 6, 513, 5);
    ASSERT_EQ(points.size(), 513u);
    for (const auto& p : points) ASSERT_EQ(p.size(), 6u);
    EXPECT_TRUE(in_unit_cube(points));
  }
  EXPECT_THROW(unit_design(DesignKind::kGrid, 2, 4, 1), std::invalid_argument);
  EXPECT_THROW(unit_design(DesignKind::kRandom, 0, 4, 1), std::invalid_argument);
  EXPECT_THROW(unit_design(DesignKind::kRandom, 2, -1, 1), std::invalid_argument);
}

TEST(DesignTest, RandomDesignHasUniformIndependentCoordinates) {
  const int n = 20000;
  const Points points = unit_design(DesignKind::kRandom, 3, n, 3);
  const double se_mean = std::sqrt(1.0 / 12.0 / n);
  for (int j = 0; j < 3; ++j) {
    double sum = 0.0;
    int low = 0;
    for (const auto& p : points) {
      sum += p[j];
      low += p[j] < 0.25;
    }
    EXPECT_NEAR(sum / n, 0.5, 4.5 * se_mean);
    EXPECT_NEAR(static_cast<double>(low) / n, 0.25, 4.5 * std::sqrt(0.25 * 0.75 / n));
  }
  // Correlation of neighbouring coordinates (same Philox call) ~ N(0, 1/n).
  double cross = 0.0;
  for (const auto& p : points) cross += (p[0] - 0.5) * (p[1] - 0.5);
  EXPECT_NEAR(cross / n * 12.0, 0.0, 4.5 / std::sqrt(static_cast<double>(n)));
}

TEST(DesignTest, DesignBelowIsUniformOverItsRange) {
  const int bound = 7, draws = 70000;
  std::vector<int> count(bound, 0);
  for (int k = 0; k < draws; ++k) {
    const std::uint64_t r = design_below(5, DesignStream::kBootstrap, 0, static_cast<std::uint64_t>(k), bound);
    ASSERT_LT(r, static_cast<std::uint64_t>(bound));
    ++count[r];
  }
  double chi2 = 0.0;
  for (int c : count) chi2 += (c - draws / bound) * (c - draws / bound) / (draws / static_cast<double>(bound));
  EXPECT_LT(chi2, 22.5);  // chi-square, 6 degrees of freedom: P(> 22.5) = 0.001
  EXPECT_EQ(design_below(5, DesignStream::kBootstrap, 0, 0, 1), 0u);
  EXPECT_THROW(design_below(5, DesignStream::kBootstrap, 0, 0, 0), std::invalid_argument);
}

TEST(DesignTest, GridIsTheCartesianProductWithTheLastAxisFastest) {
  const std::vector<Axis> axes = {
      {.path = "a", .values = {1, 2}}, {.path = "b", .values = {10, 20, 30}}, {.path = "c", .values = {100, 200}}};
  const Points points = sweep_points(DesignKind::kGrid, axes, 0, 0);
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[0], (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(points[1], (std::vector<double>{1, 10, 200}));
  EXPECT_EQ(points[2], (std::vector<double>{1, 20, 100}));
  EXPECT_EQ(points[5], (std::vector<double>{1, 30, 200}));
  EXPECT_EQ(points[6], (std::vector<double>{2, 10, 100}));
  EXPECT_EQ(points[11], (std::vector<double>{2, 30, 200}));
  for (int a = 0, p = 0; a < 2; ++a) {
    for (int b = 0; b < 3; ++b) {
      for (int c = 0; c < 2; ++c, ++p) {
        EXPECT_EQ(points[p], (std::vector<double>{axes[0].values[a], axes[1].values[b], axes[2].values[c]}));
      }
    }
  }
}

TEST(DesignTest, RangesMapLinearlyAndLogAxesLogUniformly) {
  const std::vector<Axis> axes = {{.path = "linear", .min = 8500, .max = 50000},
                                  {.path = "logged", .min = 10, .max = 1e5, .log = true}};
  const Points points = sweep_points(DesignKind::kRandom, axes, 4001, 17);
  std::vector<double> linear, logged;
  int below_100 = 0;
  for (const auto& p : points) {
    ASSERT_GE(p[0], 8500);
    ASSERT_LE(p[0], 50000);
    ASSERT_GE(p[1], 10);
    ASSERT_LE(p[1], 1e5);
    linear.push_back(p[0]);
    logged.push_back(p[1]);
    below_100 += p[1] < 100;
  }
  // Log-uniform: log10 x uniform on [1, 5], median sqrt(min max) = 1000 and a
  // quarter below 100; a linear map would put the median at 50005.
  EXPECT_NEAR(std::log10(median(logged)), 3.0, 0.1);
  EXPECT_NEAR(below_100 / 4001.0, 0.25, 0.03);
  EXPECT_NEAR(median(linear), (8500 + 50000) / 2.0, 0.03 * (50000 - 8500));
  // The Sobol' design maps the same way: its first point is the unit centre.
  const Points sobol = sweep_points(DesignKind::kSobol, axes, 1, 0);
  EXPECT_DOUBLE_EQ(sobol[0][0], (8500 + 50000) / 2.0);
  EXPECT_NEAR(sobol[0][1], 1000.0, 1e-9);
}

TEST(DesignTest, BadAxesAreRejectedNamingThePath) {
  const auto message = [](DesignKind kind, const std::vector<Axis>& axes) -> std::string {
    try {
      sweep_points(kind, axes, 4, 1);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  const std::string path = "actors.USA.forces.ready";
  EXPECT_NE(message(DesignKind::kLhs, {{.path = path, .min = 0, .max = 5, .log = true}}).find(path), std::string::npos);
  EXPECT_NE(message(DesignKind::kRandom, {{.path = path, .min = -1, .max = 5, .log = true}}).find(path),
            std::string::npos);
  EXPECT_NE(message(DesignKind::kSobol, {{.path = path, .min = 5, .max = 1}}).find(path), std::string::npos);
  EXPECT_NE(message(DesignKind::kRandom, {{.path = path, .values = {1, 2}}}).find(path), std::string::npos);
  EXPECT_NE(message(DesignKind::kGrid, {{.path = path, .min = 1, .max = 2}}).find(path), std::string::npos);
  EXPECT_THROW(sweep_points(DesignKind::kGrid, {}, 0, 0), std::invalid_argument);
  EXPECT_THROW(saltelli_points({{.path = path, .min = 0, .max = 1, .log = true}}, 8, 1), std::invalid_argument);
}

TEST(DesignTest, SaltelliPlanStacksABAndTheMixedMatrices) {
  const std::vector<Axis> axes = {{.path = "x", .min = 0, .max = 1},
                                  {.path = "y", .min = -2, .max = 2},
                                  {.path = "z", .min = 1, .max = 100, .log = true}};
  const std::int64_t n = 64;
  const SaltelliPlan plan = saltelli_points(axes, n, 9);
  ASSERT_EQ(plan.dimensions, 3);
  ASSERT_EQ(plan.base_samples, n);
  ASSERT_EQ(plan.points.size(), static_cast<std::size_t>(n * 5));
  const Points unit = scrambled_sobol(6, n, 9);
  for (std::int64_t r = 0; r < n; ++r) {
    const auto& a = plan.points[r];
    const auto& b = plan.points[n + r];
    // Axis x is the identity map: A and B are columns 0..2 and 3..5 of the 6-d design.
    EXPECT_EQ(a[0], unit[r][0]);
    EXPECT_EQ(b[0], unit[r][3]);
    EXPECT_DOUBLE_EQ(a[1], -2 + 4 * unit[r][1]);
    EXPECT_NEAR(std::log(a[2]), std::log(100) * unit[r][2], 1e-12);
    for (int j = 0; j < 3; ++j) EXPECT_NE(a[j], b[j]);
    for (int i = 0; i < 3; ++i) {
      const auto& ab = plan.points[(2 + i) * n + r];
      for (int j = 0; j < 3; ++j) EXPECT_EQ(ab[j], j == i ? b[j] : a[j]) << "row " << r << " block " << i;
    }
  }
  EXPECT_EQ(saltelli_points(axes, n, 9).points, plan.points);
  EXPECT_NE(saltelli_points(axes, n, 10).points, plan.points);
}

}  // namespace
}  // namespace brink
