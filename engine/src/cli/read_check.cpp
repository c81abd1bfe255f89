// The check of an input file in a child process (read_check.hpp says why).
#include "read_check.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "brink/cli/cli.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recovery.hpp"
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
  const char* abbreviation = ::sigabbrev_np(signal);
  return abbreviation != nullptr ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

// The signals the reader raises itself when the library meets what it
// trusted and should not have: a bad address, a corrupted allocation, a
// failed assertion.
constexpr std::array kCrashSignals{SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

bool crash_signal(int signal) {
  return std::find(kCrashSignals.begin(), kCrashSignals.end(), signal) != kCrashSignals.end();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// The child's first line on its standard error: a program that lacks it was
// not brink (under valgrind or the dynamic loader, /proc/self/exe is them).
constexpr std::string_view kHandshake = "brink __read-check started\n";

struct ChildEnd {
  bool started = false, reaped = false, timed_out = false;
  int status = 0;
  std::string output;   // its standard output, if asked for
  std::string message;  // its standard error, the first 64 KiB
};

struct Pipe {
  int read = -1, write = -1;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0], write = fds[1];
    return true;
  }
  ~Pipe() {
    for (int fd : {read, write})
      if (fd >= 0) ::close(fd);
  }
};

// Starts `/proc/self/exe __read-check child_args...` with stdin on /dev/null,
// stdout on `out` (or /dev/null) and stderr on `err`; -1 if it cannot.
pid_t spawn_child(const std::vector<std::string>& child_args, const Pipe* out, const Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out != nullptr)
    posix_spawn_file_actions_adddup2(&actions, out->write, STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  // No signal blocked, and the crash signals with their default action in the child.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : kCrashSignals) sigaddset(&defaults, s);
  for (int s : {SIGPIPE, SIGXCPU}) sigaddset(&defaults, s);
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
  return spawned == 0 ? pid : -1;
}

// Reads the child's streams until both close (it ended) or `deadline` passes.
void drain(std::vector<std::pair<int, std::string*>> streams, std::size_t stderr_cap,
           std::chrono::steady_clock::time_point deadline) {
  auto left_ms = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return std::max<std::int64_t>(0, left.count());
  };
  std::vector<char> buffer(65536);  // on the heap: a small stack ('ulimit -s') has no room for it
  while (!streams.empty() && left_ms() > 0) {
    std::vector<pollfd> fds;
    for (const auto& [fd, text] : streams) fds.push_back({fd, POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left_ms(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    for (std::size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      // Standard error (the first stream) is a message: its first 64 KiB are kept.
      if (n > 0 && (i > 0 || streams[i].second->size() < stderr_cap))
        streams[i].second->append(buffer.data(), static_cast<std::size_t>(n));
      if (n <= 0) streams.erase(streams.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

// The child's status once it ends, killing it (SIGKILL) at `deadline`.
void reap(pid_t pid, std::chrono::steady_clock::time_point deadline, ChildEnd& end) {
  for (;;) {
    const pid_t done = ::waitpid(pid, &end.status, WNOHANG);
    if (done == pid) {
      end.reaped = true;
      return;
    }
    if (done < 0 && errno != EINTR) return;  // reaped elsewhere (SIGCHLD ignored): no status to judge
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &end.status, 0) < 0 && errno == EINTR) {
      }
      end.timed_out = end.reaped = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Runs the child on `child_args` (after its parent's pid and the time limit,
// which it enforces on itself too) for at most `seconds`.
ChildEnd run_child(const std::vector<std::string>& child_args, bool capture, double seconds) {
  ChildEnd end;
  Pipe out, err;
  if (!err.open() || (capture && !out.open())) return end;
  std::vector<std::string> words{std::to_string(::getpid()), fmt::format("{:.3f}", seconds)};
  words.insert(words.end(), child_args.begin(), child_args.end());
  const pid_t pid = spawn_child(words, capture ? &out : nullptr, err);
  for (Pipe* p : {&out, &err})
    if (p->write >= 0) ::close(std::exchange(p->write, -1));
  if (pid < 0) return end;
  end.started = true;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::pair<int, std::string*>> streams{{err.read, &end.message}};
  if (capture) streams.emplace_back(out.read, &end.output);
  drain(std::move(streams), 65536, deadline);
  reap(pid, deadline, end);
  return end;
}

// The CPU seconds the child asks for (SIGXCPU then), one past the time limit.
rlim_t child_cpu_seconds(double seconds) { return static_cast<rlim_t>(std::ceil(seconds)) + 1; }

// This process's hard CPU-time limit ('ulimit -t') if it is below what the
// child asks for: the child cannot raise its limit past it and keeps the
// soft limit it inherits, so a child stopped by SIGXCPU or SIGKILL then ran
// out of the user's CPU time, which says nothing about the file.
std::optional<rlim_t> binding_cpu_limit(double seconds) {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_CPU, &limit) != 0 || limit.rlim_max == RLIM_INFINITY ||
      limit.rlim_max > child_cpu_seconds(seconds))
    return std::nullopt;
  return limit.rlim_cur;
}

// The child's side of the agreement: it dies with its parent (a parent
// killed while it waits would leave a child looping in a damaged heap for
// ever), stops itself at the time limit in CPU seconds too, and says it is
// brink. Returns false if the parent is already gone.
bool start_as_child(pid_t parent, double seconds, std::ostream& err) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) return false;
  const rlim_t cpu = child_cpu_seconds(seconds);
  // SIGXCPU, then SIGKILL. Refused under a lower hard limit, which the
  // child then keeps (the parent tells the two apart: binding_cpu_limit).
  const rlimit cpu_limit{cpu, cpu + 1};
  ::setrlimit(RLIMIT_CPU, &cpu_limit);
  // A crash here is the finding, not a bug to debug: no core file.
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  err << kHandshake << std::flush;
  return true;
}

}  // namespace

void arm_read_checks() {
  if (g_role == Role::kOff) g_role = Role::kArmed;
}

double read_check_seconds(const std::string& path) {
  // At least a second: a child killed before it says it is brink (it takes
  // some milliseconds to start) reads as no check at all, and the file was
  // read in place, unguarded (a limit of 0.0001 s let a crashing file kill
  // the command). Plain decimal text only: no blanks, no hexadecimal.
  constexpr double kShortest = 1.0, kLongest = 86400.0;
  if (const char* set = std::getenv("BRINK_READ_CHECK_SECONDS")) {
    const std::string_view text(set);
    double seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds, std::chars_format::fixed);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !(seconds >= kShortest && seconds <= kLongest))
      throw UsageError(fmt::format("BRINK_READ_CHECK_SECONDS must be a number of seconds from {:g} to {:g}, got '{}'",
                                   kShortest, kLongest, set));
    return seconds;
  }
  struct stat st {};
  const double gib = ::stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) / (1 << 30) : 0.0;
  return std::min(kLongest, 20.0 + 30.0 * gib);
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
  // No child to be had, no status, or a child that was not brink: the file is read in place.
  if (!end.started || !end.reaped || !end.message.starts_with(kHandshake)) return std::nullopt;
  end.message.erase(0, kHandshake.size());
  const int status = end.status;
  if (const std::optional<rlim_t> cpu = binding_cpu_limit(seconds);
      cpu && WIFSIGNALED(status) && !end.timed_out && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL))
    throw std::runtime_error(fmt::format(
        "the check that reads '{}' in a separate process was stopped by the CPU-time limit of {} s ('ulimit -t') "
        "before it finished, which says nothing about the file; raise the limit to read it",
        path, *cpu));
  if (WIFSIGNALED(status) && ((end.timed_out && WTERMSIG(status) == SIGKILL) || WTERMSIG(status) == SIGXCPU))
    throw UsageError(fmt::format(
        "'{}' could not be read in {:g} s: it is damaged (HDF5 loops for ever on some damage in the parts of a file "
        "that carry no checksum, such as its global heap), or its storage is too slow (then raise "
        "BRINK_READ_CHECK_SECONDS){}",
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
  if (args.size() < 3) {
    err << "__read-check needs the parent's pid, a time limit and a KIND\n";
    return kExitFailure;
  }
  if (!start_as_child(static_cast<pid_t>(std::atol(args[0].c_str())), std::atof(args[1].c_str()), err))
    return kExitFailure;
  quiet_hdf5_errors();
  try {
    const std::vector<std::string> rest(args.begin() + 3, args.end());
    const std::string& kind = args[2];
    if (kind == kCheckInspect) {
      command_inspect(rest, out);
    } else if (kind == kCheckCalibration && rest.size() == 2) {
      read_calibration_input(rest[0], rest[1]);
    } else if (kind == kCheckMetadata && rest.size() == 2) {
      if (const std::string object = damaged_metadata(rest[0]); !object.empty())
        throw UsageError(
            fmt::format("'{}' is damaged and cannot be continued (HDF5 cannot read back the metadata of "
                        "{}){}",
                        rest[0], object, rest[1]));
    } else {
      throw std::runtime_error(fmt::format("__read-check: unknown KIND '{}'", kind));
    }
    return kExitOk;
  } catch (const UsageError& e) {
    err << e.what() << std::flush;
    return kExitUsage;
  } catch (const DamagedInput& e) {  // names the file: the parent refuses it as bad input
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
