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

}  // namespace
}  // namespace brink
