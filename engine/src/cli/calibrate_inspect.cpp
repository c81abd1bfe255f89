// `brink inspect` of a calibration file: its generations, the posterior
// table with the forecast of its posterior scenario, and each observation
// against the fitted mean of the last generation.
#include <string>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/cli_calibrate.hpp"
#include "calibrate_summary.hpp"
#include "commands.hpp"

namespace brink {

void inspect_calibration(const std::string& path, bool scenario_only, std::ostream& out) {
  const CalibrationRecord r = read_calibration_input(path, "");
  if (scenario_only) {
    out << r.scenario_text;
    return;
  }
  out << fmt::format("{}: brink calibration of {} (seed {}), {} of {} generations complete\n", path, r.scenario_label,
                     r.seed, r.generations.size(), r.planned_generations);
  for (const Population& p : r.generations) out << "  " << generation_line(p, r.planned_generations, -1.0);
  if (r.generations.empty()) return;
  // Judged from the particles (a file written before the check has no attribute).
  if (const std::string warning = conflict_warning(r); !warning.empty()) out << warning << "\n";
  out << posterior_table(r, posterior_forecast(posterior_scenario_path(path).string(), path));
  const Population& last = r.generations.back();
  const std::size_t m = r.observation_names.size();
  out << fmt::format("{:<44} {:>14} {:>14} {:>14}\n", "observation", "observed", "sd", "fitted (mean)");
  for (std::size_t o = 0; o < m; ++o) {
    double fitted = 0;
    for (std::size_t i = 0; i < last.size(); ++i) fitted += last.weight[i] * last.statistic[i * m + o];
    out << fmt::format("{:<44} {:>14.6g} {:>14.6g} {:>14.6g}\n", r.observation_names[o], r.observed[o],
                       r.observed_sd[o], fitted);
  }
}

}  // namespace brink
