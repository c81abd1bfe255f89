// The choice and the belief update of the decision phase (docs/model.md,
// "2. Decisions"): logit quantal response per type, one draw per lane from
// its own type's weights, then Bayes' rule on the public belief about the
// actor's type from the action it took.
#include <algorithm>
#include <limits>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"
#include "lane_vector.hpp"
#include "packet_math.hpp"

namespace brink {

namespace {

// One (type, action) column of the logit, a chunk of lanes at a time: the
// exponent, its exp (packet_math.hpp: Eigen's bits), the floor and the feasibility, the weight
// stored in place of the utility and added to the type's total. Lane for lane
// the same operations as separate passes over the lanes in play; the chunk
// stays in L1 between them. Chunks are 64 lanes (fixed-size loops that GCC
// vectorizes; 16-lane ones it left scalar), the last one the rest of the
// width (a multiple of kLaneGroup, so exp runs in whole packets).
template <int kChunk>
void logit_chunk(float* __restrict u, const LaneMask* __restrict ok, const float* __restrict best,
                 const float* __restrict lambda, float* __restrict total, int count) {
  constexpr int kMax = kChunk > 0 ? kChunk : 64;
  const int n = kChunk > 0 ? kChunk : count;
  alignas(64) float e[kMax];
  for (int j = 0; j < n; ++j) e[j] = rules::logit_exponent(u[j], best[j], lambda[j]);
  logit_exp_in_place(e, n);
  for (int j = 0; j < n; ++j) {
    const float w = rules::logit_weight(e[j], ok[j] != 0);
    u[j] = w;
    total[j] += w;
  }
}

void logit_weights(float* __restrict u, const LaneMask* __restrict ok, const float* __restrict best,
                   const float* __restrict lambda, float* __restrict total, int width) {
  constexpr int kChunk = 64;
  int c = 0;
  for (; c + kChunk <= width; c += kChunk) logit_chunk<kChunk>(u + c, ok + c, best + c, lambda + c, total + c, kChunk);
  if (c < width) logit_chunk<0>(u + c, ok + c, best + c, lambda + c, total + c, width - c);
}

// The inverse-CDF draw of every lane: the number of actions whose cumulative
// own-type weight is at most the target (rules::passed), capped at the last
// action of positive weight; a vector of lanes at a time, its sums in
// registers over the menu. kTypes > 0 fixes the number of types (the select
// of the own type's weight unrolls), 0 takes it at run time.
//
// Returns the entries some running lane chose, bit m for entry m (all bits
// from 32 on and every bit when the menu is longer: they cannot be told).
template <int kTypes, class Scratch>
std::uint32_t scan_menu(const Scratch& x, const int* type, const float* target, int type_count, int menu, int width,
                        int* choice) {
  using namespace lane_vector;
  const int types = kTypes > 0 ? kTypes : type_count;
  Ints taken = {};
  for (int g = 0; g < width; g += kLanes) {
    const Ints own_type = load<Ints>(type + g);
    const Floats goal = load<Floats>(target + g);
    Floats sum = {};
    Ints chosen = {}, last_possible = {};
    for (int m = 0; m < menu; ++m) {
      Floats own = load<Floats>(x.util(0, m) + g);
      for (int k = 1; k < types; ++k) own = own_type == k ? load<Floats>(x.util(k, m) + g) : own;
      sum += own;
      chosen += rules::passed(sum, goal);
      last_possible = own > 0.0f ? m : last_possible;
    }
    // Rounding can leave the cumulative sum at or below the target: the last possible action.
    const Ints pick = chosen < last_possible ? chosen : last_possible;
    store(choice + g, pick);
    taken |= load<Ints>(x.running + g) != 0 ? (Ints{} + 1) << (pick & 31) : Ints{};
  }
  if (menu > 32) return ~std::uint32_t{0};
  std::uint32_t bits = 0;
  for (int l = 0; l < kLanes; ++l) bits |= static_cast<std::uint32_t>(taken[l]);
  return bits;
}

}  // namespace

// Logit quantal response per type, then one draw per lane from its own type's
// weights by inverse CDF.
void BlockSimulator::choose(int i, int /*s*/) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const Actor& actor = sc_.actors[i];
  const int menu = static_cast<int>(actor.actions.size());
  const int type_count = static_cast<int>(actor.types.size());
  const float* lambda = x.rationality.data() + static_cast<std::size_t>(i) * L;
  for (int k = 0; k < type_count; ++k) {
    // The best feasible utility: a vector of lanes' maximum stays in a register over the menu.
    float* best = x.best.data();
    for (int g = 0; g < width; g += lane_vector::kLanes) {
      using namespace lane_vector;
      const Floats lowest = Floats{} - std::numeric_limits<float>::infinity();
      Floats highest = lowest;
      for (int m = 0; m < menu; ++m) {
        const Floats u = load<Floats>(x.util(k, m) + g);
        const Ints ok = load<Ints>(x.feasible.data() + static_cast<std::size_t>(m) * L + g);
        // std::max(highest, u) where feasible; the feasibility select stays
        // off the chain through `highest`, which is one maximum per action.
        const Floats candidate = ok != 0 ? u : lowest;
        highest = candidate > highest ? candidate : highest;
      }
      store(best + g, highest);
    }
    float* total = x.total.data() + static_cast<std::size_t>(k) * L;
    std::fill(total, total + width, 0.0f);
    for (int m = 0; m < menu; ++m)
      logit_weights(x.util(k, m), x.feasible.data() + static_cast<std::size_t>(m) * L, best, lambda, total, width);
  }
  // The draw's target u·Σw over the lane's own type's weights, then the scan
  // over the menu, a vector of lanes at a time with its sums in registers:
  // the own type's weight is a select over the types.
  const int* type = state_.type.col(i).data();
  const float* u = x.decision_u.data() + static_cast<std::size_t>(i) * L;
  int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
  float* target = x.best.data();
  for (int l = 0; l < width; ++l) target[l] = x.total[l];
  for (int k = 1; k < type_count; ++k) {
    const float* total_k = x.total.data() + static_cast<std::size_t>(k) * L;
    for (int l = 0; l < width; ++l) target[l] = type[l] == k ? total_k[l] : target[l];
  }
  for (int l = 0; l < width; ++l) target[l] *= u[l];
  using Scan = std::uint32_t (*)(const Scratch&, const int*, const float*, int, int, int, int*);
  static constexpr Scan kScans[3] = {&scan_menu<0, Scratch>, &scan_menu<1, Scratch>, &scan_menu<2, Scratch>};
  x.taken[static_cast<std::size_t>(i)] =
      kScans[type_count <= 2 ? type_count : 0](x, type, target, type_count, menu, width, choice);
}

// Bayes' rule on the public belief about actor i's type, from its choice.
void BlockSimulator::update_beliefs(int i) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const Actor& actor = sc_.actors[i];
  const int menu = static_cast<int>(actor.actions.size());
  const int type_count = static_cast<int>(actor.types.size());
  const int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
  float* evidence = x.best.data();
  std::fill(evidence, evidence + width, 0.0f);
  // The likelihood of the observed action under type k, P_k(a*) = w_k(a*)/Σw_k,
  // into util(k, 0)'s place once the chosen action's weight is selected (over
  // the entries some running lane took: only running lanes update).
  const std::uint32_t taken = x.taken[static_cast<std::size_t>(i)];
  for (int k = 0; k < type_count; ++k) {
    float* like = x.others_sum;
    std::fill(like, like + width, 0.0f);
    for (int m = 0; m < menu; ++m) {
      if (m < 32 && ((taken >> m) & 1u) == 0) continue;
      const float* w = x.util(k, m);
      for (int l = 0; l < width; ++l) like[l] = choice[l] == m ? w[l] : like[l];
    }
    const float* total = x.total.data() + static_cast<std::size_t>(k) * L;
    float* b = st.belief.col(i * kMaxTypes + k).data();
    float* likelihood = x.util(k, 0);  // the weights of type k are no longer needed after this
    for (int l = 0; l < width; ++l) {
      likelihood[l] = like[l] / total[l];
      evidence[l] += b[l] * likelihood[l];
    }
  }
  for (int k = 0; k < type_count; ++k) {
    const float* likelihood = x.util(k, 0);
    float* b = st.belief.col(i * kMaxTypes + k).data();
    for (int l = 0; l < width; ++l) b[l] = x.running[l] ? rules::posterior(b[l], likelihood[l], evidence[l]) : b[l];
  }
}

}  // namespace brink
