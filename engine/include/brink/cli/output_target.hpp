// Where `brink run` writes and how it keeps two runs, or a run and its own
// inputs, from destroying each other's files:
//  - the target must be (or become) a regular file and never one of the inputs;
//  - the default name comes from the scenario name, reduced to a portable
//    character set, always inside out/;
//  - a run holds an exclusive lock on TARGET.lock (holding its PID and host)
//    for its whole life; the .partial itself is not locked, because HDF5
//    1.10's own file locking then makes H5Fcreate and SWMR readers fail;
//  - the finished file is fsynced and renamed into place, never over a file
//    that appeared or changed at the target while the run was writing.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "brink/io/variables.hpp"

namespace brink {

// A refusal about the output path or its lock: bad usage, exit code 2.
class OutputRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `name` with every character outside [A-Za-z0-9._-] replaced by '_', no
// leading dot or dash, at most 100 characters, "scenario" if nothing is left.
std::string portable_file_name(std::string_view name);
// out/<portable name>.h5
std::filesystem::path default_output_path(std::string_view scenario_name);

// Throws OutputRefused unless `target` (and its .partial and .lock) is a
// regular file or does not exist yet, and is none of `inputs` (compared by
// device and inode); the .partial and .lock may not be symbolic links, nor
// their names or paths too long for the system.
void check_output_path(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs);

// Throws OutputRefused if `path`, one of brink's own files beside an output
// (TARGET.partial, TARGET.lock), is a symbolic link (check_output_path checks
// those two).
void refuse_link(const std::filesystem::path& path);

// Throws OutputRefused if `path`, a file brink writes beside `target`
// (check_output_path checks TARGET.partial and TARGET.lock; a command with
// more, such as calibrate's TARGET.partial.tmp, checks each), is a symbolic
// link, not a regular file, or one of `inputs`; or if its name would pass the
// directory's limit for a name (NAME_MAX) or its path the system's (PATH_MAX).
void check_own_file(const std::filesystem::path& path, const std::filesystem::path& target,
                    const std::vector<std::filesystem::path>& inputs);

// Makes sure the target's directory is there: created (with its parents) if
// missing and `create` (the default output path), else OutputRefused saying
// whether it is missing, unreachable or not a directory.
void prepare_output_directory(const std::filesystem::path& target, bool create);

// Returns a warning for the start of a run when `bytes.total` (the file's
// uncompressed size) exceeds the space free to this user on the target's
// file system, or "" when it fits: compression makes most files smaller, so
// the run goes on, but a run that would fill a shared disk is named before
// it starts. OutputRefused stops the run before it writes when it cannot
// fit: its uncompressed part (bytes.uncompressed: summaries, which never
// shrink) alone exceeds the free space, or the whole exceeds
// kMostCompression times it, more than compression ever gains on brink's data.
// `held`: bytes the file system already holds for this output
// (bytes_reused), counted as free.
inline constexpr double kMostCompression = 100.0;
std::string check_disk_space(const std::filesystem::path& target, const OutputBytes& bytes, std::uint64_t held = 0);
// The bytes a partial file already holds on disk that this run takes over:
// all of them if --resume continues it; if --overwrite replaces it, those
// that no other hard link keeps; else 0.
std::uint64_t bytes_reused(const std::filesystem::path& partial, bool resume, bool overwrite);

// Throws OutputRefused if `target` exists, unless `overwrite`, or unless
// `resume` continues an unfinished TARGET.partial whose run was started with
// --overwrite (its command_line says so): a file that appeared at the target
// after a run started without it is no file that run may replace. `what` is
// the verb for the message: "write the result", "merge". `run_partial`: the
// partial of the run that writes the target, when not TARGET.partial (the
// calibration's for its posterior scenario).
void refuse_existing_result(const std::filesystem::path& target, bool overwrite, bool resume, std::string_view what,
                            const std::filesystem::path& run_partial = {});

// Device and inode of a path, or absent.
struct FileIdentity {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};
FileIdentity identity_of(const std::filesystem::path& path);
// The identity of the directory entry itself (a symbolic link's own, not its target's).
FileIdentity entry_identity_of(const std::filesystem::path& path);
// The identity of a file a writer holds open (Hdf5Writer::file_identity: device, inode).
inline FileIdentity held_file(const std::array<std::uint64_t, 2>& device_inode) {
  return {true, static_cast<dev_t>(device_inode[0]), static_cast<ino_t>(device_inode[1])};
}

// Removes `path` only if it still names the file this process wrote
// (`written`): a directory moved away meanwhile puts another run's file at
// that path. With `written` unknown (the file failed before it could be
// known), the path is removed as it is.
void remove_own_file(const std::filesystem::path& path, const FileIdentity& written);

// An exclusive flock on `path` (created if missing), held until destruction,
// when the file is removed. The file holds the note "PID N on host H (brink
// COMMAND)". Throws OutputRefused naming the holder's command, PID and host if
// another process holds it.
class OutputLock {
 public:
  // `elsewhere` ends the message to a second writer: how to write elsewhere.
  // `command`: the brink command that takes the lock (run, merge, calibrate).
  explicit OutputLock(std::filesystem::path path, std::string_view elsewhere = "give another -o",
                      std::string_view command = "run");
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  // Before publishing `partial` (`written`: the file this run wrote): returns
  // if the path still names the lock file this lock holds; else throws
  // std::runtime_error, removing `partial` only if it is still this run's
  // file and no other process holds a lock at the path now.
  void vouch_for(const std::filesystem::path& partial, const FileIdentity& written) const;

 private:
  bool still_ours() const;

  std::filesystem::path path_;
  int fd_ = -1;
};

// An advisory lock (flock) on the partial file a run writes, taken once the
// file exists and held until the run ends. TARGET.lock alone guards the
// target; if that file is removed by hand while the run is live, a second run
// would take it anew and treat the live partial as an interrupted one.
class PartialHold {
 public:
  explicit PartialHold(const std::filesystem::path& partial);
  ~PartialHold();
  PartialHold(const PartialHold&) = delete;
  PartialHold& operator=(const PartialHold&) = delete;

 private:
  int fd_ = -1;
};

// Throws std::runtime_error if another process holds `partial` (a
// PartialHold, or a reader's HDF5 lock): a live run whose lock file `lock` was
// removed, or a reader. `resume`: the advice ends "run again with --resume".
void refuse_partial_in_use(const std::filesystem::path& partial, const std::filesystem::path& lock, bool resume);

// fsyncs `partial` and moves it to `target`. `written` is the identity of
// the file the run wrote (its open descriptor's): the move fails
// (std::runtime_error) if `partial` no longer names it, so that a file another
// program moved there, or a link, is never published as the run's result.
// `before` is the target's identity when the run started: the move fails,
// `partial` kept, if the target no longer has it, so that a file another
// program put there meanwhile is never replaced. Then fsyncs the directory:
// if that fails, the result is in place all the same, and the returned
// warning says so (else "").
[[nodiscard]] std::string publish_output(const std::filesystem::path& partial, const std::filesystem::path& target,
                                         const FileIdentity& before, const FileIdentity& written);

// Under the lock, what to do with an existing TARGET.partial: resume it when
// asked and it reopens for writing; on a fresh run, refuse (OutputRefused) if
// it holds finished blocks, unless `overwrite`, saying how many of them
// --resume would keep (`kept_on_resume`: that count for this run's plan, or
// -1 if the file does not fit the plan). Only a partial that provably holds
// no finished block (none marked, or stopped before its first flush:
// PartialState::kNeverSaved) is started over without `overwrite`; one that
// HDF5 cannot open or reopen, which may hold some, is refused either way, and
// so are another program's HDF5 file and one this process may not write.
// Returns true to resume.
bool decide_resume(const std::filesystem::path& partial, bool resume, bool overwrite, bool quiet, std::ostream& err,
                   const std::function<std::int64_t()>& kept_on_resume);

}  // namespace brink
