// Reads back what `brink inspect` shows: root attributes, the variables with
// their dimensions, and the per-point outcome summaries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "brink/io/table.hpp"
#include "brink/sweep/morris.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

struct VariableInfo {
  std::string name;
  std::vector<std::string> dimensions;
  std::vector<unsigned long long> shape;
  std::string long_name;
  std::string units;
};

struct FileReport {
  std::vector<std::pair<std::string, std::string>> attributes;  // root, as text
  std::vector<VariableInfo> variables;
  std::vector<std::string> actors;
  std::vector<std::string> parameters;
  std::vector<double> parameter_values;                     // point-major, parameters.size() per point
  std::vector<std::vector<std::string>> parameter_choices;  // per parameter: a categorical one's names, else empty
  // The points' summaries as the outcome table shows them: read a slab of
  // points at a time and offered to `table`, so that a file of millions of
  // points is read in bounded memory. Where the file is unfinished or a
  // shard, points that did not run are counted and the first listed instead.
  TableRows table;
  std::int64_t points = 0, not_run = 0;
  std::vector<std::int64_t> first_not_run;  // at most kNotRunListed
  static constexpr std::size_t kNotRunListed = 20;
  std::vector<std::string> sensitivity_outputs;  // empty unless the file has Sobol indices
  std::vector<SobolIndex> sensitivity;           // output-major over the swept parameters
  std::vector<MorrisIndex> morris;               // Morris measures (--design morris), the same layout
  // Adaptive replications (root attribute ci_halfwidth): the finished points
  // whose 95% intervals stayed wider than it, having stopped at max.
  PrecisionShortfall shortfall;
  bool complete = false;
  double dt_days = 0.0;  // root attribute dt_days [days]; 0 if absent
};

// Throws OutputError if the file cannot be read or is not a brink file.
FileReport read_report(const std::string& path);

// A root text attribute of a result file, or "" when the file cannot be read
// or has no such attribute (callers that need a reason open it properly).
std::string read_root_text(const std::string& path, const char* name);
// Whether the file opens plainly (no writer has it marked open) and its root
// attribute `complete` is 1: a finished run's file, which nothing rewrites.
bool is_finished_result(const std::string& path);

}  // namespace brink
