// Scenario files (YAML, format v1): parsing, strict validation and `--set`
// overrides. The parser collects every problem it finds, each as a Diagnostic
// naming the file, line, column, key and value, before it gives up.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/scenario/scenario.hpp"

namespace brink {

struct Diagnostic {
  std::string source;  // file path, or the shipped scenario's name
  int line = -1;       // 1-based; -1 when the value came from a --set override
  int column = -1;     // 1-based
  std::string message;

  // "file:line:col: message", or "file: message" without a position.
  std::string format() const;
};

// Thrown for bad input; holds every problem found. Maps to exit code 2.
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

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

// A field reachable by a dotted path: numbers can be set and swept; text and
// true/false fields (combat.law, run.decisions, ...) can be set.
struct ParameterInfo {
  std::string path;  // e.g. "actors.RUS.forces.deployed"
  double min = 0.0;
  double max = 0.0;
  bool integer = false;
  std::string unit;
  bool numeric = true;
};

struct LoadedScenario {
  Scenario scenario;
  std::vector<ParameterInfo> parameters;  // every settable numeric field, in file order
};

// Parses and validates; applies the overrides in order. Throws ScenarioError.
LoadedScenario load_scenario(const ScenarioSource& source, std::span<const Override> overrides = {});

// Reads a file into a ScenarioSource; throws ScenarioError if unreadable.
ScenarioSource read_scenario_file(const std::string& path);

// Adds or replaces sweep axes from `--sweep PATH=SPEC` arguments (SPEC is
// "v1,v2,..." for grid values or "min:max" / "min:max:log" for a range) and
// sets the design and sample count if given; validates every axis against the
// parameter registry. Throws ScenarioError naming the argument.
void apply_sweep_options(LoadedScenario& loaded, const std::vector<std::string>& sweeps, const std::string& design,
                         std::int64_t samples);

// A number as scenario files write it (finite, YAML digit separators allowed:
// "100_000"); false if `text` is not one.
bool parse_scenario_number(const std::string& text, double* value);

// Up to `limit` paths nearest to `path` by edit distance, nearest first.
std::vector<std::string> nearest_paths(const std::vector<ParameterInfo>& parameters, std::string_view path,
                                       std::size_t limit = 3);

}  // namespace brink
