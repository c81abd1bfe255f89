#include "brink/sweep/plan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <filesystem>
#include <iterator>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "brink/model/kernel_dispatch.hpp"
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
  const PointView row = points[static_cast<std::size_t>(point)];
  const auto choice = scenario_column >= 0 ? static_cast<std::size_t>(row.values[scenario_column]) : 0;
  Scenario s = scenario_column >= 0 ? *choices[choice].scenario : *base;
  const std::vector<FieldRef>& fields = scenario_column >= 0 ? choice_axis_fields[choice] : axis_fields;
  for (std::size_t k = 0; k < fields.size(); ++k)
    if (fields[k].spec) fields[k].set(s, row.values[k]);
  return s;
}

std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t hash) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i < n; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
  return hash;
}

std::string content_digest(std::string_view bytes) { return fmt::format("{:016x}", fnv1a(bytes.data(), bytes.size())); }

namespace {

// Characters a shell leaves alone outside quotes.
constexpr std::array<bool, 256> kPlainShell = [] {
  std::array<bool, 256> plain{};
  for (unsigned char c : std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-=:,+"))
    plain[c] = true;
  return plain;
}();

// Appends `text` as one shell word: as it is when every character is plain,
// else in single quotes.
void append_shell_word(std::string& out, std::string_view text) {
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return kPlainShell[static_cast<unsigned char>(c)]; })) {
    out += text;
    return;
  }
  out += '\'';
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
}

}  // namespace

// Called for every point when a file is created (a million points, tens of
// parameters): appends into one string, with no temporary per parameter.
std::string SweepPlan::rerun_command(std::int64_t point) const {
  const PointView row = points[static_cast<std::size_t>(point)];
  std::string label = scenario_label;
  if (scenario_column >= 0) {
    // The choice's file as the working directory names it, and no file's own
    // sweep block: a choice's is ignored by the sweep, and the base's lists the choices.
    const ScenarioChoice& choice = choices[static_cast<std::size_t>(row.values[scenario_column])];
    label = choice.beside_base ? (std::filesystem::path(scenario_label).parent_path() / choice.label).string()
                               : choice.label;
  }
  std::string command = "brink run ";
  append_shell_word(command, label);
  if (scenario_column >= 0) command += " --no-file-sweep";
  // A posterior run's points are drawn, not set: its recipe is the whole run's.
  const std::size_t own = design == "posterior" ? 0 : parameters.size() - static_cast<std::size_t>(choice_columns);
  std::string assignment;
  for (std::size_t k = 0; k < own; ++k) {
    if (static_cast<int>(k) == scenario_column) continue;
    const double v = row.values[k];
    assignment.assign(parameters[k]);
    assignment += '=';
    if (k < parameter_choices.size() && !parameter_choices[k].empty())
      assignment += parameter_choices[k][static_cast<std::size_t>(v)];
    else
      fmt::format_to(std::back_inserter(assignment), "{}", v);
    command += " --set ";
    append_shell_word(command, assignment);
  }
  for (const std::string& option : rerun_options) {
    command += ' ';
    append_shell_word(command, option);
  }
  return command;
}

std::shared_ptr<const Model> SweepPlan::model_of(std::int64_t point) const {
  if (static_cast<std::size_t>(point) < kept.size()) return kept[point];
  if (auto model = cache->find(point)) return model;
  // Built outside the lock: two workers may both build a point, to the same
  // model. Not validated again: make_plan checked the rules every point's
  // axes feed over the axes' whole box (check_sweep_range).
  auto model = std::make_shared<const Model>(scenario_of(point), Model::Validated{});
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

std::vector<LaneSegment> ReplicationDraws::segments(const BlockSpec& spec) const {
  std::vector<LaneSegment> out;
  for (int lane = 0; lane < spec.count; ++lane) {
    const std::int64_t r = spec.first_replication + lane;
    const std::int32_t set = set_of[static_cast<std::size_t>(r)];
    if (!out.empty() && out.back().model == models[static_cast<std::size_t>(set)].get())
      ++out.back().count;
    else
      out.push_back({models[static_cast<std::size_t>(set)].get(), spec.point, r, 1});
  }
  return out;
}

std::vector<double> ReplicationDraws::column(std::size_t parameter) const {
  std::vector<double> out;
  out.reserve(set_of.size());
  for (std::int32_t set : set_of) out.push_back(values[static_cast<std::size_t>(set) * parameters.size() + parameter]);
  return out;
}

BlockResult SweepPlan::simulate(const KernelTable& kernel, const BlockSpec& spec, const std::atomic<bool>* stop,
                                BlockResult buffer) const {
  const std::shared_ptr<const Model> model = model_of(spec.point);
  if (!draws) return kernel.simulate_block(*model, spec, stop, std::move(buffer));
  const std::vector<LaneSegment> segments = draws->segments(spec);
  BlockSpec packed = spec;
  packed.segments = segments;
  BlockResult result = kernel.simulate_block(*model, packed, stop, std::move(buffer));
  result.spec.segments = {};  // they die here; the recorder needs only point and replications
  return result;
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
    // Every model parameter, numeric or categorical (held as its choice's
    // index): the file lists it and each point's re-run sets it.
    const FieldRef* field = registry.find(o.path);
    const bool swept =
        std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == o.path; });
    if (field && field->spec->sweepable && !swept && std::find(paths.begin(), paths.end(), o.path) == paths.end())
      paths.push_back(o.path);
  }
  return paths;
}

// The value of the last --set of `path` (a categorical one as its choice's index).
double last_value(const std::vector<Override>& overrides, const FieldRegistry& registry, const std::string& path) {
  const FieldRef* field = registry.find(path);
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)
    if (it->path == path) {
      double value = 0.0;
      const bool read = field && (field->spec->kind == FieldKind::kBoolean || field->spec->kind == FieldKind::kChoice)
                            ? field_value_from_text(*field->spec, it->value, &value).empty()
                            : parse_scenario_number(it->value, &value);
      return read ? value : 0.0;  // validated when the scenario loaded
    }
  return 0.0;
}

// Units and choice names from the field table, through the base scenario or,
// for a path only some scenario choices have, the first choice that has it.
void set_units(const FieldRegistry& registry, SweepPlan* plan) {
  std::vector<FieldRegistry> choice_registries;
  for (const ScenarioChoice& c : plan->choices) choice_registries.emplace_back(*c.scenario);
  for (const auto& path : plan->parameters) {
    const FieldRef* field = registry.find(path);
    for (const FieldRegistry& r : choice_registries) field = field ? field : r.find(path);
    plan->parameter_units.emplace_back(field ? field->spec->unit : "");
    plan->parameter_choices.emplace_back();
    if (field && (field->spec->kind == FieldKind::kChoice || field->spec->kind == FieldKind::kBoolean))
      for (std::string_view c : field->spec->choices) plan->parameter_choices.back().emplace_back(c);
  }
}

// The fields whose values differ between the scenario choices become
// parameters (fixed per choice; NaN where a choice has no such field), so the
// file says what each choice changes.
void add_choice_columns(SweepPlan* plan) {
  std::vector<FieldRegistry> registries;
  for (const ScenarioChoice& c : plan->choices) registries.emplace_back(*c.scenario);
  std::vector<std::string> paths;
  for (const FieldRegistry& r : registries)
    for (std::size_t i = 0; i < r.size(); ++i) {
      const ParameterInfo& info = r.parameters()[i];
      if ((!info.numeric && info.choices.empty()) || !r.ref(i).spec->sweepable) continue;
      if (std::find(plan->parameters.begin(), plan->parameters.end(), info.path) != plan->parameters.end()) continue;
      if (std::find(paths.begin(), paths.end(), info.path) == paths.end()) paths.push_back(info.path);
    }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> values(plan->choices.size());
  std::vector<std::string> differing;
  for (const std::string& path : paths) {
    std::vector<double> column;
    for (std::size_t c = 0; c < registries.size(); ++c) {
      const FieldRef* ref = registries[c].find(path);
      column.push_back(ref ? ref->get(*plan->choices[c].scenario) : nan);
    }
    const bool same = std::all_of(column.begin(), column.end(),
                                  [&](double v) { return (std::isnan(v) && std::isnan(column[0])) || v == column[0]; });
    if (same) continue;
    differing.push_back(path);
    for (std::size_t c = 0; c < column.size(); ++c) values[c].push_back(column[c]);
  }
  plan->parameters.insert(plan->parameters.end(), differing.begin(), differing.end());
  plan->choice_columns = static_cast<int>(differing.size());
  plan->choice_values = std::move(values);
}

// Each sweep axis's field in each scenario choice (load_scenario_choices
// checked that every choice has every swept path).
void resolve_choice_axes(const SweepSpec& spec, SweepPlan* plan) {
  for (const ScenarioChoice& c : plan->choices) {
    const FieldRegistry registry(*c.scenario);
    std::vector<FieldRef>& fields = plan->choice_axis_fields.emplace_back();
    for (const SweepAxis& a : spec.axes) {
      const FieldRef* field = registry.find(a.path);
      if (!field && a.path != kScenarioAxis)
        throw ScenarioError(
            {{"sweep", -1, -1, fmt::format("scenario choice '{}' has no field '{}' to sweep", c.label, a.path)}});
      fields.push_back(field ? *field : FieldRef{});
    }
  }
}

// The design's points after its constraints (a pure function of the design):
// clipped in place, rejected ones dropped and counted.
std::vector<std::vector<double>> constrained(const SweepSpec& spec, const Scenario& s,
                                             std::vector<std::vector<double>> rows, SweepPlan* plan) {
  const BoundConstraints bound(spec, s);
  if (bound.empty()) return rows;
  SweptRuleCheck rules(s);
  std::vector<std::vector<double>> kept;
  kept.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::vector<double>& row = rows[i];
    if (!bound.apply(row)) continue;
    // No point runs that breaks a declared rule: the order check
    // (constraint_order_problem) makes this impossible, and this says so.
    if (const int k = bound.first_broken(row); k >= 0)
      throw ScenarioError({{"sweep.constraints", -1, -1,
                            fmt::format("a design point breaks the rule '{}' after the constraints were applied; "
                                        "this is a bug in brink, please report it",
                                        spec.constraints[static_cast<std::size_t>(k)].rule)}});
    if (const std::string problem = rules.problem_at(row); !problem.empty())
      throw ScenarioError(
          {{"sweep.constraints", -1, -1,
            fmt::format("design point {} of {} (seed {}), as the sweep's constraints leave it, crosses {}; the "
                        "check of the ranges' corners cannot see where a clip starts to act or two bounds meet: add "
                        "or tighten a constraint, or narrow the ranges",
                        i, rows.size(), s.run.seed, problem)}});
    kept.push_back(std::move(row));
  }
  plan->rejected_points = static_cast<std::int64_t>(rows.size() - kept.size());
  if (kept.empty())
    throw ScenarioError({{"sweep.constraints", -1, -1,
                          fmt::format("the constraints reject all {} points this design draws with seed {}; loosen a "
                                      "rule or widen the ranges, or draw more samples if the rules leave only a "
                                      "small part of the box",
                                      rows.size(), s.run.seed)}});
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
  for (const auto& path : plan.parameters) values.push_back(last_value(overrides, registry, path));
  plan.points = plan.parameters.empty() ? PointTable::empty_rows(1) : PointTable(plan.parameters.size(), values);
  plan.base = std::make_shared<const Scenario>(loaded.scenario);
  plan.kept.push_back(std::make_shared<const Model>(loaded.scenario));
  set_run_options(loaded.scenario, &plan);
  return plan;
}

void append_fixed_parameters(const LoadedScenario& loaded, const std::vector<Override>& recorded, SweepPlan* plan) {
  const FieldRegistry registry(loaded.scenario);
  std::vector<std::string> paths;
  for (const std::string& path : override_paths(recorded, registry, {}))
    if (std::find(plan->parameters.begin(), plan->parameters.end(), path) == plan->parameters.end())
      paths.push_back(path);
  if (paths.empty()) return;
  std::vector<double> fixed;
  for (const std::string& path : paths) fixed.push_back(last_value(recorded, registry, path));
  const std::size_t width = plan->points.width();
  std::vector<double> rows;
  rows.reserve(plan->points.size() * (width + fixed.size()));
  for (std::size_t p = 0; p < plan->points.size(); ++p) {
    const PointView row = plan->points[p];
    rows.insert(rows.end(), row.values.begin(), row.values.end());
    rows.insert(rows.end(), fixed.begin(), fixed.end());
  }
  plan->points = PointTable(width + fixed.size(), std::move(rows));
  // set_units appends a unit and choice names per parameter: give it the new ones only.
  SweepPlan added;
  added.parameters = paths;
  set_units(registry, &added);
  plan->parameter_units.resize(plan->parameters.size());
  plan->parameter_choices.resize(plan->parameters.size());
  for (std::size_t k = 0; k < paths.size(); ++k) {
    plan->parameters.push_back(paths[k]);
    plan->parameter_units.push_back(added.parameter_units[k]);
    plan->parameter_choices.push_back(added.parameter_choices[k]);
  }
}

SweepPlan make_plan(const LoadedScenario& loaded, const std::vector<Override>& recorded,
                    std::vector<ScenarioChoice> choices) {
  const SweepSpec& spec = loaded.scenario.sweep;
  if (spec.empty()) return single_point_plan(loaded, recorded);
  // Every point lies in the box of the axes' declared bounds; checking the box
  // against every rule its axes feed (at its corners) means no point, for no
  // seed, can break a rule. The CLI has checked already; other callers have not.
  check_sweep_range(loaded);

  SweepPlan plan;
  set_run_options(loaded.scenario, &plan);
  const FieldRegistry registry(loaded.scenario);
  std::vector<double> swept;
  try {
    swept = design_values(loaded.scenario, &plan);
  } catch (const ScenarioError& e) {
    // design_values names the sweep path at fault; the scenario file has its place.
    std::vector<Diagnostic> located;
    for (const Diagnostic& d : e.diagnostics()) located.push_back(loaded.source.at(d.source, d.message));
    throw ScenarioError(std::move(located));
  }
  // Swept axes first, then any --set paths that are not swept.
  for (const SweepAxis& a : spec.axes) {
    plan.parameters.push_back(a.path);
    const FieldRef* field = registry.find(a.path);  // checked when the sweep was read; "scenario" has none
    plan.axis_fields.push_back(field ? *field : FieldRef{});
    if (a.path == kScenarioAxis) plan.scenario_column = static_cast<int>(plan.axis_fields.size()) - 1;
  }
  plan.swept = static_cast<int>(spec.axes.size());
  for (const SweepAxis& a : spec.axes)
    plan.axis_roles.emplace_back(a.path == kScenarioAxis ? (!spec.mixed()          ? ""
                                                            : spec.scenarios_lever ? "lever"
                                                                                   : "uncertainty")
                                 : !spec.mixed()         ? ""
                                 : a.lever               ? "lever"
                                                         : "uncertainty");
  for (const auto& path : override_paths(recorded, registry, spec)) plan.parameters.push_back(path);
  plan.choices = std::move(choices);
  if (plan.scenario_column >= 0) {
    add_choice_columns(&plan);
    resolve_choice_axes(spec, &plan);
  }
  set_units(registry, &plan);
  if (plan.scenario_column >= 0)
    for (const ScenarioChoice& c : plan.choices) plan.parameter_choices[plan.scenario_column].push_back(c.label);
  // With sensitivity, random, lhs and sobol give the same plan: Saltelli's,
  // from a scrambled Sobol' sequence (design_values), and the file says so.
  plan.design = std::string(to_string(spec.sensitivity ? SweepDesign::kSobol : spec.design));
  plan.samples = spec.samples;

  const std::size_t d = spec.axes.size();
  const std::size_t width = plan.parameters.size();
  if (width > d) {
    std::vector<double> fixed;
    for (std::size_t k = d; k < width - static_cast<std::size_t>(plan.choice_columns); ++k)
      fixed.push_back(last_value(recorded, registry, plan.parameters[k]));
    std::vector<double> rows;
    rows.reserve(swept.size() / d * width);
    for (std::size_t p = 0; p < swept.size() / d; ++p) {
      rows.insert(rows.end(), swept.begin() + static_cast<long>(p * d), swept.begin() + static_cast<long>((p + 1) * d));
      rows.insert(rows.end(), fixed.begin(), fixed.end());
      if (plan.choice_columns > 0) {
        const auto& values = plan.choice_values[static_cast<std::size_t>(swept[p * d + plan.scenario_column])];
        rows.insert(rows.end(), values.begin(), values.end());
      }
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
