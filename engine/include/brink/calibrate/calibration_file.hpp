// The file `brink calibrate` writes: every generation's particles, weights,
// distances and statistics, netCDF-4 compatible (xarray opens it with
// engine="h5netcdf"; dimensions generation, particle, parameter,
// observation). Rewritten whole after each generation (it is small), so a
// `.partial` file always holds complete generations and --resume continues
// from the last.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "brink/calibrate/smc.hpp"

namespace brink {

struct CalibrationRecord {
  std::vector<std::string> parameters;  // dotted paths, the priors' order
  std::vector<std::string> units;
  std::vector<std::string> priors;             // per parameter, e.g. "uniform [0, 1]"
  std::vector<std::string> observation_names;  // per observation
  std::vector<double> observed, observed_sd, observed_day;
  int planned_generations = 0;
  std::vector<Population> generations;  // the complete ones
  std::string scenario_label, scenario_text, settings, command_line, engine_version;
  std::string engine_fingerprint;  // the build (engine_fingerprint()): --resume and MPI ranks compare it
  // The kernel path that simulated it (avx2, avx512), as a result file's
  // target_isa; --resume continues on it. "" in files from before it was kept.
  std::string target_isa;
  std::uint64_t seed = 0;
  double lane_steps = 0;  // replication-steps simulated (every lane)
  double seconds = 0;     // wall time so far
  // A data–prior conflict of the last generation (docs/calibration.md), as
  // printed; "" if none. The root attribute `warning`, written only if set.
  std::string warning;
};

// Writes `record` to `path` (created or truncated). Throws OutputError.
void write_calibration(const std::string& path, const CalibrationRecord& record);
// Reads a file written by write_calibration. Throws std::runtime_error naming the file and what is wrong.
CalibrationRecord read_calibration(const std::string& path);
// Whether `path` is an HDF5 file written by write_calibration (false if unreadable).
bool is_calibration_file(const std::string& path);

}  // namespace brink
