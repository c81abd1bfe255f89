// Scenario files shipped inside the binary (scenarios/*.yaml at build time).
#pragma once

#include <string_view>
#include <vector>

namespace brink {

struct ShippedScenario {
  std::string_view name;  // path under scenarios/ without .yaml, e.g. "validation/logit-choice"
  std::string_view path;  // path in the repository, e.g. "scenarios/jan-2022-standoff.yaml"
  std::string_view text;  // the YAML
};

const std::vector<ShippedScenario>& shipped_scenarios();

// The scenario `brink run` uses when given none.
inline constexpr std::string_view kFlagshipScenario = "jan-2022-standoff";

// Returns nullptr if no shipped scenario has this name.
const ShippedScenario* find_shipped(std::string_view name);

}  // namespace brink
