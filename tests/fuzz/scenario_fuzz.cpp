// libFuzzer target: any bytes given to the scenario reader and parser are
// either a valid scenario or a ScenarioError; any other exception, a crash, a
// sanitizer report, a leak or a hang is a bug. Built and run by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "brink/scenario/parse.hpp"
#include "brink/scenario/source_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > brink::kMaxScenarioBytes) return 0;  // refused by size before parsing
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    brink::check_scenario_text("fuzz.yaml", text);
    brink::load_scenario({"fuzz.yaml", text});
  } catch (const brink::ScenarioError& e) {
    for (const auto& d : e.diagnostics())
      if (d.message.empty()) __builtin_trap();  // every rejection says why
  }
  return 0;
}
