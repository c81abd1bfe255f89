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

// Type k's logit over the whole menu, a packet of lanes at a time with the
// packet's best feasible utility and its total weight in registers: the
// weight exp(λ·(U − U_best)) (rules::logit_exponent, logit_exp, rules::
// logit_weight, lane for lane the same operations) is stored in place of
// the utility and summed over the menu in menu order, as the scalar twin
// sums it. One pass over the menu's utilities for the maximum and one for
// the weights; nothing in between goes through memory.
// Eigen's packets are vector types with attributes (packet_math.hpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
template <class Scratch>
void logit_weights(Scratch& x, int k, int menu, const float* __restrict lambda, float* __restrict total, int width) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<float>::type;
  using PacketI = ei::unpacket_traits<Packet>::integer_packet;
  constexpr int kSize = ei::unpacket_traits<Packet>::size;
  static_assert(kLaneGroup % kSize == 0, "a lane group holds whole packets");
  const Packet lowest = ei::pset1<Packet>(-std::numeric_limits<float>::infinity());
  const Packet exponent_floor = ei::pset1<Packet>(rules::kLogitFloor - 1.0f);
  const Packet weight_floor = ei::pset1<Packet>(rules::kWeightFloor);
  const PacketI infeasible = ei::pset1<PacketI>(0);
  // Action m's lanes are at column m of each (the columns are L apart); no
  // member of x is read inside the loops, where the stores could alias it.
  float* const utility = x.util(k, 0);
  const LaneMask* const ok = x.feasible.data();
  auto feasible = [&](int m, int g) {
    const PacketI mask = ei::ploadu<PacketI>(ok + static_cast<std::ptrdiff_t>(m) * L + g);
    return ei::preinterpret<Packet>(ei::pandnot(ei::ptrue(mask), ei::pcmp_eq(mask, infeasible)));
  };
  for (int g = 0; g < width; g += kSize) {
    Packet best = lowest;
    for (int m = 0; m < menu; ++m) {
      // The feasibility select stays off the chain through `best`, which is one maximum per action.
      const Packet u = ei::ploadu<Packet>(utility + static_cast<std::ptrdiff_t>(m) * L + g);
      const Packet candidate = ei::pselect(feasible(m, g), u, lowest);
      best = ei::pselect(ei::pcmp_lt(best, candidate), candidate, best);
    }
    const Packet lam = ei::ploadu<Packet>(lambda + g);
    Packet sum = ei::pzero(best);
    for (int m = 0; m < menu; ++m) {
      float* u = utility + static_cast<std::ptrdiff_t>(m) * L + g;
      const Packet scaled = ei::pmul(ei::psub(ei::ploadu<Packet>(u), best), lam);
      const Packet exponent = ei::pselect(ei::pcmp_lt(scaled, exponent_floor), exponent_floor, scaled);
      const Packet e = logit_exp(exponent);
      const Packet w = ei::pand(ei::pand(feasible(m, g), ei::pcmp_lt(weight_floor, e)), e);
      ei::pstoreu(u, w);
      sum = ei::padd(sum, w);
    }
    ei::pstoreu(total + g, sum);
  }
}
#pragma GCC diagnostic pop

// The inverse-CDF draw of every lane: the number of actions whose cumulative
// own-type weight is at most the target (rules::passed), capped at the last
// action of positive weight; a vector of lanes at a time, its sums in
// registers over the menu. kTypes > 0 fixes the number of types (the select
// of the own type's weight unrolls), 0 takes it at run time.
template <int kTypes, class Scratch>
void scan_menu(const Scratch& x, const int* type, const float* target, int type_count, int menu, int width,
               int* choice) {
  using namespace lane_vector;
  const int types = kTypes > 0 ? kTypes : type_count;
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
    store(choice + g, chosen < last_possible ? chosen : last_possible);
  }
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
  for (int k = 0; k < type_count; ++k)
    logit_weights(x, k, menu, lambda, x.total.data() + static_cast<std::size_t>(k) * L, width);
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
  using Scan = void (*)(const Scratch&, const int*, const float*, int, int, int, int*);
  static constexpr Scan kScans[3] = {&scan_menu<0, Scratch>, &scan_menu<1, Scratch>, &scan_menu<2, Scratch>};
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
  // into util(k, 0)'s place once the chosen action's weight is selected.
  for (int k = 0; k < type_count; ++k) {
    float* like = x.others_sum;
    std::fill(like, like + width, 0.0f);
    for (int m = 0; m < menu; ++m) {
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
