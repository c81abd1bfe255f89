// The `brink` command line. Exit codes: 0 success, 1 runtime failure, 2 bad
// usage or bad input.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace brink {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// What `brink COMMAND` says when a launcher started it as `processes`
// processes in a build without MPI (each would run the whole job into the
// same output), or "" when it may run: one process, a build with MPI, or a
// command other than run and calibrate.
std::string without_mpi_refusal(std::string_view command, int processes, bool built_with_mpi);

}  // namespace brink
