// The check of an input file in a child process (read_check.hpp says why).
#include "read_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "brink/cli/cli.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "commands.hpp"

extern char** environ;

namespace brink {
namespace {

enum class Role { kOff, kArmed, kChild };
Role g_role = Role::kOff;

constexpr int kExitOutOfMemory = 3;

// A file as this process checked it: a file changed since is checked again.
using Identity = std::tuple<std::string, dev_t, ino_t, off_t, std::int64_t, std::int64_t>;
std::set<Identity> g_checked;

std::optional<Identity> identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return Identity{path, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGABRT:
      return "SIGABRT";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGSYS:
      return "SIGSYS";
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGKILL:
      return "SIGKILL";
    default:
      return fmt::format("signal {}", signal);
  }
}

// A signal the reader raises itself when the library meets what it trusted
// and should not have: a bad address, a corrupted allocation, a failed assertion.
bool crash_signal(int signal) {
  for (int s : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
    if (signal == s) return true;
  return false;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

struct ChildEnd {
  bool started = false, reaped = false, timed_out = false;
  int status = 0;
  std::string output;   // its standard output, if asked for
  std::string message;  // its standard error, the first 64 KiB
};

// Runs `/proc/self/exe __read-check child_args...` with stdin on /dev/null,
// stdout on a pipe (`capture`) or /dev/null and stderr on a pipe; kills it
// (SIGKILL) at `seconds`.
ChildEnd run_child(const std::vector<std::string>& child_args, bool capture, double seconds) {
  ChildEnd end;
  int out_fds[2] = {-1, -1}, err_fds[2] = {-1, -1};
  if (::pipe2(err_fds, O_CLOEXEC) != 0) return end;
  if (capture && ::pipe2(out_fds, O_CLOEXEC) != 0) {
    ::close(err_fds[0]);
    ::close(err_fds[1]);
    return end;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (capture)
    posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_fds[1], STDERR_FILENO);
  // No signal blocked, and the crash signals with their default action in the child.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGPIPE}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> words{"brink", std::string(kReadCheckCommand)};
  words.insert(words.end(), child_args.begin(), child_args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  for (int fd : {out_fds[1], err_fds[1]})
    if (fd >= 0) ::close(fd);
  end.started = spawned == 0;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  auto left_ms = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return std::max<std::int64_t>(0, left.count());
  };
  // Both pipes until they close (the child ends) or the time is up, then its status.
  struct Stream {
    int fd;
    std::string* text;
    std::size_t cap;
  };
  std::vector<Stream> open;
  if (end.started) {
    open.push_back({err_fds[0], &end.message, 65536});
    if (capture) open.push_back({out_fds[0], &end.output, std::string().max_size()});
  }
  while (!open.empty() && left_ms() > 0) {
    std::vector<pollfd> fds;
    for (const Stream& s : open) fds.push_back({s.fd, POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left_ms(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      char buffer[65536];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && open[i].text->size() < open[i].cap) open[i].text->append(buffer, static_cast<std::size_t>(n));
      if (n <= 0) open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  for (int fd : {out_fds[0], err_fds[0]})
    if (fd >= 0) ::close(fd);
  while (end.started) {
    const pid_t done = ::waitpid(pid, &end.status, WNOHANG);
    if (done == pid) {
      end.reaped = true;
      break;
    }
    if (done < 0 && errno != EINTR) break;  // reaped elsewhere (SIGCHLD ignored): no status to judge
    if (left_ms() == 0) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &end.status, 0) < 0 && errno == EINTR) {
      }
      end.timed_out = end.reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return end;
}

}  // namespace

void arm_read_checks() {
  if (g_role == Role::kOff) g_role = Role::kArmed;
}

double read_check_seconds(const std::string& path) {
  if (const char* set = std::getenv("BRINK_READ_CHECK_SECONDS")) {
    char* end = nullptr;
    const double seconds = std::strtod(set, &end);
    if (end != set && *end == '\0' && seconds > 0) return seconds;
  }
  struct stat st {};
  const double gib = ::stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) / (1 << 30) : 0.0;
  return 20.0 + 30.0 * gib;
}

std::optional<std::string> read_in_child(const std::string& path, std::string_view kind,
                                         const std::vector<std::string>& args, std::string_view advice, bool capture) {
  if (g_role != Role::kArmed) return std::nullopt;
  const std::optional<Identity> before = identity(path);
  if (!capture && before && g_checked.count(*before)) return std::nullopt;
  std::vector<std::string> child_args{std::string(kind)};
  child_args.insert(child_args.end(), args.begin(), args.end());
  const double seconds = read_check_seconds(path);
  ChildEnd end = run_child(child_args, capture, seconds);
  if (!end.started || !end.reaped) return std::nullopt;  // no child to be had, or no status: read in place
  const int status = end.status;
  if (end.timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
    throw UsageError(fmt::format(
        "'{}' is damaged: reading it did not finish in {:g} s and was stopped (HDF5 loops for ever on some damage "
        "in the parts of a file that carry no checksum, such as its global heap; if the file is sound but slow to "
        "read, raise BRINK_READ_CHECK_SECONDS){}",
        path, seconds, advice));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    if (crash_signal(signal))
      throw UsageError(fmt::format(
          "'{}' is damaged: reading it crashed the HDF5 library ({}, signal {}), which trusts the parts of a file "
          "that carry no checksum, such as its global heap of strings and dimension-scale references{}",
          path, signal_name(signal), signal, advice));
    throw std::runtime_error(
        fmt::format("the check that reads '{}' in a separate process was stopped by {} (signal {}) before it finished",
                    path, signal_name(signal), signal));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == kExitOk) {
    if (const std::optional<Identity> after = identity(path); after && after == before) g_checked.insert(*after);
    return std::move(end.output);
  }
  if (code == kExitUsage) throw UsageError(trimmed(end.message));
  if (code == kExitOutOfMemory) throw std::bad_alloc();
  if (code == kExitFailure) throw std::runtime_error(trimmed(end.message));
  throw std::runtime_error(fmt::format("the check that reads '{}' in a separate process failed (exit {}): {}", path,
                                       code, trimmed(end.message)));
}

int command_read_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  g_role = Role::kChild;
  // A crash here is the finding, not a bug to debug: no core file.
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  quiet_hdf5_errors();
  try {
    if (args.empty()) throw std::runtime_error("__read-check needs a KIND");
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args.front() == kCheckInspect) {
      command_inspect(rest, out);
    } else if (args.front() == kCheckCalibration && rest.size() == 2) {
      read_calibration_input(rest[0], rest[1]);
    } else {
      throw std::runtime_error(fmt::format("__read-check: unknown KIND '{}'", args.front()));
    }
    return kExitOk;
  } catch (const UsageError& e) {
    err << e.what() << std::flush;
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    return kExitOutOfMemory;
  } catch (const std::exception& e) {
    err << e.what() << std::flush;
    return kExitFailure;
  }
}

}  // namespace brink
