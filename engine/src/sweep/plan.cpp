#include "brink/sweep/plan.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "brink/sweep/design.hpp"

namespace brink {

class ModelCache {
 public:
  std::shared_ptr<const Model> find(std::int64_t point) {
    std::lock_guard lock(mutex_);
    for (const auto& [p, model] : recent_)
      if (p == point) return model;
    return nullptr;
  }
  void add(std::int64_t point, std::shared_ptr<const Model> model) {
    std::lock_guard lock(mutex_);
    recent_.emplace_back(point, std::move(model));
    if (recent_.size() > kKept) recent_.pop_front();
  }

 private:
  static constexpr std::size_t kKept = 16;  // well above the points in flight
  std::mutex mutex_;
  std::deque<std::pair<std::int64_t, std::shared_ptr<const Model>>> recent_;
};

std::shared_ptr<const Model> SweepPlan::model_of(std::int64_t point) const {
  if (points[point].model) return points[point].model;
  if (auto model = cache->find(point)) return model;
  // Resolved outside the lock: two workers may both resolve a point, to the same model.
  auto model = std::make_shared<const Model>(load_scenario(source, points[point].overrides).scenario);
  cache->add(point, model);
  return model;
}

BlockSpec SweepPlan::block(std::int64_t point, std::int64_t index) const {
  BlockSpec spec;
  spec.point = point;
  spec.first_replication = index * kBlockLanes;
  spec.count = static_cast<int>(std::min<std::int64_t>(kBlockLanes, replications - spec.first_replication));
  return spec;
}

BlockSpec SweepPlan::block(std::int64_t flat_index) const {
  return block(flat_index / blocks_per_point(), flat_index % blocks_per_point());
}

namespace {

constexpr std::size_t kKeptModels = 64;  // plans up to this many points keep every model

void set_run_options(const Scenario& s, SweepPlan* plan) {
  plan->rule = s.run.rule;
  plan->replications = s.run.rule.max;
  plan->options.seed = s.run.seed;
  plan->options.common_random = s.run.common_random;
  plan->options.timeseries_every = s.output.timeseries_every;
  plan->write_runs = s.output.runs;
}

// Numeric model parameters only: run and output settings, and text or
// true/false fields, given with --set are not values of a sweep point.
std::vector<std::string> override_paths(const std::vector<Override>& overrides,
                                        const std::vector<ParameterInfo>& registry) {
  std::vector<std::string> paths;
  for (const Override& o : overrides) {
    const bool setting = o.path.rfind("run.", 0) == 0 || o.path.rfind("output.", 0) == 0;
    const auto info =
        std::find_if(registry.begin(), registry.end(), [&](const ParameterInfo& p) { return p.path == o.path; });
    const bool numeric = info != registry.end() && info->numeric;
    if (!setting && numeric && std::find(paths.begin(), paths.end(), o.path) == paths.end()) paths.push_back(o.path);
  }
  return paths;
}

double last_value(const std::vector<Override>& overrides, const std::string& path) {
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)
    if (it->path == path) {
      double value = 0.0;
      return parse_scenario_number(it->value, &value) ? value : 0.0;  // validated when the scenario loaded
    }
  return 0.0;
}

}  // namespace

void set_units(const LoadedScenario& loaded, SweepPlan* plan) {
  for (const auto& path : plan->parameters) {
    const auto info = std::find_if(loaded.parameters.begin(), loaded.parameters.end(),
                                   [&](const ParameterInfo& p) { return p.path == path; });
    plan->parameter_units.push_back(info != loaded.parameters.end() ? info->unit : "");
  }
}

SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides) {
  SweepPlan plan;
  plan.parameters = override_paths(overrides, loaded.parameters);
  set_units(loaded, &plan);
  SweepPoint point;
  for (const auto& path : plan.parameters) point.values.push_back(last_value(overrides, path));
  point.model = std::make_shared<const Model>(loaded.scenario);
  plan.points.push_back(std::move(point));
  set_run_options(loaded.scenario, &plan);
  return plan;
}

SweepPlan make_plan(const ScenarioSource& source, const LoadedScenario& loaded, const std::vector<Override>& applied,
                    const std::vector<Override>& recorded) {
  const SweepSpec& spec = loaded.scenario.sweep;
  if (spec.empty()) return single_point_plan(loaded, recorded);
  const std::vector<Override>& overrides = recorded;

  SweepPlan plan;
  set_run_options(loaded.scenario, &plan);
  std::vector<Axis> axes;
  for (const SweepAxis& a : spec.axes) axes.push_back({a.path, a.values, a.min, a.max, a.log});
  std::vector<std::vector<double>> values;
  try {
    if (spec.sensitivity) {
      const SaltelliPlan saltelli = saltelli_points(axes, spec.samples, loaded.scenario.run.seed);
      values = saltelli.points;
      plan.sensitivity = true;
      plan.base_samples = saltelli.base_samples;
    } else {
      static constexpr DesignKind kKinds[] = {DesignKind::kGrid, DesignKind::kRandom, DesignKind::kLhs,
                                              DesignKind::kSobol};
      values = sweep_points(kKinds[static_cast<int>(spec.design)], axes, spec.samples, loaded.scenario.run.seed);
    }
  } catch (const std::invalid_argument& e) {
    throw ScenarioError({{"sweep", -1, -1, e.what()}});
  }
  // Swept axes first, then any --set paths that are not swept.
  for (const SweepAxis& a : spec.axes) plan.parameters.push_back(a.path);
  plan.swept = static_cast<int>(spec.axes.size());
  std::vector<Override> fixed;
  for (const Override& o : overrides)
    if (std::none_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == o.path; }))
      fixed.push_back(o);
  for (const auto& path : override_paths(fixed, loaded.parameters)) plan.parameters.push_back(path);
  set_units(loaded, &plan);
  plan.design = std::string(to_string(spec.design));
  plan.samples = spec.samples;

  for (const auto& row : values) {
    std::vector<Override> point_overrides = applied;
    SweepPoint point;
    for (std::size_t k = 0; k < spec.axes.size(); ++k) {
      point_overrides.push_back({spec.axes[k].path, fmt::format("{}", row[k])});
      point.values.push_back(row[k]);
    }
    for (std::size_t k = spec.axes.size(); k < plan.parameters.size(); ++k)
      point.values.push_back(last_value(fixed, plan.parameters[k]));
    // Each point passes the same validation as a --set, so cross-field rules
    // (e.g. deployed below deployed_cap) hold at every point. Large plans keep
    // only point 0's model; the others are resolved again when they run.
    auto model = std::make_shared<const Model>(load_scenario(source, point_overrides).scenario);
    if (plan.points.empty() || values.size() <= kKeptModels) point.model = std::move(model);
    point.overrides = std::move(point_overrides);
    plan.points.push_back(std::move(point));
  }
  plan.source = source;
  if (values.size() > kKeptModels) plan.cache = std::make_shared<ModelCache>();
  return plan;
}

}  // namespace brink
