// The posterior scenario composed before a calibration starts
// (check_posterior_scenario, posterior_check.cpp): a scenario whose posterior
// file could not be written, or would be refused, is bad input (ScenarioError,
// exit 2) naming the file, before any generation.
#include "posterior_check.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../support/scenarios.hpp"
#include "brink/scenario/diagnostic.hpp"

namespace brink {
namespace {

CalibrateSpec one_prior(const std::string& path) {
  CalibrateSpec spec;
  spec.priors.push_back({.path = path, .kind = PriorKind::kUniform, .lower = 500, .upper = 1500});
  return spec;
}

std::string refusal(const ScenarioSource& source, const LoadedScenario& loaded, const CalibrateSpec& spec) {
  try {
    check_posterior_scenario(source, loaded, {}, spec);
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics().front().source, source.label);
    return e.diagnostics().front().message;
  }
  return "";
}

TEST(PosteriorCheckTest, AScenarioWhosePosteriorFileComesOutIsAccepted) {
  const ScenarioSource source{"duel.yaml", testing::duel_yaml("deployed: 1000", "deployed: 1000")};
  const LoadedScenario loaded = load_scenario(source);
  EXPECT_EQ(refusal(source, loaded, one_prior("actors.A.forces.deployed")), "");
  EXPECT_EQ(refusal(source, loaded, one_prior("actors.A.posture.grievance")), "");  // a key the file lacks
}

TEST(PosteriorCheckTest, APosteriorFileThatCannotBeWrittenOrWouldBeRefusedIsRefusedBeforeTheStart) {
  const ScenarioSource source{"duel.yaml", testing::duel_yaml("deployed: 1000", "deployed: 1000")};
  const LoadedScenario loaded = load_scenario(source);
  // A text in which the value has no place (actors is a list there).
  std::string message =
      refusal({"duel.yaml", "brink: 1\nactors: [1, 2]\n"}, loaded, one_prior("actors.A.forces.deployed"));
  EXPECT_NE(message.find("could not be written"), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was simulated"), std::string::npos) << message;
  // A text the value goes into, but that `brink run` would refuse.
  message = refusal({"duel.yaml", "brink: 1\n"}, loaded, one_prior("actors.A.forces.deployed"));
  EXPECT_NE(message.find("would be refused"), std::string::npos) << message;
}

}  // namespace
}  // namespace brink
