// What the scalar twin's tests compare between a vectorized kernel and the
// twin over every shipped scenario (scalar_twin_test.cpp, on the statically
// linked kernel; path_twin_test.cpp, on every path's shared object).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace brink::twin_compare {

struct Named {
  std::string name;
  Model model;
};

inline std::vector<Named> shipped_models() {
  std::vector<Named> out;
  for (const ShippedScenario& s : shipped_scenarios())
    out.push_back({std::string(s.name), Model(load_scenario({std::string(s.path), std::string(s.text)}).scenario)});
  return out;
}

// Two-sample z-test per outcome, Holm-corrected: true if no outcome differs at alpha.
inline bool same_distribution(const std::vector<std::int8_t>& a, const std::vector<std::int8_t>& b, double alpha) {
  std::vector<double> p_values;
  for (int o = 0; o < kOutcomeCount; ++o) {
    double ca = 0, cb = 0;
    for (auto v : a) ca += v == o;
    for (auto v : b) cb += v == o;
    const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
    const double pooled = (ca + cb) / (na + nb);
    const double se = std::sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb));
    const double z = se > 0 ? std::abs(ca / na - cb / nb) / se : 0.0;
    p_values.push_back(std::erfc(z / std::sqrt(2.0)));
  }
  std::sort(p_values.begin(), p_values.end());
  for (std::size_t k = 0; k < p_values.size(); ++k)
    if (p_values[k] < alpha / static_cast<double>(p_values.size() - k)) return false;
  return true;
}

// Four blocks of every shipped scenario through `vectorized` and `scalar`
// (each a function of a model and a block spec): the same private types, the
// same outcome and end step in at least 99.9% of replications, equal outcome
// distributions, and with decisions off the same first incidents and final
// forces to 1e-9 relative.
template <class Vectorized, class Scalar>
void expect_twin_agrees(Vectorized&& vectorized, Scalar&& scalar) {
  for (const Named& s : shipped_models()) {
    SCOPED_TRACE(s.name);
    std::vector<std::int8_t> vector_outcomes, scalar_outcomes;
    std::int64_t same = 0, total = 0;
    for (int block = 0; block < 4; ++block) {
      const BlockSpec spec{3, block * kBlockLanes, kBlockLanes};
      const BlockResult v = vectorized(s.model, spec);
      const BlockResult t = scalar(s.model, spec);
      // The private types come from the same draws: identical.
      ASSERT_EQ(v.resolve_type, t.resolve_type);
      for (int r = 0; r < kBlockLanes; ++r) {
        same += v.outcome[r] == t.outcome[r] && v.end_step[r] == t.end_step[r];
        ++total;
      }
      vector_outcomes.insert(vector_outcomes.end(), v.outcome.begin(), v.outcome.end());
      scalar_outcomes.insert(scalar_outcomes.end(), t.outcome.begin(), t.outcome.end());
      if (!s.model.scenario().run.decisions) {
        // Decisions off: everything but exp/log rounding is the same arithmetic.
        ASSERT_EQ(v.first_incident_step, t.first_incident_step);
        for (std::size_t c = 0; c < v.final_forces.size(); ++c)
          ASSERT_NEAR(v.final_forces[c], t.final_forces[c], 1e-9 * (1.0 + std::abs(t.final_forces[c])));
      }
    }
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(total)) << same << " of " << total;
    EXPECT_TRUE(same_distribution(vector_outcomes, scalar_outcomes, 0.001));
  }
}

}  // namespace brink::twin_compare
