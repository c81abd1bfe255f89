// The rules against physical nonsense (issue 10, item 5), each on a C++
// scenario and located in a file, and sweeps checked over their whole
// declared range rather than at the points a seed happens to draw.
#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "../support/scenario_builder.hpp"
#include "../support/scenarios.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

using testing::duel_yaml;
using testing::ScenarioBuilder;

bool mentions(const std::vector<Problem>& problems, const std::string& path, const std::string& word) {
  return std::any_of(problems.begin(), problems.end(), [&](const Problem& p) {
    return p.paths.front() == path && p.message.find(word) != std::string::npos;
  });
}

ScenarioBuilder duel() {
  ScenarioBuilder b;
  b.actor("A", {.deployed = 1000}).actor("B", {.deployed = 2000}).adversaries("A", "B");
  return b;
}

// The diagnostic a file gets, or fails the test if it loads.
Diagnostic rejection(const std::string& yaml, std::span<const Override> overrides = {}) {
  try {
    load_scenario({"f.yaml", yaml}, overrides);
  } catch (const ScenarioError& e) {
    return e.diagnostics().front();
  }
  ADD_FAILURE() << "expected a rejection of:\n" << yaml;
  return {};
}

// 1-based line of the first occurrence of `text` in `yaml`.
int line_of(const std::string& yaml, const std::string& text) {
  const auto at = yaml.find(text);
  return static_cast<int>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n')) + 1;
}

TEST(StepRuleTest, AHorizonBelowOneStepIsRefused) {
  ScenarioBuilder b = duel();
  b.scenario().run.horizon_days = 1e-9;
  EXPECT_TRUE(mentions(validate(b.build_unchecked()), "run.horizon_days", "0 steps"));
  b.scenario().run.horizon_days = 1;  // exactly one step
  EXPECT_TRUE(validate(b.build_unchecked()).empty());

  const std::string yaml = duel_yaml("deployed: 1", "deployed: 1", "", "horizon_days: 1e-9, dt_days: 1");
  const Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "horizon_days")) << d.format();
  // Below dt_days' own minimum no horizon can hold a step: the range says so.
  EXPECT_NE(d.message.find("'run.horizon_days' must be in [1e-06,"), std::string::npos) << d.format();
}

TEST(StepRuleTest, ADtLongerThanTheHorizonIsRefusedAtTheDt) {
  ScenarioBuilder b = duel();
  b.scenario().run.horizon_days = 60;
  b.scenario().run.dt_days = 90;
  const auto problems = validate(b.build_unchecked());
  EXPECT_TRUE(mentions(problems, "run.dt_days", "longer than 'run.horizon_days'"));
  EXPECT_EQ(problems.size(), 1u);  // not also "0 steps"
  b.scenario().run.dt_days = 60;
  EXPECT_TRUE(validate(b.build_unchecked()).empty());

  const std::string yaml = duel_yaml("deployed: 1", "deployed: 1", "", "horizon_days: 60,\n  dt_days: 90");
  const Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "dt_days")) << d.format();
  EXPECT_EQ(d.column, 12) << d.format();  // the value 90
}

TEST(EventRuleTest, EventDaysMustBeBeforeTheEndOfTheLastStep) {
  ScenarioBuilder b = duel();  // 100 steps of 1 day: days [0, 100)
  b.event({.day = 0, .actor = 0, .troops = 5}).event({.day = 99.5, .actor = 0, .troops = 5});
  EXPECT_TRUE(validate(b.build_unchecked()).empty()) << "day 0 and the last step's days are valid";
  b.event({.day = 100, .actor = 1, .troops = 5});
  const auto problems = validate(b.build_unchecked());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(mentions(problems, "events.2.day", "never fires"));
  EXPECT_NE(problems[0].message.find("[0, 100)"), std::string::npos) << problems[0].message;

  // A horizon of 10 days in steps of 3 simulates 4 steps, days [0, 12).
  ScenarioBuilder partial = duel();
  partial.scenario().run.horizon_days = 10;
  partial.scenario().run.dt_days = 3;
  partial.event({.day = 11.5, .actor = 0, .troops = 5});
  EXPECT_TRUE(validate(partial.build_unchecked()).empty());
  partial.event({.day = 12, .actor = 0, .troops = 5});
  EXPECT_TRUE(mentions(validate(partial.build_unchecked()), "events.1.day", "[0, 12)"));
}

TEST(EventRuleTest, AnEventOnTheHorizonDayIsRejectedWithItsLocation) {
  const std::string yaml =
      duel_yaml("deployed: 1", "deployed: 1",
                "events:\n  - {day: 0, actor: A, deploy: 1}\n  - {day: 100, actor: B, deploy: 1}\n");
  const Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.source, "f.yaml");
  EXPECT_EQ(d.line, line_of(yaml, "day: 100")) << d.format();
  EXPECT_NE(d.message.find("'events.1.day' is 100"), std::string::npos) << d.format();
}

TEST(IdRuleTest, IdsUsedInPathsArePlainIdentifiers) {
  ScenarioBuilder b;
  b.actor("P.T", {.deployed = 1}).actor("B-2_x", {.deployed = 1});
  EXPECT_TRUE(mentions(validate(b.build_unchecked()), "actors.P.T", "not a plain identifier"));

  ScenarioBuilder good;
  good.actor("A", {.deployed = 1}).actor("B-2_x", {.deployed = 1}).adversaries("A", "B-2_x");
  good.type("A", {.name = "_hawk", .prior = 1});
  EXPECT_TRUE(validate(good.build_unchecked()).empty());

  for (const char* bad : {"1st", "a b", "x=y", "", "é"}) {
    ScenarioBuilder type = duel();
    type.type("A", {.name = bad, .prior = 1});
    EXPECT_TRUE(mentions(validate(type.build_unchecked()), "actors.A.types." + std::string(bad), "type name")) << bad;
  }
  ScenarioBuilder action = duel();
  action.action("A", {.name = "go.now", .kind = ActionKind::kHold});
  EXPECT_TRUE(mentions(validate(action.build_unchecked()), "actors.A.actions.go.now", "action name"));
  ScenarioBuilder issue = duel();
  issue.scenario().negotiation.issues.push_back({.id = "bor.der", .position = {0, 0}, .salience = {0.5, 0.5}});
  EXPECT_TRUE(mentions(validate(issue.build_unchecked()), "negotiation.issues.bor.der", "issue id"));
}

TEST(IdRuleTest, ADottedActorIdInAFileIsReportedAtTheActor) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
  for (std::size_t at = yaml.find("B"); at != std::string::npos; at = yaml.find("B", at + 3))
    yaml.replace(at, 1, "B.1");
  const Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "B.1:") + 1) << d.format();  // the actor's body
  EXPECT_NE(d.message.find("actor id 'B.1'"), std::string::npos) << d.format();
}

// Renaming an actor to a bad id leaves its old id in the relations: the
// unknown-actor errors come from the parser, and the id's own problem must be
// reported with them (it is the cause).
TEST(IdRuleTest, ABadActorIdIsReportedWithTheReferencesItBreaks) {
  std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
  yaml.replace(yaml.find("\n  B:\n") + 3, 1, "1B");
  try {
    load_scenario({"f.yaml", yaml});
    FAIL() << "actor id 1B";
  } catch (const ScenarioError& e) {
    const auto said = [&](const std::string& words) {
      return std::any_of(e.diagnostics().begin(), e.diagnostics().end(),
                         [&](const Diagnostic& d) { return d.message.find(words) != std::string::npos; });
    };
    EXPECT_TRUE(said("unknown actor 'B'")) << e.what();
    EXPECT_TRUE(said("actor id '1B' is not a plain identifier")) << e.what();
  }
}

TEST(ActorLimitTest, MoreActorsThanTheLimitAreRefusedBeforeTheirRelations) {
  ScenarioBuilder b;
  for (int a = 0; a <= kMaxActors; ++a) b.actor(fmt::format("X{}", a), {.deployed = 1});
  const auto problems = validate(b.build_unchecked());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(mentions(problems, "actors", "at most 256"));

  std::string yaml = duel_yaml("deployed: 1", "deployed: 1");
  std::string many;
  for (int a = 0; a < kMaxActors; ++a) many += fmt::format("  X{}: {{forces: {{deployed: 1}}}}\n", a);
  yaml.insert(yaml.find("actors:\n") + 8, many);
  try {
    load_scenario({"f.yaml", yaml});
    FAIL() << "258 actors";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u) << "nothing about the unknown actors of the relations";
    EXPECT_EQ(e.diagnostics()[0].line, line_of(yaml, "X0"));
    EXPECT_NE(e.diagnostics()[0].message.find("has 258 actors"), std::string::npos);
  }
}

// --- the bargaining rules, on every route -------------------------------------

const char* kBargaining =
    "negotiation:\n  issues:\n    stake:\n      core: true\n      positions: {A: 1, B: 0}\n"
    "      salience: {A: 0.5, B: 0.5}\n"
    "bargaining:\n  proposer: A\n  receiver: B\n  rounds: 3\n";

TEST(BargainingRuleTest, OffersAtMostOnePerStepFromTheFileTheSetsAndTheSweeps) {
  const std::string ok = duel_yaml("deployed: 1000", "deployed: 2000", kBargaining);
  EXPECT_NO_THROW(load_scenario({"f.yaml", ok}));
  // In the file: at its line.
  const std::string yaml = ok + "  interval_days: 0.3\n";
  Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "interval_days")) << d.format();
  EXPECT_EQ(d.message, "'bargaining.interval_days' is 0.3, below 'run.dt_days' 1; at most one offer fits in a step");
  // By --set of either field: at the --set.
  const std::vector<Override> interval = {{"bargaining.interval_days", "0.3"}};
  d = rejection(ok, interval);
  EXPECT_EQ(d.source, "--set bargaining.interval_days=0.3") << d.format();
  const std::vector<Override> dt = {{"run.dt_days", "2"}};
  d = rejection(ok, dt);
  EXPECT_EQ(d.source, "--set run.dt_days=2") << d.format();
  EXPECT_NE(d.message.find("'bargaining.interval_days' is 1, below 'run.dt_days' 2"), std::string::npos);
  // Swept: over the whole range, grid or sampled.
  Scenario s = load_scenario({"f.yaml", ok}).scenario;
  s.sweep.axes.push_back({.path = "bargaining.interval_days", .values = {2, 0.3, 1}});
  auto problems = sweep_range_problems(s);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("crosses rule one_offer_per_step"), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find("at bargaining.interval_days=0.3"), std::string::npos) << problems[0].message;
  s.sweep.axes[0] = {.path = "bargaining.interval_days", .values = {}, .min = 0.5, .max = 3};
  s.sweep.design = SweepDesign::kLhs;
  s.sweep.samples = 4;
  EXPECT_TRUE(mentions(sweep_range_problems(s), "sweep.parameters.bargaining.interval_days", "below 'run.dt_days'"));
  s.sweep.axes[0].min = 1;
  EXPECT_TRUE(sweep_range_problems(s).empty());
}

TEST(BargainingRuleTest, ThePairSharesACoreIssueFromTheFileTheSetsAndTheSweeps) {
  const std::string ok = duel_yaml("deployed: 1000", "deployed: 2000", kBargaining);
  std::string yaml = ok;
  yaml.replace(yaml.find("core: true"), 10, "core: false");
  Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "core: false")) << d.format();  // at the issue the pair shares
  EXPECT_EQ(d.message,
            "'bargaining' needs a core negotiation issue on which both 'A' and 'B' have a salience above 0 (the stake "
            "of the offers); the issues they share ('negotiation.issues.stake') are not core");
  const std::vector<Override> core = {{"negotiation.issues.stake.core", "false"}};
  d = rejection(ok, core);
  EXPECT_EQ(d.source, "--set negotiation.issues.stake.core=false") << d.format();
  // A grid over a true/false field is checked at both values.
  Scenario s = load_scenario({"f.yaml", ok}).scenario;
  s.sweep.axes.push_back({.path = "negotiation.issues.stake.core", .values = {1, 0}});
  auto problems = sweep_range_problems(s);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].paths.front(), "sweep.parameters.negotiation.issues.stake.core");
  EXPECT_NE(problems[0].message.find("(grid values false to true) crosses rule bargaining_pair_shares_a_core_issue"),
            std::string::npos)
      << problems[0].message;
  EXPECT_NE(problems[0].message.find("at negotiation.issues.stake.core=false"), std::string::npos);
  s.sweep.axes[0].values = {1};
  EXPECT_TRUE(sweep_range_problems(s).empty());
}

// --- sweeps over their declared range ----------------------------------------

const char* kCapped = "deployed: 1000, deployed_cap: 90000";

TEST(SweepRangeTest, AnLhsRangeCrossingACapIsRefusedWhateverTheSeed) {
  const std::string yaml = duel_yaml(kCapped, "deployed: 2000",
                                     "sweep:\n  design: lhs\n  samples: 2\n  parameters:\n"
                                     "    actors.A.forces.deployed: {min: 10000, max: 95000}\n");
  for (const char* seed : {"1", "2", "3", "4", "5", "6", "7", "8"}) {
    const std::vector<Override> set = {{"run.seed", seed}};
    const Diagnostic d = rejection(yaml, set);
    EXPECT_EQ(d.line, line_of(yaml, "actors.A.forces.deployed:")) << d.format();
    EXPECT_EQ(d.column, 5);
    for (const char* part : {"sweep axis 'actors.A.forces.deployed' (lhs range [10000, 95000])",
                             "rule cap_at_least_deployed", "at actors.A.forces.deployed=95000", "whatever the seed"})
      EXPECT_NE(d.message.find(part), std::string::npos) << part << " not in " << d.format();
    EXPECT_EQ(d.message.find("--set"), std::string::npos) << d.format();
  }
}

TEST(SweepRangeTest, AGridIsCheckedAtItsSmallestAndLargestValues) {
  Scenario s = duel().build();
  s.actors[0].forces.deployed_cap = 5000;
  s.sweep.axes.push_back({.path = "actors.A.forces.deployed", .values = {3000, 1000, 6000, 2000}});
  auto problems = sweep_range_problems(s);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].paths.front(), "sweep.parameters.actors.A.forces.deployed");
  EXPECT_NE(problems[0].message.find("grid values 1000 to 6000"), std::string::npos) << problems[0].message;
  EXPECT_NE(problems[0].message.find("at actors.A.forces.deployed=6000"), std::string::npos) << problems[0].message;
  s.sweep.axes[0].values = {3000, 1000, 5000};
  EXPECT_TRUE(sweep_range_problems(s).empty());
}

TEST(SweepRangeTest, TwoAxesOfOneRuleAreCheckedAtEveryCorner) {
  // deployed in [1000, 4000] and cap in [3000, 9000]: every edge value is fine on
  // its own with the other's base value, but the corner (4000, 3000) breaks the cap.
  Scenario s = duel().build();
  s.sweep.design = SweepDesign::kSobol;
  s.sweep.samples = 8;
  s.sweep.axes.push_back({.path = "actors.A.forces.deployed", .values = {}, .min = 1000, .max = 4000});
  s.sweep.axes.push_back({.path = "actors.A.forces.deployed_cap", .values = {}, .min = 3000, .max = 9000});
  const auto problems = sweep_range_problems(s);
  ASSERT_EQ(problems.size(), 1u);
  const std::string& m = problems[0].message;
  EXPECT_NE(m.find("sweep axis 'actors.A.forces.deployed' (sobol range [1000, 4000]) and "
                   "'actors.A.forces.deployed_cap' (sobol range [3000, 9000])"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("at actors.A.forces.deployed=4000, actors.A.forces.deployed_cap=3000"), std::string::npos) << m;
  s.sweep.axes[1].min = 4000;
  EXPECT_TRUE(sweep_range_problems(s).empty());
}

TEST(SweepRangeTest, PriorsAndEventDaysAreCheckedOverTheirRange) {
  ScenarioBuilder b = duel();
  b.type("A", {.name = "hawk", .prior = 0.5}).type("A", {.name = "dove", .prior = 0.5});
  b.type("B", {.name = "only", .prior = 1.0});
  b.event({.day = 10, .actor = 0, .troops = 5});
  Scenario s = b.build();
  s.sweep.design = SweepDesign::kRandom;
  s.sweep.samples = 4;
  // A swept prior moves the actor's other priors with it (FieldSpec::vary), so
  // a two-type actor's priors sum to 1 over the whole range; a lone type's cannot.
  s.sweep.axes.push_back({.path = "actors.A.types.hawk.prior", .values = {}, .min = 0.0, .max = 1.0});
  EXPECT_TRUE(sweep_range_problems(s).empty());
  s.sweep.axes[0] = {.path = "actors.B.types.only.prior", .values = {}, .min = 0.4, .max = 1.0};
  EXPECT_TRUE(mentions(sweep_range_problems(s), "sweep.parameters.actors.B.types.only.prior", "sum to"));
  s.sweep.axes[0] = {.path = "events.0.day", .values = {}, .min = 0, .max = 100};
  EXPECT_TRUE(mentions(sweep_range_problems(s), "sweep.parameters.events.0.day", "never fires"));
  s.sweep.axes[0].max = 99.9;
  EXPECT_TRUE(sweep_range_problems(s).empty());
  // Axes no rule reads are never a problem.
  s.sweep.axes[0] = {.path = "actors.A.combat.effectiveness", .values = {}, .min = 0, .max = 10};
  EXPECT_TRUE(sweep_range_problems(s).empty());
}

TEST(SweepRangeTest, ValidateRefusesAFileWhoseSweepCrossesARule) {
  const std::string yaml =
      duel_yaml(kCapped, "deployed: 2000", "sweep:\n  parameters:\n    actors.A.forces.deployed: [1000, 95000]\n");
  const Diagnostic d = rejection(yaml);
  EXPECT_EQ(d.line, line_of(yaml, "actors.A.forces.deployed:"));
  EXPECT_NE(d.message.find("grid values 1000 to 95000"), std::string::npos) << d.format();
}

TEST(SweepRangeTest, ASetThatMovesTheFixedFieldIsTakenIntoAccount) {
  const std::string yaml =
      duel_yaml(kCapped, "deployed: 2000", "sweep:\n  parameters:\n    actors.A.forces.deployed: [1000, 50000]\n");
  EXPECT_NO_THROW(load_scenario({"f.yaml", yaml}));
  const std::vector<Override> lower = {{"actors.A.forces.deployed_cap", "40000"}};
  const Diagnostic d = rejection(yaml, lower);
  EXPECT_EQ(d.source, "f.yaml") << d.format();  // at the axis, not at a --set
  EXPECT_NE(d.message.find("(40000) is below"), std::string::npos) << d.format();
}

TEST(SweepRangeTest, ASweepArgumentIsNamedAsTyped) {
  LoadedScenario loaded = load_scenario({"f.yaml", duel_yaml(kCapped, "deployed: 2000")});
  try {
    apply_sweep_options(loaded, {"actors.A.forces.deployed=5000:95000"}, "lhs", 16);
    FAIL() << "the range crosses the cap";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].source, "--sweep actors.A.forces.deployed=5000:95000");
    EXPECT_NE(e.diagnostics()[0].message.find("lhs range [5000, 95000]"), std::string::npos);
  }
  LoadedScenario fine = load_scenario({"f.yaml", duel_yaml(kCapped, "deployed: 2000")});
  apply_sweep_options(fine, {"actors.A.forces.deployed=5000:90000"}, "lhs", 16);
  EXPECT_NO_THROW(make_plan(fine, {}));
}

}  // namespace
}  // namespace brink
