#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "brink/cli/cli.hpp"

namespace {

// Whether `fd` is a pipe whose reader has gone (`brink params | head`): the
// reader chose to stop reading, which is no failure of the command.
bool reader_left(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

// Opens /dev/null on each of descriptors 0..2 that is closed (`brink run <&- 2>&-`,
// as daemon and cron wrappers do). Otherwise the next file brink opens (the
// .lock, the HDF5 .partial) would get that number, and progress and error text
// meant for stderr would be written into it. Runs before anything opens a file.
// False if one stays closed (no /dev/null): brink then stops before it
// opens anything, as it has nowhere to say why.
bool fill_closed_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened < 0) return false;
    // The lowest free number is `fd` itself, as the lower ones are open.
    if (opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
  return true;
}

// What the command printed was lost (a full disk, a closed descriptor): exit 0
// would say a table, a parameter list or "ok" arrived. `why` is an errno, or 0.
// A command that succeeded says so: a batch script that reruns it would be
// told its result exists.
int output_lost(int code, int why) {
  std::cerr << "brink: could not write to standard output"
            << (why != 0 ? std::string(" (") + std::strerror(why) + ")" : "")
            << (code == brink::kExitOk ? "; the command itself finished, and any file it wrote is complete" : "")
            << "\n";
  return code == brink::kExitOk ? brink::kExitFailure : code;
}

}  // namespace

int main(int argc, char** argv) {
  const bool stdout_closed = ::fcntl(STDOUT_FILENO, F_GETFD) == -1 && errno == EBADF;
  if (!fill_closed_standard_descriptors()) return brink::kExitFailure;
  if (stdout_closed) {  // now /dev/null: what the command prints goes nowhere
    std::ostringstream lost;
    const int code = brink::run_cli(argc, argv, lost, std::cerr);
    return lost.str().empty() ? code : output_lost(code, EBADF);
  }
  const int code = brink::run_cli(argc, argv, std::cout, std::cerr);
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if ((std::cout.good() && flushed && !std::ferror(stdout)) || reader_left(STDOUT_FILENO)) return code;
  return output_lost(code, errno);
}
