// The memory a run holds, refused up front when the machine cannot give it,
// and what to say when memory runs out anyway (run_memory.cpp). Private to
// the cli module.
#pragma once

#include <string>

#include "brink/sweep/plan.hpp"

namespace brink {

// What ran out: the address-space limit when one is set ('ulimit -v'), else the machine's memory.
std::string out_of_memory_text();

// What to do about a run that ran out of memory: sharding splits points
// only (docs/cluster.md), so a single point is told what shrinks it.
std::string memory_advice(const SweepPlan& plan);

// Refuses (UsageError), before anything is written, a run of `plan` on
// `threads` whose memory cannot fit in this machine's, as `brink calibrate`
// does (check_calibration_size).
void check_run_memory(const SweepPlan& plan, int threads);

}  // namespace brink
