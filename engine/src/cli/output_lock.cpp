// The locks of an output: TARGET.lock, held exclusively for a run's whole
// life and holding its PID, host and command, so that a second writer is
// refused with who holds it (OutputLock); the shared lock on the .partial
// that stops another program from using it meanwhile (PartialHold,
// refuse_partial_in_use). The checks on the paths themselves and the publish
// are in output_target.cpp.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "brink/cli/output_target.hpp"
#include "brink/io/recovery.hpp"
#include "brink/scenario/shown_text.hpp"

namespace brink {
namespace fs = std::filesystem;
namespace {

std::string read_holder(int fd) {
  char buffer[256] = {0};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The lock note's end " (brink COMMAND)" names the command that holds the lock.
constexpr std::string_view kNoteCommand = " (brink ";

// Who holds a lock, from its note, for the message to a second writer:
// "brink merge (PID N on host H)"; a note without the command (an older
// build's) or none names no command.
std::string holder_named(const std::string& note) {
  const std::size_t at = note.rfind(kNoteCommand);
  if (at != std::string::npos && note.ends_with(')')) {
    const std::size_t from = at + kNoteCommand.size();
    return fmt::format("brink {} ({})", shown(note.substr(from, note.size() - 1 - from)), shown(note.substr(0, at)));
  }
  return fmt::format("brink process (a run, merge or calibration; {})",
                     note.empty() ? std::string("process unknown") : shown(note));
}

// True for what a lock file can hold: nothing (a run stopped before its
// note) or the note "PID ... on host ... (brink COMMAND)" a run writes.
bool locked_file_is_a_lock(int fd, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return false;
  if (st.st_size == 0) return true;
  return st.st_size < 512 && read_holder(fd).rfind("PID ", 0) == 0;
}

// HDF5_USE_FILE_LOCKING=FALSE turns HDF5's file locks off (readers then take
// none, e.g. on file systems without flock); the partial's lock follows it.
bool file_locking_off() {
  const char* value = std::getenv("HDF5_USE_FILE_LOCKING");
  return value != nullptr && std::string_view(value) == "FALSE";
}

}  // namespace

OutputLock::OutputLock(fs::path path, std::string_view elsewhere, std::string_view command) : path_(std::move(path)) {
  // The holder removes the lock file when it finishes; a process that opened
  // the old file before that would lock a file nobody else sees, so after
  // locking, check that the path still names the locked file, else retry.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && is_space_errno(errno))  // the disk, not the path: a runtime failure, as at the partial
      throw std::runtime_error(
          fmt::format("cannot create the lock file '{}': {}; nothing was written; free space (or inodes) "
                      "and run again",
                      path_.string(), describe_errno(errno)));
    if (fd < 0)
      throw OutputRefused(fmt::format("cannot create the lock file '{}': {}", path_.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      const std::string holder = read_holder(fd);
      ::close(fd);
      if (error != EWOULDBLOCK)
        throw OutputRefused(fmt::format("cannot lock '{}': {}", path_.string(), std::strerror(error)));
      const std::string target = path_.string().substr(0, path_.string().size() - 5);
      throw OutputRefused(fmt::format("another {} is writing '{}' (lock {}); wait for it to finish or {}",
                                      holder_named(holder), target, path_.string(), elsewhere));
    }
    struct stat locked {
    }, named{};
    if (::fstat(fd, &locked) == 0 && ::stat(path_.c_str(), &named) == 0 && locked.st_dev == named.st_dev &&
        locked.st_ino == named.st_ino) {
      // A lock file holds nothing or "PID ... on host ... (brink COMMAND)"; anything else at
      // that path is someone's file, which the unlink at the end would delete.
      if (!locked_file_is_a_lock(fd, locked)) {
        ::close(fd);
        throw OutputRefused(fmt::format(
            "'{}' exists and is not a brink lock file; move it away (brink keeps its lock there while it writes)",
            path_.string()));
      }
      char host[256] = {0};
      ::gethostname(host, sizeof host - 1);
      const std::string holder = fmt::format("PID {} on host {}{}{})\n", ::getpid(), host, kNoteCommand, command);
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, holder.data(), holder.size(), 0) < 0) {
        // The lock holds without the note; only the message to a second run is poorer.
      }
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw OutputRefused(fmt::format("cannot take the lock '{}': it keeps being replaced", path_.string()));
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  // While still locked (see the constructor), and only our own file: one
  // at the path now is another run's lock.
  if (still_ours()) ::unlink(path_.c_str());
  ::close(fd_);
}

bool OutputLock::still_ours() const {
  struct stat held {
  }, named{};
  return fd_ >= 0 && ::fstat(fd_, &held) == 0 && ::lstat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

void OutputLock::vouch_for(const fs::path& partial, const FileIdentity& written) const {
  if (still_ours()) return;
  // Someone removed or replaced the lock file, or moved the directory: a
  // second run could then take a lock of its own and write the same partial,
  // so this run cannot vouch for what the partial holds.
  if (entry_identity_of(partial) != written)
    throw std::runtime_error(fmt::format(
        "'{}' and its lock '{}' are no longer the files this run wrote (the directory was moved or renamed, or "
        "they were replaced, while it ran): the result is not published and nothing at those paths is touched; "
        "this run's file is wherever its directory went, as a .partial beside a stale .lock",
        partial.string(), path_.string()));
  const int fd = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  const bool taken = fd >= 0 && ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  if (fd >= 0) ::close(fd);
  if (!taken) remove_own_file(partial, written);  // this run's, and no one else's: nothing in it can be vouched for
  throw std::runtime_error(fmt::format(
      "the lock '{}' was removed or replaced while this run held it, so another run may have written '{}' too: the "
      "result is not published, and '{}' {}",
      path_.string(), partial.string(), partial.string(),
      taken ? "is left to the run that holds the lock now" : "is removed; run it again"));
}

PartialHold::PartialHold(const fs::path& partial) {
  if (file_locking_off()) return;
  fd_ = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  // Shared: HDF5's readers of the live file (h5py, SWMR) take shared locks too.
  if (fd_ >= 0 && ::flock(fd_, LOCK_SH | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

PartialHold::~PartialHold() {
  if (fd_ >= 0) ::close(fd_);
}

void refuse_partial_in_use(const fs::path& partial, const fs::path& lock, bool resume) {
  if (file_locking_off()) return;
  const int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return;  // none, or not a file a run holds: the other checks name it
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  // As when HDF5's own lock stops a resume (recovery.cpp): nothing is wrong with the file.
  if (held)
    throw std::runtime_error(fmt::format(
        "cannot use '{}': another program has it open (a brink run still writing it although its lock file '{}' "
        "is gone, or a reader such as h5py); let that run finish or close the file there, and run again{}",
        partial.string(), lock.string(), resume ? " with --resume" : ""));
}

}  // namespace brink
