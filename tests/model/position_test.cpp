// Issue positions are floats (docs/performance.md, "Precision"): a position
// moves toward its target by exactly the step κ(1 − s), and an issue is
// agreed at the step exact arithmetic says, also when that step puts the
// parties exactly a window apart.
#include <gtest/gtest.h>

#include <cmath>

#include "brink/model/rules.hpp"

namespace brink {
namespace {

// Positions, steps and windows in hundredths, so that exact arithmetic is integer arithmetic.
struct Case {
  int fixed, start, concession, salience, window;  // salience in hundredths too
};

// The first move after which the moving party is within the window of the fixed one, exactly.
int exact_first_agreement(const Case& c) {
  // step = concession·(1 − salience) in units of 1e-4; positions scaled to match.
  const int step = c.concession * (100 - c.salience);
  int gap = std::abs(c.start - c.fixed) * 100;
  for (int move = 0; move < 1000; ++move) {
    if (gap <= c.window * 100) return move;
    gap -= std::min(gap, step);
  }
  return -1;
}

int float_first_agreement(const Case& c) {
  const float fixed = static_cast<float>(c.fixed) / 100.0f;
  const float concession = static_cast<float>(c.concession) / 100.0f;
  const float salience = static_cast<float>(c.salience) / 100.0f;
  const float window = static_cast<float>(c.window) / 100.0f;
  float moving = static_cast<float>(c.start) / 100.0f;
  for (int move = 0; move < 1000; ++move) {
    if (rules::within_window(std::min(fixed, moving), std::max(fixed, moving), window)) return move;
    moving = rules::position_step(moving, fixed, concession, salience);
  }
  return -1;
}

TEST(PositionTest, AStepMovesByTheConcessionScaledByFlexibilityAndStopsAtTheTarget) {
  EXPECT_FLOAT_EQ(rules::position_step(1.0f, 0.0f, 0.1f, 0.6f), 0.96f);
  EXPECT_FLOAT_EQ(rules::position_step(0.2f, 0.9f, 0.1f, 0.0f), 0.3f);
  EXPECT_EQ(rules::position_step(0.31f, 0.3f, 0.1f, 0.0f), 0.3f);  // the last step lands on the target
  EXPECT_EQ(rules::position_step(0.5f, 0.9f, 0.1f, 1.0f), 0.5f);   // salience 1: never moves
}

// Every combination of the shipped scenarios' kinds of numbers, many of them
// landing exactly a window apart after some moves (e.g. 0.7 - 0.04·15 = 0.1):
// the float positions agree at the exact step, neither earlier nor later.
TEST(PositionTest, FloatPositionsAgreeAtTheStepExactArithmeticGives) {
  int cases = 0, on_the_edge = 0;
  for (int fixed : {0, 30, 40, 50})
    for (int start : {70, 80, 90, 100})
      for (int concession : {5, 10, 20})
        for (int salience : {0, 30, 40, 50, 60})
          for (int window : {5, 10, 20}) {
            const Case c{fixed, start, concession, salience, window};
            const int exact = exact_first_agreement(c);
            ASSERT_GE(exact, 0);
            EXPECT_EQ(float_first_agreement(c), exact)
                << "fixed " << fixed << " start " << start << " concession " << concession << " salience " << salience
                << " window " << window;
            const int step = concession * (100 - salience);
            on_the_edge += ((start - fixed) * 100 - window * 100) % step == 0 ? 1 : 0;
            ++cases;
          }
  EXPECT_GT(on_the_edge, cases / 10);  // the boundary case is well represented
}

}  // namespace
}  // namespace brink
