#include "brink/model/logit.hpp"
#include "brink/model/rules.hpp"
#include "brink/scenario/scenario.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace brink {
namespace {

std::vector<float> probabilities(const std::vector<float>& u, const std::vector<std::uint8_t>& feasible, float lambda) {
  std::vector<float> w(u.size());
  const float total = logit_weights(u.data(), feasible.data(), static_cast<int>(u.size()), lambda, w.data());
  for (float& x : w) x /= total;
  return w;
}

TEST(LogitTest, LambdaZeroIsUniformOverFeasibleActions) {
  const auto p = probabilities({3.0f, -1.0f, 10.0f, 0.5f}, {1, 1, 0, 1}, 0.0f);
  EXPECT_FLOAT_EQ(p[0], 1.0f / 3);
  EXPECT_FLOAT_EQ(p[1], 1.0f / 3);
  EXPECT_EQ(p[2], 0.0f);
  EXPECT_FLOAT_EQ(p[3], 1.0f / 3);
}

TEST(LogitTest, LargeLambdaIsBestResponseAndSplitsTies) {
  // The best action is infeasible; 1.999 is a hair below the tied best.
  const auto p = probabilities({1.0f, 2.0f, 2.0f, 1.999f, 50.0f}, {1, 1, 1, 1, 0}, 1e6f);
  EXPECT_EQ(p[0], 0.0f);
  EXPECT_EQ(p[1], 0.5f);
  EXPECT_EQ(p[2], 0.5f);
  EXPECT_EQ(p[3], 0.0f);
  EXPECT_EQ(p[4], 0.0f);
}

TEST(LogitTest, FiniteLambdaMatchesSoftmax) {
  const float lambda = 1.7f;
  const std::vector<float> u = {0.3f, -1.2f, 2.5f, 0.0f};
  std::vector<float> shifted;
  for (float v : u) shifted.push_back(v + 1000.0f);  // a shift of all utilities changes nothing
  const auto p = probabilities(u, {1, 1, 1, 1}, lambda);
  const auto q = probabilities(shifted, {1, 1, 1, 1}, lambda);
  double z = 0.0;
  for (float v : u) z += std::exp(lambda * static_cast<double>(v));
  for (int m = 0; m < 4; ++m) {
    EXPECT_NEAR(p[m], std::exp(lambda * static_cast<double>(u[m])) / z, 2e-6);
    EXPECT_NEAR(q[m], p[m], 2e-4);  // float utilities near 1000 keep ~1e-4 of their resolution
  }
}

TEST(LogitTest, InverseCdfSamplingReproducesProbabilities) {
  // Evenly spaced u values are the exact quantiles: counts must match K·p to within one.
  constexpr int kDraws = 100000;
  const std::vector<float> w = {0.1f, 0.0f, 0.25f, 0.65f};
  std::vector<int> count(4, 0);
  for (int k = 0; k < kDraws; ++k) ++count[logit_choose(w.data(), 4, 1.0f, (k + 0.5f) / kDraws)];
  for (int m = 0; m < 4; ++m) EXPECT_NEAR(count[m], kDraws * w[m], 2.0) << "action " << m;
}

TEST(LogitTest, ChoosesOnlyFeasibleActionsEvenWhenRoundingFallsShort) {
  const std::vector<float> w = {0.0f, 0.3f, 0.7f, 0.0f};
  EXPECT_EQ(logit_choose(w.data(), 4, 1.0f, 1.0f - 1e-7f), 2);
  EXPECT_EQ(logit_choose(w.data(), 4, 1.0f, 0.1f), 1);
}

}  // namespace

// Priors may sum to 1 within 1e-6: a draw above their sum went to the last
// type, also one of prior 0, which every observer holds impossible (an
// outside review drew it twice in 4 million replications).
TEST(TypeDrawTest, ATypeOfPriorZeroIsNeverDrawn) {
  std::vector<ResolveType> types(3);
  types[0].prior = 0.49999951;
  types[1].prior = 0.49999951;
  types[2].prior = 0.0;
  EXPECT_EQ(rules::draw_type(types, 0.2), 0);
  EXPECT_EQ(rules::draw_type(types, 0.7), 1);
  for (double u : {0.9999990, 0.9999995, 0.99999999}) EXPECT_EQ(rules::draw_type(types, u), 1) << u;
  types[1].prior = 0.0;
  types[0].prior = 0.9999995;
  EXPECT_EQ(rules::draw_type(types, 0.9999999), 0);
}

}  // namespace brink
