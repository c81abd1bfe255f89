#include "brink/scenario/sweep_constraints.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../support/scenarios.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {
namespace {

const std::string kDeployed = "actors.RUS.forces.deployed";
const std::string kCap = "actors.RUS.forces.deployed_cap";
const std::string kReady = "actors.USA.forces.ready";

SweepConstraint parsed(const std::string& rule, bool reject = false) {
  SweepConstraint c;
  const std::string problem = parse_constraint(rule, reject, &c);
  EXPECT_EQ(problem, "") << rule;
  return c;
}

TEST(SweepConstraint, ReadsALinearRuleIntoTermsOfLeftMinusRight) {
  const SweepConstraint c = parsed(kDeployed + " <= " + kCap);
  ASSERT_EQ(c.terms.size(), 2u);
  EXPECT_EQ(c.terms[0], (std::pair<std::string, double>{kDeployed, 1.0}));
  EXPECT_EQ(c.terms[1], (std::pair<std::string, double>{kCap, -1.0}));
  EXPECT_TRUE(c.at_most);
  EXPECT_EQ(c.target, kDeployed);

  const SweepConstraint d = parsed(kReady + " >= 0.5 * " + kDeployed + " - 1_000 + 2e3");
  ASSERT_EQ(d.terms.size(), 2u);
  EXPECT_EQ(d.terms[1], (std::pair<std::string, double>{kDeployed, -0.5}));
  EXPECT_DOUBLE_EQ(d.constant, -1000.0);
  EXPECT_FALSE(d.at_most);
  EXPECT_EQ(d.target, kReady);

  // A left side other than one path alone has no clip target.
  EXPECT_EQ(parsed("2 * " + kDeployed + " <= " + kCap).target, "");
  EXPECT_EQ(parsed(kDeployed + " + " + kReady + " <= 300000").target, "");
  EXPECT_EQ(parsed("-" + kDeployed + " >= -5").target, "");
}

TEST(SweepConstraint, RefusesAnythingOutsideTheGrammar) {
  for (const std::string& rule :
       std::vector<std::string>{kDeployed + " < " + kCap, kDeployed + " <= ", "<= " + kCap, kDeployed + " " + kCap,
                                kDeployed + " <= " + kCap + "; rm -rf /", kDeployed + " <= exp(" + kCap + ")",
                                kDeployed + " <= 2 *", kDeployed + " <= " + kCap + " <= 5", "1.2.3 <= " + kCap}) {
    SweepConstraint c;
    EXPECT_NE(parse_constraint(rule, false, &c), "") << rule;
  }
}

TEST(SweepConstraint, ClipLandsExactlyOnTheBoundAndRejectDrops) {
  LoadedScenario loaded = testing::load_yaml(testing::flagship_text());
  SweepSpec& spec = loaded.scenario.sweep;
  spec.design = SweepDesign::kLhs;
  spec.samples = 8;
  spec.axes = {{.path = kDeployed, .values = {}, .min = 50000, .max = 200000},
               {.path = kCap, .values = {}, .min = 100000, .max = 150000},
               {.path = kReady, .values = {}, .min = 0, .max = 100000}};
  spec.constraints = {parsed(kDeployed + " <= " + kCap), parsed(kReady + " <= 0.5 * " + kDeployed, true)};
  for (const SweepConstraint& c : spec.constraints) EXPECT_EQ(constraint_problem(c, spec, loaded.parameters), "");
  const BoundConstraints bound(spec, loaded.scenario);
  std::vector<double> row = {180000.3, 123456.7, 1000};
  EXPECT_TRUE(bound.apply(row));
  EXPECT_EQ(row[0], 123456.7);      // clipped to the cap, bit for bit
  row = {100000, 120000, 50000.5};  // ready above half the deployed: rejected
  EXPECT_FALSE(bound.apply(row));
  row = {100000, 120000, 50000};  // on the bound: kept
  EXPECT_TRUE(bound.apply(row));
}

TEST(SweepConstraint, ProblemsNameTheReason) {
  LoadedScenario loaded = testing::load_yaml(testing::flagship_text());
  SweepSpec spec;
  spec.design = SweepDesign::kLhs;
  spec.samples = 8;
  spec.axes = {{.path = kDeployed, .values = {}, .min = 50000, .max = 200000}};
  auto problem = [&](const std::string& rule, bool reject = false) {
    return constraint_problem(parsed(rule, reject), spec, loaded.parameters);
  };
  EXPECT_NE(problem("actors.RUS.forces.deploy <= 5").find("unknown parameter path"), std::string::npos);
  EXPECT_NE(problem(kCap + " >= " + kDeployed).find("must be a swept range axis"), std::string::npos);
  EXPECT_NE(problem(kCap + " <= 5").find("reads no swept parameter"), std::string::npos);
  EXPECT_EQ(problem(kCap + " >= " + kDeployed, true), "");
  spec.sensitivity = true;
  EXPECT_NE(problem(kDeployed + " <= " + kCap, true).find("sensitivity"), std::string::npos);
  EXPECT_EQ(problem(kDeployed + " <= " + kCap), "");
  spec.sensitivity = false;
  spec.design = SweepDesign::kMorris;
  EXPECT_NE(problem(kDeployed + " <= " + kCap).find("morris"), std::string::npos);
  spec.design = SweepDesign::kGrid;
  EXPECT_NE(problem(kDeployed + " <= " + kCap).find("sampled"), std::string::npos);
}

TEST(SweepConstraint, AClipThatCanBreakAnEarlierRuleIsRefusedWithTheOrderThatWorks) {
  const SweepConstraint half = parsed(kReady + " <= 0.5 * " + kDeployed);
  const SweepConstraint cap = parsed(kDeployed + " <= " + kCap);
  // Lowering deployed after ready was clipped to half of it breaks the half rule.
  const std::string problem = constraint_order_problem(std::vector{half}, cap);
  EXPECT_NE(problem.find("'" + cap.rule + "' lowers '" + kDeployed + "'"), std::string::npos) << problem;
  EXPECT_NE(problem.find("'" + half.rule + "'"), std::string::npos) << problem;
  EXPECT_NE(problem.find("put this clip before it"), std::string::npos) << problem;
  EXPECT_EQ(constraint_order_problem(std::vector{cap}, half), "");
  // Moves that only help an earlier rule are fine in any order.
  const SweepConstraint also_under = parsed(kDeployed + " <= 2 * " + kReady);
  EXPECT_EQ(constraint_order_problem(std::vector{cap}, also_under), "");
  EXPECT_EQ(constraint_order_problem(std::vector{also_under}, cap), "");
  const SweepConstraint raise =
      parsed(kDeployed + " >= 2 * " + kReady);  // raising deployed helps ready <= 0.5·deployed
  EXPECT_EQ(constraint_order_problem(std::vector{half}, raise), "");
  EXPECT_NE(constraint_order_problem(std::vector{cap}, raise), "");  // but may lift it over the cap
  // A reject rule moves nothing.
  EXPECT_EQ(constraint_order_problem(std::vector{half}, parsed(kDeployed + " <= " + kCap, true)), "");
  // Two clips that each move what the other reads: no order keeps both.
  const SweepConstraint follow = parsed(kDeployed + " <= " + kReady + " + 50000");
  const std::string cycle = constraint_order_problem(std::vector{half}, follow);
  EXPECT_NE(cycle.find("no order keeps both"), std::string::npos) << cycle;
  EXPECT_NE(constraint_order_problem(std::vector{follow}, half).find("no order keeps both"), std::string::npos);
}

TEST(SweepConstraint, ClipsInAnAcceptedOrderLeaveEveryRuleTrue) {
  LoadedScenario loaded = testing::load_yaml(testing::flagship_text());
  SweepSpec& spec = loaded.scenario.sweep;
  spec.design = SweepDesign::kLhs;
  spec.samples = 8;
  spec.axes = {{.path = kDeployed, .values = {}, .min = 50000, .max = 250000},
               {.path = kReady, .values = {}, .min = 0, .max = 150000}};
  spec.constraints = {parsed(kDeployed + " <= " + kCap), parsed(kReady + " <= 0.5 * " + kDeployed)};
  const BoundConstraints bound(spec, loaded.scenario);
  for (double deployed : {50000.0, 123456.7, 190000.0, 250000.0})
    for (double ready : {0.0, 33333.3, 120000.0, 150000.0}) {
      std::vector<double> row = {deployed, ready};
      std::vector<int> clipped_by;
      ASSERT_TRUE(bound.apply(row, &clipped_by));
      EXPECT_EQ(bound.first_broken(row), -1) << deployed << " " << ready;
      EXPECT_EQ(clipped_by[0], deployed > 190000 ? 0 : -1);
    }
  // The refused order would have left ready above half the clipped deployed.
  std::swap(spec.constraints[0], spec.constraints[1]);
  const BoundConstraints wrong(spec, loaded.scenario);
  std::vector<double> row = {250000, 120000};
  ASSERT_TRUE(wrong.apply(row));
  EXPECT_EQ(wrong.first_broken(row), 0);
}

}  // namespace
}  // namespace brink
