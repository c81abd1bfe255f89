// Working arrays of BlockSimulator, sized once per block so that a step
// allocates nothing. Private to engine/src/model.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <cstring>
#include <vector>

#include "brink/model/kernel.hpp"

namespace brink {

inline constexpr int L = kBlockLanes;
using LaneMask = std::int32_t;

// Whether any of the 16 masks from `group` on is set, in a few vector
// instructions: the OR of two 256-bit halves, then of its four 64-bit words
// (a loop of 16 ORs stays scalar in GCC).
inline bool any_marked(const LaneMask* group) {
  using Half = std::uint64_t __attribute__((vector_size(32)));
  Half low, high;
  std::memcpy(&low, group, sizeof low);
  std::memcpy(&high, group + 8, sizeof high);
  const Half both = low | high;
  return (both[0] | both[1] | both[2] | both[3]) != 0;
}

// Calls f(g, g + 16) for every group of 16 lanes below `width` in which a
// mask is set, in lane order.
template <class F>
void for_each_marked_group(const LaneMask* mask, int width, F&& f) {
  static_assert(kLaneGroup == 16);
  for (int g = 0; g < width; g += kLaneGroup)
    if (any_marked(mask + g)) f(g, g + kLaneGroup);
}

// Calls f(r) for every lane r whose mask is set, in lane order, looking at
// a group of 16 lanes only if one of them is set: the loop of a rare
// per-lane event (a war starting, an incident) then costs a sixteenth of a
// scan in steps where the event is rare.
template <class F>
void for_each_marked_lane(const LaneMask* mask, int width, F&& f) {
  for_each_marked_group(mask, width, [&](int g, int end) {
    for (int r = g; r < end; ++r)
      if (mask[r] != 0) f(r);
  });
}

// One type's weights for one action's utility (decide.cpp).
struct TypeWeights {
  float security, cost, escalation, a, b, impatience;
};

// One issue's terms for one actor, in one pass over the lanes (decide.cpp,
// issue_pass; docs/model.md, "Issue aggregates").
struct IssuePass {
  const int* agreed;
  const float* p_own;
  const float* const* p_other;  // the other parties' positions and flexibilities (1 − salience)
  const float* flex_other;
  int others;
  int width;  // the lanes in play
  float s_own, flex, inv;
  bool movable, core;
};
using IssuePassFn = void (*)(const IssuePass&, float*, float*, float*, float*, float*, float*);

// An issue's pass for one actor, fixed when the block is set up (the
// columns it reads do not move): the per-step work is the pass alone.
struct IssuePlan {
  IssuePass pass{};
  IssuePassFn run = nullptr;  // nullptr: no other party or none that can move, only the open counts
  std::vector<const float*> p_other;
  std::vector<float> flex_other;
};

// One actor's columns that combat reads (kernel.cpp).
struct CombatColumns {
  const double* deployed;
  const double* kill_rate;
  const double* effectiveness;
  const double* defence;
  const int* side;
};

// Every working array starts on a 64-byte boundary, so Eigen's vectorized
// exp and log process each one in whole packets: with a varying alignment
// they would round a varying head of it in scalar code, and the bits would
// depend on where malloc put the array.
template <class T>
using AlignedVector = std::vector<T, Eigen::aligned_allocator<T>>;

struct BlockSimulator::Scratch {
  explicit Scratch(const Scenario& sc);

  int menu_max = 1, types_max = 1;
  // Masks of the step, over lanes.
  alignas(64) double active[L];           // 1 where the outcome was open at the start of the step
  alignas(64) LaneMask running[L];        // active, as a 32-bit mask (the width of the masks and ints it meets)
  alignas(64) LaneMask mask[L];           // a phase's selection of lanes
  alignas(64) float at_war[L];            // 1 where any actor fights
  alignas(64) float tension_factor[L];    // 1 + T, the escalation feature's scale
  AlignedVector<float> believed_resolve;  // actors × L: r̄_j, before anyone acts
  // Per deciding actor (reused actor after actor).
  alignas(64) float own[L], own_deployed[L], threat_resolve[L];
  alignas(64) float open_party[L], open_movable[L], propose_gain[L], concede_gain[L], propose_settle[L],
      concede_settle[L];
  alignas(64) float escalation[L], feature_a[L], feature_b[L], log_arg[L];
  // An attack's features, kept for the actor's next attack on the same target (they do not depend on the rung).
  alignas(64) float attack_a[L], attack_b[L];
  // The last attack_war_value's forecast: p, and (with discounting or a casualty cost) δ^τ and the
  // attacker's expected losses, from which war_gain_as_type prices the attack as each type.
  alignas(64) double war_prevail[L], war_delta[L], war_loss[L];
  alignas(64) float others_sum[L];
  alignas(64) double amount[L];  // troops the action being weighed would move
  // menu × L, 0/1 as 32-bit integers: the width of the float utilities and
  // weights they select (byte masks cost a widening in every pass).
  AlignedVector<LaneMask> feasible;
  alignas(64) LaneMask any_feasible[L];
  AlignedVector<float> utility;  // types × menu × L, then λ(U − U*), then the logit weights
  AlignedVector<float> total;    // types × L: Σ weights
  AlignedVector<float> best;     // L
  AlignedVector<int> choice;     // actors × L: the menu index chosen
  // actors: bit m set when a running lane may have chosen entry m (the
  // effects skip the others; every bit from entry 32 on is set).
  std::vector<std::uint32_t> taken;
  std::uint32_t words[4][L];         // one Philox call's output per lane
  AlignedVector<float> decision_u;   // actors × L: the decision uniforms
  alignas(64) double incident_u[L];  // the incident's occurrence uniform
  // The receiver's acceptance uniform (bargain), and the step that drew it
  // (-1: none yet), kept for BlockSimulator::view.
  alignas(64) double bargain_u[L];
  int bargain_step = -1;
  alignas(64) double contact[L], hazard[L], defenders[L];
  alignas(64) float talk_lanes[L];  // talk_effect: 1 where the issue moves
  alignas(64) float talk_mean[L];   // talk_effect: the other parties' mean position
  // combat, over the list of fighting lanes: each one's lane and rung, the
  // sides' strengths and summed kill rates, the square law's terms (1 in
  // square_general where its general case applies), the strengths after the step.
  // The list and its sides are stored a vector at a time: room for one past the last lane.
  alignas(64) int fighting_lane[L + kLaneGroup], fighting_rung[L + kLaneGroup];
  alignas(64) double side_a[L + kLaneGroup], side_b[L + kLaneGroup], alpha_sum[L + kLaneGroup],
      beta_sum[L + kLaneGroup];
  alignas(64) double worth[L], gamma_t[L], expm1_of[L], square_general[L], after_a[L], after_b[L];
  std::vector<CombatColumns> combat_columns;        // actors: the columns combat reads
  alignas(64) int live[L], all_core[L], now[L];     // negotiation masks; incidents' candidates and hits
  AlignedVector<double> desired;                    // actors × L (posture)
  std::vector<std::uint8_t> talks;                  // actors: 1 if it has a propose or concede action
  std::vector<std::vector<IssuePlan>> issue_plans;  // actors × the issues they weigh
  std::vector<TypeWeights> type_weights;            // types: the deciding actor's weights for one action
  // Each position's block lane (BlockSimulator::block_lane), stream counter
  // words (replication, point) and segment (index into spec.segments, -1 past
  // them or in an ordinary block).
  alignas(64) std::int32_t origin[L];
  alignas(64) std::uint32_t lane_replication[L], lane_point[L];
  alignas(64) std::int32_t lane_segment[L];
  // Fields the field table marks per_lane, one value per lane: the block's
  // value in every lane unless the block is packed (the same arithmetic, so
  // ordinary runs keep their bits).
  AlignedVector<double> reaction, fatigue, grievance;  // actors × L: Richardson posture
  AlignedVector<double> start_deployed;                // actors × L: forces.deployed (settlement drawdown floor)
  // actors × L: deployment_rate·dt, mobilization_rate·dt, deployed_cap
  AlignedVector<double> rate_dt, mobilize_dt, cap;
  AlignedVector<double> kill_rate, defence;  // actors × L: combat.effectiveness, combat.defence_advantage
  AlignedVector<float> rationality;          // actors × L: decision.rationality (the logit's λ, float)
  // Packed blocks whose lanes' decision weights differ: actors × kMaxTypes ×
  // kFeatureCount × L (empty otherwise: the weights are one scalar per type).
  AlignedVector<float> lane_weights;
  alignas(64) float zero_lanes[L] = {};  // the weight of a feature an action does not have

  float* lane_weight(int actor, int type, int feature) {
    return lane_weights.data() +
           ((static_cast<std::size_t>(actor) * kMaxTypes + static_cast<std::size_t>(type)) * kFeatureCount +
            static_cast<std::size_t>(feature)) *
               L;
  }
  alignas(64) double base_rate[L], tension_rate[L], contact_rate[L];  // incident hazard terms
  alignas(64) double tension_jump[L], escalation_probability[L];      // an incident's effects
  alignas(64) double tension_keep[L];                                 // exp(-tension_decay · dt)

  double* lane_column(AlignedVector<double>& v, int actor) { return v.data() + static_cast<std::size_t>(actor) * L; }

  // Calls f(pointer, columns) for every working array that outlives a step:
  // they move with their lanes when finished lanes retire.
  template <class F>
  void for_each_lane_field(F&& f) {
    f(origin, 1), f(lane_replication, 1), f(lane_point, 1), f(lane_segment, 1);
    for (auto* v :
         {&reaction, &fatigue, &grievance, &start_deployed, &rate_dt, &mobilize_dt, &cap, &kill_rate, &defence})
      f(v->data(), static_cast<int>(v->size() / L));
    f(rationality.data(), static_cast<int>(rationality.size() / L));
    f(lane_weights.data(), static_cast<int>(lane_weights.size() / L));
    f(base_rate, 1), f(tension_rate, 1), f(contact_rate, 1), f(tension_jump, 1), f(escalation_probability, 1);
    f(tension_keep, 1);
  }

  float* util(int type, int m) { return utility.data() + (static_cast<std::size_t>(type) * menu_max + m) * L; }
  const float* util(int type, int m) const {
    return utility.data() + (static_cast<std::size_t>(type) * menu_max + m) * L;
  }
};

}  // namespace brink
