#include "brink/model/logit.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace brink {
namespace {

using Eigen::ArrayXd;
using Eigen::ArrayXi;
using Eigen::ArrayXXd;

ArrayXXd row(std::initializer_list<double> values) {
  ArrayXXd out(1, values.size());
  int i = 0;
  for (double v : values) out(0, i++) = v;
  return out;
}

TEST(LogitTest, LambdaZeroIsUniformOverFeasibleActions) {
  const ArrayXXd u = row({3.0, -1.0, 10.0, 0.5});
  const ArrayXXd feasible = row({1, 1, 0, 1});
  ArrayXXd p;
  logit_probabilities(u, feasible, 0.0, &p);
  EXPECT_DOUBLE_EQ(p(0, 0), 1.0 / 3);
  EXPECT_DOUBLE_EQ(p(0, 1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(p(0, 2), 0.0);
  EXPECT_DOUBLE_EQ(p(0, 3), 1.0 / 3);
}

TEST(LogitTest, LargeLambdaIsBestResponseAndSplitsTies) {
  const ArrayXXd u = row({1.0, 2.0, 2.0, 1.999, 50.0});
  const ArrayXXd feasible = row({1, 1, 1, 1, 0});  // the best action is infeasible
  ArrayXXd p;
  logit_probabilities(u, feasible, 1e9, &p);
  EXPECT_DOUBLE_EQ(p(0, 0), 0.0);
  EXPECT_DOUBLE_EQ(p(0, 1), 0.5);
  EXPECT_DOUBLE_EQ(p(0, 2), 0.5);
  EXPECT_DOUBLE_EQ(p(0, 3), 0.0);
  EXPECT_DOUBLE_EQ(p(0, 4), 0.0);
}

TEST(LogitTest, FiniteLambdaMatchesSoftmax) {
  const double lambda = 1.7;
  const std::vector<double> utilities = {0.3, -1.2, 2.5, 0.0};
  ArrayXXd u(2, 4), feasible = ArrayXXd::Ones(2, 4);
  for (int m = 0; m < 4; ++m) {
    u(0, m) = utilities[m];
    u(1, m) = utilities[m] + 1000.0;  // a shift of all utilities changes nothing
  }
  ArrayXXd p;
  logit_probabilities(u, feasible, lambda, &p);
  double z = 0.0;
  for (double v : utilities) z += std::exp(lambda * v);
  for (int m = 0; m < 4; ++m) {
    EXPECT_NEAR(p(0, m), std::exp(lambda * utilities[m]) / z, 1e-14);
    EXPECT_NEAR(p(1, m), p(0, m), 1e-14);
  }
}

TEST(LogitTest, InverseCdfSamplingReproducesProbabilities) {
  // Evenly spaced u values are the exact quantiles: counts must match K·p to within one.
  constexpr int kDraws = 100000;
  const ArrayXXd probabilities = row({0.1, 0.0, 0.25, 0.65});
  ArrayXXd p = probabilities.replicate(kDraws, 1);
  ArrayXd u(kDraws);
  for (int k = 0; k < kDraws; ++k) u(k) = (k + 0.5) / kDraws;
  ArrayXi choice;
  logit_choose(p, u, &choice);
  for (int m = 0; m < 4; ++m) {
    const double count = (choice == m).count();
    EXPECT_NEAR(count, kDraws * probabilities(0, m), 1.0) << "action " << m;
  }
}

TEST(LogitTest, ChoosesOnlyFeasibleActionsEvenWhenRoundingFallsShort) {
  ArrayXXd p = row({0.0, 0.3, 0.7 - 1e-15, 0.0});
  ArrayXd u(1);
  u << 1.0 - 1e-17;
  ArrayXi choice;
  logit_choose(p, u, &choice);
  EXPECT_EQ(choice(0), 2);
}

}  // namespace
}  // namespace brink
