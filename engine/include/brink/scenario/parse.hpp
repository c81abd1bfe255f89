// Scenario files (YAML, format v1): reading through the field table
// (fields.hpp), strict validation, `--set` overrides and `--sweep` axes. The
// reader collects every problem it finds, each as a Diagnostic naming the
// file, line, column, key and value, before it gives up; overrides set fields
// directly on the read scenario and are validated again (nothing is re-parsed).
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "brink/scenario/diagnostic.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

struct ScenarioSource {
  std::string label;  // shown in diagnostics
  std::string text;   // YAML
};

// One `--set PATH=VALUE`.
struct Override {
  std::string path;
  std::string value;
};
// Parses "PATH=VALUE"; throws ScenarioError naming the argument if malformed.
Override parse_override(std::string_view assignment);

// Where each path of a scenario file is: the value's line and column (a
// mapping's path gives the mapping). Problems found after reading (--set,
// sweep points, cross-field rules) are reported at their field through it.
struct SourceMap {
  std::string label;
  std::unordered_map<std::string, std::pair<int, int>> where;
  // A diagnostic at `path`, or at its nearest enclosing path in the file.
  Diagnostic at(const std::string& path, std::string message) const;
};

struct LoadedScenario {
  Scenario scenario;                      // validated, overrides applied
  std::vector<ParameterInfo> parameters;  // every settable field, in file order
  SourceMap source;
  std::vector<Override> overrides;  // the --set overrides applied, in order
  // Axis path -> the `--sweep PATH=SPEC` argument that set the axis (others come from the file).
  std::unordered_map<std::string, std::string> sweep_arguments;
};

// Parses and validates; applies the overrides in order by setting fields
// (nothing is parsed again), then validates again. Throws ScenarioError.
// A rule that reads a swept field (an axis of the file's sweep block, or one
// of `swept_later`, the paths the command line will sweep) is checked over
// the swept range (check_sweep_range), not at the base value no point runs;
// with `swept_later`, that check is left to apply_sweep_options. An override
// of a path the file's sweep varies fixes it: the axis leaves the sweep.
// With `design_later` (the command line gives --design or --samples), the
// file's samples and levels are checked against the design it ends with, by
// apply_sweep_options. With `file_sweep_off` (--no-file-sweep) the file's
// `sweep:` block is read (and must be valid) but leaves no axis.
LoadedScenario load_scenario(const ScenarioSource& source, std::span<const Override> overrides = {},
                             std::span<const std::string> swept_later = {}, bool design_later = false,
                             bool file_sweep_off = false);

// Reads a file into a ScenarioSource; throws ScenarioError if unreadable.
ScenarioSource read_scenario_file(const std::string& path);

// Adds or replaces sweep axes from `--sweep PATH=SPEC` arguments (SPEC is
// "v1,v2,..." for grid values or "min:max" / "min:max:log" for a range) and
// lever axes of a mixed design from `--lever PATH=v1,v2,...`, and
// sets the design and sample count if given; validates every axis against the
// parameter registry. Throws ScenarioError naming the argument.
void apply_sweep_options(LoadedScenario& loaded, const std::vector<std::string>& sweeps, const std::string& design,
                         std::int64_t samples, const std::vector<std::string>& levers = {});

// A number as scenario files write it (finite, YAML digit separators allowed:
// "100_000"); false if `text` is not one.
bool parse_scenario_number(const std::string& text, double* value);

// Why `text`, the value of `name` (a path, or a flag that sets one: --seed),
// is refused as an integer with a leading zero (017: the octal 15 to YAML 1.1
// readers, 17 to YAML 1.2 ones), or "" if it is none: the one rule of a
// scenario file, --set, --sweep and the flags that take a count.
std::string leading_zero_refusal(std::string_view name, std::string_view text);

// Sets `overrides` on a loaded scenario and validates it (leaving out the
// problems of the `swept` paths, as load_scenario); a problem that involves
// an overridden field names that --set. Throws ScenarioError.
void apply_overrides(LoadedScenario& loaded, std::span<const Override> overrides,
                     std::span<const std::string> swept = {});

// Diagnostics for problems found by `validate` on a loaded scenario: at the
// --set that set a field involved, else at the field's place in the file.
std::vector<Diagnostic> locate(const LoadedScenario& loaded, const std::vector<Problem>& problems);

// Throws ScenarioError if the sweep crosses a rule anywhere in its declared
// range (sweep_range_problems), each problem at its axis: the file's
// `sweep.parameters` entry or the `--sweep` argument that set it.
void check_sweep_range(const LoadedScenario& loaded);

// Checks one sweep axis against the registry (known, numeric, a model
// parameter, values or range fitting the design and the field's range);
// returns the problem, or "" if none.
std::string sweep_axis_problem(const SweepAxis& axis, SweepDesign design, const std::vector<ParameterInfo>& parameters);

// The sweep axis of scenario choices (`--sweep scenario=a.yaml,b.yaml`,
// `sweep.scenarios`): its values are the choices' indices.
inline constexpr std::string_view kScenarioAxis = "scenario";

// Combinations of design, sensitivity, Morris and levers that cannot be run,
// as one sentence; "" if the combination is fine.
std::string sweep_design_problem(const SweepSpec& spec);

// The most points a sweep may plan: every point holds its parameter values
// and summaries in memory, and far larger plans would exhaust it before the
// first block ran (sweep_design_problem refuses them).
inline constexpr std::int64_t kMaxSweepPoints = 10'000'000;
// The points the sweep's design plans before constraints drop any, saturated
// at the largest int64 (a message then says "more than" it).
std::int64_t planned_sweep_points(const SweepSpec& spec);

// A categorical sweep axis (a text or true/false field): a grid of choice
// indices, each in [0, choices); the problem, or "" if none.
std::string categorical_axis_problem(const SweepAxis& axis, SweepDesign design, const ParameterInfo& info);

// The registry entry of `path`, or null.
const ParameterInfo* parameter_info(const std::vector<ParameterInfo>& parameters, std::string_view path);

// A sweep value as written: a number, or for a categorical field one of its
// names (stored as the name's index). False if `text` is neither.
bool sweep_value_from_text(const std::vector<ParameterInfo>& parameters, std::string_view path, const std::string& text,
                           double* value);

// "square, linear": a field's choices for messages.
std::string choice_list(std::span<const std::string_view> choices);

// Levenshtein distance, for "did you mean" hints.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Up to `limit` paths nearest to `path` by edit distance, nearest first.
std::vector<std::string> nearest_paths(const std::vector<ParameterInfo>& parameters, std::string_view path,
                                       std::size_t limit = 3);

}  // namespace brink
