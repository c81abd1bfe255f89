// The field tables in docs/scenario-format.md and the parameter table in
// docs/model.md are generated from the field table. This test fails when the
// docs drift from it; run it with BRINK_UPDATE_DOCS=1 to rewrite them:
//   BRINK_UPDATE_DOCS=1 build/release/tests/brink_unit_tests --gtest_filter='DocsTest.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "brink/scenario/fields.hpp"

namespace brink {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces the body of every block "<!-- OPEN ARG -->\n...<!-- CLOSE -->" by
// generate(ARG); returns the sections (ARGs) met.
template <typename Generate>
std::set<std::string> regenerate(std::string* text, const std::string& open, const std::string& close,
                                 Generate generate) {
  std::set<std::string> met;
  const std::string start = "<!-- " + open;
  for (std::size_t at = text->find(start); at != std::string::npos; at = text->find(start, at + 1)) {
    const std::size_t arg_begin = at + start.size();
    const std::size_t header_end = text->find(" -->\n", arg_begin);
    const std::size_t end = text->find("<!-- " + close + " -->", header_end);
    if (header_end == std::string::npos || end == std::string::npos) {
      ADD_FAILURE() << "unclosed block at offset " << at;
      break;
    }
    std::string arg = text->substr(arg_begin, header_end - arg_begin);
    if (!arg.empty() && arg.front() == ' ') arg.erase(0, 1);
    met.insert(arg);
    const std::size_t body = header_end + 5;
    text->replace(body, end - body, generate(arg));
  }
  return met;
}

void check_or_update(const std::string& path, const std::string& before, const std::string& after) {
  if (std::getenv("BRINK_UPDATE_DOCS")) {
    if (before != after) std::ofstream(path) << after;
    return;
  }
  EXPECT_EQ(before, after) << path << " has drifted from the field table (engine/src/scenario/fields.cpp); "
                           << "regenerate it with BRINK_UPDATE_DOCS=1 (see tests/scenario/docs_test.cpp)";
}

TEST(DocsTest, ScenarioFormatTablesAreTheFieldTable) {
  const std::string path = std::string(BRINK_SOURCE_DIR) + "/docs/scenario-format.md";
  const std::string before = read(path);
  std::string after = before;
  const auto met = regenerate(&after, "fields:", "/fields", [](const std::string& s) { return fields_markdown(s); });
  check_or_update(path, before, after);
  std::set<std::string> sections;
  for (const FieldSpec& f : field_table()) sections.insert(std::string(f.section));
  EXPECT_EQ(met, sections) << "every section of the field table has one generated table in " << path;
}

TEST(DocsTest, ModelParameterTableIsTheFieldTable) {
  const std::string path = std::string(BRINK_SOURCE_DIR) + "/docs/model.md";
  const std::string before = read(path);
  std::string after = before;
  const auto met =
      regenerate(&after, "parameters", "/parameters", [](const std::string&) { return parameters_markdown(); });
  EXPECT_EQ(met.size(), 1u) << path << " needs one <!-- parameters --> block";
  check_or_update(path, before, after);
}

}  // namespace
}  // namespace brink
