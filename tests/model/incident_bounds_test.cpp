// rules::incident_probability_bounds: the kernel decides an incident without
// exp when the draw falls outside them, so they must hold for the computed
// probability (1 − Eigen's vectorized exp(−h), as the kernel computes it), not
// only for the exact one, and they must be narrow enough to spare the exp.
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <vector>

#include "brink/model/rules.hpp"

namespace brink {
namespace {

TEST(IncidentBoundsTest, HoldForTheComputedProbabilityFromZeroToFiftyPerStep) {
  // 0, then a geometric grid from 1e-18 (where exp(−h) rounds to a double
  // just below 1 and the computed p exceeds h) to 50, 64 points per decade.
  std::vector<double> hazards = {0.0};
  for (double h = 1e-18; h < 50.0; h *= std::pow(10.0, 1.0 / 64.0)) hazards.push_back(h);
  while (hazards.size() % 16 != 0) hazards.push_back(50.0);  // whole packets, as in the kernel
  const Eigen::ArrayXd h = Eigen::Map<const Eigen::ArrayXd>(hazards.data(), static_cast<Eigen::Index>(hazards.size()));
  const Eigen::ArrayXd p = 1.0 - (-h).exp();
  int above_h = 0;
  for (Eigen::Index k = 0; k < h.size(); ++k) {
    const rules::Bounds b = rules::incident_probability_bounds(h(k));
    EXPECT_LE(b.lower, p(k)) << "h = " << h(k);
    EXPECT_LE(p(k), b.upper) << "h = " << h(k);
    above_h += p(k) > h(k) ? 1 : 0;
  }
  EXPECT_GT(above_h, 0) << "the grid no longer reaches the rounding the margin is for";
}

TEST(IncidentBoundsTest, LeaveOnlyASecondOrderBandToExp) {
  // The band between the bounds is h²/2 (+ the margin): for a hazard of 1%
  // a step, 1 draw in 20,000 needs exp.
  for (double h : {1e-4, 1e-3, 1e-2, 0.1}) {
    const rules::Bounds b = rules::incident_probability_bounds(h);
    EXPECT_NEAR(b.upper - b.lower, 0.5 * h * h, 3e-12) << "h = " << h;
  }
}

}  // namespace
}  // namespace brink
