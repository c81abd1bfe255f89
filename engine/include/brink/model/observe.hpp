// A vectorized block seen from outside while it runs, step by step: what the
// scalar twin's and the allocation tests need of every kernel path, including
// the shared objects the brink binary loads (KernelTable::observe_block). It
// changes nothing the block computes.
#pragma once

#include <cstdint>

#include "brink/model/block_result.hpp"

namespace brink {

struct BlockState;

// A block right after step `step`: its state by position, and the uniforms
// the step drew from the vectorized Philox (every other draw is a scalar
// Random123 call), each for positions [0, width).
struct StepView {
  int step = 0;
  int width = 0;                         // the positions the step's passes covered
  const std::int32_t* origin = nullptr;  // the block lane at each position (BlockSimulator::block_lane)
  const BlockState* state = nullptr;
  // actors × kBlockLanes: each actor's choice uniform; only the rows of actors
  // that choose (decisions on, more than one action) were drawn.
  const float* decision = nullptr;
  const double* incident = nullptr;  // the incident's occurrence uniform
  const double* bargain = nullptr;   // the receiver's acceptance uniform; nullptr if the step drew none
};

// Calls before_step just before each step the block runs and after_step just
// after it (either may be nullptr). A frozen block runs no more steps, as in
// simulate_block.
struct BlockObserver {
  void* context = nullptr;
  void (*before_step)(void* context, int step) = nullptr;
  void (*after_step)(void* context, const StepView& view) = nullptr;
};

// Runs a block from step 0 to the horizon under `observer`; returns nothing
// (simulate_block gives the results).
void observe_block(const Model& model, const BlockSpec& spec, const BlockObserver& observer);

}  // namespace brink
