// A sweep plan is a value: the points (each a resolved scenario), the
// replications per point and the fixed cut into blocks. Executors only
// schedule it; any thread or rank can run any block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

struct SweepPoint {
  std::vector<double> values;            // one per SweepPlan::parameters
  std::shared_ptr<const Model> model;    // the scenario resolved at this point
};

struct SweepPlan {
  std::vector<std::string> parameters;   // dotted paths of the swept (or overridden) fields
  std::vector<SweepPoint> points;
  std::int64_t replications = 0;         // per point
  RunOptions options;

  std::int64_t blocks_per_point() const { return (replications + kBlockLanes - 1) / kBlockLanes; }
  std::int64_t total_blocks() const { return blocks_per_point() * static_cast<std::int64_t>(points.size()); }
  // Blocks are numbered point-major, so a point completes as early as possible.
  BlockSpec block(std::int64_t index) const;
  const Model& model(std::int64_t point) const { return *points[point].model; }
};

// One point: the scenario with its overrides. The overrides' paths become the
// plan's parameters so that the file records them per point.
SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides);

}  // namespace brink
