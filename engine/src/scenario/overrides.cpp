// --set overrides and --sweep axes: values set directly on a read scenario
// through the field table, then validated; nothing is parsed again.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "brink/scenario/parse.hpp"
#include "brink/scenario/sweep_constraints.hpp"
#include "yaml_reader.hpp"

namespace brink {
namespace {

// How a message names a --set: path as shown() and value as shown_value(), so
// that a value of 100,000 digits is cut, an escape sequence is not sent to the
// terminal, and blanks around the value still show.
std::string set_label(std::string_view path, std::string_view value) {
  return fmt::format("--set {}={}", shown(std::string(path)), shown_value(value));
}

// A --sweep or --lever argument as a message shows it: a list of scenario
// files whole (each path matters), any other cut as shown() cuts it.
std::string sweep_argument_shown(const std::string& argument) {
  return argument.starts_with("scenario=") ? escaped(argument) : shown(argument);
}

// A path in double quotes with its blanks escaped ("run.seed\t"), so that they show.
std::string escaped_path(std::string_view path) { return fmt::format("\"{}\"", escaped(path.substr(0, 60))); }

// The blank a parameter path holds, in words, or "": no path has one, so it
// is a typo that a message on one line would hide (' run.seed' shown as 'run.seed').
std::string blank_in_path(std::string_view path) {
  const auto at = path.find_first_of(" \t\n\r\v\f");
  if (at == std::string_view::npos) return {};
  const char c = path[at];
  return c == ' ' ? "a space" : c == '\t' ? "a tab" : c == '\n' ? "a newline" : "a blank";
}

bool parse_design_name(std::string_view name, SweepDesign* design) {
  for (SweepDesign d :
       {SweepDesign::kGrid, SweepDesign::kRandom, SweepDesign::kLhs, SweepDesign::kSobol, SweepDesign::kMorris})
    if (to_string(d) == name) {
      *design = d;
      return true;
    }
  return false;
}

// Why `path` cannot be swept whatever its values: unknown, or a run setting; "" if it can be.
std::string unsweepable_path_problem(const std::string& path, const std::vector<ParameterInfo>& parameters) {
  if (!parameter_info(parameters, path))
    return fmt::format("unknown parameter path '{}'; nearest valid paths: {}", shown(path),
                       fmt::join(nearest_paths(parameters, path), ", "));
  if (is_run_setting(path))
    return fmt::format("'{}' is a run setting, not a model parameter; it cannot be swept", path);
  return {};
}

// One --sweep PATH=SPEC; the problem, or "" if it was read into *axis.
std::string read_sweep_argument(const std::string& argument, const std::vector<ParameterInfo>& parameters,
                                SweepAxis* axis) {
  const auto eq = argument.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size())
    return "not of the form PATH=v1,v2,... or PATH=min:max[:log]";
  axis->path = argument.substr(0, eq);
  if (const std::string blank = blank_in_path(axis->path); !blank.empty())
    return fmt::format("the path {} contains {}; parameter paths have none", escaped_path(axis->path), blank);
  const std::string value = argument.substr(eq + 1);
  std::vector<std::string> parts;
  const char separator = value.find(':') != std::string::npos ? ':' : ',';
  std::stringstream stream(value);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
  if (value.back() == separator) parts.emplace_back();  // "1,2," has an empty last value, as "1,,2" an empty middle one
  // A number with a leading zero is refused as in a scenario file; 100,000 is the list [100, 000].
  const std::string path_problem = unsweepable_path_problem(axis->path, parameters);
  const ParameterInfo* info = parameter_info(parameters, axis->path);
  if (path_problem.empty() && separator == ':') {
    for (const std::string& part : parts)
      if (leading_zero_integer(part)) return leading_zero_problem(axis->path, part);
  } else if (path_problem.empty() && info->choices.empty()) {
    const auto zeros = leading_zero_values(axis->path, parts, [&](std::size_t) { return axis->path; });
    if (!zeros.empty()) return zeros.front().second;
  }
  bool ok = true;
  auto number_of = [&](const std::string& text) {
    double v = 0;
    if (!parse_scenario_number(text, &v)) ok = false;
    return v;
  };
  if (separator == ':') {
    if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "log"))
      return "a range is min:max or min:max:log";
    axis->min = number_of(parts[0]);
    axis->max = number_of(parts[1]);
    axis->log = parts.size() == 3;
  } else {
    for (const auto& part : parts) {
      double v = 0;
      if (!sweep_value_from_text(parameters, axis->path, part, &v)) ok = false;
      axis->values.push_back(v);
    }
  }
  if (!ok) {
    // Values are judged only for a path that can be swept at all.
    if (!path_problem.empty()) return path_problem;
    if (!info->choices.empty())
      return separator == ':'
                 ? fmt::format("'{}' is categorical ({}): list its values, PATH=v1,v2,..., not a range", axis->path,
                               choice_list(info->choices))
                 : fmt::format("'{}' is not a list of {}'s values ({})", value, axis->path, choice_list(info->choices));
    if (separator == ':')  // a bound left out, as a range in the file without its key
      for (const auto& [part, bound] : {std::pair{parts[0], "min"}, std::pair{parts[1], "max"}})
        if (part.empty())
          return fmt::format("the range '{}' has no {}; a range is min:max or min:max:log", value, bound);
    for (const std::string& part : parts)
      if (underflows_a_double(part)) return fmt::format("'{}' {}", part, kCloserToZeroThanADouble);
    return fmt::format("'{}' is not a list of finite numbers or a range", value);
  }
  return {};
}

}  // namespace

const ParameterInfo* parameter_info(const std::vector<ParameterInfo>& parameters, std::string_view path) {
  const auto it =
      std::find_if(parameters.begin(), parameters.end(), [&](const ParameterInfo& i) { return i.path == path; });
  return it == parameters.end() ? nullptr : &*it;
}

std::string choice_list(std::span<const std::string_view> choices) {
  std::string out;
  for (std::size_t i = 0; i < choices.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", choices[i]);
  return out;
}

bool sweep_value_from_text(const std::vector<ParameterInfo>& parameters, std::string_view path, const std::string& text,
                           double* value) {
  const ParameterInfo* info = parameter_info(parameters, path);
  if (!info || info->choices.empty()) return parse_scenario_number(text, value);
  const auto it = std::find(info->choices.begin(), info->choices.end(), text);
  if (it == info->choices.end()) return false;
  *value = static_cast<double>(it - info->choices.begin());
  return true;
}

// Of the first 64 characters of each: the distance only ranks suggestions,
// and the full quadratic table of a megabyte-long name took hours.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  constexpr std::size_t kCompared = 64;
  a = a.substr(0, kCompared);
  b = b.substr(0, kCompared);
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Diagnostic SourceMap::at(const std::string& path, std::string message) const {
  for (std::string p = path;;) {
    if (const auto it = where.find(p); it != where.end())
      return {label, it->second.first, it->second.second, std::move(message)};
    const auto dot = p.rfind('.');
    if (dot == std::string::npos) break;
    p.resize(dot);
  }
  return {label, -1, -1, std::move(message)};
}

std::vector<Diagnostic> locate(const LoadedScenario& loaded, const std::vector<Problem>& problems) {
  std::vector<Diagnostic> out;
  for (const Problem& problem : problems) {
    // The last --set of any field the problem involves is at fault.
    const Override* culprit = nullptr;
    for (const Override& o : loaded.overrides)
      if (std::find(problem.paths.begin(), problem.paths.end(), o.path) != problem.paths.end()) culprit = &o;
    if (culprit)
      out.push_back({set_label(culprit->path, culprit->value), -1, -1, problem.message});
    else
      out.push_back(loaded.source.at(problem.paths.empty() ? std::string() : problem.paths.front(), problem.message));
  }
  return out;
}

Override parse_override(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == assignment.size())
    throw ScenarioError({{"--set", -1, -1,
                          fmt::format("'{}' is not of the form PATH=VALUE (e.g. actors.RUS.forces.deployed=150000)",
                                      shown(std::string(assignment)))}});
  const std::string_view path = assignment.substr(0, eq);
  if (const std::string blank = blank_in_path(path); !blank.empty())
    throw ScenarioError({{set_label(path, assignment.substr(eq + 1)), -1, -1,
                          fmt::format("the path {} contains {}; parameter paths have none (e.g. run.seed=7)",
                                      escaped_path(path), blank)}});
  return {std::string(path), std::string(assignment.substr(eq + 1))};
}

std::vector<std::string> nearest_paths(const std::vector<ParameterInfo>& parameters, std::string_view path,
                                       std::size_t limit) {
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const auto& info : parameters) ranked.emplace_back(edit_distance(path, info.path), info.path);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && out.size() < limit; ++i) out.push_back(ranked[i].second);
  return out;
}

namespace {

// A bound of an adaptive count --set on a scenario whose count is fixed: the
// path exists only where the file declares the mapping.
std::string adaptive_count_problem(const Override& o) {
  return fmt::format(
      "'{}={}': the scenario's replications are a fixed count, and an adaptive count (run.replications: "
      "{{min: N, max: M, ci_halfwidth: H}}) can only be declared in the scenario file, not from the "
      "command line; --set run.replications=N (or -n N) changes the fixed count",
      shown(o.path), shown_value(o.value));
}

}  // namespace

void apply_overrides(LoadedScenario& loaded, std::span<const Override> overrides, std::span<const std::string> swept) {
  const FieldRegistry registry(loaded.scenario);
  std::vector<Diagnostic> problems;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const Override& o = overrides[i];
    // A later --set of the same path wins, and this value is never set; it is
    // checked all the same (path, text and range), since the file's
    // `overrides` attribute records it and a re-run replays it.
    const bool replaced = std::any_of(overrides.begin() + static_cast<std::ptrdiff_t>(i) + 1, overrides.end(),
                                      [&](const Override& later) { return later.path == o.path; });
    const FieldRef* field = registry.find(o.path);
    if (!field && o.path.starts_with("run.replications.") && !loaded.scenario.run.rule.adaptive) {
      problems.push_back({"--set", -1, -1, adaptive_count_problem(o)});
      continue;
    }
    if (!field) {
      problems.push_back(
          {"--set", -1, -1,
           fmt::format("unknown parameter path '{}' in '{}={}'; nearest valid paths: {}", shown(o.path), shown(o.path),
                       shown_value(o.value), fmt::join(nearest_paths(registry.parameters(), o.path), ", "))});
      continue;
    }
    const std::string label = set_label(o.path, o.value);
    // As in the scenario file and a --sweep list: the file's `overrides` records the text.
    if (leading_zero_integer(o.value)) {
      problems.push_back({label, -1, -1, leading_zero_problem(o.path, o.value)});
      continue;
    }
    double value = 0.0;
    if (std::string problem = field_value_from_text(*field->spec, o.value, &value); !problem.empty()) {
      problems.push_back(
          {label, -1, -1,
           fmt::format("'{}' {}, got '{}'{}", o.path, problem, shown_value(o.value), blank_edges_note(o.value))});
      continue;
    }
    if (std::string problem = field_value_problem(*field->spec, o.path, value, shown(o.value)); !problem.empty()) {
      problems.push_back({label, -1, -1, problem});
      continue;
    }
    if (replaced) continue;
    // An earlier --set can take a field away: run.replications=N makes the
    // count fixed, and then run.replications.min and .max would make two
    // counts of it (the run, `brink params` and rerun_command would disagree).
    if (field->spec->applies && !field->spec->applies(loaded.scenario, field->index)) {
      problems.push_back(
          {label, -1, -1,
           o.path.starts_with("run.replications.")
               ? fmt::format("'{}' ({}) bounds an adaptive count, but an earlier --set "
                             "run.replications={} made the count fixed; give the fixed count or "
                             "the adaptive keys, not both",
                             o.path, shown(o.value), loaded.scenario.run.rule.max)
               : fmt::format("'{}' does not apply to the scenario as the earlier --set options leave it", o.path)});
      continue;
    }
    field->set(loaded.scenario, value);
    if (std::string why = unreached_reason(loaded.scenario, *field); !why.empty()) {
      problems.push_back({label, -1, -1, fmt::format("'{}' {}", o.path, why)});
      continue;
    }
    loaded.overrides.push_back(o);
  }
  if (!problems.empty()) throw ScenarioError(std::move(problems));
  if (auto found = locate(loaded, validate(loaded.scenario, swept)); !found.empty())
    throw ScenarioError(std::move(found));
  loaded.parameters = FieldRegistry(loaded.scenario).parameters();
}

std::int64_t planned_sweep_points(const SweepSpec& spec) {
  constexpr std::int64_t kCap = std::numeric_limits<std::int64_t>::max();
  auto times = [&](std::int64_t a, std::int64_t b) { return b != 0 && a > kCap / b ? kCap : std::min(kCap, a * b); };
  const auto d = static_cast<std::int64_t>(spec.axes.size());
  const bool scenario_axis =
      std::any_of(spec.axes.begin(), spec.axes.end(), [](const SweepAxis& a) { return a.path == kScenarioAxis; });
  std::int64_t grid = scenario_axis || spec.scenarios.empty() ? 1 : static_cast<std::int64_t>(spec.scenarios.size());
  for (const SweepAxis& a : spec.axes)
    if (spec.design == SweepDesign::kGrid || a.lever) grid = times(grid, static_cast<std::int64_t>(a.values.size()));
  if (spec.design == SweepDesign::kGrid && !spec.sensitivity) return grid;
  if (spec.sensitivity) return times(spec.samples, d + 2);
  if (spec.design == SweepDesign::kMorris) return times(spec.samples, d + 1);
  return times(grid, spec.samples);
}

std::string sweep_design_problem(const SweepSpec& spec) {
  if (spec.sensitivity && spec.axes.empty())
    return "sensitivity indices need swept parameters: give --sweep PATH=min:max (or a sweep block) with a random, "
           "lhs or sobol design";
  if (spec.sensitivity && spec.design == SweepDesign::kGrid)
    return "sensitivity indices need a random, lhs or sobol design, not a grid";
  if (spec.sensitivity && spec.design == SweepDesign::kMorris)
    return "a morris design gives its own screening measures (mu*, mu, sigma); sensitivity (Sobol' indices) needs a "
           "random, lhs or sobol design";
  // Scenario files under a sampled design become a lever (load_scenario_choices), so they count as one here.
  const bool scenario_files = !spec.scenarios.empty() && spec.design != SweepDesign::kGrid;
  if (scenario_files && (spec.sensitivity || spec.design == SweepDesign::kMorris))
    return fmt::format(
        "{} every axis sampled, and a sweep over scenario files is a grid of scenarios: run it once per "
        "scenario file",
        spec.sensitivity ? "sensitivity indices need" : "a morris design needs");
  if (spec.mixed() && spec.sensitivity)
    return "sensitivity indices need every axis sampled, and a mixed design's levers are a grid: fix the levers with "
           "--set and run the Saltelli plan once per policy";
  if (spec.mixed() && spec.design == SweepDesign::kMorris)
    return "a morris design needs every axis sampled, and a mixed design's levers are a grid: fix the levers with "
           "--set and screen once per policy";
  // From fewer base rows (trajectories) the bootstrap has almost nothing to
  // resample: one row gave indices of 4, 8 and 540 with "95% intervals" of
  // zero width. From this many on, a poor estimate shows as a wide interval.
  constexpr std::int64_t kMinScreeningSamples = 4;
  if ((spec.sensitivity || spec.design == SweepDesign::kMorris) && spec.samples > 0 &&
      spec.samples < kMinScreeningSamples)
    return fmt::format(
        "{} need at least {} samples (sweep.samples, --samples) for their bootstrap intervals to say how uncertain "
        "they are; got {}",
        spec.sensitivity ? "sensitivity indices" : "morris measures", kMinScreeningSamples, spec.samples);
  if (const std::int64_t planned = planned_sweep_points(spec); planned > kMaxSweepPoints)
    return fmt::format(
        "the design plans {} points, more than the {} one run holds in memory; give fewer values or "
        "samples, or split the sweep into several runs",
        // The count stops at the largest 64-bit integer: beyond it, its order of magnitude.
        planned == std::numeric_limits<std::int64_t>::max() ? std::string("over 9.2e18") : std::to_string(planned),
        kMaxSweepPoints);
  return {};
}

std::string categorical_axis_problem(const SweepAxis& axis, SweepDesign design, const ParameterInfo& info) {
  if (info.choices.empty()) return fmt::format("'{}' is not a number; only numeric fields can be swept", axis.path);
  // A morris design (and sensitivity) refuses levers too: only the remedies it accepts are named.
  if (design == SweepDesign::kMorris)
    return fmt::format(
        "'{}' is categorical ({}), and a morris design samples ranges: fix it with --set and screen once per "
        "value, or list its values on a grid axis",
        axis.path, choice_list(info.choices));
  if (design != SweepDesign::kGrid)
    return fmt::format(
        "'{}' is categorical ({}), and a {} design samples ranges: list its values on a grid axis, or make it a "
        "lever of a mixed design",
        axis.path, choice_list(info.choices), to_string(design));
  if (axis.values.empty())
    return fmt::format("grid axis '{}' needs a list of values, e.g. [{}]", axis.path, choice_list(info.choices));
  for (double v : axis.values)
    if (v != std::floor(v) || v < 0 || v >= static_cast<double>(info.choices.size()))
      return fmt::format("'{}' must be one of {}, got {}", axis.path, choice_list(info.choices), v);
  return {};
}

// A value given twice would run its points twice and count them double in every summary.
std::string repeated_value_problem(const SweepAxis& axis, const ParameterInfo& info) {
  std::vector<double> sorted = axis.values;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  if (twice == sorted.end()) return {};
  const bool choice = *twice >= 0 && *twice < static_cast<double>(info.choices.size()) && *twice == std::floor(*twice);
  return fmt::format("'{}' lists the value {} twice; give each value once", axis.path,
                     choice ? info.choices[static_cast<std::size_t>(*twice)] : fmt::format("{}", *twice));
}

std::string sweep_axis_problem(const SweepAxis& axis, SweepDesign design,
                               const std::vector<ParameterInfo>& parameters) {
  if (std::string path_problem = unsweepable_path_problem(axis.path, parameters); !path_problem.empty())
    return path_problem;
  const ParameterInfo* info = parameter_info(parameters, axis.path);
  if (std::string twice = repeated_value_problem(axis, *info); !twice.empty()) return twice;
  if (!info->numeric) return categorical_axis_problem(axis, design, *info);
  auto out_of_range = [&](double v) {
    if (v < info->min || v > info->max)
      return fmt::format("'{}' must be in [{}, {}]{}, got {}", axis.path, info->min, info->max,
                         info->unit.empty() ? "" : " " + info->unit, v);
    if (info->integer && v != std::floor(v)) return fmt::format("'{}' must be a whole number, got {}", axis.path, v);
    return std::string();
  };
  if (design == SweepDesign::kGrid) {
    if (axis.values.empty())  // a range (an empty list is refused where it is read)
      // The example values are the field's own bounds, so that they lie in its range.
      return fmt::format(
          "a range needs a random, lhs, sobol or morris design (--design lhs, or sweep.design in the file); on a "
          "grid, axis '{}' takes values, e.g. [{}, {}] in a file or {}={},{} with --sweep",
          axis.path, info->min, info->max, axis.path, info->min, info->max);
    for (double v : axis.values)
      if (auto problem = out_of_range(v); !problem.empty()) return problem;
    return {};
  }
  if (!axis.values.empty())
    return fmt::format("axis '{}' lists values, but a {} design samples a range: write {{min: ..., max: ...}}",
                       axis.path, to_string(design));
  // A sampled value between whole numbers would be recorded as it was drawn but run truncated.
  if (info->integer)
    return fmt::format(
        "'{}' is a whole number, which the {} design cannot sample from a range; give it as a list of "
        "values with --lever {}=1,2,3 (or a grid)",
        axis.path, to_string(design), axis.path);
  if (axis.min > axis.max) return fmt::format("axis '{}' has min {} above max {}", axis.path, axis.min, axis.max);
  if (axis.log && axis.min <= 0) return fmt::format("log axis '{}' needs min > 0, got {}", axis.path, axis.min);
  for (double v : {axis.min, axis.max})
    if (auto problem = out_of_range(v); !problem.empty()) return problem;
  return {};
}

void check_sweep_range(const LoadedScenario& loaded) {
  std::vector<Diagnostic> diagnostics;
  std::vector<Problem> problems = unreached_axis_problems(loaded.scenario);
  if (problems.empty()) problems = sweep_range_problems(loaded.scenario);
  for (const Problem& problem : problems) {
    const std::string& first = problem.paths.front();
    constexpr std::string_view kAxis = "sweep.parameters.";
    const auto argument = first.starts_with(kAxis) ? loaded.sweep_arguments.find(first.substr(kAxis.size()))
                                                   : loaded.sweep_arguments.end();
    if (argument != loaded.sweep_arguments.end())
      diagnostics.push_back({"--sweep " + sweep_argument_shown(argument->second), -1, -1, problem.message});
    else
      diagnostics.push_back(loaded.source.at(first, problem.message));
  }
  if (!diagnostics.empty()) throw ScenarioError(std::move(diagnostics));
}

namespace {

// The sweep after the command line is merged: each axis, the design's needs
// and combinations, the constraints.
std::vector<Diagnostic> merged_sweep_problems(const LoadedScenario& loaded) {
  const SweepSpec& spec = loaded.scenario.sweep;
  const std::vector<ParameterInfo>& parameters = loaded.parameters;
  std::vector<Diagnostic> problems;
  for (const SweepAxis& axis : spec.axes) {
    const SweepDesign as = axis.lever ? SweepDesign::kGrid : spec.design;
    std::string problem = sweep_axis_problem(axis, as, parameters);
    if (problem.empty()) continue;
    // Named where the axis was given: its option, or its line in the scenario file.
    if (const auto argument = loaded.sweep_arguments.find(axis.path); argument != loaded.sweep_arguments.end())
      problems.push_back({(axis.lever ? "--lever " : "--sweep ") + sweep_argument_shown(argument->second), -1, -1,
                          std::move(problem)});
    else
      problems.push_back(loaded.source.at("sweep.parameters." + axis.path, std::move(problem)));
  }
  if (problems.empty() && !spec.axes.empty() && spec.design != SweepDesign::kGrid && spec.samples == 0)
    problems.push_back(
        {"sweep", -1, -1,
         fmt::format("a {} design needs a number of points (--samples N or sweep.samples)", to_string(spec.design))});
  if (problems.empty() && spec.mixed() && spec.design == SweepDesign::kGrid)
    problems.push_back({"sweep", -1, -1,
                        "a mixed design (levers × uncertainties) samples its uncertainties: give --design random, "
                        "lhs or sobol and --samples N"});
  if (problems.empty() && spec.mixed() &&
      std::all_of(spec.axes.begin(), spec.axes.end(), [](const SweepAxis& a) { return a.lever; }))
    problems.push_back(
        {"sweep", -1, -1, "a mixed design needs at least one uncertainty (a --sweep PATH=min:max range)"});
  if (problems.empty())
    if (std::string problem = sweep_design_problem(spec); !problem.empty())
      problems.push_back({"sweep", -1, -1, problem});
  if (problems.empty())
    for (const SweepConstraint& c : spec.constraints)
      if (std::string problem = constraint_problem(c, spec, parameters);
          !problem.empty() &&
          std::none_of(problems.begin(), problems.end(), [&](const Diagnostic& d) { return d.message == problem; }))
        problems.push_back({"sweep", -1, -1, problem});  // a design's refusal once, not once per constraint
  if (problems.empty())
    for (std::size_t i = 0; i < spec.constraints.size(); ++i)
      if (std::string problem = constraint_order_problem(std::span(spec.constraints).first(i), spec.constraints[i]);
          !problem.empty())
        problems.push_back(loaded.source.at(fmt::format("sweep.constraints.{}.rule", i),
                                            fmt::format("'sweep.constraints.{}.rule': {}", i, problem)));
  return problems;
}

}  // namespace

void apply_sweep_options(LoadedScenario& loaded, const std::vector<std::string>& sweeps, const std::string& design,
                         std::int64_t samples, const std::vector<std::string>& levers) {
  SweepSpec& spec = loaded.scenario.sweep;
  std::vector<Diagnostic> problems;
  if (!design.empty() && !parse_design_name(design, &spec.design)) {
    std::string lower = design;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    SweepDesign unused{};
    problems.push_back({"--design", -1, -1,
                        fmt::format("must be grid, random, lhs, sobol or morris, got '{}'{}", shown(design),
                                    lower != design && parse_design_name(lower, &unused)
                                        ? fmt::format(" (names are lower case: '{}')", lower)
                                        : "")});
  }
  if (samples > 0) spec.samples = samples;
  std::vector<std::pair<std::string, bool>> arguments;
  std::unordered_map<std::string, std::string> given;  // path -> the option that made it an axis
  for (const std::string& argument : sweeps) arguments.emplace_back(argument, false);
  for (const std::string& argument : levers) arguments.emplace_back(argument, true);
  for (const auto& [argument, lever] : arguments) {
    if (argument.rfind("scenario=", 0) == 0) {
      const std::string option = lever ? "--lever " : "--sweep ";
      if (const auto earlier = given.find("scenario"); earlier != given.end()) {
        problems.push_back({option + sweep_argument_shown(argument), -1, -1,
                            fmt::format("'scenario' is already an axis ({}); give each axis once", earlier->second)});
        continue;
      }
      given.emplace("scenario", option + sweep_argument_shown(argument));
      // Scenario choices: files, loaded and checked by the caller (they need I/O).
      spec.scenarios.clear();
      std::stringstream files(argument.substr(9));
      for (std::string file; std::getline(files, file, ',');)
        if (!file.empty()) spec.scenarios.push_back(file);
      if (spec.scenarios.size() < 2)
        problems.push_back({"--sweep " + sweep_argument_shown(argument), -1, -1,
                            "scenario choices need at least two files: scenario=a.yaml,b.yaml"});
      loaded.sweep_arguments["scenario"] = argument;
      spec.scenarios_lever = lever;
      continue;
    }
    SweepAxis axis;
    const std::string option = lever ? "--lever " : "--sweep ";
    if (std::string problem = read_sweep_argument(argument, loaded.parameters, &axis); !problem.empty()) {
      problems.push_back({option + sweep_argument_shown(argument), -1, -1, problem});
      continue;
    }
    if (lever && axis.values.empty()) {
      problems.push_back(
          {option + sweep_argument_shown(argument), -1, -1, "a lever is a list of values, PATH=v1,v2,..."});
      continue;
    }
    axis.lever = lever;
    // An axis of the file's sweep block is replaced; one given twice here would silently drop the first.
    if (const auto earlier = given.find(axis.path); earlier != given.end()) {
      problems.push_back(
          {option + sweep_argument_shown(argument), -1, -1,
           fmt::format("'{}' is already an axis ({}); give each axis once", shown(axis.path), earlier->second)});
      continue;
    }
    given.emplace(axis.path, option + sweep_argument_shown(argument));
    loaded.sweep_arguments[axis.path] = argument;
    const auto same =
        std::find_if(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == axis.path; });
    if (same != spec.axes.end())
      *same = axis;
    else
      spec.axes.push_back(axis);
  }
  if (problems.empty() && !design.empty() && spec.empty())
    problems.push_back({"--design " + shown(design), -1, -1,
                        "samples the sweep's axes, and this run sweeps nothing: add --sweep PATH=MIN:MAX (or a sweep "
                        "block in the scenario), or drop --design"});
  if (problems.empty() && samples > 0 && spec.design == SweepDesign::kGrid)
    problems.push_back({"--samples", -1, -1,
                        "sets the points of a sampled design, and this sweep is a grid (every combination "
                        "of its values): give --design random, lhs, sobol or morris, or drop --samples"});
  // The file's samples and levels fit the design the run ends with (load_scenario left them to this, `design_later`).
  const std::string ends_with =
      design.empty() ? fmt::format("this sweep's design is {}", to_string(spec.design))
                     : fmt::format("--design {} makes this sweep's design {}", shown(design), to_string(spec.design));
  if (problems.empty() && spec.design == SweepDesign::kGrid && spec.samples > 0)
    problems.push_back(loaded.source.at(
        "sweep.samples", fmt::format("'sweep.samples' ({}) sets the points of a sampled design, and {} (a grid: every "
                                     "combination of its values): drop the one or the other",
                                     spec.samples, ends_with)));
  if (problems.empty() && spec.design != SweepDesign::kMorris && loaded.source.where.contains("sweep.levels"))
    problems.push_back(loaded.source.at(
        "sweep.levels", fmt::format("'sweep.levels' (Morris grid levels, {}) applies to the morris design only, and "
                                    "{}: drop the one or the other",
                                    spec.morris_levels, ends_with)));
  if (problems.empty()) problems = merged_sweep_problems(loaded);
  if (!problems.empty()) throw ScenarioError(std::move(problems));
  check_sweep_range(loaded);
}

std::string leading_zero_refusal(std::string_view name, std::string_view text) {
  return leading_zero_integer(text) ? leading_zero_problem(name, text) : std::string();
}

}  // namespace brink
