// Reads back what `brink inspect` shows: root attributes, the variables with
// their dimensions, and the per-point outcome summaries.
#pragma once

#include <string>
#include <vector>

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
  std::vector<std::vector<double>> parameter_values;        // per point
  std::vector<std::vector<std::string>> parameter_choices;  // per parameter: a categorical one's names, else empty
  std::vector<PointSummary> summaries;
  std::vector<std::string> sensitivity_outputs;  // empty unless the file has Sobol indices
  std::vector<SobolIndex> sensitivity;           // output-major over the swept parameters
  std::vector<MorrisIndex> morris;               // Morris measures (--design morris), the same layout
  bool complete = false;
};

// Throws OutputError if the file cannot be read or is not a brink file.
FileReport read_report(const std::string& path);

// A root text attribute of a result file, or "" when the file cannot be read
// or has no such attribute (callers that need a reason open it properly).
std::string read_root_text(const std::string& path, const char* name);

}  // namespace brink
