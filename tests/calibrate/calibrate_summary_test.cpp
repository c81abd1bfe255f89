// The sentences `brink calibrate`, `brink inspect` and the posterior scenario
// give of a calibration (engine/src/cli/calibrate_summary.hpp), on records
// built by hand: uneven importance weights, a loose last tolerance, a stall.
#include "calibrate_summary.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace brink {
namespace {

// Generations 0..g of n particles of one parameter (no prior text: never
// marked) and one observation; each generation's weights are uniform.
CalibrationRecord record(std::size_t n, int generations, double last_tolerance) {
  CalibrationRecord r;
  r.parameters = {"x"};
  r.priors = {""};
  r.observation_names = {"o"};
  r.observed = {0.0};
  r.observed_sd = {1.0};
  for (int g = 0; g < generations; ++g) {
    Population p;
    p.generation = g;
    p.tolerance = g == 0 ? std::numeric_limits<double>::infinity() : last_tolerance;
    p.weight.assign(n, 1.0 / static_cast<double>(n));
    for (std::size_t i = 0; i < n; ++i) p.theta.push_back(static_cast<double>(i));
    p.distance.assign(n, 0.5);
    p.statistic.assign(n, 0.0);
    r.generations.push_back(p);
  }
  return r;
}

// Particle k gets `share` of the weight, the others the rest evenly.
void concentrate(Population& p, std::size_t k, double share) {
  for (double& w : p.weight) w = (1 - share) / static_cast<double>(p.size() - 1);
  p.weight[k] = share;
}

TEST(HeavyWeightTest, NamesAParticleAboveTwentyTimesTheAverageAndItsShare) {
  CalibrationRecord r = record(1000, 4, 1.0);
  EXPECT_EQ(heavy_weight_sentence(r), "");
  concentrate(r.generations.back(), 417, 0.019);  // 19x the average: not yet
  EXPECT_EQ(heavy_weight_sentence(r), "");
  concentrate(r.generations.back(), 417, 0.045);  // 45x
  const std::string s = heavy_weight_sentence(r);
  EXPECT_NE(s.find("one particle (particle 417) carries 4.5% of the last generation's weight, 45 times the average"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("another --seed"), std::string::npos) << s;
}

TEST(HeavyWeightTest, NamesAnEssThatFellToLessThanHalfTheGenerationBefore) {
  CalibrationRecord r = record(100, 4, 1.0);
  // Ten particles share the weight: ESS 10, from 100; the largest weight is only 10x the average.
  Population& last = r.generations.back();
  for (std::size_t i = 0; i < 100; ++i) last.weight[i] = i < 10 ? 0.1 : 0.0;
  const std::string s = heavy_weight_sentence(r);
  EXPECT_NE(s.find("(ESS 10, 100 in generation 2)"), std::string::npos) << s;
  // Generation 1 after the prior draw's ESS of N: that fall is the first weighting, not a warning.
  r.generations.resize(2);
  for (std::size_t i = 0; i < 100; ++i) r.generations[1].weight[i] = i < 10 ? 0.1 : 0.0;
  EXPECT_EQ(heavy_weight_sentence(r), "");
}

TEST(LooseToleranceTest, FlaggedWhateverTheMarks) {
  // One observation: above 3 the posterior is still wider than the data imply, marked or not.
  EXPECT_EQ(loose_tolerance_sentence(record(50, 5, 2.9)), "");
  const std::string s = loose_tolerance_sentence(record(50, 5, 7.2));
  EXPECT_NE(s.find("at a last tolerance of 7.2 (above 3, 3 sd per observation over 1 observation)"), std::string::npos)
      << s;
  EXPECT_NE(s.find("wider than the data imply; run more generations"), std::string::npos) << s;
  EXPECT_EQ(s.find("not informed"), std::string::npos) << s;  // no parameter is marked
}

TEST(StalledAdviceTest, ATinyQuantileIsNamedBeforeTheObservations) {
  const GenerationStalled e("generation 1 accepted 186 of 1000 particles in 2000000 candidates at tolerance 0.02914");
  const std::string tiny = stalled_advice(e, 1, "x.h5.partial", 1e-9);
  EXPECT_NE(tiny.find("that tolerance is the 1e-09 quantile of generation 0's distances"), std::string::npos) << tiny;
  EXPECT_EQ(tiny.find("; the observations are too far"), std::string::npos) << tiny;
  const std::string usual = stalled_advice(e, 1, "x.h5.partial", 0.5);
  EXPECT_NE(usual.find("; the observations are too far from what the priors allow"), std::string::npos) << usual;
}

}  // namespace
}  // namespace brink
