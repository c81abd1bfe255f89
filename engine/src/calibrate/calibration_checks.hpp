// What a calibration file holds as `brink calibrate` writes it: the checks
// read_calibration applies, so that a file edited by hand (its checksums
// rewritten with it) or cut short is refused as damaged, naming the file,
// the variable and the value, instead of being drawn from, printed or
// continued. Each throws DamagedInput (the readers' exit 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>

#include "brink/calibrate/calibration_file.hpp"

namespace brink::calibration_checks {

struct Extent {
  const char* name;
  std::size_t values, expected;
};

// Every variable holds generations × particles × its other dimensions.
void check_shapes(const std::string& path, std::initializer_list<Extent> extents);
// Generations hold at least one particle each (`particles`, the particle axis).
void check_some_particles(const std::string& path, std::size_t generations, std::size_t particles);
// A generation's weights are finite, non-negative and sum to 1.
void check_weights(const std::string& path, std::size_t generation, std::span<const double> weights);
// Every particle lies in its prior's support; every tolerance is a number
// (generation 0's +inf, later ones finite and at least 0).
void check_draws(const std::string& path, const CalibrationRecord& r);
// Tolerances that never grow, distances from 0 to their generation's
// tolerance, finite statistics, and at least as many candidates proposed as
// particles accepted.
void check_populations(const std::string& path, const CalibrationRecord& r);
// planned_generations and the observations (observed, sd, day).
void check_plan_and_observations(const std::string& path, const CalibrationRecord& r,
                                 std::optional<std::int64_t> planned);
// The particle axis holds the particles its settings (`particles=N`) name.
void check_particles_against_settings(const std::string& path, const CalibrationRecord& r);

}  // namespace brink::calibration_checks
