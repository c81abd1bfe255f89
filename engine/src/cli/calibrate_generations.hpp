// The generations of `brink calibrate`, run one by one with a heartbeat
// within each, and saved as they complete (calibrate_generations.cpp).
// Private to the cli module.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/smc.hpp"
#include "brink/cli/output_target.hpp"
#include "progress.hpp"

namespace brink {

// What the heartbeat within a generation needs (calibrate_heartbeat.hpp):
// style kNone with --quiet or on a rank that does not write.
struct Heartbeat {
  bool quiet = false;  // --quiet: no generation lines either
  ProgressStyle style = ProgressStyle::kNone;
  std::function<std::int64_t()> candidates;
  std::int64_t particles = 0;
  std::chrono::milliseconds lines_every{10'000};
};

// The heartbeat's style, as `brink run` chooses its progress's; the lines'
Heartbeat make_heartbeat(bool quiet, bool writer, std::function<std::int64_t()> candidates, std::int64_t particles);

// Runs the generations still missing, saving each to `partial` (if given:
// rank 0 of an MPI job, or a plain run) before reporting it.
// *saved is the identity of the partial file last saved.
void run_generations(AbcSmc& smc, const std::function<double()>& lane_steps, const std::filesystem::path* partial,
                     const Heartbeat& heartbeat, std::ostream& err, CalibrationRecord& record, FileIdentity* saved);

}  // namespace brink
