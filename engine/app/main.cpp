#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "brink/cli/cli.hpp"

int main(int argc, char** argv) {
  const int code = brink::run_cli(argc, argv, std::cout, std::cerr);
  // A full disk, or a closed descriptor, behind standard output loses what the
  // command printed (a table, a parameter list, "ok"); exit 0 would say it arrived.
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (std::cout.good() && flushed && !std::ferror(stdout)) return code;
  const int why = errno;
  std::cerr << "brink: could not write to standard output"
            << (why != 0 ? std::string(" (") + std::strerror(why) + ")" : "") << "\n";
  return code == brink::kExitOk ? brink::kExitFailure : code;
}
