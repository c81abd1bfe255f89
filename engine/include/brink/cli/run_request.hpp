// What a run asks for beyond its scenario: --set and run settings, sweep
// options and a posterior. `brink run` records it in the file's `overrides`
// attribute; `brink merge` (and any rank that rebuilds a run) reads it back
// and builds the same plan through the same function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brink/mpi/distributed.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {

struct RunRequest {
  std::vector<Override> settings;  // --set overrides, then run settings given as flags
  std::vector<std::string> sweeps, levers;
  std::string design;
  std::int64_t samples = 0;  // 0: not given
  bool sensitivity = false;
  std::string posterior;             // a calibration file, "" for none
  std::int64_t posterior_draws = 0;  // 0: the default count
  // The scenario choices' texts as a run recorded them (brink merge), used in
  // place of reading the files; empty: read them.
  std::vector<std::string> recorded_choices;
  // --no-file-sweep: the scenario file's own `sweep:` block is ignored (how a
  // scenario choice's point re-runs alone); --sweep options still apply.
  bool file_sweep_off = false;

  bool sweep_options() const {
    return !sweeps.empty() || !levers.empty() || !design.empty() || samples > 0 || sensitivity;
  }
};

// The `overrides` attribute: one line per setting (`path=value`) and per
// option (`sweep SPEC`, `lever SPEC`, `design D`, `samples N`, `sensitivity`, `no_file_sweep`,
// `posterior FILE`, `posterior_draws K`).
std::string recorded_options(const RunRequest& request);
// The inverse of recorded_options; throws UsageError naming `file` for a line
// it cannot read.
RunRequest parse_recorded_options(std::string_view text, const std::string& file);

// The plan of `request` on `source`, as `brink run` builds it: the scenario
// loaded with the settings, sweep options applied, scenario choices loaded, the
// rerun recipe set, or the posterior's draws. `loaded` receives the scenario.
SweepPlan build_run_plan(const ScenarioSource& source, const RunRequest& request, LoadedScenario* loaded);
// Throws UsageError if the plan's file would need a chunk HDF5 cannot store
// (4 GiB or more), saying what to change; build_run_plan checks its plans.
void check_chunk_sizes(const SweepPlan& plan);

// The plan of an MPI job (the PlanFn of run_as_mpi_rank): its recorded
// options parsed and built as above.
SweepPlan plan_of_job(const RunJob& job);

}  // namespace brink
