// The simulation kernel: advances one block of replications step by step.
//
// Every state variable is an Eigen array over the block's lanes (structure of
// arrays); per-actor quantities are lanes × actors, column-major, so one
// actor's column is contiguous and vectorizes. The kernel sees only a
// validated Scenario (through Model) and a BlockSpec; it knows nothing of
// threads, files or the command line. See docs/model.md for the equations and
// docs/performance.md for how the loops are laid out.
#pragma once

#include <Eigen/Core>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "brink/model/block_result.hpp"
#include "brink/model/model.hpp"
#include "brink/model/observe.hpp"
#include "brink/model/rng.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// State of one block. Side codes: 0 not fighting, 1 attacking side, 2 defending side.
struct BlockState {
  Eigen::ArrayXXd deployed, ready, reserve;  // lanes × actors [troops]
  Eigen::ArrayXXd casualties;                // lanes × actors [troops]
  Eigen::ArrayXXd created, removed;          // reinforcements / demobilization [troops]
  Eigen::ArrayXXd effectiveness;             // multiplier from sanctions and arms aid [-]
  Eigen::ArrayXXi side;                      // lanes × actors
  Eigen::ArrayXXf position;                  // lanes × (issues·actors), issue-major [0..1]
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
  Eigen::ArrayXXf belief;
  // Bargaining and war (docs/model.md, "Bargaining and war").
  Eigen::ArrayXXd war_cost;            // lanes × actors: each actor's private war cost [share of the stake]
  Eigen::ArrayXd cost_low, cost_high;  // public belief: the receiver's war cost is uniform on [low, high]
  Eigen::ArrayXd offer;                // the proposer's latest demand, NaN before the first

  Eigen::Index lanes() const { return tension.size(); }

  // Calls f(array) for every array above: each has one row per lane. A new
  // per-lane array must be added here, or retiring lanes would leave it behind
  // (BlockSimulator::retire_finished; RetireFinishedTest checks every dataset).
  template <class F>
  void for_each_lane_array(F&& f) {
    f(deployed), f(ready), f(reserve), f(casualties), f(created), f(removed), f(effectiveness), f(side);
    f(position), f(agreed), f(last_action), f(action_count), f(tension), f(start_strength_attacker);
    f(start_strength_defender), f(rung), f(peak_rung), f(outcome), f(end_step), f(war_start_step);
    f(first_incident_step), f(war_end_step), f(moved), f(incidents), f(alliance_war_cause), f(type), f(belief);
    f(war_cost), f(cost_low), f(cost_high), f(offer);
  }
};

// Steps a block; exposed so that tests can check invariants between steps.
class BlockSimulator {
 public:
  BlockSimulator(const Model& model, const BlockSpec& spec);
  ~BlockSimulator();
  BlockSimulator(const BlockSimulator&) = delete;
  BlockSimulator& operator=(const BlockSimulator&) = delete;

  // One step, in the order of docs/model.md ("One step"). Allocates nothing.
  void step(int s);
  // Decides the outcome of every lane still running at the horizon.
  void finish();
  // The state by position: a lane's state moves when finished lanes are
  // retired (see retire_finished); block_lane(position) says whose it is.
  const BlockState& state() const { return state_; }
  BlockState& mutable_state() { return state_; }
  int step_index() const { return next_step_; }
  // The block lane (replication first_replication + lane, or the lane of a
  // packed block's segments) whose state is at `position`.
  int block_lane(int position) const;
  // The last step's view for observe_block (observe.hpp).
  StepView view(int s) const;
  // Positions the step's passes cover: [0, width()), a multiple of kLaneGroup.
  int width() const { return width_; }
  // width_ with its multiple of kLaneGroup visible to the compiler, so the
  // passes' loops need no remainder.
  int pass_width() const { return width_ & ~(kLaneGroup - 1); }
  // True when no lane can change any more: every outcome is decided and none
  // is a settlement (settled forces keep drawing down). Later steps would
  // leave the state as it is.
  bool frozen() const;

 private:
  struct Scratch;
  // Phases of a step (docs/model.md, "One step").
  void apply_events(int s);
  // Moves lanes whose outcome can no longer change out of the passes' width
  // (lanes in play take their places), when that saves a lane group.
  void retire_finished();
  void swap_lanes(const std::int32_t* low, const std::int32_t* high, int count);
  void decide_and_act(int s);
  void posture();
  void combat(int s);
  int fighting_sides();
  void attrition_of_list(int count);
  void incidents(int s);
  void exact_incidents(const std::int32_t* between, int* hit);
  void decay_tension();
  void negotiate(int s);
  // The decision phase, split as in docs/model.md ("2. Decisions").
  void decision_aggregates();
  void actor_aggregates(int i);
  void issue_aggregates(int i);
  void plan_issue_passes();  // issue_aggregates' passes, once per block
  void features_and_utilities(int i);
  // Which kind-specific features an action has, in feature_a and feature_b
  // (kFeatureCount: none).
  struct ActionFeatures {
    Feature a = kFeatureCount, b = kFeatureCount;
  };
  ActionFeatures action_features(int i, int m, int* shared_attack);
  ActionFeatures troop_move_features(int i, const ActionSpec& a, std::int32_t* ok);
  ActionFeatures talk_features(const ActionSpec& a, std::int32_t* ok);
  ActionFeatures attack_action_features(int i, const ActionSpec& a, std::int32_t* ok, int* shared_attack);
  ActionFeatures retaliate_features(int i, std::int32_t* ok);
  void attack_features(int i, const ActionSpec& a);
  void action_utilities(int i, int m, ActionFeatures f);
  void keep_one_feasible(int menu);
  void idle_where_nothing_is_feasible(int i);
  void choose(int i, int s);
  void update_beliefs(int i);
  void apply_effects(int i, int s);
  int lane_effect(int i, int m);
  void marked_lane_effect(int i, const ActionSpec& a, int s);
  void talk_effect(int i, const ActionSpec& a, const std::int32_t* mask);
  // Bargaining and war (bargaining.cpp, war_value.cpp).
  void init_bargaining();
  void bargain(int s);
  void settle_or_fight(const std::uint8_t* fight, int s);
  void shift_power(int s);
  void talking_lanes(std::uint8_t* talk);
  double value_after_shift(int s, double* later);
  void screen_types(int lane, double offer, double x0, const double* type_cost, bool accepted);
  // loss_a == nullptr: p only (loss_b and duration are then not written).
  void forecast(int i, int t, double intensity, double* prevail, double* loss_a, double* loss_b, double* duration,
                double growth = 0.0);
  // W_i into feature_a, with each lane's own cost; its forecast is kept for war_gain_as_type.
  void attack_war_value(int i, const ActionSpec& a);
  // W_i of the last attack_war_value into feature_a, with the cost each lane's
  // actor would have as type k (Model::types_price_war_apart): no new forecast.
  void war_gain_as_type(int i, int k);
  // Whether attack_features of actor i depend on the attack's rung (the war's intensity), not only on its target.
  bool attack_features_depend_on_rung(int i) const;
  // Whether actor i's war value W needs the forecast's duration and losses (discounting or a
  // casualty cost); without, W = p - c exactly.
  bool war_value_needs_duration(int i) const;
  // Per-lane events of the ladder (rare: scalar).
  // An attack: starts a war, or joins the one on (rules::enter_war).
  void start_war(int lane, int attacker, int target, int s);
  void raise_rung(int lane, int rung, int s, AllianceWarCause cause);
  void raise_rung_masked(const std::int32_t* mask, int rung, int s, AllianceWarCause cause);
  void join_alliance_war(int lane);

  // Phases that can act in this scenario, decided once when the block is set
  // up: a phase that cannot change any state is not run (its per-step passes
  // over the lanes would cost as much as the small models' real work).
  struct Phases {
    bool events = false;       // any scheduled event
    bool posture = false;      // any Richardson term, or a settlement (drawdown) possible
    bool negotiation = false;  // any issue
  };
  static Phases phases_of(const Scenario& sc);
  // Per-lane fields and streams (lane_fields.cpp, docs/calibration.md "Packed blocks").
  void init_lane_fields();
  void init_lane_weights();
  void init_pools_and_types();
  // The scenario lane r's per-lane fields come from: its segment's, or the block's.
  const Scenario& lane_scenario(int r) const;
  // One Philox call for every lane at step s: each lane's own stream in a packed block.
  void lane_words(int s, std::uint32_t purpose_and_actor);
  void draw_step_uniforms(int s);
  double escalation_draw(int r, int s) const;
  StreamKey lane_key(int r) const;
  std::uint32_t lane_replication(int r) const;

  const Model& model_;
  const Scenario& sc_;
  Phases phases_;
  bool packed_ = false;  // spec_.segments is not empty
  BlockSpec spec_;
  StreamKey key_;
  BlockState state_;
  int next_step_ = 0;
  int width_ = kBlockLanes;  // positions in play, then finished lanes and padding
  std::unique_ptr<Scratch> scratch_;
};

// Runs a whole block and extracts the first spec.count lanes. If `stop` is
// set while it runs, it returns between two steps with `interrupted` true
// and no data. The result is built in `buffer`'s memory (a finished block's,
// whatever it holds): its arrays keep their capacity, so a worker's blocks
// allocate nothing once the first few have been handed back.
BlockResult simulate_block(const Model& model, const BlockSpec& spec, const std::atomic<bool>* stop = nullptr,
                           BlockResult buffer = {});

}  // namespace brink
