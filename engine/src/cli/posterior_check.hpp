// The posterior scenario of `brink calibrate`, composed once before the
// first generation: a scenario whose posterior file could not be written, or
// would be refused, is refused in the first second, not after the hours the
// calibration takes.
#pragma once

#include <vector>

#include "brink/scenario/observations.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

// Writes the posterior scenario of `loaded` (read from `source`, with the
// calibration's `settings`) in memory, every calibrated parameter at its
// prior's median, and loads and validates it as `brink run` would. Throws
// ScenarioError (exit 2) naming the file if either step fails.
void check_posterior_scenario(const ScenarioSource& source, const LoadedScenario& loaded,
                              const std::vector<Override>& settings, const CalibrateSpec& spec);

}  // namespace brink
