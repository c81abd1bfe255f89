// Names and values the file takes from CF and netCDF conventions: fill
// values, coordinate variable names and UDUNITS units (docs/output.md).
#include <algorithm>
#include <string>

#include "brink/io/variables.hpp"
#include "brink/scenario/fields.hpp"

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
    std::string name = base;
    for (int k = 2; taken(name); ++k) name = base + "_" + std::to_string(k);
    names.push_back(name);
  }
  return names;
}

std::string udunits_of(std::string_view unit) { return std::string(udunits_of_unit(unit)); }

}  // namespace brink
