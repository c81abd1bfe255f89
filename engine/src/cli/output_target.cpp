#include "brink/cli/output_target.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "brink/io/hdf5_reader.hpp"
#include "brink/io/recovery.hpp"
#include "brink/model/kernel_files.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/scenario/source_file.hpp"

namespace brink {
namespace fs = std::filesystem;
namespace {

// Refuses `path` if it exists as anything but a regular file, or is an input.
void check_one(const fs::path& path, const fs::path& target, std::vector<fs::path> inputs) {
  // brink's own files are inputs of every command: the program and its kernels.
  for (const std::string& kernel : kernel_files()) inputs.emplace_back(kernel);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int error = errno;
    // A link to nothing: the rename at the end could not replace it, and
    // writing through it would create a file the user did not name.
    if (struct stat link{}; error == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      std::error_code ec;
      throw OutputRefused(
          fmt::format("output '{}' is a symbolic link to '{}', which does not exist; give the "
                      "output's own path, or remove the link",
                      path.string(), fs::read_symlink(path, ec).string()));
    }
    // A loop of links: nothing could ever be written there, which the run
    // would find out only at its end.
    if (error == ELOOP)
      throw OutputRefused(
          fmt::format("output '{}' cannot be written: {}; give another path", path.string(), std::strerror(error)));
    return;  // does not exist yet
  }
  if (!S_ISREG(st.st_mode))
    throw OutputRefused(fmt::format("output '{}' is {}; the output must be a regular file (e.g. out/result.h5)",
                                    path.string(), file_kind_name(st.st_mode)));
  for (const fs::path& input : inputs) {
    struct stat in {};
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino) {
      const std::vector<std::string> kernels = kernel_files();
      const bool kernel = std::find(kernels.begin(), kernels.end(), input.string()) != kernels.end();
      const std::string named = input == "/proc/self/exe" ? std::string("the brink program that is running")
                                : kernel ? fmt::format("the kernel library '{}' that brink runs", input.string())
                                         : fmt::format("the input file '{}'", input.string());
      throw OutputRefused(fmt::format("output '{}' is {}; writing it would destroy the input, write to another file",
                                      target.string(), named));
    }
  }
}

// A path as a message shows it: a long one (near PATH_MAX, 4096 bytes) by its
// two ends, cut between UTF-8 sequences.
std::string shown_path(const std::string& path) {
  constexpr std::size_t kEnd = 60;
  if (path.size() <= 3 * kEnd) return path;
  const auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(path[i]) & 0xC0) == 0x80; };
  std::size_t head = kEnd, tail = path.size() - kEnd;
  while (head > 0 && continuation(head)) --head;
  while (tail < path.size() && continuation(tail)) ++tail;
  return path.substr(0, head) + "..." + path.substr(tail);
}

// Refuses `file`, one of the files brink writes for the output `target` (its
// name and a suffix: TARGET.partial, TARGET.lock, a calibration's
// TARGET.partial.tmp), when its name passes the directory's limit for a name
// (NAME_MAX) or its path the system's for a path (PATH_MAX): the system
// would refuse it only once the run began, with a bare "File name too long".
void refuse_too_long(const fs::path& file, const fs::path& target) {
  const std::string& written = file.string();
  const std::string suffix =
      written.starts_with(target.string()) ? written.substr(target.string().size()) : std::string();
  const std::string what = suffix == ".partial"       ? "the file written first"
                           : suffix == ".lock"        ? "the run's lock"
                           : suffix == ".partial.tmp" ? "where each generation is staged"
                                                      : "a file brink writes beside it";
  const long name_max = ::pathconf(file.has_parent_path() ? file.parent_path().c_str() : ".", _PC_NAME_MAX);
  const std::size_t longest_name = name_max > 0 ? static_cast<std::size_t>(name_max) : NAME_MAX;
  if (file.filename().string().size() > longest_name)
    throw OutputRefused(
        fmt::format("output file name '{}' is {} bytes; with '{}' added ({}) it passes the file system's limit of {} "
                    "bytes: give a shorter name",
                    target.filename().string(), target.filename().string().size(), suffix, what, longest_name));
  // A path the system takes holds at most PATH_MAX - 1 bytes and its closing NUL.
  if (written.size() >= PATH_MAX)
    throw OutputRefused(
        fmt::format("output path '{}' is {} bytes; with '{}' added ({}) it reaches the system's limit of {} bytes "
                    "for a path (its closing NUL included): give a shorter path (a relative one from a directory "
                    "nearer the file)",
                    shown_path(target.string()), target.string().size(), suffix, what, PATH_MAX));
}

}  // namespace

void refuse_link(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw OutputRefused(
        fmt::format("'{}' is a symbolic link, and brink never writes through a link at a file of its own; remove the "
                    "link (what it points to is left alone)",
                    path.string()));
}

namespace {

void fsync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot open '{}' to sync it: {}", path.string(), std::strerror(errno)));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0) throw std::runtime_error(fmt::format("cannot sync '{}': {}", path.string(), std::strerror(error)));
}

// The partial holds the finished result: say so, and how to publish it.
std::string cannot_rename(const fs::path& partial, const fs::path& target, int error) {
  return fmt::format(
      "cannot rename '{}' to '{}': {}; the finished result is kept in '{}', and 'mv {} {}' puts it in place once "
      "that is allowed",
      partial.string(), target.string(), std::strerror(error), partial.string(), partial.string(), target.string());
}

}  // namespace

std::string check_disk_space(const fs::path& target, const OutputBytes& bytes, std::uint64_t held) {
  struct statvfs disk {};
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (::statvfs(directory.c_str(), &disk) != 0) return {};
  const std::uint64_t really_free = static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize;
  // A file system that reports no free space at all may not know it (some network ones); the writes will tell.
  if (really_free == 0) return {};
  const std::uint64_t free = really_free + held;
  if (bytes.total <= free) return {};
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  const double total = static_cast<double>(bytes.total) / kGiB, space = static_cast<double>(free) / kGiB;
  const std::string at_min =
      bytes.lower_bound
          ? fmt::format(" with every point at run.replications.min = {} (points that run more write more)",
                        bytes.min_replications)
          : std::string();
  if (bytes.uncompressed > free)
    throw OutputRefused(fmt::format(
        "the output's per-point summaries alone need {:.3g} GiB, which are stored uncompressed, more than the {:.3g} "
        "GiB free on the file system of '{}', so it could not fit; write fewer points, a sparser --timeseries "
        "every=K, or -o on a larger file system",
        static_cast<double>(bytes.uncompressed) / kGiB, space, directory.string()));
  if (static_cast<double>(bytes.total) > kMostCompression * static_cast<double>(free))
    throw OutputRefused(fmt::format(
        "the output needs {} {:.3g} GiB before compression{}, more than {:g} times the {:.3g} GiB free on the file "
        "system of '{}', so it could not fit; write fewer replications or points, --summary-only, a sparser "
        "--timeseries every=K, or -o on a larger file system",
        bytes.lower_bound ? "at least" : "up to", total, at_min, kMostCompression, space, directory.string()));
  return fmt::format(
      "warning: the output may need {} {:.3g} GiB before compression{}, and the file system of '{}' has {:.3g} GiB "
      "free; if it fills, the run stops there",
      bytes.lower_bound ? "at least" : "up to", total, at_min, directory.string(), space);
}

std::uint64_t bytes_reused(const fs::path& partial, bool resume, bool overwrite) {
  struct stat st {};
  if (!(resume || overwrite) || ::lstat(partial.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  if (!resume && st.st_nlink != 1) return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;  // st_blocks counts 512-byte units
}

std::string portable_file_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool portable =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += portable ? c : '_';
    if (out.size() == 100) break;
  }
  // No hidden files, nothing an option parser could take for a flag, no "." or "..".
  for (char& c : out) {
    if (c != '.' && c != '-') break;
    c = '_';
  }
  if (out.find_first_not_of('_') == std::string::npos) return "scenario";
  return out;
}

fs::path default_output_path(std::string_view scenario_name) {
  return fs::path("out") / (portable_file_name(scenario_name) + ".h5");
}

namespace {

// The first control character in `path`, named as messages name one (\x0a,
// U+0085), or "": those text refuses (shown_text.hpp), and tab, newline and
// carriage return too, which text may hold but a path must not. A newline in
// an output name splits every message that names the file and the comment
// line of a posterior scenario that records it. Bytes that are not UTF-8 stay
// allowed: a Linux file name may be in another encoding.
std::string control_character_in(const std::string& path) {
  for (std::size_t i = 0; i < path.size();) {
    const TextUnit u = text_unit(path, i);
    if (!u.byte && (u.value < 0x20 || unsafe_kind(u) == Unsafe::kControl)) return unit_name(u);
    i += u.length;
  }
  return {};
}

}  // namespace

void check_output_path(const fs::path& target, const std::vector<fs::path>& inputs) {
  if (const std::string control = control_character_in(target.string()); !control.empty())
    throw OutputRefused(
        fmt::format("the output path contains the control character {}; give a path without "
                    "control characters (such as a newline or a tab)",
                    control));
  if (!target.empty() && !target.has_filename())  // "out.h5/": its parent would be taken for the folder
    throw OutputRefused(
        fmt::format("output '{}' ends in '/', so it names a folder; give a file name (e.g. "
                    "out/result.h5)",
                    target.string()));
  // The longest name written beside the target is TARGET.partial (check_own_file checks each file).
  refuse_too_long(target.string() + ".partial", target);
  // Another run's OUT.partial or OUT.lock as this run's OUT would replace that run's file or its lock.
  for (const std::string_view suffix : {".partial", ".lock"})
    if (const std::string file = target.filename().string(); file.ends_with(suffix))
      throw OutputRefused(
          fmt::format("output file name '{}' ends in '{}', which brink gives to a run's {} beside "
                      "its output: give a name without it",
                      file, suffix, suffix == ".lock" ? "lock" : "file while it is written"));
  check_one(target, target, inputs);
  // The result is put in place by renaming a finished file onto the name: onto
  // a link that replaces the link, and what it points to keeps its old contents.
  if (struct stat link{}; ::lstat(target.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    std::error_code ec;
    throw OutputRefused(fmt::format(
        "output '{}' is a symbolic link to '{}'; brink puts a finished result in place of the name, which would "
        "replace the link and leave what it points to as it was: give the file's own path instead",
        target.string(), fs::read_symlink(target, ec).string()));
  }
  // Written, truncated and renamed as brink's own: through a link they would
  // destroy the file it points to.
  for (const char* own : {".partial", ".lock"}) check_own_file(target.string() + own, target, inputs);
}

void check_own_file(const fs::path& path, const fs::path& target, const std::vector<fs::path>& inputs) {
  refuse_too_long(path, target);
  refuse_link(path);
  check_one(path, target, inputs);
}

void prepare_output_directory(const fs::path& target, bool create) {
  if (!target.has_parent_path()) return;
  const fs::path directory = target.parent_path();
  struct stat st {};
  if (::stat(directory.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw OutputRefused(fmt::format("the directory of output file '{}', '{}', is {}, not a directory",
                                      target.string(), directory.string(),
                                      S_ISREG(st.st_mode) ? "a file" : file_kind_name(st.st_mode)));
    return;
  }
  if (errno != ENOENT)
    throw OutputRefused(
        fmt::format("cannot reach the directory of output file '{}': {}", target.string(), std::strerror(errno)));
  if (!create) throw OutputRefused(fmt::format("the directory of output file '{}' does not exist", target.string()));
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec)
    throw OutputRefused(fmt::format("cannot create the directory '{}' for the output: {}; give -o FILE elsewhere",
                                    directory.string(), ec.message()));
}

namespace {

// A run whose target appeared while it ran leaves its finished result in the
// partial: no unfinished run, and one that may not replace what appeared.
OutputRefused finished_result_left(const fs::path& partial) {
  const fs::path target = partial.parent_path() / partial.stem();
  std::error_code ec;
  // While that file is still there, an mv would replace it: say to move it first.
  const std::string first =
      fs::exists(target, ec) ? fmt::format("move '{}' (the file that appeared) away, then ", target.string()) : "";
  return OutputRefused(
      fmt::format("{} holds the finished result of an earlier run, left there because a file appeared at its target; "
                  "{}move it into place ('mv {} {}') or discard it with --overwrite",
                  partial.string(), first, partial.string(), target.string()));
}

// Whether the run that wrote `partial` was started with --overwrite, as its
// root attribute command_line records (an abbreviation the option parser
// took counts: no other option begins with "--ov").
bool started_with_overwrite(const fs::path& partial) {
  constexpr std::string_view kFlag = "--overwrite";
  for (const std::string& word : recorded_command(partial.string()))
    if (word.size() >= 4 && kFlag.starts_with(word)) return true;
  return false;  // or unreadable: the writer then says why it cannot be resumed
}

}  // namespace

void refuse_existing_result(const fs::path& target, bool overwrite, bool resume, std::string_view what,
                            const fs::path& run_partial) {
  std::error_code ec;
  if (overwrite || !fs::exists(target, ec)) return;
  const fs::path partial = run_partial.empty() ? fs::path(target.string() + ".partial") : run_partial;
  // Its run was refused the target once: --resume, which would put it in
  // place, must not replace the file that appeared there either.
  if (fs::exists(partial, ec) && is_finished_result(partial.string())) throw finished_result_left(partial);
  if (resume && fs::exists(partial, ec)) {
    if (started_with_overwrite(partial)) return;  // that run was allowed to replace the target
    throw OutputRefused(
        fmt::format("'{}' exists, and the interrupted run in '{}' was started without --overwrite, so it may not "
                    "replace it; move '{}' away, then continue with --resume",
                    target.string(), partial.string(), target.string()));
  }
  if (resume)
    throw OutputRefused(
        fmt::format("'{}' exists and there is no '{}' to resume (its run finished); {} into another "
                    "file, or run again with --overwrite to replace it",
                    target.string(), partial.string(), what));
  // An interrupted --overwrite run left its partial beside the old result: --overwrite would discard it.
  if (fs::exists(partial, ec))
    throw OutputRefused(
        fmt::format("'{}' exists, and so does '{}' (an interrupted run that was to replace it): "
                    "continue that run with --resume, or {} into another file",
                    target.string(), partial.string(), what));
  throw OutputRefused(
      fmt::format("'{}' exists; {} into another file, or replace it with --overwrite", target.string(), what));
}

FileIdentity identity_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino};
}

FileIdentity entry_identity_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino};
}

void remove_own_file(const fs::path& path, const FileIdentity& written) {
  if (written.exists && entry_identity_of(path) != written) return;
  std::error_code ec;
  fs::remove(path, ec);
}

std::string publish_output(const fs::path& partial, const fs::path& target, const FileIdentity& before,
                           const FileIdentity& written) {
  if (entry_identity_of(partial) != written)
    throw std::runtime_error(fmt::format(
        "'{}' is no longer the file this run wrote (another program moved, replaced or removed it meanwhile), so "
        "nothing is published to '{}'; the finished result is in that file, wherever it was moved: move it "
        "to '{}', or run it again if it is gone",
        partial.string(), target.string(), target.string()));
  try {
    fsync_path(partial, O_RDONLY);
  } catch (const std::runtime_error& e) {  // a umask of 777 leaves the finished file unreadable to its writer
    throw std::runtime_error(
        fmt::format("{}; the finished result is kept in '{}', and 'mv {} {}' puts it in place once it can be read",
                    e.what(), partial.string(), partial.string(), target.string()));
  }
  const std::string appeared = fmt::format(
      "'{}' was created or replaced by another program while this run was writing; it is left alone and this "
      "run's result is kept in '{}'",
      target.string(), partial.string());
  if (!before.exists) {
    if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST) throw std::runtime_error(appeared);
      if (errno != EINVAL && errno != ENOSYS) throw std::runtime_error(cannot_rename(partial, target, errno));
      // A file system without RENAME_NOREPLACE: link() never replaces either.
      if (::link(partial.c_str(), target.c_str()) != 0)
        throw std::runtime_error(errno == EEXIST ? appeared
                                                 : fmt::format("cannot link '{}' to '{}': {}", partial.string(),
                                                               target.string(), std::strerror(errno)));
      ::unlink(partial.c_str());
    }
  } else {
    if (identity_of(target) != before) throw std::runtime_error(appeared);
    if (::rename(partial.c_str(), target.c_str()) != 0) throw std::runtime_error(cannot_rename(partial, target, errno));
  }
  // The result is in place: a failure to make the rename durable is a warning, not a failed run.
  const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
  try {
    fsync_path(directory, O_RDONLY | O_DIRECTORY);
  } catch (const std::runtime_error& e) {
    return fmt::format("warning: '{}' is in place, but {}: a crash of the machine soon after could lose it",
                       target.string(), e.what());
  }
  return {};
}

bool decide_resume(const fs::path& partial, bool resume, bool overwrite, bool quiet, std::ostream& err,
                   const std::function<std::int64_t()>& kept_on_resume) {
  if (!fs::exists(partial)) {
    if (resume && !quiet)
      err << fmt::format("brink run: no {} to resume; starting from the beginning\n", partial.string());
    return false;
  }
  if (overwrite) return false;
  PartialState state = partial_state(partial);
  // A writer killed after it reopened the file but before it switched to
  // SWMR writing (a resume's first moments) leaves a mark that no read-only
  // open gets past. Under the lock that writer is gone: the mark is stale.
  if (state == PartialState::kUnreadable && clear_stale_write_mark(partial.string())) state = partial_state(partial);
  // A file this user may not read (a umask of 777 made it mode 000) is no damage.
  if (state == PartialState::kUnreadable && ::access(partial.c_str(), R_OK) != 0 && errno == EACCES)
    throw OutputRefused(fmt::format("{} cannot be read: {}; make it readable and writable (chmod u+rw){}",
                                    partial.string(), std::strerror(EACCES),
                                    resume ? " to resume it" : ", or discard it with --overwrite"));
  if (state == PartialState::kForeign)
    throw OutputRefused(
        fmt::format("{} is an HDF5 file but not an unfinished brink run; move it away, or discard it with --overwrite",
                    partial.string()));
  if (state == PartialState::kNotHdf5)
    throw OutputRefused(
        fmt::format("{} is not an HDF5 file, so no brink run wrote it; move it away, or discard it "
                    "with --overwrite",
                    partial.string()));
  if (state == PartialState::kReadOnly) {
    // Permissions can be changed; a read-only file system (EROFS) cannot by chmod.
    const int error = ::access(partial.c_str(), W_OK) == 0 ? EACCES : errno;
    if (error == EROFS)
      throw OutputRefused(fmt::format("{} cannot be written: it is on a read-only file system; {}", partial.string(),
                                      resume ? "copy it to a writable one and resume it there (-o naming the copy "
                                               "without '.partial')"
                                             : "give -o on a writable one"));
    throw OutputRefused(fmt::format("{} cannot be written: {}; make it writable{}", partial.string(),
                                    std::strerror(error),
                                    resume ? " to resume it" : ", or discard it with --overwrite"));
  }
  // Only a partial that provably holds no finished block is started over
  // without --overwrite; one HDF5 cannot open may hold many.
  if (state == PartialState::kNeverSaved) {
    if (resume && !quiet)
      err << fmt::format("brink run: {} was stopped before it first saved anything; starting from the beginning\n",
                         partial.string());
    return false;
  }
  const std::string damaged = fmt::format(
      "{} is an unfinished run's file that HDF5 cannot {} (damaged or cut short), and it may hold finished blocks; "
      "move it away to keep them, or discard it and start over with --overwrite",
      partial.string(), state == PartialState::kUnreadable ? "open" : "reopen for writing");
  if (state == PartialState::kUnreadable) throw OutputRefused(damaged);
  if (resume) {
    if (reopens_for_resume(partial)) return true;
    throw OutputRefused(damaged);
  }
  // A finished result left beside its target (a file appeared there while it
  // ran) is no unfinished run: starting over would replace it (--resume
  // puts it in place, running nothing, if it holds per-replication data).
  if (is_finished_result(partial.string())) throw finished_result_left(partial);
  const std::int64_t finished = finished_block_count(partial);
  if (finished < 0)
    throw OutputRefused(fmt::format(
        "{} is an unfinished run's file whose record of finished blocks cannot be read (damaged), and it may hold "
        "finished blocks; move it away to keep them, or discard it and start over with --overwrite",
        partial.string()));
  if (finished == 0) return false;
  // Points of one block keep only what they published, so a finished block is not always one --resume keeps.
  const std::int64_t kept = kept_on_resume();
  if (kept == 0)
    throw OutputRefused(fmt::format(
        "{} holds an earlier run that did not finish, but --resume would keep none of its {} finished block{}; "
        "discard it and start over with --overwrite",
        partial.string(), finished, finished == 1 ? "" : "s"));
  const std::int64_t shown = kept > 0 ? kept : finished;
  throw OutputRefused(
      fmt::format("{} holds {} finished block{} of an earlier run that did not finish; continue it with --resume, or "
                  "discard it and start over with --overwrite",
                  partial.string(), shown, shown == 1 ? "" : "s"));
}

}  // namespace brink
