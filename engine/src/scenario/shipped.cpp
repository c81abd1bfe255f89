#include "brink/scenario/shipped.hpp"

namespace brink {

const ShippedScenario* find_shipped(std::string_view name) {
  for (const auto& s : shipped_scenarios())
    if (s.name == name || s.path == name) return &s;
  return nullptr;
}

}  // namespace brink
