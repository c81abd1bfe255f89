#include "hdf5_recovery.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "brink/io/resume_sums.hpp"
#include "brink/io/variables.hpp"
#include "brink/scenario/scenario.hpp"
#include "hdf5_util.hpp"

namespace brink {
namespace {

// The 8 bytes every HDF5 file (and superblock) begins with.
constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";
constexpr std::size_t kSignatureBytes = sizeof kHdf5Signature - 1;

// The file-access property h5clear sets (H5F_ACS_CLEAR_STATUS_FLAGS_NAME in
// HDF5 1.10's private headers); an open with it true clears the flags.
constexpr const char* kClearStatusFlags = "clear_status_flags";

std::atomic<int> g_last_io_errno{0};

herr_t find_errno(unsigned, const H5E_error2_t* entry, void* data) {
  // The sec2 driver writes "..., errno = 28, error message = '...'".
  if (entry->desc == nullptr) return 0;
  const char* at = std::strstr(entry->desc, "errno = ");
  if (at == nullptr) return 0;
  *static_cast<int*>(data) = std::atoi(at + 8);
  return 1;
}

// HDF5 reports a memory allocation it could not make (a chunk buffer, a
// filter's output) as a resource error, with no errno: ENOMEM.
herr_t find_allocation_failure(unsigned, const H5E_error2_t* entry, void* data) {
  if (entry->maj_num != H5E_RESOURCE || (entry->min_num != H5E_CANTALLOC && entry->min_num != H5E_NOSPACE)) return 0;
  *static_cast<int*>(data) = ENOMEM;
  return 1;
}

struct Dataset {
  hid_t id = -1;
  ~Dataset() {
    if (id >= 0) H5Dclose(id);
  }
};

// Shape and type class of one dataset; `present` is false if there is no
// dataset of that name, and `damaged` too when HDF5 failed to look it up or
// open it (a damaged index or object header, not an absent variable).
struct Variable {
  bool present = false;
  bool damaged = false;
  H5T_class_t type_class = H5T_NO_CLASS;
  std::vector<hsize_t> shape;
};

Variable describe(hid_t file, const char* name) {
  Variable v;
  const htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
  v.damaged = exists < 0;
  if (exists <= 0) return v;
  H5O_info_t info;
  if (H5Oget_info_by_name2(file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    v.damaged = true;
    return v;
  }
  if (info.type != H5O_TYPE_DATASET) return v;
  Dataset ds{H5Dopen2(file, name, H5P_DEFAULT)};
  v.damaged = ds.id < 0;
  if (ds.id < 0) return v;
  const hid_t type = H5Dget_type(ds.id);
  const hid_t space = H5Dget_space(ds.id);
  const int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (type >= 0 && rank >= 0) {
    v.present = true;
    v.type_class = H5Tget_class(type);
    v.shape.resize(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, v.shape.data(), nullptr);
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  return v;
}

std::string class_name(H5T_class_t c) {
  return c == H5T_INTEGER ? "integer" : c == H5T_FLOAT ? "floating-point" : c == H5T_STRING ? "string" : "other";
}

// What `brink inspect` reads: name, type class, and the expected extent of
// each axis (0: any, kPoints / kActors: as found in the file).
constexpr hsize_t kPoints = ~hsize_t{0}, kActors = kPoints - 1;
struct Need {
  const char* name;
  H5T_class_t type_class;
  std::vector<hsize_t> shape;
};

// The root attribute format_version; 1 for files written before it existed,
// kUnreadableVersion where it is there but not one integer (an edited file).
constexpr std::int32_t kUnreadableVersion = -1;
std::int32_t format_version(hid_t file) {
  if (!h5::has_attribute(file, "format_version")) return 1;
  const hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
  if (attr < 0) return kUnreadableVersion;
  std::int32_t version = kUnreadableVersion;
  const hid_t type = H5Aget_type(attr);
  const hid_t space = H5Aget_space(attr);
  if (type < 0 || space < 0 || H5Tget_class(type) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1 ||
      H5Aread(attr, H5T_NATIVE_INT32, &version) < 0)
    version = kUnreadableVersion;
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attr);
  return version;
}

std::string layout_problem(hid_t file) {
  for (const char* attribute : {"engine", "complete"})
    if (!h5::has_attribute(file, attribute)) return fmt::format("the root attribute '{}' is missing", attribute);
  const std::int32_t version = format_version(file);
  if (version == kUnreadableVersion) return "its root attribute 'format_version' is not one integer";
  if (version != kFormatVersion)
    return fmt::format("it is in brink output format {} and this brink reads format {} only; re-run it with this brink",
                       version, kFormatVersion);
  const Variable counts = describe(file, "outcome_count");
  const Variable actors = describe(file, "actor");
  // Bounds far above any real run keep a forged shape from exhausting memory.
  const hsize_t points = counts.present && !counts.shape.empty() ? counts.shape[0] : 0;
  const hsize_t actor_count = actors.present && actors.shape.size() == 1 ? actors.shape[0] : 0;
  const hsize_t outcomes = kOutcomeCount;
  const std::vector<Need> needs = {
      {"actor", H5T_STRING, {0}},
      {"outcome_count", H5T_INTEGER, {kPoints, outcomes}},
      {"outcome_probability", H5T_FLOAT, {kPoints, outcomes}},
      {"outcome_probability_lower", H5T_FLOAT, {kPoints, outcomes}},
      {"outcome_probability_upper", H5T_FLOAT, {kPoints, outcomes}},
      {"replications", H5T_INTEGER, {kPoints}},
      {"mean_casualties", H5T_FLOAT, {kPoints, kActors}},
      {"mean_end_day", H5T_FLOAT, {kPoints}},
  };
  for (const Need& need : needs) {
    const Variable v = describe(file, need.name);
    if (v.damaged) return fmt::format("HDF5 failed to read the variable '{}' (the file is damaged)", need.name);
    if (!v.present) return fmt::format("the variable '{}' is missing", need.name);
    if (v.type_class != need.type_class)
      return fmt::format("the variable '{}' holds {} values, not {} ones", need.name, class_name(v.type_class),
                         class_name(need.type_class));
    if (v.shape.size() != need.shape.size())
      return fmt::format("the variable '{}' has {} dimensions, not {}", need.name, v.shape.size(), need.shape.size());
    for (std::size_t i = 0; i < v.shape.size(); ++i) {
      const hsize_t want = need.shape[i] == kPoints ? points : need.shape[i] == kActors ? actor_count : need.shape[i];
      if (need.shape[i] != 0 && v.shape[i] != want)
        return fmt::format("the variable '{}' has {} entries along dimension {}, not {}", need.name, v.shape[i], i + 1,
                           want);
    }
  }
  if (points > 100'000'000 || actor_count > 100'000)
    return fmt::format("'outcome_count' claims {} points and 'actor' {} actors, more than any brink run", points,
                       actor_count);
  const Variable parameters = describe(file, "parameter");
  if (parameters.present) {
    const Variable values = describe(file, "parameter_value");
    if (!values.present || values.type_class != H5T_FLOAT || values.shape.size() != 2 || values.shape[0] != points ||
        parameters.shape.size() != 1 || values.shape[1] != parameters.shape[0])
      return "the variable 'parameter_value' is missing or not (point, parameter) floating-point values";
  }
  return {};
}

}  // namespace

std::string brink_layout_problem(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return "it cannot be opened as HDF5";
  std::string problem = layout_problem(file);
  H5Fclose(file);
  return problem;
}

bool is_hdf5_file(const std::string& path) {
  // Only a regular file: opening a FIFO to read its signature would wait for a writer forever.
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && H5Fis_hdf5(path.c_str()) > 0;
}

void set_clear_status_flags(hid_t fapl) {
  hbool_t clear = true;
  if (H5Pexist(fapl, kClearStatusFlags) > 0)
    H5Pset(fapl, kClearStatusFlags, &clear);
  else
    H5Pinsert2(fapl, kClearStatusFlags, sizeof clear, &clear, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
}

namespace {
constexpr unsigned kSwmrReadAttempts = 28;
}  // namespace

hid_t open_read_only(const std::string& path) {
  if (!is_hdf5_file(path)) return -1;
  // A finished file opens plainly, and a metadata read whose checksum fails
  // fails at once. A file a writer has marked open (a run in progress, or
  // one killed) refuses a plain open; only a SWMR reader may open it.
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file >= 0) return file;
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  // A SWMR reader retries a metadata read whose checksum fails (a torn read
  // of a file being written), sleeping twice as long before each attempt:
  // HDF5's default of 100 attempts makes a damaged file hang the reader for
  // centuries. kSwmrReadAttempts sleep about a quarter of a second in total,
  // for each damaged object it reads.
  H5Pset_metadata_read_attempts(fapl, kSwmrReadAttempts);
  file = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
  H5Pclose(fapl);
  return file;
}

namespace {

// Bob Jenkins' lookup3 hash (hashlittle), the checksum of HDF5's metadata
// (H5_checksum_lookup3, which HDF5 does not export), over `n` bytes.
std::uint32_t lookup3(const unsigned char* k, std::size_t n) {
  const auto rot = [](std::uint32_t x, int s) { return (x << s) | (x >> (32 - s)); };
  const auto word = [](const unsigned char* p, std::size_t bytes) {
    return static_cast<std::uint32_t>(h5::little_endian(p, bytes));
  };
  std::uint32_t a = 0xdeadbeefU + static_cast<std::uint32_t>(n), b = a, c = a;
  if (n == 0) return c;
  for (; n > 12; n -= 12, k += 12) {
    a += word(k, 4), b += word(k + 4, 4), c += word(k + 8, 4);
    a -= c, a ^= rot(c, 4), c += b;
    b -= a, b ^= rot(a, 6), a += c;
    c -= b, c ^= rot(b, 8), b += a;
    a -= c, a ^= rot(c, 16), c += b;
    b -= a, b ^= rot(a, 19), a += c;
    c -= b, c ^= rot(b, 4), b += a;
  }
  a += word(k, std::min<std::size_t>(n, 4));
  if (n > 4) b += word(k + 4, std::min<std::size_t>(n - 4, 4));
  if (n > 8) c += word(k + 8, n - 8);
  c ^= b, c -= rot(b, 14);
  a ^= c, a -= rot(c, 11);
  b ^= a, b -= rot(a, 25);
  c ^= b, c -= rot(b, 16);
  a ^= c, a -= rot(c, 4);
  b ^= a, b -= rot(a, 14);
  c ^= b, c -= rot(b, 24);
  return c;
}

// True if the file at `fd` provably holds no finished block: it is empty (a
// run stopped between creating it and HDF5's first write), or it begins with
// the superblock H5Fcreate writes at once and nothing rewrote since. That
// superblock (version 3, intact checksum) says "open for writing" but not
// "SWMR writing", and records the end of file of a new file (the superblock
// and the root group's 2 KiB of metadata). A run switches to SWMR writing,
// and so rewrites the superblock with the file's real end, before its first
// block; a resumed file, which does not switch at once, records its whole
// length at the reopen; a file closed after an interruption records neither
// flag. Anything else with a signature that HDF5 cannot open is damaged and
// may hold finished blocks.
bool never_saved(int fd, const struct stat& st) {
  if (st.st_size == 0) return true;
  unsigned char sb[48] = {};
  if (::pread(fd, sb, sizeof sb, 0) != static_cast<ssize_t>(sizeof sb)) return false;
  const auto field = [&](std::size_t at, std::size_t bytes) { return h5::little_endian(sb + at, bytes); };
  constexpr unsigned kWriteAccess = 0x01;      // alone: not 0x04, SWMR writing
  constexpr std::uint64_t kNewFileEnd = 4096;  // H5Fcreate records 2048 (HDF5 1.10); any brink file is far larger
  return std::memcmp(sb, kHdf5Signature, kSignatureBytes) == 0 && sb[8] == 3 && sb[9] == 8 && sb[10] == 8 &&
         sb[11] == kWriteAccess && field(12, 8) == 0 && field(28, 8) <= kNewFileEnd && lookup3(sb, 44) == field(44, 4);
}

}  // namespace

PartialState partial_state(const std::string& path) {
  // Read only: a run that is then refused must leave the file as it was.
  const hid_t file = open_read_only(path);
  if (file < 0) {
    // A run stopped before it first saved leaves an empty file or one that
    // starts with the signature; other content is someone else's.
    struct stat st {};
    char head[kSignatureBytes] = {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const bool regular = fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    const bool foreign =
        regular && st.st_size > 0 &&
        (::read(fd, head, sizeof head) != sizeof head || std::memcmp(head, kHdf5Signature, kSignatureBytes) != 0);
    const bool fresh = regular && !foreign && never_saved(fd, st);
    if (fd >= 0) ::close(fd);
    return foreign ? PartialState::kNotHdf5 : fresh ? PartialState::kNeverSaved : PartialState::kUnreadable;
  }
  const bool run_output = H5Lexists(file, "block_done", H5P_DEFAULT) > 0;
  H5Fclose(file);
  if (!run_output) return PartialState::kForeign;
  return ::access(path.c_str(), W_OK) == 0 ? PartialState::kRunOutput : PartialState::kReadOnly;
}

std::vector<std::string> recorded_command(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return {};
  std::string line;
  try {
    line = h5::read_string_attribute(file, "command_line");
  } catch (const std::exception&) {
    line.clear();
  }
  H5Fclose(file);
  // The words as the command line was recorded (cli.cpp, command_line): each
  // plain, or in single quotes with a quote written '\''.
  std::vector<std::string> words(1);
  bool quoted = false, escaped = false;
  for (const char c : line) {
    if (escaped)
      words.back() += c, escaped = false;
    else if (c == '\\' && !quoted)
      escaped = true;
    else if (c == '\'')
      quoted = !quoted;
    else if (c == ' ' && !quoted)
      words.emplace_back();
    else
      words.back() += c;
  }
  return line.empty() ? std::vector<std::string>{} : words;
}

std::string damaged_metadata(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return {};
  const std::string object = h5::unreadable_metadata(file);
  H5Fclose(file);
  return object;
}

bool hdf5_opens(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return false;
  H5Fclose(file);
  return true;
}

// The command is the second word, after the program.
bool written_by_merge(const std::string& path) {
  const std::vector<std::string> words = recorded_command(path);
  return words.size() >= 3 && words[1] == "merge";
}

namespace {

// A flush that failed on the file size limit (EFBIG: `ulimit -f`) leaves the
// superblock's end of file past the bytes on disk, and HDF5 refuses to open
// such a file for writing ("truncated file"). What lies past the end was
// first written by that flush: everything a `block_done` or `replications`
// mark vouches for was written by an earlier flush that completed, so the
// missing bytes are extended as zeros. False if the file could not be read
// or extended.
bool extend_to_recorded_end(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return false;
  haddr_t recorded_end = 0;
  const bool known = H5Fget_eoa(file, &recorded_end) >= 0;
  H5Fclose(file);
  struct stat st {};
  if (!known || ::stat(path.c_str(), &st) != 0) return false;
  if (recorded_end <= static_cast<haddr_t>(st.st_size)) return true;
  if (::truncate(path.c_str(), static_cast<off_t>(recorded_end)) == 0) return true;
  // Still over the limit: starting over would throw the kept blocks away and stop at the same size.
  if (const int error = errno; error == EFBIG || error == ENOSPC || error == EDQUOT)
    throw std::runtime_error(fmt::format(
        "cannot extend '{}' to the {} bytes its last flush recorded: {}; raise the file size limit ('ulimit -f') "
        "or free space, and run again with --resume",
        path, recorded_end, std::strerror(error)));
  return false;
}

}  // namespace

namespace {

// Opens `path` read-write with its status flags cleared, its recorded end
// (EOA) moved to its real end, and closes it: true if all of that worked.
// `check` (if given) is asked about the open file first, and its answer is
// returned too. Throws if another program holds HDF5's lock on the file.
bool reopen_and_close(const std::string& path, bool (*check)(hid_t)) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  set_clear_status_flags(fapl);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  const int error = file < 0 ? hdf5_failure_errno() : 0;  // before the next call clears HDF5's error stack
  H5Pclose(fapl);
  // HDF5's file lock: another program (a reader that opened it without SWMR)
  // has the file open. Nothing is wrong with it, and starting over would
  // throw its blocks away.
  if (error == EAGAIN || error == EWOULDBLOCK)
    throw std::runtime_error(fmt::format(
        "cannot reopen '{}' to resume it: another program has it open ({}); close it there and run again with "
        "--resume",
        path, std::strerror(error)));
  if (file < 0) return false;
  // Closing cuts the file at its recorded end (EOA). A run cut off by kill -9
  // leaves chunks past that end, written after its last flush and some of
  // them already in a chunk index: the end moves to the file's real end
  // first, so that the close keeps them.
  if (H5Fincrement_filesize(file, 0) < 0) {
    H5Fclose(file);
    return false;
  }
  const bool passed = check == nullptr || check(file);
  return H5Fclose(file) >= 0 && passed;
}

// True if the superblock (version 2 or 3, the ones with status flags) marks
// the file open for writing, SWMR or not.
bool marked_open_for_writing(const std::string& path) {
  unsigned char sb[12] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  const bool read = ::pread(fd, sb, sizeof sb, 0) == static_cast<ssize_t>(sizeof sb);
  ::close(fd);
  return read && std::memcmp(sb, kHdf5Signature, kSignatureBytes) == 0 && (sb[8] == 2 || sb[8] == 3) && sb[11] != 0;
}

}  // namespace

bool reopens_for_resume(const std::string& path) {
  if (!is_hdf5_file(path) || !extend_to_recorded_end(path)) return false;
  return reopen_and_close(path, [](hid_t file) { return H5Lexists(file, "block_done", H5P_DEFAULT) > 0; });
}

bool clear_stale_write_mark(const std::string& path) {
  // A file a writer still marks open refuses a plain open, and one not
  // marked for SWMR writing refuses a SWMR reader too: a resume killed
  // between its reopen and its switch to SWMR writing leaves such a file.
  if (!is_hdf5_file(path) || !marked_open_for_writing(path)) return false;
  return reopen_and_close(path, nullptr);
}

std::int64_t finished_block_count(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return -1;
  const auto done = read_whole<std::uint8_t>(file, "block_done", H5T_NATIVE_UINT8);
  H5Fclose(file);
  if (!done) return -1;
  return std::count_if(done->begin(), done->end(), [](std::uint8_t d) { return d != 0; });
}

std::optional<FinishedWork> finished_work(const std::string& path) {
  const hid_t file = open_read_only(path);
  if (file < 0) return std::nullopt;
  auto blocks = read_whole<std::uint8_t>(file, "block_done", H5T_NATIVE_UINT8);
  auto published = read_whole<std::int64_t>(file, "replications", H5T_NATIVE_INT64);
  std::vector<ResumeSums> sums = read_resume_sums(file);
  H5Fclose(file);
  if (!blocks || !published) return std::nullopt;
  return FinishedWork{std::move(*blocks), std::move(*published), std::move(sums)};
}

int hdf5_failure_errno() {
  int error = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_errno, &error);
  if (error == 0) H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_allocation_failure, &error);
  if (error == 0 && (is_space_errno(errno) || errno == ENOMEM)) error = errno;
  g_last_io_errno = error;
  return error;
}

int last_io_errno() { return g_last_io_errno; }

bool is_space_errno(int error) { return error == ENOSPC || error == EDQUOT || error == EFBIG; }

bool is_resource_errno(int error) { return error == EMFILE || error == ENFILE || error == ENOMEM; }

int open_errno(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

int check_not_short_of_resources(const std::string& path) {
  const int error = open_errno(path);
  if (is_resource_errno(error))
    throw ResourceShortage(error, fmt::format("cannot open '{}': {}", path, describe_errno(error)));
  return error;
}

std::string describe_errno(int error) {
  switch (error) {
    case ENOSPC:
      return "no space left on device (ENOSPC): the disk is full, or its table of files (inodes) is";
    case EDQUOT:
      return "disk quota exceeded (EDQUOT)";
    case EFBIG:
      return "file too large (EFBIG): the file size limit ('ulimit -f') or the file system's limit was reached";
    case ENOMEM:
      return "out of memory (ENOMEM)";
    case EMFILE: {
      struct rlimit limit {};
      if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return "too many open files (EMFILE): this process reached its open-file limit ('ulimit -n')";
      return fmt::format("too many open files (EMFILE): this process reached its open-file limit of {} ('ulimit -n')",
                         limit.rlim_cur);
    }
    case ENFILE:
      return "too many open files in the system (ENFILE): the system's table of open files is full";
    default:
      return std::strerror(error);
  }
}

std::string hdf5_failure_message(const std::string& what) {
  const int error = hdf5_failure_errno();
  if (error == 0) return fmt::format("HDF5 failed to {}", what);
  return fmt::format("HDF5 failed to {}: {}", what, describe_errno(error));
}

std::string first_difference(const std::string& before, const std::string& now, std::string_view before_label,
                             std::string_view now_label) {
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      if (end > start) out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  const std::vector<std::string> old_lines = lines(before), new_lines = lines(now);
  auto missing_from = [](const std::vector<std::string>& in, const std::vector<std::string>& from) {
    const auto it = std::find_if(in.begin(), in.end(), [&](const std::string& l) {
      return std::find(from.begin(), from.end(), l) == from.end();
    });
    return it == in.end() ? std::string() : *it;
  };
  const std::string added = missing_from(new_lines, old_lines), removed = missing_from(old_lines, new_lines);
  if (!added.empty() && !removed.empty())
    return fmt::format("'{}' {}, '{}' {}", added, now_label, removed, before_label);
  if (!added.empty()) return fmt::format("'{}' {}, not {}", added, now_label, before_label);
  if (!removed.empty()) return fmt::format("'{}' {}, not {}", removed, before_label, now_label);
  return "their order";
}

}  // namespace brink
