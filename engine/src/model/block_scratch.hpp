// Working arrays of BlockSimulator, sized once per block so that a step
// allocates nothing. Private to engine/src/model.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <vector>

#include "brink/model/kernel.hpp"

namespace brink {

inline constexpr int L = kBlockLanes;

struct BlockSimulator::Scratch {
  explicit Scratch(const Scenario& sc);

  int menu_max = 1, types_max = 1;
  // Masks of the step, over lanes.
  double active[L];            // 1 where the outcome was open at the start of the step
  std::uint8_t running[L];     // active, as a byte mask
  std::uint8_t mask[L];        // a phase's selection of lanes
  float at_war[L];             // 1 where any actor fights
  float tension_factor[L];     // 1 + T, the escalation feature's scale
  std::vector<float> believed_resolve;  // actors × L: r̄_j, before anyone acts
  // Per deciding actor (reused actor after actor).
  float own[L], own_deployed[L], threat_resolve[L];
  float open_party[L], open_movable[L], propose_gain[L], concede_gain[L], propose_settle[L], concede_settle[L];
  float escalation[L], feature_a[L], feature_b[L], log_arg[L];
  float others_sum[L], others_move[L];
  std::vector<double> amount;         // menu × L: troops the action would move
  std::vector<std::uint8_t> feasible; // menu × L
  std::vector<float> utility;         // types × menu × L, then λ(U − U*), then the logit weights
  std::vector<float> total;           // types × L: Σ weights
  std::vector<float> best;            // L
  std::vector<int> choice;            // actors × L: the menu index chosen
  std::uint32_t words[4][L];          // one Philox call's output per lane
  std::vector<float> decision_u;      // actors × L: the decision uniforms
  double contact[L], hazard[L], draw[L];
  std::vector<double> desired;        // actors × L (posture)

  float* util(int type, int m) { return utility.data() + (static_cast<std::size_t>(type) * menu_max + m) * L; }
};

}  // namespace brink
