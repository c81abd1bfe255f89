// What the scalar twin's tests compare between a vectorized kernel and the
// twin over every shipped scenario (scalar_twin_test.cpp, on the statically
// linked kernel; path_twin_test.cpp, on every path's shared object): the
// blocks' results, replication by replication and quantity by quantity, and
// their outcome distributions. twin_draws.hpp compares the random draws.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "twin_models.hpp"

namespace brink::twin_compare {

// Double quantities agree to 1e-9 relative (exp and log rounding, sum
// order); float ones (beliefs, and the float time series) to kFloatTolerance,
// about three times the largest difference of any belief (7.2e-7: libm's and
// Eigen's expf round the logit weights differently), docs/performance.md
// ("What the twin and allocation tests compare").
inline constexpr double kDoubleTolerance = 1e-9;
inline constexpr double kFloatTolerance = 2e-6;

// Replications per scenario: 16 full blocks and one partly filled block whose
// 72 lanes leave a width of 80 (an odd number of 16-lane groups: AVX-512's
// Philox tail), and a packed block of three sweep points.
inline constexpr int kFullBlocks = 16;
inline constexpr int kPartialCount = 72;

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

// Equal within `tolerance` relative (absolute below 1); two NaNs (no offer) are equal.
inline bool close(double a, double b, double tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= tolerance * std::max(1.0, std::abs(b));
}

// Doubles agree to kDoubleTolerance, but for the offer: a forecast from the
// float beliefs in protectors' resolve, so float-exact only.
template <class T>
bool same_value(T a, T b, bool float_derived) {
  static_assert(std::is_integral_v<T> || std::is_same_v<T, double> || std::is_same_v<T, float>);
  if constexpr (std::is_same_v<T, double>) {
    return close(a, b, float_derived ? kFloatTolerance : kDoubleTolerance);
  } else if constexpr (std::is_same_v<T, float>) {
    return close(a, b, kFloatTolerance);
  } else {
    return a == b;
  }
}

// The per-replication arrays of BlockResult, in for_each_replication_array's order.
inline constexpr const char* kReplicationArrays[] = {"outcome",
                                                     "peak_rung",
                                                     "end_step",
                                                     "war_start_step",
                                                     "war_end_step",
                                                     "first_incident_step",
                                                     "incidents",
                                                     "casualties",
                                                     "final_forces",
                                                     "action_count",
                                                     "troops_added",
                                                     "troops_removed",
                                                     "alliance_war_cause",
                                                     "agreed",
                                                     "resolve_type",
                                                     "final_belief",
                                                     "offer",
                                                     "war_cost",
                                                     "ts_belief",
                                                     "ts_forces",
                                                     "ts_rung",
                                                     "ts_tension"};

// The first quantity in which replication r of the two blocks (of `count`
// replications each) differs, as "name[index]: vector vs twin"; empty if none.
inline std::string replication_difference(const BlockResult& v, const BlockResult& t, int r, int count) {
  std::ostringstream out;
  int array = 0;
  for_each_replication_array([&](auto member) {
    const char* name = kReplicationArrays[array++];
    const auto& a = v.*member;
    const auto& b = t.*member;
    if (!out.str().empty()) return;
    if (a.size() != b.size()) {
      out << name << " has " << a.size() << " values, the twin's " << b.size();
      return;
    }
    const std::size_t stride = a.size() / static_cast<std::size_t>(count);
    for (std::size_t k = static_cast<std::size_t>(r) * stride; k < (static_cast<std::size_t>(r) + 1) * stride; ++k)
      if (!same_value(a[k], b[k], std::string_view(name) == "offer")) {
        out.precision(17);
        out << name << "[" << k % stride << "]: " << +a[k] << " vs twin " << +b[k];
        return;
      }
  });
  return out.str();
}

// The first record sum that differs, empty if none: rung counts exactly,
// troop sums to 1e-9 relative, belief sums (of floats) to kFloatTolerance.
inline std::string record_sum_difference(const BlockResult& v, const BlockResult& t) {
  std::ostringstream out;
  out.precision(17);
  auto check = [&](const char* name, const auto& a, const auto& b, auto same) {
    if (!out.str().empty()) return;
    if (a.size() != b.size()) out << name << " has " << a.size() << " values, the twin's " << b.size();
    for (std::size_t k = 0; k < a.size() && k < b.size() && out.str().empty(); ++k)
      if (!same(a[k], b[k])) out << name << "[" << k << "]: " << +a[k] << " vs twin " << +b[k];
  };
  check("record_rung_count", v.record_rung_count, t.record_rung_count, [](int a, int b) { return a == b; });
  check("record_troops_sum", v.record_troops_sum, t.record_troops_sum,
        [](double a, double b) { return close(a, b, kDoubleTolerance); });
  check("record_belief_sum", v.record_belief_sum, t.record_belief_sum,
        [](double a, double b) { return close(a, b, kFloatTolerance); });
  return out.str();
}

// The blocks each scenario runs through both: full blocks, the partly filled
// one, and a packed block of three points' segments (`segments` keeps them).
inline std::vector<BlockSpec> twin_blocks(const Model& model, std::vector<LaneSegment>* segments) {
  std::vector<BlockSpec> specs;
  for (int block = 0; block < kFullBlocks; ++block) specs.push_back({3, block * kBlockLanes, kBlockLanes});
  specs.push_back({3, kFullBlocks * kBlockLanes, kPartialCount});
  *segments = {{&model, 4, 100, 40}, {&model, 5, 0, 48}, {&model, 6, 7, 24}};
  BlockSpec packed{0, 0, 112};
  packed.segments = *segments;
  specs.push_back(packed);
  return specs;
}

// Every block of twin_blocks through `vectorized` and `scalar` (each a
// function of a model and a block spec), for every scenario of twin_models:
// the same private types; the same outcome and end step in at least 99.9% of
// replications, and in each such replication every recorded quantity equal
// (integers exactly, doubles to 1e-9 relative, floats to kFloatTolerance);
// the record sums equal in every block whose replications all agree; and
// equal outcome distributions.
template <class Vectorized, class Scalar>
void expect_twin_agrees(Vectorized&& vectorized, Scalar&& scalar) {
  for (const Named& s : twin_models()) {
    SCOPED_TRACE(s.name);
    std::vector<std::int8_t> vector_outcomes, scalar_outcomes;
    std::int64_t same = 0, total = 0, differ = 0;
    std::string first_difference;
    std::vector<LaneSegment> segments;
    for (const BlockSpec& spec : twin_blocks(s.model, &segments)) {
      const std::string where = spec.segments.empty()
                                    ? "the block from replication " + std::to_string(spec.first_replication)
                                    : "the packed block";
      SCOPED_TRACE(where);
      const BlockResult v = vectorized(s.model, spec);
      const BlockResult t = scalar(s.model, spec);
      ASSERT_EQ(v.resolve_type, t.resolve_type);  // drawn at step 0 from the same streams: identical
      bool all_same = true;
      for (int r = 0; r < spec.count; ++r) {
        ++total;
        if (v.outcome[r] != t.outcome[r] || v.end_step[r] != t.end_step[r]) {
          all_same = false;
          continue;
        }
        ++same;
        const std::string difference = replication_difference(v, t, r, spec.count);
        if (difference.empty()) continue;
        all_same = false;
        if (differ++ == 0) first_difference = "replication " + std::to_string(r) + " of " + where + ": " + difference;
      }
      if (all_same) {
        EXPECT_EQ(record_sum_difference(v, t), "");
      }
      vector_outcomes.insert(vector_outcomes.end(), v.outcome.begin(), v.outcome.end());
      scalar_outcomes.insert(scalar_outcomes.end(), t.outcome.begin(), t.outcome.end());
    }
    EXPECT_EQ(differ, 0) << "replications with the same outcome and end step and another recorded quantity; the first, "
                         << first_difference;
    EXPECT_GE(static_cast<double>(same), 0.999 * static_cast<double>(total))
        << same << " of " << total << " replications with the same outcome and end step";
    EXPECT_TRUE(same_distribution(vector_outcomes, scalar_outcomes, 0.001));
  }
}

}  // namespace brink::twin_compare
