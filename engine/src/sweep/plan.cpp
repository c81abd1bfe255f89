#include "brink/sweep/plan.hpp"

#include <algorithm>

namespace brink {

BlockSpec SweepPlan::block(std::int64_t index) const {
  const std::int64_t per_point = blocks_per_point();
  BlockSpec spec;
  spec.point = index / per_point;
  spec.first_replication = (index % per_point) * kBlockLanes;
  spec.count = static_cast<int>(std::min<std::int64_t>(kBlockLanes, replications - spec.first_replication));
  return spec;
}

namespace {
double numeric_value(const Scenario& s, const std::string& path, const std::vector<Override>& overrides) {
  (void)s;
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)
    if (it->path == path) return std::stod(it->value);
  return 0.0;
}
}  // namespace

SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides) {
  SweepPlan plan;
  for (const Override& o : overrides)
    if (std::find(plan.parameters.begin(), plan.parameters.end(), o.path) == plan.parameters.end())
      plan.parameters.push_back(o.path);
  SweepPoint point;
  for (const auto& path : plan.parameters) point.values.push_back(numeric_value(loaded.scenario, path, overrides));
  point.model = std::make_shared<const Model>(loaded.scenario);
  plan.points.push_back(std::move(point));
  const Scenario& s = loaded.scenario;
  plan.replications = s.run.replications;
  plan.options.seed = s.run.seed;
  plan.options.common_random = s.run.common_random;
  plan.options.timeseries_every = s.output.timeseries_every;
  return plan;
}

}  // namespace brink
