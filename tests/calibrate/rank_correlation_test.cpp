// Weighted Spearman rank correlations of a calibration's last generation
// (calibrate/rank_correlation.hpp): known values, a ridge, independent
// parameters, and weights that act as repeated particles.
#include "brink/calibrate/rank_correlation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace brink {
namespace {

TEST(RankCorrelationTest, EqualWeightsGiveTheOrdinarySpearman) {
  // Rank differences -1, 1, -1, 1, 0: 1 - 6·4 / (5·24) = 0.8.
  const std::vector<double> x{1, 2, 3, 4, 5}, y{2, 1, 4, 3, 5}, w(5, 0.2);
  EXPECT_NEAR(weighted_spearman(x, y, w), 0.8, 1e-12);
  const std::vector<double> ranks = weighted_ranks(x, w);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(ranks[i], (static_cast<double>(i) + 0.5) / 5, 1e-12);
}

TEST(RankCorrelationTest, RanksIgnoreTheScale) {
  const std::vector<double> x{0.1, 0.5, 0.7, 2.0, 9.0}, w{0.1, 0.3, 0.2, 0.15, 0.25};
  std::vector<double> up, down;
  for (double v : x) {
    up.push_back(std::exp(v));
    down.push_back(-v * v * v);
  }
  EXPECT_NEAR(weighted_spearman(x, up, w), 1.0, 1e-12);
  EXPECT_NEAR(weighted_spearman(x, down, w), -1.0, 1e-12);
}

TEST(RankCorrelationTest, TiesShareTheirMidRank) {
  const std::vector<double> x{3, 1, 3, 2}, w{0.25, 0.25, 0.25, 0.25};
  const std::vector<double> ranks = weighted_ranks(x, w);
  EXPECT_NEAR(ranks[1], 0.125, 1e-12);
  EXPECT_NEAR(ranks[3], 0.375, 1e-12);
  EXPECT_NEAR(ranks[0], 0.75, 1e-12);
  EXPECT_NEAR(ranks[2], 0.75, 1e-12);
}

TEST(RankCorrelationTest, AWeightIsARepeatedParticle) {
  // Weights 2, 1, 1, 3 against the particles repeated that often with equal weights; a particle of
  // weight 0 counts for nothing.
  const std::vector<double> x{0.3, 0.1, 0.9, 0.5, 0.7}, y{1.0, 4.0, 2.0, 0.5, 8.0}, w{2, 1, 1, 3, 0};
  const std::vector<double> xs{0.3, 0.3, 0.1, 0.9, 0.5, 0.5, 0.5}, ys{1.0, 1.0, 4.0, 2.0, 0.5, 0.5, 0.5};
  const std::vector<double> equal(xs.size(), 1.0);
  EXPECT_NEAR(weighted_spearman(x, y, w), weighted_spearman(xs, ys, equal), 1e-12);
}

TEST(RankCorrelationTest, AConstantColumnHasNoCorrelation) {
  const std::vector<double> x{1, 2, 3}, y{4, 4, 4}, w{1, 1, 1};
  EXPECT_TRUE(std::isnan(weighted_spearman(x, y, w)));
}

// Particles on the ridge r·T = 0.4 (the tester's product ridge), with some scatter across it, are
// strongly rank-correlated; independent draws are not; weights drawn at random change neither.
TEST(RankCorrelationTest, ARidgeIsFoundAndIndependentParametersAreNot) {
  std::mt19937_64 rng(20260);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> scatter(0.0, 0.1);
  const std::size_t n = 4000, d = 3;
  std::vector<double> points(n * d), weights(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double r = std::exp(std::log(0.05) + unit(rng) * (std::log(2.0) - std::log(0.05)));
    points[i * d + 0] = r;
    points[i * d + 1] = 0.4 / r * std::exp(scatter(rng));  // T on the ridge
    points[i * d + 2] = unit(rng);                         // independent of both
    weights[i] = 0.5 + unit(rng);
  }
  const std::vector<RankCorrelation> rho = rank_correlations(points, weights, d);
  ASSERT_EQ(rho.size(), 3u);
  EXPECT_EQ(rho[0].first, 0u);
  EXPECT_EQ(rho[0].second, 1u);
  EXPECT_LT(rho[0].rho, -0.95);
  EXPECT_LE(rho[0].rho, -kStrongRankCorrelation);
  EXPECT_EQ(rho[1].second, 2u);
  EXPECT_LT(std::abs(rho[1].rho), 0.06);  // 4,000 draws: sd about 1/sqrt(n) = 0.016
  EXPECT_EQ(rho[2].first, 1u);
  EXPECT_LT(std::abs(rho[2].rho), 0.06);
}

}  // namespace
}  // namespace brink
