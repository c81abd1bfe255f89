// Names and values the file takes from CF and netCDF conventions: fill
// values, coordinate variable names and UDUNITS units (docs/output.md).
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "brink/io/variables.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {

std::int64_t missing_integer(std::size_t bytes) {
  switch (bytes) {
    case 1:
      return -127;
    case 2:
      return -32767;
    case 4:
      return -2147483647;
    default:
      return -9223372036854775806LL;
  }
}

std::vector<std::string> parameter_coordinate_names(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  auto taken = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
    for (const VariableSpec& v : variable_table())
      if (v.name == name) return true;
    return false;
  };
  for (const std::string& path : paths) {
    std::string base;
    for (char c : path) {
      const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      base += word ? c : '_';
    }
    if (base.empty() || (base[0] >= '0' && base[0] <= '9')) base = "p_" + base;
    // netCDF-C reads a name of at most NC_MAX_NAME - 1 bytes (a longer one it
    // drops, or reads past its buffer): a longer name keeps its start and
    // ends in the path's digest, the path itself being in parameter_path.
    auto fitted = [&](const std::string& suffix) {
      if (base.size() + suffix.size() <= kMaxVariableName) return base + suffix;
      const std::string tag = fmt::format("_{}", content_digest(path));
      return base.substr(0, kMaxVariableName - tag.size() - suffix.size()) + tag + suffix;
    };
    std::string name = fitted("");
    for (int k = 2; taken(name); ++k) name = fitted(fmt::format("_{}", k));
    names.push_back(name);
  }
  return names;
}

std::string udunits_of(std::string_view unit) { return std::string(udunits_of_unit(unit)); }

}  // namespace brink
