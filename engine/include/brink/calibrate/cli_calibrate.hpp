// `brink calibrate` and the posterior side of `brink run --posterior`.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "brink/scenario/parse.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

int command_calibrate(const std::vector<std::string>& args, int argc, const char* const* argv, std::ostream& out,
                      std::ostream& err);

// `brink inspect` of a calibration file: generations, posterior, fit; or,
// with `scenario_only`, the scenario text it calibrated.
void inspect_calibration(const std::string& path, bool scenario_only, std::ostream& out);

// A plan of `draws` parameter sets drawn from a calibration file's last
// generation (systematic resampling by weight, offset from run.seed), one
// sweep point each, the run's replications split evenly over them. Until
// the kernel reads parameters per lane (issue 13, item 2), every draw is a
// sweep point; with it, the draws would become per-lane parameters of one point.
// `draws` 0 picks one draw per 256 replications (at least 1, at most 1000).
SweepPlan posterior_plan(const LoadedScenario& loaded, const std::string& calibration_file, std::int64_t draws);

// One summary over every point of a posterior plan (points have equal
// replications, so pooling the counts integrates over the posterior). One
// point (a draw per replication) is returned whole; over several, the
// quantiles of casualties and end day are left out (they do not pool).
PointSummary pooled_summary(const std::vector<PointSummary>& summaries);

}  // namespace brink
