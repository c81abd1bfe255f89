// The posterior scenario composed before a calibration starts (posterior_check.hpp).
#include "posterior_check.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "brink/calibrate/prior.hpp"
#include "brink/scenario/diagnostic.hpp"
#include "brink/scenario/fields.hpp"

namespace brink {

void check_posterior_scenario(const ScenarioSource& source, const LoadedScenario& loaded,
                              const std::vector<Override>& settings, const CalibrateSpec& spec) {
  // The paths and values as write_posterior_scenario (cli_calibrate.cpp)
  // gives them: the calibration's --set, the parameters, and the fields a
  // parameter moves with it.
  std::vector<std::string> paths, values;
  for (const Override& s : settings) {
    paths.push_back(s.path);
    values.push_back(s.value);
  }
  const FieldRegistry registry(loaded.scenario);
  Scenario at_medians = loaded.scenario;
  for (const PriorSpec& p : spec.priors) {
    const double median = Prior(p).sample(0.5);
    paths.push_back(p.path);
    values.push_back(fmt::format("{:.17g}", median));
    if (const FieldRef* ref = registry.find(p.path)) ref->set(at_medians, median);
  }
  for (std::size_t f = 0; f < registry.size(); ++f) {
    const FieldRef& ref = registry.ref(f);
    const std::string& path = registry.parameters()[f].path;
    if (ref.get(at_medians) != ref.get(loaded.scenario) && std::find(paths.begin(), paths.end(), path) == paths.end()) {
      paths.push_back(path);
      values.push_back(fmt::format("{:.17g}", ref.get(at_medians)));
    }
  }
  const auto refuse = [&](const std::string& why) {
    throw ScenarioError({{.source = source.label,
                          .message = fmt::format("the posterior scenario brink calibrate writes at the end of the "
                                                 "calibration {}; nothing was simulated (please report this)",
                                                 why)}});
  };
  std::string text;
  try {
    text = scenario_with_values(source.text, paths, values);
  } catch (const std::exception& e) {
    refuse(fmt::format("could not be written ({})", e.what()));
  }
  // Read as `brink run` reads it (its sweep: block is dropped: one parameter set).
  try {
    const LoadedScenario posterior = load_scenario({.label = source.label + " (posterior scenario)", .text = text});
    if (std::vector<Diagnostic> found = locate(posterior, validate(posterior.scenario)); !found.empty())
      throw ScenarioError(std::move(found));
  } catch (const ScenarioError& e) {
    refuse(fmt::format("would be refused, at the priors' medians: {}", e.diagnostics().front().format()));
  }
}

}  // namespace brink
