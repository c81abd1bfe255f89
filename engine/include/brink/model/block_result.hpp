// What a block of replications hands from the kernel to the recorder, and
// where it sits in the sweep. Plain data: no Eigen, no HDF5, so that the
// sweep and output layers can use it without seeing the kernel.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace brink {

class Model;

// Lanes per block. Fixed by the engine, never by the thread count, and a
// multiple of every SIMD width: a replication always starts in the same lane
// of the same block (and moves, when finished lanes retire, only as the
// block's own state says), so vectorized math rounds identically in every run.
inline constexpr int kBlockLanes = 256;
// Lanes retire from a block's passes a group at a time: a vector of floats on AVX-512.
inline constexpr int kLaneGroup = 16;

enum Pool : int { kDeployed = 0, kReady = 1, kReserve = 2, kPoolCount = 3 };

// A run of consecutive lanes that belongs to one sweep point (e.g. one
// calibration particle) in a packed block (docs/calibration.md, "Packed
// blocks"). Its model may differ from the block's only in fields the field
// table marks per_lane; every other field is read from the block's model.
// Replication r of the segment draws the random numbers it would draw alone:
// stream (seed, point) at replication first_replication + r.
struct LaneSegment {
  const Model* model = nullptr;
  std::int64_t point = 0;
  std::int64_t first_replication = 0;
  int count = 0;
};

struct BlockSpec {
  std::int64_t point = 0;
  std::int64_t first_replication = 0;
  int count = kBlockLanes;  // replications kept; lanes past it are simulated and dropped
  // Empty: every lane is replication first_replication + lane of `point`.
  // Otherwise the segments fill lanes 0, 1, ... in order (their counts sum to
  // at most kBlockLanes, and to `count`); point and first_replication are
  // then unused. The caller keeps the segments and their models alive.
  std::span<const LaneSegment> segments{};
  // With segments: the record sums per segment (segments × records × …, each
  // over its own replications in replication order, as a block of that
  // segment alone of at most kLaneGroup replications sums them) instead of
  // over the block. Sweeps of few replications per point share blocks this
  // way (SweepPlan::points_per_block).
  bool sums_per_segment = false;
  // Finished lanes leave the step's passes (BlockSimulator::retire_finished).
  // Every per-replication result is the same without; false is for the tests
  // and benchmarks that compare the two.
  bool retire_finished = true;
};

// What a block hands to the recorder; arrays are replication-major.
struct BlockResult {
  BlockSpec spec;
  bool interrupted = false;  // stopped between steps on request: holds no data
  std::vector<std::int8_t> outcome, peak_rung;
  std::vector<std::int32_t> end_step, war_start_step, war_end_step, first_incident_step, incidents;
  std::vector<double> casualties;               // count × actors
  std::vector<double> final_forces;             // count × actors × pools
  std::vector<std::int32_t> action_count;       // count × actors × action kinds
  std::vector<double> troops_added;             // count × actors: reinforcements
  std::vector<double> troops_removed;           // count × actors: demobilized
  std::vector<std::int8_t> alliance_war_cause;  // count
  std::vector<std::int8_t> agreed;              // count × issues: 1 if agreed by the end
  std::vector<std::int8_t> resolve_type;        // count × actors
  std::vector<float> final_belief;              // count × actors × type slots (Scenario::type_slots)
  std::vector<double> offer;                    // count: the latest demand (bargaining), NaN if none
  std::vector<double> war_cost;                 // count × actors: private war costs (bargaining and war)
  std::vector<float> ts_belief;                 // count × records × actors × type slots (empty if off)
  // Sums over the block's kept replications at each record (always filled;
  // per segment first with spec.sums_per_segment):
  std::vector<std::int32_t> record_rung_count;  // records × rungs
  std::vector<double> record_troops_sum;        // records × actors × pools
  std::vector<double> record_belief_sum;        // records × actors × type slots
  std::vector<float> ts_forces;                 // count × records × actors × pools (empty if off)
  std::vector<std::int8_t> ts_rung;             // count × records
  std::vector<float> ts_tension;                // count × records
  // Filled on the worker thread by the sink (ResultSink::encode) and opaque
  // to everyone else: e.g. the block's compressed HDF5 chunks, one per
  // variable, so that the single writer thread only stores bytes.
  std::vector<std::vector<std::uint8_t>> encoded;
};

// The arrays of a BlockResult, as member pointers: f(&BlockResult::outcome)
// and so on. Per replication first (count × …, replication-major), then
// the record sums (records × …, per segment first with
// spec.sums_per_segment). A field added to BlockResult changes its size and
// trips the static_assert, so it cannot be forgotten here (the MPI wire and
// the cut of a shared block into its points use this list).
template <class F>
void for_each_replication_array(F&& f) {
  f(&BlockResult::outcome);
  f(&BlockResult::peak_rung);
  f(&BlockResult::end_step);
  f(&BlockResult::war_start_step);
  f(&BlockResult::war_end_step);
  f(&BlockResult::first_incident_step);
  f(&BlockResult::incidents);
  f(&BlockResult::casualties);
  f(&BlockResult::final_forces);
  f(&BlockResult::action_count);
  f(&BlockResult::troops_added);
  f(&BlockResult::troops_removed);
  f(&BlockResult::alliance_war_cause);
  f(&BlockResult::agreed);
  f(&BlockResult::resolve_type);
  f(&BlockResult::final_belief);
  f(&BlockResult::offer);
  f(&BlockResult::war_cost);
  f(&BlockResult::ts_belief);
  f(&BlockResult::ts_forces);
  f(&BlockResult::ts_rung);
  f(&BlockResult::ts_tension);
}
template <class F>
void for_each_record_sum(F&& f) {
  f(&BlockResult::record_rung_count);
  f(&BlockResult::record_troops_sum);
  f(&BlockResult::record_belief_sum);
}
inline constexpr std::size_t kBlockResultArrays = 25;  // the two lists above, and not `encoded`
static_assert(sizeof(BlockResult) == sizeof(BlockSpec) + 8 + (kBlockResultArrays + 1) * sizeof(std::vector<int>),
              "BlockResult changed: add the new field to for_each_replication_array or for_each_record_sum");

}  // namespace brink
