// A scenario prepared for simulation: relations as index lists, the step and
// record grids, the random stream key. Immutable once built and shared by
// every worker of a sweep point; holds no Eigen type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "brink/model/rng.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// The step an event on `day` applies in (step_of_day, brink/scenario/scenario.hpp).
inline int event_step(double day, double dt) { return static_cast<int>(step_of_day(day, dt)); }

class Model {
 public:
  // Throws ScenarioError if the scenario breaks a rule of validate().
  explicit Model(Scenario scenario);
  // For a scenario its maker has validated already: a sweep plan's point
  // (make_plan checks the rules every point's axes feed over the whole
  // declared box). Resolving a point then costs no validation, which was as
  // much CPU as simulating a point of one replication.
  struct Validated {};
  Model(Scenario scenario, Validated);
  const Scenario& scenario() const { return scenario_; }
  int actors() const { return scenario_.actor_count(); }
  int steps() const { return steps_; }
  // The time grid of the file's `step` axis: the initial state, every K
  // steps (K = output.timeseries_every, or 1 when that is 0), and the horizon.
  int record_every() const { return record_every_; }
  int records() const { return (steps_ + record_every_ - 1) / record_every_ + 1; }
  int record_step(int record) const { return std::min(record * record_every_, steps_); }
  // Per-replication time series are written (output.timeseries_every > 0).
  bool series() const { return scenario_.output.timeseries_every > 0; }
  // The random stream of `point` (run.seed; every point shares point 0's
  // stream under common random numbers).
  StreamKey stream(std::int64_t point) const {
    return {scenario_.run.seed, scenario_.run.common_random ? 0u : static_cast<std::uint32_t>(point)};
  }

  const std::vector<int>& adversaries(int actor) const { return adversaries_[actor]; }
  const std::vector<int>& allies(int actor) const { return allies_[actor]; }
  // Strongest commitment of any actor to protect `actor`, 0 if none.
  double protection(int actor) const { return protection_[actor]; }
  double commitment(int from, int to) const { return commitment_[from][to]; }
  // Whether the public belief about the actor's type can change after the
  // draw: only with several types kept private (Bayes' rule in the decisions
  // and after a rejected offer).
  bool learns_type_of(int actor) const {
    return scenario_.actors[static_cast<std::size_t>(actor)].types.size() > 1 && !scenario_.run.revealed_types;
  }
  // Whether observers price actor i's attacks differently per type: its type
  // is learned, it values attacks by its war forecast, and its types carry
  // different war costs. Each type's likelihood then uses that type's cost.
  // (Inline: the kernel objects use it and link no Model code.)
  bool types_price_war_apart(int actor) const {
    const Actor& a = scenario_.actors[static_cast<std::size_t>(actor)];
    if (!learns_type_of(actor) || !a.decision.war_forecast) return false;
    for (const ResolveType& t : a.types)
      if (t.war_cost != a.types.front().war_cost) return true;
    return false;
  }
  // Parties of issue k (actors with salience > 0), in index order.
  const std::vector<int>& parties(int issue) const { return parties_[issue]; }
  // The step each event applies in (event_step of its day).
  int event_step_of(int event) const { return event_steps_[event]; }

 private:
  Scenario scenario_;
  int steps_ = 0;
  int record_every_ = 1;
  std::vector<std::vector<int>> adversaries_;
  std::vector<std::vector<int>> allies_;
  std::vector<std::vector<double>> commitment_;
  std::vector<double> protection_;
  std::vector<std::vector<int>> parties_;
  std::vector<int> event_steps_;
};

}  // namespace brink
