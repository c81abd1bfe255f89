// The pieces of the ABC-SMC calibrator: priors, weights, ESS, kernel, and a
// whole run against a model-free evaluator whose posterior is known.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "brink/calibrate/evaluator.hpp"
#include "brink/calibrate/prior.hpp"
#include "brink/calibrate/smc.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink {
namespace {

PriorSpec spec(PriorKind kind, double lower, double upper) {
  return {.path = "x", .kind = kind, .lower = lower, .upper = upper};
}

// ∫ exp(log_free_density(z)) dz over the free line equals ∫ π(x) dx over the
// support: the Jacobian is right.
double free_mass(const Prior& prior) {
  double sum = 0;
  const double h = 1e-3;
  for (double z = -60; z < 60; z += h) sum += std::exp(prior.log_free_density(z)) * h;
  return sum;
}

TEST(DataConflictTest, OnlyWhenNoParticleHasAWorldWithinThreeSdPerObservation) {
  // Two observations: the bound is 3·√2. Particle 1 is the closest.
  Population p;
  p.weight = {0.25, 0.25, 0.5};
  p.distance = {9.0, 3.0 * std::sqrt(2.0) + 1e-9, 50.0};
  p.statistic = {0, 0, 10, 1, 0, 0};  // particles × observations
  const std::vector<double> observed = {0.0, 5.0}, sd = {1.0, 2.0};
  DataConflict c = data_conflict(p, observed, sd);
  EXPECT_TRUE(c.found);
  EXPECT_EQ(c.particle, 1u);
  EXPECT_DOUBLE_EQ(c.bound, 3.0 * std::sqrt(2.0));
  EXPECT_EQ(c.observation, 0u);  // (10 - 0) / 1 against (1 - 5) / 2
  EXPECT_DOUBLE_EQ(c.standardized, 10.0);
  // One particle within the bound is enough: however far the others (an unfinished schedule).
  p.distance[2] = 3.0 * std::sqrt(2.0);
  c = data_conflict(p, observed, sd);
  EXPECT_FALSE(c.found);
  EXPECT_EQ(c.particle, 2u);
  // No finite distance at all is a conflict too.
  p.distance = {std::nan(""), std::numeric_limits<double>::infinity(), std::nan("")};
  EXPECT_TRUE(data_conflict(p, observed, sd).found);
}

TEST(DataConflictTest, ARecordBeyondEveryStatisticIsAConflictWhateverTheNoisyWorlds) {
  // One observation, record 260 with sd 10, the model reaching at most 200 (6 sd): ABC kept worlds whose
  // measurement-error draw of about +2.6 sd brought them within the bound of 3 (2.9), but no particle's
  // statistic (without that error) comes within it. Particle 1's statistic is the closest.
  Population p;
  p.weight = {0.5, 0.5};
  p.distance = {2.9, 2.95};
  p.statistic = {199.0, 199.99};
  const std::vector<double> observed = {260.0}, sd = {10.0};
  DataConflict c = data_conflict(p, observed, sd);
  EXPECT_TRUE(c.found);
  EXPECT_TRUE(c.by_statistic);
  EXPECT_EQ(c.particle, 1u);
  EXPECT_NEAR(c.distance, 6.001, 1e-9);
  EXPECT_NEAR(c.standardized, -6.001, 1e-9);
  // A record the statistics reach is no conflict, however the worlds fell.
  p.statistic[1] = 240.0;
  c = data_conflict(p, observed, sd);
  EXPECT_FALSE(c.found);
  EXPECT_FALSE(c.by_statistic);
}

TEST(PriorTest, NormalQuantileInvertsTheCdf) {
  for (double x : {-6.0, -2.5, -1.0, 0.0, 0.3, 1.7, 4.0}) EXPECT_NEAR(normal_quantile(normal_cdf(x)), x, 1e-9);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-12);
}

TEST(PriorTest, UniformDrawsAndDensity) {
  const Prior p(spec(PriorKind::kUniform, 2, 6));
  EXPECT_DOUBLE_EQ(p.sample(0.25), 3.0);
  EXPECT_EQ(p.log_density(1.9), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(p.log_density(4.0), 0.0);
  EXPECT_NEAR(free_mass(p), 4.0, 1e-3);
}

TEST(PriorTest, LogUniformIsUniformInTheLog) {
  const Prior p(spec(PriorKind::kLogUniform, 1, 100));
  EXPECT_NEAR(p.sample(0.5), 10.0, 1e-9);
  EXPECT_NEAR(p.log_density(10) - p.log_density(1), -std::log(10.0), 1e-12);
  EXPECT_NEAR(free_mass(p), std::log(100.0), 1e-3);  // ∫ 1/x dx over [1, 100]
}

TEST(PriorTest, TruncatedNormalStaysInItsBounds) {
  PriorSpec s = spec(PriorKind::kTruncatedNormal, 0, 1);
  s.mean = 0.2;
  s.sd = 0.5;
  const Prior p(s);
  for (double u : {1e-9, 0.1, 0.5, 0.9, 1 - 1e-9}) {
    EXPECT_GE(p.sample(u), 0.0);
    EXPECT_LE(p.sample(u), 1.0);
  }
  // The median of the truncated normal: Φ⁻¹ of the middle of [Φ(a), Φ(b)].
  const double mid = 0.5 * (normal_cdf(-0.4) + normal_cdf(1.6));
  EXPECT_NEAR(p.sample(0.5), 0.2 + 0.5 * normal_quantile(mid), 1e-12);
  const double mass = std::sqrt(2 * M_PI) * 0.5 * (normal_cdf(1.6) - normal_cdf(-0.4));
  EXPECT_NEAR(free_mass(p), mass, 1e-3);
}

// Far in a tail, Φ(a) and Φ(b) round to the same double (above the mean: 1).
// The draws must still follow the truncated normal: its CDF from the upper
// tail, Q(t) = erfc(t/√2)/2, which keeps its precision there, gives back u.
TEST(PriorTest, TruncatedNormalInAFarTailFollowsItsCdf) {
  const auto upper_tail = [](double t) { return 0.5 * std::erfc(t / std::sqrt(2.0)); };
  for (const double sign : {1.0, -1.0}) {
    PriorSpec s = spec(PriorKind::kTruncatedNormal, sign > 0 ? 9 : -10, sign > 0 ? 10 : -9);
    s.mean = 0;
    s.sd = 1;
    const Prior p(s);
    for (double u : {1e-6, 0.1, 0.5, 0.9, 1 - 1e-6}) {
      const double x = sign * p.sample(u);  // mirrored onto [9, 10]
      const double cdf = (upper_tail(9) - upper_tail(x)) / (upper_tail(9) - upper_tail(10));
      EXPECT_NEAR(sign > 0 ? cdf : 1 - cdf, u, 1e-9) << "sign " << sign << ", u " << u;
    }
  }
  // Beyond Φ's range (a = 50): nearly an exponential of rate a above a; its median a + ln 2 / a
  // is within 1.4/a² (relative) of the truncated normal's (0.0138554868621 above a, mpmath).
  for (const double sign : {1.0, -1.0}) {
    PriorSpec s = spec(PriorKind::kNormal, sign > 0 ? 50 : -60, sign > 0 ? 60 : -50);
    s.mean = 0;
    s.sd = 1;
    const Prior p(s);
    EXPECT_NEAR(sign * p.sample(0.5) - 50, std::log(2.0) / 50, std::log(2.0) / 50 * 2 / 2500);
    double previous = 50;
    for (double u : {1e-9, 0.25, 0.5, 0.75, 1 - 1e-9}) {
      const double x = sign * p.sample(sign > 0 ? u : 1 - u);
      EXPECT_GT(x, previous);
      EXPECT_LT(x, 50.5);  // P(X > 50.5) = e^-25 in the exponential: no draw of these u lies there
      previous = x;
    }
  }
}

TEST(PriorTest, ExponentialMedianAndMass) {
  PriorSpec s = spec(PriorKind::kExponential, 0, 100);
  s.rate = 2;
  const Prior p(s);
  EXPECT_NEAR(p.sample(0.5), std::log(2.0) / 2, 1e-12);
  EXPECT_NEAR(free_mass(p), 0.5, 1e-3);
}

TEST(PriorTest, FreeCoordinateRoundTrips) {
  const Prior p(spec(PriorKind::kUniform, -3, 5));
  for (double x : {-2.999, -1.0, 0.0, 4.5}) EXPECT_NEAR(p.from_free(p.to_free(x)), x, 1e-9);
  EXPECT_LE(p.from_free(1e6), 5.0);
  EXPECT_GE(p.from_free(-1e6), -3.0);
}

// The prior's sd in closed form against the sd of its own quantile function
// (midpoint rule over u: the draws by inversion, whatever the kind).
TEST(PriorTest, SdIsTheSdOfItsDraws) {
  PriorSpec exponential = spec(PriorKind::kExponential, 0, 3), tiny_rate = spec(PriorKind::kExponential, 0, 2);
  exponential.rate = 0.8;
  tiny_rate.rate = 1e-7;  // nearly uniform on [0, 2]
  PriorSpec normal = spec(PriorKind::kNormal, -1, 4), tail = spec(PriorKind::kTruncatedNormal, 40, 41);
  normal.mean = 0.5;
  normal.sd = 1.5;
  tail.mean = 0;  // 40 to 41 sd above the mean: Φ cannot tell the bounds apart
  tail.sd = 1;
  for (const PriorSpec& s :
       {spec(PriorKind::kUniform, 2, 6), spec(PriorKind::kLogUniform, 1, 100), exponential, tiny_rate, normal, tail}) {
    const Prior p(s);
    constexpr int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = p.sample((i + 0.5) / n);
      sum += x;
      sum2 += x * x;
    }
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(prior_sd(s), sd, 2e-4 * sd) << prior_text(s);
  }
  EXPECT_DOUBLE_EQ(prior_sd(spec(PriorKind::kUniform, 0, 1)), 1 / std::sqrt(12.0));
}

// The distribution function is the quantile function's inverse, for every kind,
// in a tail too far for Φ on either side, and is 0 and 1 at and past the bounds.
TEST(PriorTest, CdfInvertsTheDraws) {
  PriorSpec exponential = spec(PriorKind::kExponential, 0, 3);
  exponential.rate = 0.8;
  PriorSpec normal = spec(PriorKind::kNormal, -1, 4), above = spec(PriorKind::kTruncatedNormal, 40, 41);
  normal.mean = 0.5;
  normal.sd = 1.5;
  above.mean = 0;
  above.sd = 1;
  PriorSpec below = above;
  below.lower = -41;
  below.upper = -40;
  PriorSpec inside = spec(PriorKind::kTruncatedNormal, 9, 10);
  inside.mean = 0;
  inside.sd = 1;
  for (const PriorSpec& s : {spec(PriorKind::kUniform, 2, 6), spec(PriorKind::kLogUniform, 5e-4, 0.5), exponential,
                             normal, above, below, inside}) {
    const Prior p(s);
    for (double u = 0.005; u < 1; u += 0.01) EXPECT_NEAR(p.cdf(p.sample(u)), u, 1e-6) << prior_text(s) << " u " << u;
    EXPECT_EQ(p.cdf(s.lower), 0.0);
    EXPECT_EQ(p.cdf(s.upper), 1.0);
    EXPECT_EQ(p.cdf(s.lower - 1), 0.0);
    EXPECT_EQ(p.cdf(s.upper + 1), 1.0);
  }
}

// The text a calibration file records reads back to the same prior, and nothing else reads at all.
TEST(PriorTest, TextRoundTrips) {
  PriorSpec normal = spec(PriorKind::kTruncatedNormal, -3, 1e5);
  normal.mean = 0.1;
  normal.sd = 2.5e-3;
  PriorSpec exponential = spec(PriorKind::kExponential, 0, 100);
  exponential.rate = 2;
  for (const PriorSpec& s :
       {spec(PriorKind::kUniform, 0.01, 1.5), spec(PriorKind::kLogUniform, 1e-3, 7), normal, exponential}) {
    PriorSpec back;
    ASSERT_TRUE(prior_from_text(prior_text(s), &back)) << prior_text(s);
    EXPECT_EQ(prior_text(back), prior_text(s));
    EXPECT_EQ(back.kind, s.kind);
    EXPECT_EQ(back.lower, s.lower);
    EXPECT_EQ(back.upper, s.upper);
  }
  PriorSpec ignored;
  for (const char* text : {"hello", "uniform [0, 1", "uniform [0, 1] ", "gamma [0, 1]", "normal [0, 1]", ""})
    EXPECT_FALSE(prior_from_text(text, &ignored)) << text;
}

TEST(SmcTest, EffectiveSampleSize) {
  const std::vector<double> even(10, 0.1), one = {0, 0, 1, 0};
  EXPECT_DOUBLE_EQ(effective_sample_size(even), 10.0);
  EXPECT_DOUBLE_EQ(effective_sample_size(one), 1.0);
  EXPECT_NEAR(effective_sample_size(std::vector<double>{0.5, 0.25, 0.25}), 1.0 / 0.375, 1e-12);
}

TEST(SmcTest, WeightedCovariance) {
  // Points (0,0) w 1, (2,0) w 1, (0,4) w 2: mean (0.5, 2).
  const std::vector<double> points = {0, 0, 2, 0, 0, 4}, w = {1, 1, 2};
  const std::vector<double> c = weighted_covariance(points, w, 2);
  EXPECT_NEAR(c[0], (0.25 + 2.25 + 2 * 0.25) / 4, 1e-12);
  EXPECT_NEAR(c[3], (4 + 4 + 2 * 4) / 4.0, 1e-12);
  EXPECT_NEAR(c[1], (-0.5 * -2 + 1.5 * -2 + 2 * -0.5 * 2) / 4, 1e-12);
  EXPECT_DOUBLE_EQ(c[1], c[2]);
}

TEST(SmcTest, CholeskyFactorsAndJittersSingularMatrices) {
  const std::vector<double> a = {4, 2, 2, 3};
  const std::vector<double> l = cholesky(a, 2);
  EXPECT_NEAR(l[0] * l[0], 4, 1e-12);
  EXPECT_NEAR(l[2] * l[0], 2, 1e-12);
  EXPECT_NEAR(l[2] * l[2] + l[3] * l[3], 3, 1e-12);
  EXPECT_EQ(l[1], 0.0);
  const std::vector<double> singular = cholesky({1, 1, 1, 1}, 2);
  EXPECT_GT(singular[3], 0.0);
}

TEST(SmcTest, KernelMixtureIsTheGaussianMixture) {
  const std::vector<double> lower = {2, 0, 0, 1};  // covariance diag(4, 1)
  const std::vector<double> centres = {0, 0, 1, 1}, w = {0.25, 0.75};
  const std::vector<double> z = {1, 0};
  const double expected = std::log(0.25 * std::exp(-0.5 * 0.25) + 0.75 * std::exp(-0.5 * 1.0));
  EXPECT_NEAR(log_kernel_mixture(z, centres, w, lower, 2), expected, 1e-12);
}

TEST(SmcTest, ResamplingFollowsTheWeights) {
  const std::vector<double> w = {0.1, 0.0, 0.6, 0.3};
  const auto picks = systematic_resample(w, 10, 0.5);
  std::vector<int> count(4, 0);
  for (auto i : picks) ++count[i];
  EXPECT_EQ(count, (std::vector<int>{1, 0, 6, 3}));
  std::vector<double> cdf(w.size());
  std::partial_sum(w.begin(), w.end(), cdf.begin());
  EXPECT_EQ(pick_by_weight(cdf, 0.05), 0u);
  EXPECT_EQ(pick_by_weight(cdf, 0.5), 2u);
  EXPECT_EQ(pick_by_weight(cdf, 0.95), 3u);
}

// An empty generation (a calibration file with no particles) read before the cdf and crashed --posterior.
TEST(SmcTest, ResamplingNothingIsRefused) {
  EXPECT_THROW(systematic_resample(std::vector<double>{}, 10, 0.5), std::invalid_argument);
}

TEST(SmcTest, DistanceIsStandardized) {
  std::vector<Observation> obs(2);
  obs[0].value = 10;
  obs[0].sd = 2;
  obs[1].value = 0;
  obs[1].sd = 0.5;
  EXPECT_DOUBLE_EQ(observation_distance(std::vector<double>{16, 2}, obs), 5.0);
}

TEST(SmcTest, StatisticsAreMeanOrQuantile) {
  EXPECT_DOUBLE_EQ(observation_statistic({1, 2, 3, 10}, -1), 4.0);
  EXPECT_DOUBLE_EQ(observation_statistic({10, 1, 3, 2}, 0.5), 2.5);
}

// Each world's distance reads that world's own values (with its own noise)
// for mean observations, and the statistic with one draw for every world for
// quantile observations; noise is added at any R, from the stream's draws.
TEST(SmcTest, WorldDistancesReadEachWorldWithItsOwnError) {
  std::vector<Observation> obs(3);
  obs[0].value = 10;
  obs[0].sd = 2;
  obs[1].value = 0;
  obs[1].sd = 0.5;
  obs[2].value = 5;
  obs[2].sd = 1;
  obs[2].quantile = 0.5;
  const std::vector<double> statistic = {13, 1, 4};        // means of the worlds below; the median 4
  const std::vector<double> world = {12, 0, 3, 14, 2, 5};  // 2 worlds × 3 observations
  const std::vector<double> d = world_distances(9, 2, 31, statistic, world, 2, obs);
  ASSERT_EQ(d.size(), 2u);
  std::vector<double> z0(3), z1(3);
  noise_normals(9, 2, 31, 0, z0);  // world 0: draws 0, 1
  noise_normals(9, 2, 31, 2, z1);  // world 1: draws 2, 3
  auto norm = [](double a, double b, double c) { return std::sqrt(a * a + b * b + c * c); };
  EXPECT_DOUBLE_EQ(d[0], norm((12 + 2 * z0[0] - 10) / 2, (0 + 0.5 * z0[1]) / 0.5, 4 + z0[2] - 5));
  // The quantile observation keeps world 0's draw: a statement about the worlds' distribution.
  EXPECT_DOUBLE_EQ(d[1], norm((14 + 2 * z1[0] - 10) / 2, (2 + 0.5 * z1[1]) / 0.5, 4 + z0[2] - 5));
  EXPECT_NE(z0[0], z1[0]);
  // A world whose value is not finite is at an infinite distance; the others keep theirs.
  const std::vector<double> bad = {std::nan(""), 0, 3, 14, 2, 5};
  const std::vector<double> e = world_distances(9, 2, 31, statistic, bad, 2, obs);
  EXPECT_EQ(e[0], std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(e[1], d[1]);
  EXPECT_DOUBLE_EQ(share_within(std::vector<double>{0.5, 2, 1, 3}, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(share_within(std::vector<double>{0.5, std::numeric_limits<double>::infinity()},
                                std::numeric_limits<double>::infinity()),
                   1.0);
}

// R worlds per candidate, world r being θ + σ·N(0, 1) from the stream seed;
// the statistic is their mean. One world is θ + N(0, σ²), so with a flat
// prior and an observation y of sd τ the posterior tends to N(y, σ² + τ²),
// whatever R.
class NoisyIdentity final : public ParticleEvaluator {
 public:
  NoisyIdentity(double sigma, int replications) : sigma_(sigma), replications_(replications) {}
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t seed) override {
    Evaluation out{.statistic = {}, .world = {}, .replications = replications_};
    for (std::size_t i = 0; i < thetas.size() / width; ++i) {
      std::vector<double> runs(static_cast<std::size_t>(replications_));
      for (int r = 0; r < replications_; ++r) {
        double u0 = 0, u1 = 0;
        calibration_uniforms(seed, 77 + static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(i), 0, &u0, &u1);
        runs[static_cast<std::size_t>(r)] =
            thetas[i * width] + sigma_ * std::sqrt(-2 * std::log(u0)) * std::cos(2 * M_PI * u1);
      }
      out.world.insert(out.world.end(), runs.begin(), runs.end());
      out.statistic.push_back(observation_statistic(runs, -1));
    }
    return out;
  }

 private:
  double sigma_;
  int replications_;
};

// Weighted mean and sd of the first parameter of a population.
std::pair<double, double> weighted_moments(const Population& p) {
  double mean = 0, var = 0;
  for (std::size_t i = 0; i < p.size(); ++i) mean += p.weight[i] * p.theta[i];
  for (std::size_t i = 0; i < p.size(); ++i) var += p.weight[i] * std::pow(p.theta[i] - mean, 2);
  return {mean, std::sqrt(var)};
}

TEST(SmcTest, PosteriorOfANoisyIdentityAndDeterminism) {
  std::vector<Observation> obs(1);
  obs[0].value = 0.3;
  obs[0].sd = 0.1;
  auto run = [&] {
    NoisyIdentity evaluator(0.1, 1);
    AbcSmc smc({Prior(spec(PriorKind::kUniform, -2, 2))}, obs, {.particles = 2000, .quantile = 0.5, .seed = 11},
               evaluator);
    std::vector<Population> gens{smc.first()};
    for (int g = 1; g < 8; ++g) gens.push_back(smc.next(gens.back()));
    return gens;
  };
  const auto gens = run();
  for (std::size_t g = 1; g < gens.size(); ++g) {
    EXPECT_LT(gens[g].tolerance, gens[g - 1].tolerance);
    EXPECT_NEAR(std::accumulate(gens[g].weight.begin(), gens[g].weight.end(), 0.0), 1.0, 1e-12);
  }
  const auto [mean, sd] = weighted_moments(gens.back());
  EXPECT_NEAR(mean, 0.3, 0.02);
  EXPECT_NEAR(sd, std::sqrt(0.1 * 0.1 + 0.1 * 0.1), 0.015);  // the model's spread and the measurement error
  EXPECT_EQ(run().back().theta, gens.back().theta);          // the same seed gives the same bits
}

// The target does not depend on R: each world is read with its error and
// the share of worlds within the tolerance weights the candidate. Before,
// R = 16 gave N(y, τ² + σ²/16) (the mean of the worlds) and R = 1 ignored τ.
TEST(SmcTest, PosteriorDoesNotDependOnReplications) {
  std::vector<Observation> obs(1);
  obs[0].value = 0.3;
  obs[0].sd = 0.1;
  const double sigma = 0.2, exact_sd = std::sqrt(sigma * sigma + 0.1 * 0.1);
  for (int reps : {1, 4, 16}) {
    NoisyIdentity evaluator(sigma, reps);
    AbcSmc smc({Prior(spec(PriorKind::kUniform, -2, 2))}, obs, {.particles = 2000, .quantile = 0.5, .seed = 13},
               evaluator);
    Population p = smc.first();
    for (int g = 1; g < 8; ++g) p = smc.next(p);
    const auto [mean, sd] = weighted_moments(p);
    EXPECT_NEAR(mean, 0.3, 0.03) << "R = " << reps;
    EXPECT_NEAR(sd, exact_sd, 0.025) << "R = " << reps;
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_LE(p.distance[i], p.tolerance);
  }
}

// A 0/1 outcome: world r is 1 with probability θ (flat prior on (0, 1)),
// observed as 1 with sd 0.1. One world gives θ·φ(0) + (1 - θ)·φ(10) ∝ θ:
// the posterior Beta(2, 1), mean 2/3, sd 0.2357, for any R. (A Gaussian
// synthetic likelihood with the worlds' variance weights θ = 0.05 at 0.41
// of θ = 0.95's weight, where one world gives 0.05.)
class Bernoulli final : public ParticleEvaluator {
 public:
  explicit Bernoulli(int replications) : replications_(replications) {}
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t seed) override {
    Evaluation out{.statistic = {}, .world = {}, .replications = replications_};
    for (std::size_t i = 0; i < thetas.size() / width; ++i) {
      double sum = 0;
      for (int r = 0; r < replications_; ++r) {
        double u = 0, unused = 0;
        calibration_uniforms(seed, 91 + static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(i), 0, &u, &unused);
        out.world.push_back(u < thetas[i * width] ? 1.0 : 0.0);
        sum += out.world.back();
      }
      out.statistic.push_back(sum / replications_);
    }
    return out;
  }

 private:
  int replications_;
};

TEST(SmcTest, AZeroOneOutcomeHasItsExactPosterior) {
  std::vector<Observation> obs(1);
  obs[0].value = 1;
  obs[0].sd = 0.1;
  for (int reps : {1, 16}) {
    Bernoulli evaluator(reps);
    AbcSmc smc({Prior(spec(PriorKind::kUniform, 0, 1))}, obs, {.particles = 2000, .quantile = 0.5, .seed = 17},
               evaluator);
    Population p = smc.first();
    for (int g = 1; g < 5; ++g) p = smc.next(p);
    const auto [mean, sd] = weighted_moments(p);
    EXPECT_NEAR(mean, 2.0 / 3, 0.03) << "R = " << reps;
    EXPECT_NEAR(sd, std::sqrt(2.0 / 3 / 3 / 4 * 1.0), 0.02) << "R = " << reps;
  }
}

TEST(EvaluatorTest, CalibrationScenarioEndsAfterTheLastObservation) {
  Scenario s;
  s.run.horizon_days = 120;
  s.run.dt_days = 0.5;
  Observation a, b;
  a.day = 10;
  b.day = 26;
  b.quantity = ObservedQuantity::kWarStarted;
  s.observations = {a, b};
  const Scenario c = calibration_scenario(s, 32);
  EXPECT_DOUBLE_EQ(c.run.horizon_days, 26.5);
  EXPECT_EQ(c.output.timeseries_every, 20);  // forces on step 20 only
  EXPECT_EQ(c.run.rule.max, 32);
  s.observations = {b};
  EXPECT_EQ(calibration_scenario(s, 1).output.timeseries_every, 0);  // no per-lane series needed
  a.day = 0;
  s.observations = {a};
  EXPECT_EQ(calibration_scenario(s, 1).output.timeseries_every, 1);  // forces on day 0 only
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

// Two replications, three records (every = 2 steps), two actors.
TEST(EvaluatorTest, ObservedValuesReadTheRightRecordPoolAndStep) {
  Scenario s;
  s.run.dt_days = 1;
  s.actors.resize(2);
  Observation forces, total, rung, war, incidents;
  forces.actor = 1;
  forces.pool = kReady;
  forces.day = 2;  // record 1
  total.actor = 0;
  total.pool = kTotalPool;
  total.day = 4.5;  // step 4: record 2
  rung.quantity = ObservedQuantity::kRung;
  rung.rung = 3;
  rung.day = 1;  // through the end of step 1 (after 2 steps): records 0 and 1
  war.quantity = ObservedQuantity::kWarStarted;
  war.day = 3;  // fighting begun in a step up to 3
  incidents.quantity = ObservedQuantity::kIncidents;
  s.observations = {forces, total, rung, war, incidents};
  BlockResult b;
  b.spec.count = 2;
  const int records = 3, n = 2;
  b.ts_forces.assign(2 * records * n * kPoolCount, 0.0f);
  auto at = [&](int r, int q, int a, int pool) -> float& {
    return b.ts_forces[((r * records + q) * n + a) * kPoolCount + pool];
  };
  at(0, 1, 1, kReady) = 111;
  at(1, 1, 1, kReady) = 222;
  at(0, 2, 0, kDeployed) = 1;
  at(0, 2, 0, kReady) = 2;
  at(0, 2, 0, kReserve) = 4;
  b.ts_rung = {1, 3, 0, /* replication 1: */ 1, 2, 3};  // r0 reached 3 at record 1; r1 only at record 2
  b.war_start_step = {3, 4};
  b.incidents = {5, 0};
  const std::vector<double> v = observed_values(s, b, 2);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_EQ(v[0], 111);  // replication 0: ready of actor 1 on day 2
  EXPECT_EQ(v[1], 7);    // all pools of actor 0 on day 4
  EXPECT_EQ(v[2], 1);    // rung 3 reached in step 1 counts on day 1
  EXPECT_EQ(v[3], 1);    // war begun in step 3
  EXPECT_EQ(v[4], 5);
  EXPECT_EQ(v[5], 222);
  EXPECT_EQ(v[7], 0);  // replication 1 reaches rung 3 only after day 1
  EXPECT_EQ(v[8], 0);  // its war begins in step 4, after day 3
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

// Packed blocks (docs/calibration.md): particles packed 256 / R to a block
// keep the streams they have one per point, so the statistics are the same
// bits; only the simulated lanes shrink.
TEST(EvaluatorTest, PackedParticlesGiveTheUnpackedStatistics) {
  Scenario flagship;
  for (const ShippedScenario& s : shipped_scenarios())
    if (s.name == "backtest-2022") flagship = load_scenario({std::string(s.path), std::string(s.text)}).scenario;
  ASSERT_FALSE(flagship.observations.empty());
  const std::vector<std::string> paths = {"actors.RUS.forces.deployed", "actors.RUS.posture.grievance",
                                          "escalation.incidents.base_rate", "actors.RUS.forces.deployment_rate"};
  // 70 particles: two slices of streams (64 + 6), 4 particles per block.
  std::vector<double> thetas;
  for (int p = 0; p < 70; ++p) {
    thetas.push_back(60000 + 800 * p);
    thetas.push_back(-1500 + 40 * p);
    thetas.push_back(0.001 * (p % 7));
    thetas.push_back(500 + 60 * p);
  }
  for (bool common : {false, true}) {
    Scenario s = calibration_scenario(flagship, 64);
    s.run.common_random = common;
    SweepEvaluator packed(s, paths, 2), unpacked(s, paths, 2);
    unpacked.set_packing(false);
    ASSERT_TRUE(packed.packs());
    ASSERT_FALSE(unpacked.packs());
    const Evaluation a = packed.evaluate(thetas, paths.size(), 7);
    const Evaluation b = unpacked.evaluate(thetas, paths.size(), 7);
    EXPECT_EQ(a.statistic, b.statistic);
    EXPECT_EQ(a.world, b.world);
    EXPECT_EQ(a.replications, 64);
    EXPECT_EQ(b.replications, 64);
    ASSERT_EQ(a.world.size(), a.statistic.size() * 64);
    EXPECT_DOUBLE_EQ(packed.lane_steps() * 70, unpacked.lane_steps() * 18);  // 16 + 2 blocks instead of 70
    EXPECT_NE(a.statistic[0], a.statistic[a.statistic.size() - 1]);          // the particles differ
    // The statistic of a mean observation is the mean of the candidate's worlds.
    const std::size_t m = a.statistic.size() / 70;
    for (std::size_t o = 0; o < m; ++o) {
      if (s.observations[o].quantile >= 0) continue;
      std::vector<double> worlds;
      for (std::size_t r = 0; r < 64; ++r) worlds.push_back(a.world[(5 * 64 + r) * m + o]);
      EXPECT_DOUBLE_EQ(a.statistic[5 * m + o], observation_statistic(worlds, -1)) << o;
    }
  }
  // A field the kernel reads as one value per block keeps one particle per block.
  SweepEvaluator scalar(calibration_scenario(flagship, 64), {"actors.RUS.decision.patience_days"}, 1);
  EXPECT_FALSE(scalar.packs());
}

}  // namespace
}  // namespace brink

namespace brink {
namespace {

// Statistic 0: the parameter; statistic 1: `second` for every particle.
class TwoStatistics final : public ParticleEvaluator {
 public:
  explicit TwoStatistics(double second) : second_(second) {}
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t) override {
    Evaluation out;
    for (std::size_t i = 0; i < thetas.size() / width; ++i) {
      out.statistic.push_back(thetas[i * width]);
      out.statistic.push_back(second_);
    }
    out.world = out.statistic;  // one world: its values are the statistics
    return out;
  }

 private:
  double second_;
};

std::vector<Observation> two_observations(double sd_of_second) {
  std::vector<Observation> obs(2);
  obs[0].id = "near";
  obs[0].sd = 1;
  obs[1].id = "overflowing";
  obs[1].value = 0;
  obs[1].sd = sd_of_second;
  return obs;
}

// An sd so small that every distance overflows must not pass for a fit:
// the tolerance would stay +inf and accept every candidate (the posterior
// would be the prior). The calibrator refuses, naming the observation.
TEST(SmcTest, NoFiniteDistanceIsRefusedNamingTheObservation) {
  TwoStatistics evaluator(1.0);
  AbcSmc smc({Prior(spec(PriorKind::kUniform, -1, 1))}, two_observations(1e-300), {.particles = 50, .seed = 3},
             evaluator);
  try {
    smc.first();
    FAIL() << "a prior draw without a finite distance was accepted";
  } catch (const NoFiniteDistance& e) {
    EXPECT_EQ(e.observation(), 1u);
    EXPECT_NE(std::string(e.what()).find("'overflowing'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("50 of 50 particles"), std::string::npos) << e.what();
  }
  // A statistic that is not a number gives no finite distance either.
  TwoStatistics nan_evaluator(std::nan(""));
  AbcSmc nan_smc({Prior(spec(PriorKind::kUniform, -1, 1))}, two_observations(1), {.particles = 50, .seed = 3},
                 nan_evaluator);
  EXPECT_THROW(nan_smc.first(), NoFiniteDistance);
  // Nor does a generation continue from a population without one (a resumed file).
  TwoStatistics fine(0.0);
  AbcSmc resumed({Prior(spec(PriorKind::kUniform, -1, 1))}, two_observations(1), {.particles = 50, .seed = 3}, fine);
  Population p = resumed.first();
  std::fill(p.distance.begin(), p.distance.end(), std::numeric_limits<double>::infinity());
  EXPECT_THROW(resumed.next(p), NoFiniteDistance);
}

// A normal prior so narrow that ((x - mean)/sd)^2 overflows for every
// candidate (the parser refuses it; a prior reaching the calibrator another
// way must not) gives weights of NaN: the generation is refused, not returned
// to be saved in a file that --resume and inspect then refuse.
TEST(SmcTest, NonFiniteWeightsStopTheGenerationBeforeItIsSaved) {
  std::vector<Observation> obs(1);
  obs[0].value = 0.3;
  obs[0].sd = 1;
  NoisyIdentity evaluator(0.1, 1);
  PriorSpec narrow = spec(PriorKind::kNormal, 0, 100);
  narrow.mean = 0.3;
  narrow.sd = 1e-300;
  AbcSmc smc({Prior(narrow)}, obs, {.particles = 200, .quantile = 0.5, .seed = 7}, evaluator);
  const Population first = smc.first();
  try {
    const Population next = smc.next(first);
    FAIL() << "generation 1 was returned with the weight " << next.weight.front();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("generation 1's importance weights are not finite"), std::string::npos)
        << e.what();
  }
}

// Most of the prior at an infinite distance: the next tolerance is finite
// and no candidate at an infinite distance is accepted.
class InfiniteAboveZero final : public ParticleEvaluator {
 public:
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t) override {
    Evaluation out;
    for (std::size_t i = 0; i < thetas.size() / width; ++i)
      out.statistic.push_back(thetas[i * width] > -0.5 ? std::numeric_limits<double>::infinity() : thetas[i * width]);
    out.world = out.statistic;
    return out;
  }
};

TEST(SmcTest, InfiniteDistancesAreNeverAccepted) {
  std::vector<Observation> obs(1);
  obs[0].value = -1;
  obs[0].sd = 1;
  InfiniteAboveZero evaluator;
  AbcSmc smc({Prior(spec(PriorKind::kUniform, -1, 1))}, obs, {.particles = 200, .seed = 5}, evaluator);
  const Population prior = smc.first();
  const Population next = smc.next(prior);
  EXPECT_TRUE(std::isfinite(next.tolerance));
  for (double dist : next.distance) EXPECT_TRUE(std::isfinite(dist));
}

// A scenario whose A keeps its deployed troops unless an event moves them
// (decisions off, no posture terms), observed on day 10 of a 60-day run.
Scenario late_event_scenario() {
  const std::string text = R"(brink: 1
name: late-events
run: {horizon_days: 60, dt_days: 1, replications: 100, seed: 7, decisions: false}
actors:
  A:
    forces: {deployed: 1000, ready: 1000}
  B:
    forces: {deployed: 1000}
relations:
  adversaries: [[A, B]]
escalation:
  rungs: [calm, tense, limited, full, wider]
  initial_rung: tense
  limited_war: limited
  full_war: full
  alliance_war: wider
events:
  - {day: 5, actor: A, reinforce: 500}
  - {day: 50, actor: A, reinforce: 300}
  - {day: 55, actor: A, attack: B, rung: full}
observations:
  a_deployed: {quantity: forces, actor: A, day: 10, value: 1500, sd: 10, source: s}
)";
  return load_scenario({"late-events.yaml", text}).scenario;
}

// Calibration runs end after the last observed day; events after it cannot
// change an observed quantity and are left out of every particle's run,
// after its values are set, so calibrated event fields keep their paths.
TEST(EvaluatorTest, EventsAfterTheLastObservationAreLeftOut) {
  const Scenario c = calibration_scenario(late_event_scenario(), 4);
  ASSERT_EQ(c.events.size(), 3u);  // kept until each particle's values are set
  // events.0.day calibrated: on day 5 the event counts, on day 30 it is past the run.
  SweepEvaluator day(c, {"events.0.day"}, 1);
  EXPECT_EQ(day.evaluate(std::vector<double>{5, 30}, 1, 11).statistic, (std::vector<double>{1500, 1000}));
  // A calibrated field of an event past the run still names that event (and changes nothing).
  SweepEvaluator late(c, {"events.1.reinforce"}, 1);
  EXPECT_EQ(late.evaluate(std::vector<double>{0, 5000}, 1, 11).statistic, (std::vector<double>{1500, 1500}));
  // Packed blocks (a per-lane field) leave them out too.
  SweepEvaluator packed(c, {"actors.A.forces.deployed"}, 1);
  ASSERT_TRUE(packed.packs());
  const Evaluation by_lane = packed.evaluate(std::vector<double>{1000, 2000}, 1, 11);
  EXPECT_EQ(by_lane.statistic, (std::vector<double>{1500, 2500}));
  EXPECT_EQ(by_lane.world.size(), 8u);  // 2 candidates × 4 replications × 1 observation
  Scenario dropped = c;
  drop_unreached_events(dropped);
  ASSERT_EQ(dropped.events.size(), 1u);
  EXPECT_EQ(dropped.events[0].day, 5);
}

}  // namespace
}  // namespace brink
