// Small scenarios for unit tests, written as YAML so that the tests go
// through the same parser and validation as users' files.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "brink/scenario/parse.hpp"

namespace brink::testing {

// Two adversaries A and B, no decisions, no negotiation: the analytic
// building block. `extra` is appended at top level; `a`/`b` inside each actor.
inline std::string duel_yaml(const std::string& a_forces, const std::string& b_forces, const std::string& extra = "",
                             const std::string& run =
                                 "horizon_days: 100, dt_days: 1, replications: 256, seed: 1, "
                                 "decisions: false") {
  return "brink: 1\nname: duel\nrun: {" + run +
         "}\n"
         "actors:\n"
         "  A:\n    forces: {" +
         a_forces +
         "}\n"
         "  B:\n    forces: {" +
         b_forces +
         "}\n"
         "relations:\n  adversaries: [[A, B]]\n"
         "escalation:\n"
         "  rungs: [calm, tense, limited, full, wider]\n"
         "  initial_rung: tense\n  limited_war: limited\n  full_war: full\n  alliance_war: wider\n" +
         extra;
}

inline LoadedScenario load_yaml(const std::string& yaml, const std::string& label = "test.yaml") {
  return load_scenario({label, yaml});
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string flagship_text() {
  return read_file(std::string(BRINK_SOURCE_DIR) + "/scenarios/jan-2022-standoff.yaml");
}

}  // namespace brink::testing
