// "Identical random draws", tested directly: every uniform a vectorized
// kernel draws from its lane-parallel Philox (each actor's choice word, the
// incident's occurrence words, the bargaining stream) equals, bit for bit,
// the scalar twin's draw (scalar_twin.hpp, twin_draw) for the replication at
// that position, in every step, over full blocks, the partly filled block and
// a packed block of three points (twin_compare::twin_blocks), on every path
// (scalar_twin_test.cpp, path_twin_test.cpp). Finished lanes retire as the
// blocks run, so the widths drawn go through every multiple of 16.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "brink/model/bargaining.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/observe.hpp"
#include "brink/model/scalar_twin.hpp"
#include "twin_compare.hpp"

namespace brink::twin_draws {

// Where block lane r's replication comes from: its segment's model, point
// and replication in a packed block, else the block's.
struct LaneStream {
  const Model* model = nullptr;
  std::int64_t point = 0;
  std::uint32_t replication = 0;
  StreamKey key() const { return model->stream(point); }
};
inline LaneStream lane_stream(const Model& model, const BlockSpec& spec, int r) {
  if (spec.segments.empty()) return {&model, spec.point, static_cast<std::uint32_t>(spec.first_replication + r)};
  for (const LaneSegment& seg : spec.segments) {
    if (r < seg.count) return {seg.model, seg.point, static_cast<std::uint32_t>(seg.first_replication + r)};
    r -= seg.count;
  }
  return {&model, spec.point, 0};  // past the segments: padding, never compared
}

struct Check {
  const Model* model = nullptr;
  const BlockSpec* spec = nullptr;
  std::int64_t compared = 0, wrong = 0, bargain_steps = 0;
  std::string first_wrong;
  // By block lane: finished before the step, and its beliefs then.
  std::vector<std::uint8_t> finished;
  std::vector<float> belief;
  std::int64_t frozen_compared = 0, moved = 0;
  std::string first_moved;
};

inline std::string moved_message(int step, std::size_t lane, std::size_t column, float before, float now) {
  std::ostringstream out;
  out.precision(9);
  out << "step " << step << ", block lane " << lane << ", belief column " << column << ": " << before << " became "
      << now;
  return out.str();
}

// The twin stops deciding, and so learning, when its replication finishes:
// in the kernel, a lane finished before a step (in play or retired, wherever
// it sits) keeps its beliefs bit for bit. Comparing the kernel's final beliefs
// with the twin's cannot see this: both round differently by up to 1e-6.
inline void check_finished_beliefs(Check& c, const StepView& v) {
  const BlockState& st = *v.state;
  const auto columns = static_cast<std::size_t>(st.belief.cols());
  if (c.finished.empty()) {
    c.finished.assign(kBlockLanes, 0);
    c.belief.assign(kBlockLanes * columns, 0.0f);
  }
  for (int p = 0; p < kBlockLanes; ++p) {
    const auto r = static_cast<std::size_t>(v.origin[p]);
    for (std::size_t k = 0; k < columns; ++k) {
      const float now = st.belief(p, static_cast<Eigen::Index>(k));
      float& before = c.belief[r * columns + k];
      if (c.finished[r] && std::bit_cast<std::uint32_t>(now) != std::bit_cast<std::uint32_t>(before) && c.moved++ == 0)
        c.first_moved = moved_message(v.step, r, k, before, now);
      c.frozen_compared += c.finished[r];
      before = now;
    }
    c.finished[r] = st.outcome(p) >= 0;
  }
}

inline void note(Check& c, const StepView& v, int position, const char* what, double kernel, double twin) {
  if (std::bit_cast<std::uint64_t>(kernel) == std::bit_cast<std::uint64_t>(twin)) return;
  if (c.wrong++ > 0) return;
  std::ostringstream out;
  out.precision(17);
  out << what << " at step " << v.step << ", position " << position << " of width " << v.width << " (block lane "
      << v.origin[position] << "): kernel " << kernel << ", twin " << twin;
  c.first_wrong = out.str();
}

// After each step: every kept lane's draws at every position the step drew.
inline void check_step(void* context, const StepView& v) {
  Check& c = *static_cast<Check*>(context);
  const Scenario& sc = c.model->scenario();
  const int n = c.model->actors();
  const Bargaining& bg = sc.bargaining;
  const bool bargains = sc.run.decisions && bg.enabled() && bg.acceptance_noise > 0.0 &&
                        rules::offer_round(v.step, sc.run.dt_days, bg) >= 0;
  if (bargains != (v.bargain != nullptr))
    note(c, v, 0, "bargaining draw made (1) or not (0)", v.bargain != nullptr, bargains);
  c.bargain_steps += v.bargain != nullptr;
  check_finished_beliefs(c, v);
  for (int p = 0; p < v.width; ++p) {
    const int r = v.origin[p];
    if (r >= c.spec->count) continue;  // padding: simulated and dropped
    const LaneStream ls = lane_stream(*c.model, *c.spec, r);
    for (int i = 0; i < n; ++i) {
      if (!sc.run.decisions || sc.actors[static_cast<std::size_t>(i)].actions.size() < 2) continue;
      const float u = v.decision[static_cast<std::size_t>(i) * kBlockLanes + static_cast<std::size_t>(p)];
      const float twin = twin_draw::choice(ls.key(), ls.replication, v.step, i);
      if (std::bit_cast<std::uint32_t>(u) != std::bit_cast<std::uint32_t>(twin))
        note(c, v, p, "choice uniform", u, twin);
      ++c.compared;
    }
    note(c, v, p, "incident uniform", v.incident[p], twin_draw::incident(ls.key(), ls.replication, v.step, n));
    ++c.compared;
    if (v.bargain == nullptr) continue;
    note(c, v, p, "bargaining uniform", v.bargain[p],
         twin_draw::bargain(ls.key(), ls.replication, v.step, bg.receiver));
    ++c.compared;
  }
}

// `observe` runs a block under an observer: observe_block, or a path's
// KernelTable::observe_block.
template <class Observe>
void expect_same_draws(Observe&& observe) {
  std::int64_t bargain_steps = 0;
  for (const twin_compare::Named& s : twin_compare::twin_models()) {
    SCOPED_TRACE(s.name);
    std::vector<LaneSegment> segments;
    const std::vector<BlockSpec> specs = twin_compare::twin_blocks(s.model, &segments);
    // The first full block, the partly filled one and the packed one.
    for (const BlockSpec* spec : {&specs.front(), &specs[specs.size() - 2], &specs.back()}) {
      Check check;
      check.model = &s.model;
      check.spec = spec;
      observe(s.model, *spec, BlockObserver{&check, nullptr, &check_step});
      EXPECT_EQ(check.wrong, 0) << "of " << check.compared << " draws; the first: " << check.first_wrong;
      EXPECT_GT(check.compared, 0);
      EXPECT_EQ(check.moved, 0) << "beliefs of finished replications moved, of " << check.frozen_compared
                                << " compared; the first: " << check.first_moved;
      bargain_steps += check.bargain_steps;
    }
  }
  EXPECT_GT(bargain_steps, 0) << "no scenario drew the bargaining stream";
}

}  // namespace brink::twin_draws
