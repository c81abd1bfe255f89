#include "brink/sweep/plan.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "brink/scenario/sweep_constraints.hpp"
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

Scenario SweepPlan::scenario_of(std::int64_t point) const {
  Scenario s = *base;
  const PointView row = points[static_cast<std::size_t>(point)];
  for (std::size_t k = 0; k < axis_fields.size(); ++k) axis_fields[k].set(s, row.values[k]);
  return s;
}

std::shared_ptr<const Model> SweepPlan::model_of(std::int64_t point) const {
  if (static_cast<std::size_t>(point) < kept.size()) return kept[point];
  if (auto model = cache->find(point)) return model;
  // Built outside the lock: two workers may both build a point, to the same model.
  auto model = std::make_shared<const Model>(scenario_of(point));
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
  plan->write_runs = s.output.runs;
}

// Numeric model parameters only: run and output settings, and text or
// true/false fields, given with --set are not values of a sweep point.
std::vector<std::string> override_paths(const std::vector<Override>& overrides, const FieldRegistry& registry,
                                        const SweepSpec& spec) {
  std::vector<std::string> paths;
  for (const Override& o : overrides) {
    const FieldRef* field = registry.find(o.path);
    const bool numeric = field && (field->spec->kind == FieldKind::kNumber || field->spec->kind == FieldKind::kInteger);
    const bool swept =
        std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == o.path; });
    if (numeric && field->spec->sweepable && !swept && std::find(paths.begin(), paths.end(), o.path) == paths.end())
      paths.push_back(o.path);
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

void set_units(const FieldRegistry& registry, SweepPlan* plan) {
  for (const auto& path : plan->parameters) {
    const FieldRef* field = registry.find(path);
    plan->parameter_units.emplace_back(field ? field->spec->unit : "");
    plan->parameter_choices.emplace_back();
    if (field && (field->spec->kind == FieldKind::kChoice || field->spec->kind == FieldKind::kBoolean))
      for (std::string_view c : field->spec->choices) plan->parameter_choices.back().emplace_back(c);
  }
}

// The design's points after its constraints (a pure function of the design):
// clipped in place, rejected ones dropped and counted.
std::vector<std::vector<double>> constrained(const SweepSpec& spec, const Scenario& s,
                                             std::vector<std::vector<double>> rows, SweepPlan* plan) {
  const BoundConstraints bound(spec, s);
  if (bound.empty()) return rows;
  std::vector<std::vector<double>> kept;
  kept.reserve(rows.size());
  for (auto& row : rows)
    if (bound.apply(row)) kept.push_back(std::move(row));
  plan->rejected_points = static_cast<std::int64_t>(rows.size() - kept.size());
  if (kept.empty())
    throw ScenarioError({{"sweep", -1, -1,
                          fmt::format("the constraints reject all {} points of the design; loosen a rule or widen the "
                                      "ranges",
                                      rows.size())}});
  return kept;
}

// The swept values, points × axes, in the design's order.
std::vector<double> design_values(const Scenario& s, SweepPlan* plan) {
  const SweepSpec& spec = s.sweep;
  std::vector<Axis> axes;
  for (const SweepAxis& a : spec.axes) axes.push_back({a.path, a.values, a.min, a.max, a.log, a.lever});
  std::vector<std::vector<double>> rows;
  try {
    if (spec.design == SweepDesign::kGrid && !spec.sensitivity) return grid_values(axes);
    if (spec.sensitivity) {
      SaltelliPlan saltelli = saltelli_points(axes, spec.samples, s.run.seed);
      rows = std::move(saltelli.points);
      plan->sensitivity = true;
      plan->base_samples = saltelli.base_samples;
    } else {
      static constexpr DesignKind kKinds[] = {DesignKind::kGrid, DesignKind::kRandom, DesignKind::kLhs,
                                              DesignKind::kSobol, DesignKind::kMorris};
      rows = sweep_points(kKinds[static_cast<int>(spec.design)], axes, spec.samples, s.run.seed, spec.morris_levels);
      plan->morris = spec.design == SweepDesign::kMorris;
      plan->morris_levels = spec.morris_levels;
    }
  } catch (const std::invalid_argument& e) {
    throw ScenarioError({{"sweep", -1, -1, e.what()}});
  }
  rows = constrained(spec, s, std::move(rows), plan);
  std::vector<double> flat;
  flat.reserve(rows.size() * axes.size());
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return flat;
}

}  // namespace

SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides) {
  SweepPlan plan;
  const FieldRegistry registry(loaded.scenario);
  plan.parameters = override_paths(overrides, registry, {});
  set_units(registry, &plan);
  std::vector<double> values;
  for (const auto& path : plan.parameters) values.push_back(last_value(overrides, path));
  plan.points = plan.parameters.empty() ? PointTable::empty_rows(1) : PointTable(plan.parameters.size(), values);
  plan.base = std::make_shared<const Scenario>(loaded.scenario);
  plan.kept.push_back(std::make_shared<const Model>(loaded.scenario));
  set_run_options(loaded.scenario, &plan);
  return plan;
}

SweepPlan make_plan(const LoadedScenario& loaded, const std::vector<Override>& recorded) {
  const SweepSpec& spec = loaded.scenario.sweep;
  if (spec.empty()) return single_point_plan(loaded, recorded);
  // Every point lies in the box of the axes' declared bounds; checking the box
  // against every rule its axes feed (at its corners) means no point, for no
  // seed, can break a rule. The CLI has checked already; other callers have not.
  check_sweep_range(loaded);

  SweepPlan plan;
  set_run_options(loaded.scenario, &plan);
  const FieldRegistry registry(loaded.scenario);
  std::vector<double> swept = design_values(loaded.scenario, &plan);
  // Swept axes first, then any --set paths that are not swept.
  for (const SweepAxis& a : spec.axes) {
    plan.parameters.push_back(a.path);
    plan.axis_fields.push_back(*registry.find(a.path));  // checked when the sweep was read
  }
  plan.swept = static_cast<int>(spec.axes.size());
  for (const SweepAxis& a : spec.axes) plan.axis_roles.emplace_back(!spec.mixed() ? "" : a.lever ? "lever" : "uncertainty");
  for (const auto& path : override_paths(recorded, registry, spec)) plan.parameters.push_back(path);
  set_units(registry, &plan);
  plan.design = std::string(to_string(spec.design));
  plan.samples = spec.samples;

  const std::size_t d = spec.axes.size();
  const std::size_t width = plan.parameters.size();
  if (width > d) {
    std::vector<double> fixed;
    for (std::size_t k = d; k < width; ++k) fixed.push_back(last_value(recorded, plan.parameters[k]));
    std::vector<double> rows;
    rows.reserve(swept.size() / d * width);
    for (std::size_t p = 0; p < swept.size() / d; ++p) {
      rows.insert(rows.end(), swept.begin() + static_cast<long>(p * d), swept.begin() + static_cast<long>((p + 1) * d));
      rows.insert(rows.end(), fixed.begin(), fixed.end());
    }
    swept = std::move(rows);
  }
  plan.points = PointTable(width, std::move(swept));
  plan.base = std::make_shared<const Scenario>(loaded.scenario);
  const std::size_t kept = plan.points.size() <= kKeptModels ? plan.points.size() : 1;
  for (std::size_t p = 0; p < kept; ++p)
    plan.kept.push_back(std::make_shared<const Model>(plan.scenario_of(static_cast<std::int64_t>(p))));
  if (kept < plan.points.size()) plan.cache = std::make_shared<ModelCache>();
  return plan;
}

}  // namespace brink
