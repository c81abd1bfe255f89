#include "brink/scenario/fields.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "../support/scenario_builder.hpp"
#include "../support/scenarios.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

using testing::duel_yaml;
using testing::flagship_text;
using testing::ScenarioBuilder;

bool mentions(const std::vector<Problem>& problems, const std::string& path, const std::string& word) {
  return std::any_of(problems.begin(), problems.end(), [&](const Problem& p) {
    return p.paths.front() == path && p.message.find(word) != std::string::npos;
  });
}

// A scenario with one element of every collection the table reaches, all at
// their struct defaults.
Scenario one_of_everything() {
  Scenario s;
  for (const char* id : {"A", "B"}) s.actors.emplace_back().id = id;
  for (Actor& a : s.actors) {
    a.types.push_back({.name = "t"});
    for (int k = 0; k < kActionKindCount; ++k) {
      ActionSpec act;
      act.name = std::string(action_kind_names()[k]);
      act.kind = static_cast<ActionKind>(k);
      a.actions.push_back(act);
    }
  }
  s.relations.commitments.push_back({0, 1});
  s.negotiation.issues.push_back({.id = "i", .position = {0, 0}, .salience = {0, 0}});
  s.events.push_back({});
  s.run.rule.adaptive = true;
  s.bargaining.proposer = 0;  // a bargaining section: its rows apply
  s.bargaining.receiver = 1;
  return s;
}

TEST(FieldTableTest, StructDefaultsAreTheTableDefaults) {
  const Scenario s = one_of_everything();
  const FieldRegistry registry(s);
  ASSERT_GT(registry.size(), 100u);
  for (std::size_t i = 0; i < registry.size(); ++i) {
    const FieldRef& f = registry.ref(i);
    EXPECT_EQ(f.get(s), f.spec->fallback) << registry.parameters()[i].path;
  }
}

TEST(FieldTableTest, EveryRowIsReachableAndDocumented) {
  const Scenario s = one_of_everything();
  const FieldRegistry registry(s);
  for (const FieldSpec& f : field_table()) {
    EXPECT_FALSE(f.meaning.empty()) << f.pattern();
    const bool reached = std::any_of(registry.parameters().begin(), registry.parameters().end(),
                                     [&](const ParameterInfo& p) { return registry.find(p.path)->spec == &f; });
    EXPECT_TRUE(reached) << f.pattern() << " has no path in a scenario with one of everything";
  }
}

// Each row gives its UDUNITS-2 unit (a parameter coordinate's `units`):
// docs/output.md promises one on every parameter, "1" when dimensionless.
// Rows with the same unit text give the same one, so the text alone, as
// files keep it, maps back to it (udunits_of_unit).
TEST(FieldTableTest, EveryRowHasItsUdunitsUnit) {
  for (const FieldSpec& f : field_table()) {
    EXPECT_TRUE(f.udunits == "1" || f.udunits == "day" || f.udunits == "1/day")
        << f.pattern() << " (unit '" << f.unit << "') has UDUNITS unit '" << f.udunits << "'";
    if (f.unit.empty()) {
      EXPECT_EQ(f.udunits, "1") << f.pattern() << " is dimensionless";
    }
    EXPECT_EQ(udunits_of_unit(f.unit), f.udunits)
        << f.pattern() << ": another row with unit '" << f.unit << "' gives another UDUNITS unit";
  }
  EXPECT_EQ(udunits_of_unit("days"), "day");
  EXPECT_EQ(udunits_of_unit("share of the stake"), "1");
  EXPECT_EQ(udunits_of_unit("1/day per 100,000 troops"), "1/day");
  EXPECT_EQ(udunits_of_unit("not a unit of any field"), "1");  // an index (the scenario choice axis)
}

TEST(FieldTableTest, SettingAFieldThroughItsPathChangesTheMember) {
  Scenario s =
      ScenarioBuilder().actor("A", {.deployed = 10}).actor("B", {.deployed = 20}).adversaries("A", "B").build();
  const FieldRegistry registry(s);
  registry.find("actors.B.forces.ready")->set(s, 42);
  EXPECT_EQ(s.actors[1].forces.ready, 42);
  registry.find("combat.law")->set(s, 1);
  EXPECT_EQ(s.combat.law, LanchesterLaw::kLinear);
  // An actor's weight is inherited by types that do not give their own.
  registry.find("actors.A.decision.weights.cost")->set(s, 3);
  EXPECT_EQ(s.actors[0].types[0].weights[kCost], 3);
  EXPECT_EQ(registry.find("actors.A.nonsense"), nullptr);
}

// Round 38: a type's prior varied from outside the file (--set, a sweep, a
// calibration) was refused unless every prior moved with it; now the others
// keep their proportions and share what is left, so the sum stays 1.
TEST(FieldTableTest, VaryingATypePriorRescalesTheActorsOtherPriors) {
  Scenario s = one_of_everything();
  s.actors[0].types = {{.name = "a", .prior = 0.2}, {.name = "b", .prior = 0.3}, {.name = "c", .prior = 0.5}};
  s.actors[1].types = {{.name = "x", .prior = 1.0}, {.name = "y", .prior = 0.0}, {.name = "z", .prior = 0.0}};
  const FieldRegistry registry(s);
  registry.find("actors.A.types.b.prior")->set(s, 0.6);
  EXPECT_EQ(s.actors[0].types[1].prior, 0.6);
  EXPECT_NEAR(s.actors[0].types[0].prior, 0.4 * 0.2 / 0.7, 1e-15);
  EXPECT_NEAR(s.actors[0].types[2].prior, 0.4 * 0.5 / 0.7, 1e-15);
  registry.find("actors.B.types.x.prior")->set(s, 0.4);  // the others had 0: they share the rest evenly
  EXPECT_DOUBLE_EQ(s.actors[1].types[1].prior, 0.3);
  EXPECT_DOUBLE_EQ(s.actors[1].types[2].prior, 0.3);
  for (const Actor& a : s.actors) {
    double total = 0.0;
    for (const ResolveType& t : a.types) total += t.prior;
    EXPECT_NEAR(total, 1.0, 1e-15);
  }
  // Priors varied together keep their values; the others share what they leave.
  Scenario three = one_of_everything();
  three.actors[0].types = {{.name = "a", .prior = 0.2}, {.name = "b", .prior = 0.3}, {.name = "c", .prior = 0.5}};
  registry.find("actors.A.types.a.prior")->set(three, 0.1);
  registry.find("actors.A.types.b.prior")->set(three, 0.6);
  EXPECT_EQ(three.actors[0].types[0].prior, 0.1);
  EXPECT_EQ(three.actors[0].types[1].prior, 0.6);
  EXPECT_NEAR(three.actors[0].types[2].prior, 0.3, 1e-15);
  // Given ones that leave less than nothing: the rest get 0, and the sum rule refuses the scenario.
  registry.find("actors.A.types.c.prior")->set(three, 0.5);
  EXPECT_EQ(three.actors[0].types[2].prior, 0.5);
  EXPECT_TRUE(mentions(validate_values(three), "actors.A.types", "sum to 1.2"));
}

TEST(BuilderTest, BuildsWhatTheParserReadsFromTheSameDuel) {
  const LoadedScenario parsed = load_scenario({"duel", duel_yaml("deployed: 1000, ready: 10", "deployed: 2000")});
  const Scenario built = ScenarioBuilder()
                             .actor("A", {.deployed = 1000, .ready = 10})
                             .actor("B", {.deployed = 2000})
                             .adversaries("A", "B")
                             .build();
  const FieldRegistry a(parsed.scenario), b(built);
  ASSERT_EQ(a.parameters().size(), b.parameters().size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.parameters()[i].path, b.parameters()[i].path);
    EXPECT_EQ(a.ref(i).get(parsed.scenario), b.ref(i).get(built)) << a.parameters()[i].path;
  }
  EXPECT_EQ(parsed.scenario.relations.adversary, built.relations.adversary);
}

TEST(ValidateTest, RejectsACppScenarioThatBreaksARule) {
  ScenarioBuilder builder;
  builder.actor("A", {.deployed = 5000, .deployed_cap = 1000}).actor("B", {.deployed = 10}).adversaries("A", "B");
  EXPECT_THROW(builder.build(), ScenarioError);
  const auto problems = validate(builder.build_unchecked());
  EXPECT_TRUE(mentions(problems, "actors.A.forces.deployed_cap", "below")) << problems.size();

  ScenarioBuilder late;
  late.actor("A", {.deployed = 1}).actor("B", {.deployed = 1}).event({.day = 500, .actor = 0, .troops = 5});
  EXPECT_TRUE(mentions(validate(late.build_unchecked()), "events.0.day", "[0, 100)"));

  ScenarioBuilder priors;
  priors.actor("A", {.deployed = 1}).actor("B", {.deployed = 1});
  priors.type("A", {.name = "hawk", .prior = 0.7}).type("A", {.name = "dove", .prior = 0.2});
  EXPECT_TRUE(mentions(validate(priors.build_unchecked()), "actors.A.types", "not 1"));

  ScenarioBuilder lonely;
  lonely.actor("A", {.deployed = 1}).actor("B", {.deployed = 1});
  lonely.scenario().negotiation.issues.push_back({.id = "nato", .position = {0, 0}, .salience = {0.5, 0.0}});
  EXPECT_TRUE(mentions(validate(lonely.build_unchecked()), "negotiation.issues.nato.salience", "at least two"));

  ScenarioBuilder range;
  range.actor("A", {.deployed = -3}).actor("B", {.deployed = 1});
  EXPECT_TRUE(mentions(validate(range.build_unchecked()), "actors.A.forces.deployed", "got -3"));

  ScenarioBuilder ladder;
  ladder.actor("A", {.deployed = 1}).actor("B", {.deployed = 1});
  ladder.scenario().escalation.full_war_rung = 1;  // below limited_war
  EXPECT_TRUE(mentions(validate(ladder.build_unchecked()), "escalation", "ordered"));
}

TEST(ValidateTest, AFileBreakingACrossFieldRuleIsReportedAtTheField) {
  std::string yaml = duel_yaml("deployed: 1000, deployed_cap: 500", "deployed: 2000");
  try {
    load_scenario({"cap.yaml", yaml});
    FAIL() << "a cap below the deployed troops must be rejected";
  } catch (const ScenarioError& e) {
    const Diagnostic& d = e.diagnostics().front();
    EXPECT_EQ(d.source, "cap.yaml");
    const auto at = yaml.find("500");  // the cap's value
    const auto line_start = yaml.rfind('\n', at) + 1;
    EXPECT_EQ(d.line, std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n') + 1);
    EXPECT_EQ(d.column, static_cast<int>(at - line_start) + 1);
    EXPECT_NE(d.message.find("deployed_cap"), std::string::npos) << d.format();
  }
}

TEST(OverrideTest, AProblemCausedByASetNamesTheSet) {
  const std::vector<Override> set = {{"actors.RUS.forces.deployed_cap", "5"}};
  try {
    load_scenario({"flagship", flagship_text()}, set);
    FAIL() << "a cap below the deployed troops must be rejected";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].source, "--set actors.RUS.forces.deployed_cap=5");
  }
  // A fixed count replaces an adaptive rule.
  const std::string adaptive = duel_yaml("deployed: 1", "deployed: 1", "",
                                         "horizon_days: 10, dt_days: 1, replications: {min: 256, max: 1024, "
                                         "ci_halfwidth: 0.05}");
  const std::vector<Override> fixed = {{"run.replications", "300"}};
  const LoadedScenario loaded = load_scenario({"a", adaptive}, fixed);
  EXPECT_FALSE(loaded.scenario.run.rule.adaptive);
  EXPECT_EQ(loaded.scenario.run.rule.min, 300);
  EXPECT_EQ(loaded.scenario.run.rule.max, 300);
  // An adaptive bound set after it would make a second count (the run read
  // max, rerun_command and `brink params` min): refused, naming both values.
  for (const char* key : {"run.replications.max", "run.replications.min"}) {
    const std::vector<Override> both = {{"run.replications", "300"}, {key, "800"}};
    try {
      load_scenario({"a", adaptive}, both);
      ADD_FAILURE() << key << " after a fixed run.replications must be refused";
    } catch (const ScenarioError& e) {
      ASSERT_EQ(e.diagnostics().size(), 1u);
      EXPECT_EQ(e.diagnostics()[0].source, std::string("--set ") + key + "=800");
      EXPECT_NE(e.diagnostics()[0].message.find(std::string("'") + key +
                                                "' (800) bounds an adaptive count, but an "
                                                "earlier --set run.replications=300 made the count fixed"),
                std::string::npos)
          << e.diagnostics()[0].message;
    }
  }
  // The other order sets the bound first; the fixed count then replaces it.
  const std::vector<Override> bound_first = {{"run.replications.max", "800"}, {"run.replications", "300"}};
  const LoadedScenario later = load_scenario({"a", adaptive}, bound_first);
  EXPECT_EQ(later.scenario.run.rule.min, 300);
  EXPECT_EQ(later.scenario.run.rule.max, 300);
}

// The time grid's rules are written once (scenario.hpp); the scenario, the
// kernel's events and validate read them there.
TEST(TimeGridTest, StepsAndDaysFollowOneRule) {
  EXPECT_EQ(steps_in_horizon(1.0, 0.1), 10);   // 1 / 0.1 = 10.000000000000002
  EXPECT_EQ(steps_in_horizon(10.5, 1.0), 11);  // a part step is simulated whole
  EXPECT_EQ(step_of_day(1.3, 0.1), 13);        // 1.3 / 0.1 = 12.999999999999998
  EXPECT_EQ(step_of_day(0.0, 1.0), 0);
  Scenario s =
      ScenarioBuilder().actor("A", {.deployed = 10}).actor("B", {.deployed = 20}).adversaries("A", "B").build();
  s.run.horizon_days = 1.0;
  s.run.dt_days = 0.1;
  EXPECT_EQ(s.step_count(), 10);
  EXPECT_EQ(event_step(1.3, 0.1), 13);
}

TEST(ValidateTest, AFixedCountIsOneCount) {
  Scenario s =
      ScenarioBuilder().actor("A", {.deployed = 10}).actor("B", {.deployed = 20}).adversaries("A", "B").build();
  s.run.rule = {.adaptive = false, .min = 300, .max = 800};
  const std::vector<Problem> problems = validate(s);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].paths.front(), "run.replications");
  EXPECT_EQ(problems[0].message, "a fixed 'run.replications' is one count, but the rule holds min 300 and max 800");
}

TEST(SweepPointTest, PointsSetTheirValuesOnTheBaseScenario) {
  std::string yaml = duel_yaml("deployed: 1000", "deployed: 2000",
                               "sweep:\n  parameters:\n    actors.A.decision.weights.cost: [1, 2]\n"
                               "    actors.B.forces.ready: [0, 7, 9]\n");
  const SweepPlan plan = make_plan(load_scenario({"sweep.yaml", yaml}), {});
  ASSERT_EQ(plan.points.size(), 6u);
  const Scenario s = plan.scenario_of(5);
  EXPECT_EQ(s.actors[0].decision.weights[kCost], 2);
  EXPECT_EQ(s.actors[0].types[0].weights[kCost], 2);
  EXPECT_EQ(s.actors[1].forces.ready, 9);
  EXPECT_EQ(plan.points[5].values[1], 9);
  EXPECT_EQ(plan.model_of(5)->scenario().actors[1].forces.ready, 9);
}

}  // namespace
}  // namespace brink
