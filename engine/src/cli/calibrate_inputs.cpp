// What a calibration's inputs must satisfy before it starts: a calibration
// file given as input read whole (read_calibration_input), the scenario's
// observations, the memory the calibration needs against the machine's, and
// the cross-field rules at the corners of the priors' supports. Declared in
// commands.hpp.
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "brink/scenario/fields.hpp"
#include "commands.hpp"
#include "machine_memory.hpp"
#include "read_check.hpp"

namespace brink {

// A calibration file given as input, read whole; a damaged or truncated one
// is bad input (exit 2) named with what failed, not a runtime failure. The
// same read runs in a child process first (read_check.hpp): the file's
// strings lie in HDF5's global heap, without a checksum.
CalibrationRecord read_calibration_input(const std::string& path, std::string_view advice) {
  read_in_child(path, kCheckCalibration, {path, std::string(advice)}, advice, false);
  try {
    return read_calibration(path);
  } catch (const UsageError&) {
    throw;
  } catch (const DamagedInput& e) {  // names the file as damaged already
    throw UsageError(fmt::format("{}{}", e.what(), advice));
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("'{}' cannot be read as a brink calibration file ({}){}", path, e.what(), advice));
  }
}

void check_calibration_observations(const LoadedScenario& loaded) {
  if (loaded.scenario.observations.empty()) {
    if (loaded.source.where.contains("observations"))
      throw ScenarioError(
          {loaded.source.at("observations", "its 'observations:' block is empty; a calibration needs observations")});
    throw ScenarioError(
        {{loaded.source.label, -1, -1, "has no 'observations:' block; a calibration needs observations"}});
  }
  if (std::vector<Diagnostic> found = locate(loaded, observation_day_problems(loaded.scenario)); !found.empty())
    throw ScenarioError(std::move(found));
}

namespace {

// The least memory a calibration of `spec` holds at once, in bytes: a
// generation evaluates at least `particles` candidates in a batch, whose
// every world's value the evaluator returns (particles x replications x
// observations doubles, evaluator.cpp) and whose every world's distance the
// calibrator keeps (particles x replications, smc.cpp evaluate_batch); and
// every complete generation stays in the record (parameters, statistics,
// weight and distance per particle).
double calibration_bytes_at_least(const CalibrateSpec& spec, std::size_t observations) {
  const auto n = static_cast<double>(spec.particles), reps = static_cast<double>(spec.replications);
  const auto m = static_cast<double>(observations), d = static_cast<double>(spec.priors.size());
  return sizeof(double) * n * (reps * (m + 1) + spec.generations * (d + m + 2));
}

}  // namespace

void check_calibration_size(const LoadedScenario& loaded, const CalibrateSpec& spec,
                            const std::vector<std::string>& options) {
  const std::optional<double> memory = machine_memory_bytes();
  if (!memory) return;  // unknown: the allocation itself will say
  const double machine = *memory;
  const std::size_t m = loaded.scenario.observations.size();
  const double needed = calibration_bytes_at_least(spec, m);
  if (needed <= machine) return;
  const std::string message = fmt::format(
      "a calibration of {} particles x {} replications x {} observation{} over {} generations needs at least {:.3g} "
      "GB of memory for its worlds' values and particles, more than this machine's {:.3g} GB; ask for fewer "
      "particles, replications or generations",
      spec.particles, spec.replications, m, m == 1 ? "" : "s", spec.generations, needed / 1e9, machine / 1e9);
  // Sizes the command line set are not the scenario's to answer for.
  if (!options.empty()) {
    std::string named;
    for (std::size_t k = 0; k < options.size(); ++k)
      named += (k == 0 ? "" : k + 1 == options.size() ? " and " : ", ") + options[k];
    throw UsageError(fmt::format("{} (set by {})", message, named));
  }
  throw ScenarioError({loaded.source.at(
      loaded.source.where.contains("calibrate.particles") ? "calibrate.particles" : "calibrate", message)});
}

// Every cross-field rule at every corner of the priors' supports, as for a
// sweep's declared ranges (sweep_range.cpp), reported at the prior's line.
void check_prior_corners(const LoadedScenario& loaded) {
  Scenario box = loaded.scenario;
  box.sweep = {};
  box.sweep.design = SweepDesign::kRandom;
  for (const PriorSpec& p : loaded.scenario.calibrate.priors)
    box.sweep.axes.push_back({.path = p.path, .values = {}, .min = p.lower, .max = p.upper, .log = false});
  std::vector<Diagnostic> diagnostics;
  for (Problem& problem : sweep_range_problems(box)) {
    std::string message = problem.message;
    if (message.rfind("sweep axis", 0) == 0) message = "calibrated parameter" + message.substr(10);
    if (const auto at = message.find("(random range "); at != std::string::npos)
      message.replace(at, 14, "(prior support ");
    const std::string path = "calibrate.parameters." + problem.paths.front().substr(17);
    diagnostics.push_back(loaded.source.at(path, message + " (the support is checked at its corners)"));
  }
  if (!diagnostics.empty()) throw ScenarioError(std::move(diagnostics));
}

}  // namespace brink
