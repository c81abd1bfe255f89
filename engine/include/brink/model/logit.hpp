// Logit quantal response (McKelvey & Palfrey 1995) for one lane: P(a) ∝ exp(λ·U(a))
// over the feasible actions. λ = 0 is uniform; λ → ∞ is best response (ties
// split evenly). The vectorized kernel runs the same rules (rules.hpp) over
// 256 lanes at once; this one-lane form serves the scalar twin and the tests.
#pragma once

#include <cstdint>

namespace brink {

// weights[m] = exp(λ·(U_m − U*)) for feasible m (0 otherwise, and 0 below
// e^-80), U* the best feasible utility; returns Σ weights. Every lane needs at
// least one feasible action.
float logit_weights(const float* utility, const std::uint8_t* feasible, int menu, float lambda, float* weights);

// The action drawn by inverse CDF with uniform u in (0,1) from unnormalized weights.
int logit_choose(const float* weights, int menu, float total, float u);

}  // namespace brink
