#include "brink/scenario/parse.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "../support/scenarios.hpp"

namespace brink {
namespace {

using testing::duel_yaml;
using testing::flagship_text;

// Parses `yaml` expecting failure; returns the diagnostics.
std::vector<Diagnostic> errors_of(const std::string& yaml, std::span<const Override> overrides = {}) {
  try {
    load_scenario({"bad.yaml", yaml}, overrides);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "expected a ScenarioError for:\n" << yaml;
  return {};
}

// 1-based line of the first occurrence of `needle`.
int line_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  return static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n')) + 1;
}

TEST(ParseTest, FlagshipParsesWithItsSourcedNumbers) {
  const LoadedScenario loaded = load_scenario({"flagship", flagship_text()});
  const Scenario& s = loaded.scenario;
  ASSERT_EQ(s.actor_count(), 4);
  EXPECT_EQ(s.actors[s.actor_index("RUS")].forces.deployed, 127000);  // Ukraine's MoD estimate of 19 January 2022
  EXPECT_EQ(s.run.start_date, "2022-01-24");
  EXPECT_EQ(s.observations.size(), 2u);
  EXPECT_EQ(s.actors[s.actor_index("USA")].forces.ready, 8500);
  EXPECT_TRUE(s.relations.adversary[s.actor_index("RUS")][s.actor_index("UKR")]);
  EXPECT_EQ(s.step_count(), 120);
  // Every action's parameters are addressable by path.
  const auto has = [&](const std::string& path) {
    return std::any_of(loaded.parameters.begin(), loaded.parameters.end(),
                       [&](const ParameterInfo& p) { return p.path == path; });
  };
  EXPECT_TRUE(has("actors.RUS.forces.deployed"));
  EXPECT_TRUE(has("actors.RUS.actions.invade.cost"));
  EXPECT_TRUE(has("actors.USA.decision.weights.credibility"));
  EXPECT_TRUE(has("escalation.incidents.base_rate"));
  EXPECT_TRUE(has("negotiation.issues.cee_posture.salience.RUS"));
}

struct BadCase;
void PrintTo(const BadCase& c, std::ostream* os);

struct BadCase {
  const char* name;
  const char* replace;  // text in the valid base
  const char* with;
  const char* culprit;                // text on the offending line of the result
  std::vector<const char*> mentions;  // words the message must contain
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInputTest, ReportsFileLineColumnKeyAndValue) {
  const BadCase& c = GetParam();
  std::string yaml = duel_yaml("deployed: 1000, ready: 10", "deployed: 2000");
  const auto at = yaml.find(c.replace);
  ASSERT_NE(at, std::string::npos) << c.replace;
  yaml.replace(at, std::string(c.replace).size(), c.with);
  const auto diagnostics = errors_of(yaml);
  ASSERT_FALSE(diagnostics.empty());
  const Diagnostic& d = diagnostics.front();
  EXPECT_EQ(d.source, "bad.yaml");
  EXPECT_EQ(d.line, line_of(yaml, c.culprit)) << d.format();
  EXPECT_GT(d.column, 0);
  for (const char* word : c.mentions) EXPECT_NE(d.message.find(word), std::string::npos) << d.format();
  EXPECT_EQ(d.format().rfind("bad.yaml:" + std::to_string(d.line) + ":", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    EachClass, BadInputTest,
    ::testing::Values(
        BadCase{"UnknownKey", "deployed: 1000, ready: 10", "deployed: 1000, redy: 10", "redy", {"redy", "ready"}},
        BadCase{"WrongType", "deployed: 2000", "deployed: lots", "lots", {"actors.B.forces.deployed", "lots"}},
        BadCase{"Negative", "deployed: 2000", "deployed: -5", "-5", {"actors.B.forces.deployed", "-5"}},
        BadCase{"NaN", "deployed: 2000", "deployed: .nan", ".nan", {"deployed", ".nan"}},
        BadCase{"PlainNaN", "deployed: 2000", "deployed: nan", "deployed: nan", {"deployed", "nan"}},
        BadCase{"Infinity", "deployed: 2000", "deployed: .inf", ".inf", {"deployed", ".inf"}},
        BadCase{"UnknownActorInRelation", "[[A, B]]", "[[A, C]]", "[[A, C]]", {"C", "relations.adversaries"}},
        BadCase{"MissingRequired", "deployed: 2000", "ready: 5", "ready: 5", {"deployed", "actors.B.forces"}},
        BadCase{"UnknownRung", "initial_rung: tense", "initial_rung: tens", "initial_rung: tens", {"tens", "tense"}},
        BadCase{
            "EmptyRungName", "[calm, tense, limited", "[calm, \"\", limited", "\"\"", {"escalation.rungs.1", "empty"}},
        BadCase{"BadVersion", "brink: 1", "brink: 2", "brink: 2", {"brink: 2"}},
        BadCase{"QuotedVersion", "brink: 1", "brink: \"1\"", "brink: \"1\"", {"brink: \"1\"", "reads 'brink: 1'"}},
        BadCase{"YamlSyntax", "deployed: 2000", "deployed: [2000", "[2000", {"YAML"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseTest, ReportsEveryProblemNotJustTheFirst) {
  std::string yaml = duel_yaml("deployed: -1, redy: 10", "deployed: .nan");
  yaml.replace(yaml.find("[[A, B]]"), 8, "[[A, Z]]");
  const auto diagnostics = errors_of(yaml);
  EXPECT_GE(diagnostics.size(), 4u);
  for (const auto& d : diagnostics) EXPECT_GT(d.line, 0) << d.format();
}

TEST(ParseTest, RepeatedKeysAreErrorsNotSilentlyMerged) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 2");
  yaml.insert(yaml.find("relations:"), "  A:\n    forces: {deployed: 5}\n");
  const auto d = errors_of(yaml);
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d.front().message.find("'A' appears twice"), std::string::npos) << d.front().format();
  EXPECT_EQ(d.front().line, line_of(yaml, "  A:\n    forces: {deployed: 5}") + 0);
}

// YAML's complex keys (`? [X, Y]`) and null keys read as the empty string:
// one sentence at the key, and no follow-on "actor id ''" or "unknown key ''".
TEST(ParseTest, AKeyThatIsNoNameIsOneProblemAtTheKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"  ? [X, Y]\n  : {forces: {deployed: 1}}\n", "got a list (a YAML complex key)"},
      {"  ? {X: 1}\n  : {forces: {deployed: 1}}\n", "got a mapping (a YAML complex key)"},
      {"  ~: {forces: {deployed: 1}}\n", "got YAML's null"},
  };
  for (const auto& [entry, words] : cases) {
    std::string yaml = duel_yaml("deployed: 1", "deployed: 2");
    yaml.insert(yaml.find("relations:"), entry);
    const auto d = errors_of(yaml);
    ASSERT_EQ(d.size(), 1u) << entry << (d.empty() ? "" : d.back().format());
    EXPECT_NE(d.front().message.find("a key in 'actors' must be a name, " + words), std::string::npos)
        << d.front().format();
    EXPECT_EQ(d.front().line, line_of(yaml, entry)) << d.front().format();
  }
}

// A plain key longer than 1024 characters is no key to YAML: yaml-cpp says
// only "illegal map value".
TEST(ParseTest, AKeyLongerThanYamlAllowsIsExplained) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 2");
  yaml.insert(yaml.find("relations:"), "  " + std::string(1100, 'C') + ": {forces: {deployed: 1}}\n");
  const auto d = errors_of(yaml);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.front().message.find("illegal map value (a key, the text before ':', may be at most 1024 characters"),
            std::string::npos)
      << d.front().format();
  const auto short_key = errors_of("brink: 1\nfoo: bar: baz\n");
  ASSERT_EQ(short_key.size(), 1u);
  EXPECT_EQ(short_key.front().message, "YAML syntax error: illegal map value");
}

TEST(ParseTest, MissingRunSectionIsNamed) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
  yaml.erase(yaml.find("run:"), yaml.find("actors:") - yaml.find("run:"));
  const auto diagnostics = errors_of(yaml);
  ASSERT_FALSE(diagnostics.empty());
  EXPECT_NE(diagnostics.front().message.find("'run'"), std::string::npos);
}

// Without actors every later reference to one would be reported as unknown:
// an empty `actors` gave 74 lines for one mistake.
TEST(ParseTest, MissingOrEmptyActorsIsOneProblemNotOnePerReference) {
  for (const char* replacement : {"actors: {}\nunused:\n", "actors: [A, B]\nunused:\n", "unused:\n"}) {
    std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
    yaml.replace(yaml.find("actors:\n"), 8, replacement);
    const auto diagnostics = errors_of(yaml);
    ASSERT_FALSE(diagnostics.empty()) << replacement;
    EXPECT_LE(diagnostics.size(), 2u) << replacement;  // the actors, and the unknown key `unused`
    bool named = false;
    for (const auto& d : diagnostics) {
      EXPECT_EQ(d.message.find("unknown actor"), std::string::npos) << d.format();
      named |= d.message.find("'actors'") != std::string::npos;
    }
    EXPECT_TRUE(named) << replacement;
  }
}

TEST(ParseTest, MalformedTypesAreOneProblemNotAlsoPriorsSummingToZero) {
  for (const char* types : {"[]", "{}", "5", "[hawk, dove]", "{hawk: 3, dove: {prior: 0.5}}"}) {
    std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
    yaml.replace(yaml.find("  B:\n"), 0, std::string("    types: ") + types + "\n");
    const auto diagnostics = errors_of(yaml);
    ASSERT_EQ(diagnostics.size(), 1u) << types << "\n" << (diagnostics.empty() ? "" : diagnostics.back().format());
    EXPECT_NE(diagnostics[0].message.find("must be a mapping"), std::string::npos) << diagnostics[0].format();
  }
}

TEST(ParseTest, ActionKindsValidateTheirFields) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
  yaml.insert(yaml.find("  B:\n"), "    actions:\n      hold: {}\n      strike: {kind: atack, target: B}\n");
  auto d = errors_of(yaml);
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d.front().message.find("attack"), std::string::npos) << d.front().format();

  yaml = duel_yaml("deployed: 1", "deployed: 1");
  yaml.insert(yaml.find("  B:\n"), "    actions:\n      deploy: {amount: 5, concession: 0.2}\n");
  d = errors_of(yaml);
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d.front().message.find("concession"), std::string::npos) << d.front().format();

  // A non-fighting action may not jump to a war rung.
  yaml = duel_yaml("deployed: 1", "deployed: 1");
  yaml.insert(yaml.find("  B:\n"), "    actions:\n      exercise: {rung: full}\n");
  d = errors_of(yaml);
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d.front().message.find("war rung"), std::string::npos) << d.front().format();
}

TEST(OverrideTest, SetsAnyNumericFieldThroughTheSameValidation) {
  const std::vector<Override> ok = {{"actors.RUS.forces.deployed", "150000"},
                                    {"actors.RUS.posture.reaction", "0.05"},
                                    {"negotiation.issues.cee_posture.salience.RUS", "1"}};
  const LoadedScenario loaded = load_scenario({"flagship", flagship_text()}, ok);
  const Scenario& s = loaded.scenario;
  EXPECT_EQ(s.actors[0].forces.deployed, 150000);
  EXPECT_EQ(s.actors[0].posture.reaction, 0.05);
  EXPECT_EQ(s.negotiation.issues[1].salience[0], 1.0);

  const std::vector<Override> negative = {{"actors.RUS.forces.deployed", "-5"}};
  const auto d = errors_of(flagship_text(), negative);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("actors.RUS.forces.deployed"), std::string::npos);
  EXPECT_NE(d[0].message.find("-5"), std::string::npos);
}

TEST(OverrideTest, UnknownPathSuggestsTheNearestValidOnes) {
  const std::vector<Override> typo = {{"actors.RUS.forces.deploy", "1"}};
  const auto d = errors_of(flagship_text(), typo);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("actors.RUS.forces.deployed"), std::string::npos) << d[0].message;
  EXPECT_THROW(parse_override("no-equals-sign"), ScenarioError);
  EXPECT_EQ(parse_override("a.b=3").path, "a.b");
  EXPECT_EQ(parse_override("a.b=3").value, "3");
}

TEST(OverrideTest, DefaultedFieldsAreSettableToo) {
  // posture is absent from the duel scenario but its fields still have paths.
  const std::vector<Override> set = {{"actors.A.posture.grievance", "42"}};
  const LoadedScenario loaded = load_scenario({"duel", duel_yaml("deployed: 1", "deployed: 1")}, set);
  EXPECT_EQ(loaded.scenario.actors[0].posture.grievance, 42);
}

}  // namespace
}  // namespace brink
