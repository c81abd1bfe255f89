#include "brink/model/logit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "brink/model/rules.hpp"

namespace brink {

float logit_weights(const float* utility, const std::uint8_t* feasible, int menu, float lambda, float* weights) {
  float best = -std::numeric_limits<float>::infinity();
  for (int m = 0; m < menu; ++m) best = feasible[m] ? std::max(best, utility[m]) : best;
  float total = 0.0f;
  for (int m = 0; m < menu; ++m) {
    weights[m] = rules::logit_weight(std::exp(rules::logit_exponent(utility[m], best, lambda)), feasible[m] != 0);
    total += weights[m];
  }
  return total;
}

int logit_choose(const float* weights, int menu, float total, float u) {
  const float target = u * total;
  float cumulative = 0.0f;
  int choice = 0, last = 0;
  for (int m = 0; m < menu; ++m) {
    cumulative += weights[m];
    choice += rules::passed(cumulative, target);
    last = weights[m] > 0.0f ? m : last;
  }
  return std::min(choice, last);
}

}  // namespace brink
