// The `brink` command line. Exit codes: 0 success, 1 runtime failure, 2 bad
// usage or bad input.
#pragma once

#include <iosfwd>

namespace brink {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace brink
