// Reading an input file in a child process before this process reads it.
// Private to the cli module.
//
// HDF5 checks the checksums of nearly all of a file's metadata, but not its
// global heap, where variable-length strings and the references of dimension
// scales live: it trusts each heap object's recorded size, and one flipped bit
// there makes the library read out of bounds (SIGSEGV), free a wild pointer
// (abort) or walk the heap for ever. Nothing inside the process can catch
// that, so a command first runs the same reader on the file in a child, a
// second brink started as `brink __read-check PARENT SECONDS KIND ARG...`,
// and uses the file only if the child came through. The child dies with its
// parent (PR_SET_PDEATHSIG), limits its own CPU time to SECONDS, and first
// says it is brink: a child that does not (under valgrind or the dynamic
// loader, /proc/self/exe is another program) is ignored, and the file is
// read in place.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace brink {

// The hidden command the child runs as (not listed in the usage).
inline constexpr std::string_view kReadCheckCommand = "__read-check";

// What the child reads: `brink inspect ARG...` (whose output the parent
// prints), or a calibration file (ARG: the path and the advice that follows
// a refusal) as read_calibration_input reads it, its record discarded.
inline constexpr std::string_view kCheckInspect = "inspect";
inline constexpr std::string_view kCheckCalibration = "calibration";
// Every object's metadata of a partial to resume (damaged_metadata); ARG: the
// path and the advice that follows a refusal.
inline constexpr std::string_view kCheckMetadata = "metadata";

// Makes read_in_child spawn its child. run_cli does, since the
// process is then brink itself (/proc/self/exe takes `__read-check`); in any
// other program, and in the child, the check does nothing.
void arm_read_checks();

// Runs the reader `kind` names on `args` in a child (posix_spawn of
// /proc/self/exe, which avoids fork() in an MPI process) and waits for it at
// most read_check_seconds(path). Returns the child's standard output (with
// `capture`; else "") if it read `path` without trouble, and nothing if this
// process is to read the file in place without a check: no child could be
// started (no /proc, no process left) or reaped, the process is not armed,
// or (without `capture`) it already checked the file unchanged (same inode,
// size and modification time), or the child did not say it is brink. The
// child's own refusal is thrown unchanged:
// UsageError (its exit 2) or std::runtime_error (exit 1). A child killed by
// SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP or SIGSYS, or stopped at
// the time limit (or its CPU limit, SIGXCPU), means a damaged file (or, for
// the time limit, storage too slow): UsageError naming it and what happened,
// followed by `advice`. A child stopped by another signal (Ctrl-C,
// the OOM killer), or by this process's own CPU-time limit ('ulimit -t'
// with a hard limit below the check's), throws std::runtime_error.
std::optional<std::string> read_in_child(const std::string& path, std::string_view kind,
                                         const std::vector<std::string>& args, std::string_view advice, bool capture);

// The time limit of the check of `path`: 20 s plus 30 s per GiB of the file
// (the reads take well under a second for files of a few MB), at most a
// day, or the seconds in the environment variable BRINK_READ_CHECK_SECONDS
// (UsageError unless a number in (0, 86400]).
double read_check_seconds(const std::string& path);

// The child's side, `brink __read-check PARENT SECONDS KIND ARG...`: exit 0 if the reader
// came through (inspect's output on `out`), 2 with its message on `err` for
// bad input, 1 for another failure, 3 when out of memory.
int command_read_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace brink
