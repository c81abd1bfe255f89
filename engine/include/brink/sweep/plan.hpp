// A sweep plan is a value: the points (each a resolved scenario), the
// replication rule and the fixed cut of replications into blocks. Executors
// only schedule it; any thread or rank can run any block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

struct SweepPoint {
  std::vector<double> values;          // one per SweepPlan::parameters
  std::vector<Override> overrides;     // what resolves the point's scenario from the plan's source
  std::shared_ptr<const Model> model;  // kept for small plans; else resolved on demand (see model_of)
};

// The run settings of the plan, as the scenario (after --seed etc.) gives them;
// the kernel reads the same values from each point's Model.
struct RunOptions {
  std::uint64_t seed = 1;
  bool common_random = false;
  int timeseries_every = 0;
};

// Recently resolved points of a large plan, shared by the workers.
class ModelCache;

struct SweepPlan {
  std::vector<std::string> parameters;       // dotted paths: the swept axes first, then fixed --set fields
  int swept = 0;                             // how many of `parameters` are sweep axes
  std::vector<std::string> parameter_units;  // per parameter, from the scenario's registry
  std::string design;                        // "" for a single point, else grid/random/lhs/sobol
  std::int64_t samples = 0;                  // design samples (Saltelli: base rows N)
  std::vector<SweepPoint> points;
  ReplicationRule rule;
  std::int64_t replications = 0;  // per point: the most any point can run (rule.max)
  RunOptions options;
  bool write_runs = true;         // per-replication variables in the file
  bool sensitivity = false;       // points are a Saltelli plan
  std::int64_t base_samples = 0;  // Saltelli's N

  std::int64_t blocks_per_point() const { return (replications + kBlockLanes - 1) / kBlockLanes; }
  std::int64_t total_blocks() const { return blocks_per_point() * static_cast<std::int64_t>(points.size()); }
  // Block `index` of `point`; the last block of a point may be short.
  BlockSpec block(std::int64_t point, std::int64_t index) const;
  // Blocks numbered point-major (point · blocks_per_point + index).
  BlockSpec block(std::int64_t flat_index) const;
  // The scenario resolved at `point`. Large sweeps keep only point 0 resolved
  // and resolve others on demand (about 1.5 ms each, cached for the few points
  // in flight), so memory does not grow with the number of points.
  std::shared_ptr<const Model> model_of(std::int64_t point) const;
  const Model& model(std::int64_t point) const { return *model_of(point); }  // point 0, or kept models

  ScenarioSource source;              // the scenario text points are resolved from
  std::shared_ptr<ModelCache> cache;  // empty when every point keeps its model
};

// The plan a loaded scenario describes: one point, or the points of its sweep,
// each resolved from `source` with `applied` (every override the scenario was
// loaded with) plus the point's axis values, through the same validation as a
// --set. `recorded` (the --set overrides) become parameters of the file.
// Throws ScenarioError if a point's scenario is invalid.
SweepPlan make_plan(const ScenarioSource& source, const LoadedScenario& loaded, const std::vector<Override>& applied,
                    const std::vector<Override>& recorded);

// One point: the scenario with its overrides (kept for tests and benchmarks).
SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides);

}  // namespace brink
