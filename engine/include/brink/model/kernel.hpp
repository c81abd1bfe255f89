// The simulation kernel: advances one block of replications step by step.
//
// Every state variable is an Eigen array over the block's lanes (structure of
// arrays); per-actor quantities are lanes × actors, column-major, so one
// actor's column is contiguous and vectorizes. The kernel sees only a
// validated Scenario and a StreamKey; it knows nothing of threads, files or
// the command line. See docs/model.md for the equations.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <vector>

#include "brink/model/rng.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// Lanes per block. Fixed by the engine, never by the thread count, and a
// multiple of every SIMD width: a replication always sits in the same lane of
// the same block, so vectorized math rounds identically in every run.
inline constexpr int kBlockLanes = 256;

enum Pool : int { kDeployed = 0, kReady = 1, kReserve = 2, kPoolCount = 3 };

// A scenario with its relations precomputed as index lists. Immutable once
// built; shared by all workers of a sweep point.
class Model {
 public:
  explicit Model(Scenario scenario);
  const Scenario& scenario() const { return scenario_; }
  int actors() const { return scenario_.actor_count(); }
  int steps() const { return steps_; }
  // The time grid of the file's `step` axis: the initial state, every K
  // steps (K = output.timeseries_every, or 1 when that is 0), and the horizon.
  int record_every() const;
  int records() const;
  int record_step(int record) const { return std::min(record * record_every(), steps_); }

  const std::vector<int>& adversaries(int actor) const { return adversaries_[actor]; }
  const std::vector<int>& allies(int actor) const { return allies_[actor]; }
  // Strongest commitment of any actor to protect `actor`, 0 if none.
  double protection(int actor) const { return protection_[actor]; }
  double commitment(int from, int to) const { return commitment_[from][to]; }

 private:
  Scenario scenario_;
  int steps_ = 0;
  std::vector<std::vector<int>> adversaries_;
  std::vector<std::vector<int>> allies_;
  std::vector<std::vector<double>> commitment_;
  std::vector<double> protection_;
};

// The step an event on `day` applies in: the one whose interval [s·dt, (s+1)·dt)
// covers the day, with a tolerance of 1e-9 steps for decimal days such as 1.3.
inline int event_step(double day, double dt) { return static_cast<int>(std::floor(day / dt + 1e-9)); }

// State of one block. Side codes: 0 not fighting, 1 attacking side, 2 defending side.
struct BlockState {
  Eigen::ArrayXXd deployed, ready, reserve;  // lanes × actors [troops]
  Eigen::ArrayXXd casualties;                // lanes × actors [troops]
  Eigen::ArrayXXd created, removed;          // reinforcements / demobilization [troops]
  Eigen::ArrayXXd effectiveness;             // multiplier from sanctions and arms aid [-]
  Eigen::ArrayXXi side;                      // lanes × actors
  Eigen::ArrayXXd position;                  // lanes × (issues·actors), issue-major [0..1]
  Eigen::ArrayXXi agreed;                    // lanes × issues, 0/1
  Eigen::ArrayXXi last_action;               // lanes × actors, index into the actor's menu; -1 none
  Eigen::ArrayXXi action_count;              // lanes × (actors·kActionKindCount), actor-major
  Eigen::ArrayXd tension;                    // lanes
  Eigen::ArrayXd start_strength_attacker, start_strength_defender;  // at war start [troops]
  Eigen::ArrayXi rung, peak_rung;
  Eigen::ArrayXi outcome;                                        // -1 while running, else Outcome
  Eigen::ArrayXi end_step, war_start_step, first_incident_step;  // -1 = never
  Eigen::ArrayXi war_end_step;                                   // step a side collapsed, -1 if none did
  Eigen::ArrayXXd moved;  // lanes × actors: troops moved in or out of theatre this step
  Eigen::ArrayXi incidents;
  Eigen::ArrayXi alliance_war_cause;  // AllianceWarCause
  Eigen::ArrayXXi type;               // lanes × actors: each actor's private type
  // lanes × (actors·kMaxTypes): the public belief that actor i is of type k
  // (common prior, public actions: every observer holds the same posterior).
  Eigen::ArrayXXd belief;

  Eigen::Index lanes() const { return tension.size(); }
};

struct RunOptions {
  std::uint64_t seed = 1;
  bool common_random = false;
  int timeseries_every = 0;
};

struct BlockSpec {
  std::int64_t point = 0;
  std::int64_t first_replication = 0;
  int count = kBlockLanes;  // replications kept; lanes past it are simulated and dropped
};

// What a block hands to the recorder; arrays are replication-major.
struct BlockResult {
  BlockSpec spec;
  bool interrupted = false;  // the stop flag was set: the block is incomplete and must not be recorded
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
  std::vector<float> final_belief;              // count × actors × kMaxTypes
  std::vector<float> ts_belief;                 // count × records × actors × kMaxTypes (empty if off)
  // Sums over the block's kept replications at each record (always filled):
  std::vector<std::int32_t> record_rung_count;  // records × rungs
  std::vector<double> record_troops_sum;        // records × actors × pools
  std::vector<double> record_belief_sum;        // records × actors × kMaxTypes
  std::vector<float> ts_forces;                 // count × records × actors × pools (empty if off)
  std::vector<std::int8_t> ts_rung;             // count × records
  std::vector<float> ts_tension;                // count × records
};

// Steps a block; exposed so that tests can check invariants between steps.
class BlockSimulator {
 public:
  BlockSimulator(const Model& model, const BlockSpec& spec, const RunOptions& options, int lanes = kBlockLanes);
  void step(int s);
  // Decides the outcome of every lane still running at the horizon.
  void finish();
  const BlockState& state() const { return state_; }
  BlockState& mutable_state() { return state_; }
  int step_index() const { return next_step_; }

 private:
  void apply_events(int s, const Eigen::ArrayXd& active);
  void decide_and_act(int s, const Eigen::ArrayXd& active);
  void posture(const Eigen::ArrayXd& active);
  void combat(int s);
  void incidents(int s, const Eigen::ArrayXd& active);
  void negotiate(int s, const Eigen::ArrayXd& active);
  void start_war(Eigen::Index lane, int attacker, int target, int s);
  void raise_rung(Eigen::Index lane, int rung, int s, AllianceWarCause cause);
  void join_alliance_war(Eigen::Index lane);

  const Model& model_;
  const Scenario& sc_;
  BlockSpec spec_;
  RunOptions options_;
  StreamKey key_;
  BlockState state_;
  int next_step_ = 0;
  // Scratch arrays of decide_and_act, kept between steps so that a step
  // allocates (almost) nothing.
  struct Scratch {
    std::vector<Eigen::ArrayXi> choices;
    std::array<Eigen::ArrayXd, kFeatureCount> features;
    Eigen::ArrayXXd feasible, probabilities;
    std::vector<Eigen::ArrayXXd> type_utilities, type_probabilities;
  } scratch_;
};

// Runs a whole block and extracts the first spec.count lanes.
BlockResult simulate_block(const Model& model, const BlockSpec& spec, const RunOptions& options);

}  // namespace brink
