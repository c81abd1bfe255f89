// Exact Lanchester (1916) attrition over one interval of constant
// coefficients. Side A loses troops to side B at rate beta, side B to A at
// rate alpha:
//   square law: dA/dt = -beta·B,   dB/dt = -alpha·A   (invariant alpha·A² - beta·B²)
//   linear law: dA/dt = -beta·A·B, dB/dt = -alpha·A·B (invariant alpha·A - beta·B)
// Using the closed form per step (not Euler) makes the engine reproduce the
// analytic solution to rounding for any dt, with reinforcements applied
// exactly at step boundaries.
#pragma once

namespace brink {

struct Strengths {
  double a = 0.0;
  double b = 0.0;
};

// Strengths after `t` days; a side that reaches zero stays at zero and the
// other keeps what the invariant leaves it.
Strengths lanchester_square(Strengths start, double alpha, double beta, double t);
Strengths lanchester_linear(Strengths start, double alpha, double beta, double t);

}  // namespace brink
