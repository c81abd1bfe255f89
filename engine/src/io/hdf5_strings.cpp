// --resume's check of the string constants (the coordinates `actor`,
// `action`, ..., `actor_name`, `type_name`, `parameter_units`,
// `rerun_command`). They are variable-length strings: each element holds a
// length and the address of an object in a global heap collection, and
// neither the elements nor the collections carry a checksum. Damaged, they
// read as other strings, or crash HDF5 (it trusts an object's recorded size),
// and writing new values over them makes HDF5 free the old objects, which
// reads the damaged collection too. So the elements and the collections are
// read here as bytes and compared with the plan; if any differs, every
// string constant's elements are zeroed (a null string, whose old object
// HDF5 leaves alone) and written anew from the plan, into new collections.
// The old collections stay in the file unreferenced.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "brink/io/recovery.hpp"
#include "brink/io/variables.hpp"
#include "brink/sweep/plan.hpp"
#include "hdf5_util.hpp"
#include "hdf5_writer_impl.hpp"

namespace brink {
namespace {

// HDF5 1.10's on-disk layout with 8-byte addresses and lengths (the only
// sizes brink files use): an element is the string's length (4 bytes), its
// collection's address (8) and the object's index in it (4); a collection is
// "GCOL", version 1, 3 reserved bytes and its size (8), then objects, each an
// index (2), a reference count (2), 4 reserved bytes, its size (8) and its
// bytes padded to a multiple of 8. Index 0 is the free space, which ends them.
constexpr std::size_t kElementBytes = 16, kCollectionHeader = 16, kObjectHeader = 16;

class RawFile {
 public:
  explicit RawFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0) {
      const int error = errno;
      if (is_resource_errno(error))  // this process ran short, which says nothing about the file
        throw ResourceShortage(error,
                               fmt::format("cannot open '{}' to check its strings: {}", path, describe_errno(error)));
      throw std::runtime_error(fmt::format("cannot open '{}' to check its strings: {}", path, std::strerror(error)));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~RawFile() { ::close(fd_); }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;

  // `n` bytes at `offset`, or nothing if they are not all in the file.
  std::optional<std::vector<unsigned char>> read(std::uint64_t offset, std::uint64_t n) const {
    if (offset > size_ || n > size_ - offset) return std::nullopt;
    std::vector<unsigned char> bytes(n);
    if (n > 0 && ::pread(fd_, bytes.data(), n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n))
      return std::nullopt;
    return bytes;
  }
  void zero(std::uint64_t offset, std::uint64_t n) const {
    const std::vector<unsigned char> zeros(std::min<std::uint64_t>(n, 1 << 20), 0);
    for (std::uint64_t done = 0; done < n;) {
      const std::uint64_t part = std::min<std::uint64_t>(zeros.size(), n - done);
      if (::pwrite(fd_, zeros.data(), part, static_cast<off_t>(offset + done)) != static_cast<ssize_t>(part))
        throw std::runtime_error(fmt::format("cannot write '{}': {}", path_, std::strerror(errno)));
      done += part;
    }
  }

  // The object `index` of the collection at `address`; nothing if the
  // collection is malformed or lacks it.
  std::optional<std::string> object(std::uint64_t address, std::uint64_t index) {
    auto [it, fresh] = collections_.try_emplace(address);
    if (fresh) it->second = parse(address);
    if (!it->second) return std::nullopt;
    const auto found = it->second->find(index);
    if (found == it->second->end()) return std::nullopt;
    return found->second;
  }

 private:
  using Collection = std::map<std::uint64_t, std::string>;
  std::optional<Collection> parse(std::uint64_t address) const {
    const auto head = read(address, kCollectionHeader);
    if (!head || std::memcmp(head->data(), "GCOL", 4) != 0 || (*head)[4] != 1) return std::nullopt;
    const std::uint64_t size = h5::little_endian(head->data() + 8, 8);
    const auto bytes = size >= kCollectionHeader ? read(address, size) : std::nullopt;
    if (!bytes) return std::nullopt;
    Collection objects;
    for (std::uint64_t at = kCollectionHeader; at + kObjectHeader <= size;) {
      const std::uint64_t index = h5::little_endian(bytes->data() + at, 2);
      if (index == 0) break;
      const std::uint64_t length = h5::little_endian(bytes->data() + at + 8, 8);
      if (length > size) return std::nullopt;
      const std::uint64_t padded = (length + 7) / 8 * 8;
      if (at + kObjectHeader + padded > size) return std::nullopt;
      const char* data = reinterpret_cast<const char*>(bytes->data() + at + kObjectHeader);
      if (!objects.emplace(index, std::string(data, length)).second) return std::nullopt;
      at += kObjectHeader + padded;
    }
    return objects;
  }

  std::string path_;
  int fd_;
  std::uint64_t size_ = 0;
  std::map<std::uint64_t, std::optional<Collection>> collections_;
};

// The file offset of `ds`'s elements if they are contiguous variable-length
// strings of the expected count; nothing if the dataset is otherwise.
std::optional<std::uint64_t> string_elements(hid_t ds, std::uint64_t count) {
  const Handle type = type_handle(H5Dget_type(ds), "get a dataset's type");
  const Handle dcpl = plist_handle(H5Dget_create_plist(ds), "get a dataset's creation properties");
  const Handle space = space_handle(H5Dget_space(ds), "get a dataset's dataspace");
  if (H5Tis_variable_str(type.get()) <= 0 || H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS ||
      H5Sget_simple_extent_npoints(space.get()) != static_cast<hssize_t>(count))
    return std::nullopt;
  if (count == 0) return 0;
  const haddr_t offset = H5Dget_offset(ds);
  if (offset == HADDR_UNDEF) return std::nullopt;
  return offset;
}

// True if elements [first, first + expected.size()) at `offset` hold `expected`.
bool strings_hold(RawFile& raw, std::uint64_t offset, std::uint64_t first, const std::vector<std::string>& expected) {
  const auto elements = raw.read(offset + first * kElementBytes, expected.size() * kElementBytes);
  if (!elements) return false;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char* e = elements->data() + i * kElementBytes;
    if (h5::little_endian(e, 4) != expected[i].size()) return false;
    if (expected[i].empty()) continue;  // a length of 0 reads as "" whatever the rest says
    if (raw.object(h5::little_endian(e + 4, 8), h5::little_endian(e + 12, 4)) != expected[i]) return false;
  }
  return true;
}

}  // namespace

void Hdf5Writer::Impl::mend_strings(const SweepPlan& plan) {
  struct Stored {
    const VariableSpec* v;
    std::uint64_t count, offset;
  };
  std::vector<Stored> stored;
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v) || layout.dtype(v) != Dtype::kString || (!v.constant && !v.constant_rows)) continue;
    std::uint64_t count = 1;
    for (const std::uint64_t n : layout.shape(v)) count *= n;
    const auto offset = string_elements(dataset(v.name), count);
    if (!offset)
      throw ResumeMismatch(
          fmt::format("'{}' was written by a different run (the layout (the storage of {}) changed); start over with "
                      "--overwrite instead of --resume",
                      path, v.name));
    stored.push_back({&v, count, *offset});
  }
  RawFile raw(path);
  // The expected values a slice at a time, as the writer writes them (a
  // plan of millions of points has as many rerun commands).
  constexpr std::uint64_t kSlice = 16384;
  auto each_slice = [&](const Stored& s, const auto& visit) {
    if (s.v->constant) return visit(0, std::get<std::vector<std::string>>(s.v->constant(plan)));
    for (std::uint64_t first = 0; first < s.count; first += kSlice) {
      const auto n = static_cast<std::int64_t>(std::min(kSlice, s.count - first));
      if (!visit(first,
                 std::get<std::vector<std::string>>(s.v->constant_rows(plan, static_cast<std::int64_t>(first), n))))
        return false;
    }
    return true;
  };
  bool intact = true;
  for (const Stored& s : stored)
    intact = intact && each_slice(s, [&](std::uint64_t first, const std::vector<std::string>& expected) {
               return strings_hold(raw, s.offset, first, expected);
             });
  if (intact) return;
  // Nothing may point into a damaged collection any more: every string's element goes.
  for (const Stored& s : stored) raw.zero(s.offset, s.count * kElementBytes);
  for (const Stored& s : stored) {
    write_constant(*s.v, dataset(s.v->name), plan);
    const Values back = h5::read_values(dataset(s.v->name), Dtype::kString);
    const bool same = each_slice(s, [&](std::uint64_t first, const std::vector<std::string>& expected) {
      const auto& all = std::get<std::vector<std::string>>(back);
      return all.size() == s.count &&
             std::equal(expected.begin(), expected.end(), all.begin() + static_cast<std::ptrdiff_t>(first));
    });
    if (!same) throw std::runtime_error(fmt::format("its strings of {} could not be written anew", s.v->name));
  }
}

}  // namespace brink
