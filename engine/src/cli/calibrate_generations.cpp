// Runs the generations of a calibration still missing: each simulated under
// a heartbeat, reported in one line, and saved to the partial file (written
// beside and renamed) before the next starts.
#include "calibrate_generations.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "calibrate_heartbeat.hpp"
#include "calibrate_summary.hpp"

namespace brink {
namespace fs = std::filesystem;

Heartbeat make_heartbeat(bool quiet, bool writer, std::function<std::int64_t()> candidates, std::int64_t particles) {
  Heartbeat h{.quiet = quiet,
              .style = quiet || !writer        ? ProgressStyle::kNone
                       : isatty(STDERR_FILENO) ? ProgressStyle::kBar
                                               : ProgressStyle::kLines,
              .candidates = std::move(candidates),
              .particles = particles};
  if (const char* every = std::getenv("BRINK_TEST_PROGRESS_EVERY_MS"))
    h.lines_every = std::chrono::milliseconds(std::max(1, std::atoi(every)));
  return h;
}

void run_generations(AbcSmc& smc, const std::function<double()>& lane_steps, const fs::path* partial,
                     const Heartbeat& heartbeat, std::ostream& err, CalibrationRecord& record, FileIdentity* saved) {
  const bool quiet = heartbeat.quiet;
  // Written beside and renamed, so that a kill mid-write leaves the last complete generation.
  auto save = [&] {
    record.warning = conflict_warning(record);
    if (partial == nullptr) return;
    const std::string staging = partial->string() + ".tmp";
    try {
      write_calibration(staging, record);
      *saved = entry_identity_of(staging);  // a file of this run's own: the staging path is under its lock
      fs::rename(staging, *partial);
    } catch (const std::exception& e) {
      std::error_code ignored;
      fs::remove(staging, ignored);
      const std::size_t kept = record.generations.size() - 1;
      throw std::runtime_error(
          kept == 0 ? fmt::format("{}; nothing is kept, run it again", e.what())
                    : fmt::format("{}; {} keeps {} complete generation{}, continue with --resume once that is mended",
                                  e.what(), partial->string(), kept, kept == 1 ? "" : "s"));
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = record.seconds, lane_steps_before = record.lane_steps;
  for (const Population& p : record.generations)
    if (!quiet) err << "(resumed) " << generation_line(p, record.planned_generations, -1.0);
  while (static_cast<int>(record.generations.size()) < record.planned_generations) {
    std::optional<Population> simulated;
    {
      const GenerationHeartbeat beat(err, heartbeat.style, heartbeat.candidates,
                                     static_cast<int>(record.generations.size()), record.planned_generations,
                                     heartbeat.particles, heartbeat.lines_every);
      simulated = record.generations.empty() ? smc.first() : smc.next(record.generations.back());
    }
    Population next = std::move(*simulated);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string line = generation_line(next, record.planned_generations, seconds);
    record.generations.push_back(std::move(next));
    record.seconds = seconds_before + seconds;
    record.lane_steps = lane_steps_before + lane_steps();
    save();
    if (!quiet) err << line << std::flush;
  }
  save();
}

}  // namespace brink
