// How a long command (run, calibrate, merge) learns that it was asked to
// stop: SIGINT (Ctrl-C), SIGTERM (kill, a batch scheduler's time limit) and
// SIGHUP (a closed terminal or ssh session) set a flag that the work checks
// between steps, so that it keeps what is finished and says how to continue.
// One of them ignored when brink starts (`nohup`, a shell's background job)
// stays ignored.
// SIGPIPE is ignored: a closed pipe on stderr (`brink run 2>&1 | head`) must
// not kill a run halfway through its file. Internal to engine/src/cli.
#pragma once

#include <atomic>

namespace brink {

// Installs the handlers; commands that never check the flag leave the signals' defaults.
void catch_interruptions();

// Set once one of those signals arrived.
std::atomic<bool>& interruption_flag();
inline bool interrupted() { return interruption_flag().load(std::memory_order_relaxed); }

}  // namespace brink
