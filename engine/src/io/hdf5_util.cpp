#include "hdf5_util.hpp"
#include "hdf5_recovery.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "brink/sweep/plan.hpp"

namespace brink::h5 {

void check(herr_t status, const std::string& what) {
  if (status < 0) throw OutputError(hdf5_failure_message(what));
}

Handle utf8_string_type() {
  Handle type = type_handle(H5Tcopy(H5T_C_S1), "copy the string type");
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

template <>
hid_t native<std::int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
hid_t native<std::int16_t>() {
  return H5T_NATIVE_INT16;
}
template <>
hid_t native<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native<double>() {
  return H5T_NATIVE_DOUBLE;
}

hid_t file_type(Dtype dtype, Handle& owner) {
  switch (dtype) {
    case Dtype::kInt8:
      return H5T_NATIVE_INT8;
    case Dtype::kInt16:
      return H5T_NATIVE_INT16;
    case Dtype::kInt32:
      return H5T_NATIVE_INT32;
    case Dtype::kInt64:
      return H5T_NATIVE_INT64;
    case Dtype::kFloat32:
      return H5T_NATIVE_FLOAT;
    case Dtype::kFloat64:
      return H5T_NATIVE_DOUBLE;
    case Dtype::kString:
      owner = utf8_string_type();
      return owner.get();
    case Dtype::kStepCount:
      break;  // resolved by FileLayout::dtype
  }
  throw OutputError("HDF5 writer: unresolved element type");
}

bool has_variable(hid_t file, const std::string& name) {
  const htri_t found = H5Lexists(file, name.c_str(), H5P_DEFAULT);
  if (found < 0) {
    const ssize_t length = H5Fget_name(file, nullptr, 0);
    std::string path(static_cast<std::size_t>(std::max<ssize_t>(length, 0)) + 1, '\0');
    if (length > 0) H5Fget_name(file, path.data(), path.size());
    path.resize(static_cast<std::size_t>(std::max<ssize_t>(length, 0)));
    throw DamagedInput(
        fmt::format("'{}' is damaged: HDF5 failed to look up its variable {} (its index of variables)", path, name));
  }
  return found > 0;
}

std::string layout_problem(hid_t dataset, const FileLayout& layout, const VariableSpec& v) {
  const Handle space = space_handle(H5Dget_space(dataset), std::string("get the shape of ") + std::string(v.name));
  std::vector<hsize_t> shape(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(space.get()))));
  H5Sget_simple_extent_dims(space.get(), shape.data(), nullptr);
  const std::vector<std::uint64_t> expected = layout.shape(v);
  if (!std::equal(shape.begin(), shape.end(), expected.begin(), expected.end()))
    return fmt::format("{} has the shape ({}), not ({})", v.name, fmt::join(shape, ", "), fmt::join(expected, ", "));
  const Handle stored = type_handle(H5Dget_type(dataset), std::string("get the type of ") + std::string(v.name));
  Handle owner;
  const hid_t written = file_type(layout.dtype(v), owner);
  const bool same = layout.dtype(v) == Dtype::kString ? H5Tget_class(stored.get()) == H5T_STRING
                                                      : H5Tequal(stored.get(), written) > 0;
  if (!same) return fmt::format("{} holds another type of value than brink writes there", v.name);
  return {};
}

void set_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  // Scalar, fixed-length, NUL-terminated UTF-8: what netCDF-C reads as text.
  const Handle type = type_handle(H5Tcopy(H5T_C_S1), "copy the string type");
  H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const Handle space = space_handle(H5Screate(H5S_SCALAR), "create a scalar dataspace");
  const Handle attr = attribute_handle(
      H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "create attribute " + name);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), padded.data()), "write attribute " + name);
}

void set_int_attribute(hid_t object, const std::string& name, hid_t type, const void* values, std::size_t count) {
  const hsize_t n = count;
  const Handle space =
      space_handle(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), "create a dataspace");
  const Handle attr = attribute_handle(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                                       "create attribute " + name);
  check(H5Awrite(attr.get(), type, values), "write attribute " + name);
}

namespace {

// The file `object` lies in, as it was opened.
std::string file_name(hid_t object) {
  const ssize_t size = H5Fget_name(object, nullptr, 0);
  if (size <= 0) return "the file";
  std::string name(static_cast<std::size_t>(size) + 1, '\0');
  H5Fget_name(object, name.data(), name.size());
  return name.c_str();
}

// "its root attribute 'seed'" or "the attribute 'flag_meanings' of 'x'".
std::string attribute_label(hid_t object, const char* name) {
  std::string where(256, '\0');
  const ssize_t size = H5Iget_name(object, where.data(), where.size());
  where.resize(size > 0 ? std::min(static_cast<std::size_t>(size), where.size() - 1) : 0);
  if (where.empty() || where == "/") return fmt::format("its root attribute '{}'", name);
  return fmt::format("the attribute '{}' of '{}'", name, where.substr(1));
}

}  // namespace

bool has_attribute(hid_t object, const char* name) {
  const htri_t exists = H5Aexists(object, name);
  if (exists < 0)
    throw DamagedInput(
        fmt::format("'{}' is damaged: HDF5 cannot read {} (its metadata fails its checksum or "
                    "does not parse)",
                    file_name(object), attribute_label(object, name)));
  return exists > 0;
}

std::int32_t read_int_attribute(hid_t object, const char* name) {
  if (!has_attribute(object, name)) return 1;
  const std::optional<std::int64_t> value = read_int64_attribute(object, name);
  return value && *value >= 0 && *value <= std::numeric_limits<std::int32_t>::max() ? static_cast<std::int32_t>(*value)
                                                                                    : kNotOneInteger;
}

std::optional<std::int64_t> read_int64_attribute(hid_t object, const char* name) {
  if (!has_attribute(object, name)) return std::nullopt;
  const Handle attr = attribute_handle(H5Aopen(object, name, H5P_DEFAULT), std::string("open attribute ") + name);
  const Handle type = type_handle(H5Aget_type(attr.get()), std::string("read the type of attribute ") + name);
  const Handle space = space_handle(H5Aget_space(attr.get()), std::string("read the shape of attribute ") + name);
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1) return std::nullopt;
  std::int64_t value = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), std::string("read attribute ") + name);
  return value;
}

std::string recorded_text_problem(hid_t file) {
  for (const char* name : {"scenario", "overrides"}) {
    const std::string digest = read_string_attribute(file, fmt::format("{}_digest", name).c_str());
    // A missing text is told as such by the reader's own checks.
    if (!digest.empty() && has_attribute(file, name) && content_digest(read_string_attribute(file, name)) != digest)
      return fmt::format(
          "its attribute '{}' does not match its digest '{}_digest': the text of how it was run is damaged", name,
          name);
  }
  return {};
}

namespace {

// The attribute's text if it is there as one fixed-length string, else nothing.
std::optional<std::string> one_string_attribute(hid_t object, const char* name) {
  if (!has_attribute(object, name)) return std::nullopt;
  const Handle attr = attribute_handle(H5Aopen(object, name, H5P_DEFAULT), std::string("open attribute ") + name);
  const Handle type = type_handle(H5Aget_type(attr.get()), std::string("read the type of attribute ") + name);
  const Handle space = space_handle(H5Aget_space(attr.get()), std::string("read the shape of attribute ") + name);
  // One string only: HDF5 reads every element into the buffer.
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) ||
      H5Sget_simple_extent_npoints(space.get()) != 1)
    return std::nullopt;
  std::string buffer(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), buffer.data()), std::string("read attribute ") + name);
  return std::string(buffer.c_str());
}

}  // namespace

std::string read_string_attribute(hid_t object, const char* name) {
  return one_string_attribute(object, name).value_or("");
}

bool attribute_holds(hid_t object, const std::string& name, hid_t type, const void* value, std::size_t bytes) {
  if (!has_attribute(object, name.c_str())) return false;
  const Handle attr = attribute_handle(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute " + name);
  const Handle stored = type_handle(H5Aget_type(attr.get()), "read the type of attribute " + name);
  const Handle space = space_handle(H5Aget_space(attr.get()), "read the shape of attribute " + name);
  std::uint64_t buffer = 0;  // room for one value of every numeric attribute brink writes
  if (bytes > sizeof buffer || H5Tget_size(type) != bytes || H5Tget_class(stored.get()) != H5Tget_class(type) ||
      H5Sget_simple_extent_npoints(space.get()) != 1)
    return false;
  return H5Aread(attr.get(), type, &buffer) >= 0 && std::memcmp(&buffer, value, bytes) == 0;
}

bool attribute_holds(hid_t object, const std::string& name, const std::string& value) {
  return one_string_attribute(object, name.c_str()) == value;
}

Handle dataset_access(std::size_t cache_bytes) {
  Handle dapl = plist_handle(H5Pcreate(H5P_DATASET_ACCESS), "create a dataset access property list");
  check(H5Pset_chunk_cache(dapl.get(), cache_bytes > 0 ? 12421 : 0, cache_bytes, 1.0), "set a chunk cache");
  return dapl;
}

std::vector<std::uint64_t> chunk_shape(hid_t dataset) {
  const Handle dcpl = plist_handle(H5Dget_create_plist(dataset), "get a dataset's creation properties");
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return {};
  std::vector<hsize_t> extent(H5S_MAX_RANK);
  const int rank = H5Pget_chunk(dcpl.get(), H5S_MAX_RANK, extent.data());
  check(rank, "get a dataset's chunk extents");
  return {extent.begin(), extent.begin() + rank};
}

bool chunk_index_readable(hid_t dataset) {
  const Handle space = space_handle(H5Dget_space(dataset), "get a dataset's dataspace");
  hsize_t chunks = 0;
  return H5Dget_num_chunks(dataset, space.get(), &chunks) >= 0;
}

namespace {

herr_t skip_attribute(hid_t, const char*, const H5A_info_t*, void*) { return 0; }

// Whether every index of the object's attributes reads: by name, and by
// creation order where the object keeps one.
bool attribute_indexes_readable(hid_t object, H5O_type_t type) {
  hsize_t at = 0;
  if (H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &at, skip_attribute, nullptr) < 0) return false;
  const hid_t plist = type == H5O_TYPE_GROUP     ? H5Gget_create_plist(object)
                      : type == H5O_TYPE_DATASET ? H5Dget_create_plist(object)
                                                 : H5I_INVALID_HID;
  if (plist < 0) return type != H5O_TYPE_GROUP && type != H5O_TYPE_DATASET;
  unsigned order = 0;
  const bool known = H5Pget_attr_creation_order(plist, &order) >= 0;
  H5Pclose(plist);
  at = 0;
  return known && (!(order & H5P_CRT_ORDER_INDEXED) ||
                   H5Aiterate2(object, H5_INDEX_CRT_ORDER, H5_ITER_INC, &at, skip_attribute, nullptr) >= 0);
}

herr_t check_object(hid_t root, const char* name, const H5O_info_t* info, void* failed) {
  const hid_t object = H5Oopen(root, name, H5P_DEFAULT);
  const bool ok = object >= 0 && attribute_indexes_readable(object, info->type);
  if (object >= 0) H5Oclose(object);
  if (ok) return 0;
  *static_cast<std::string*>(failed) = name;
  return 1;  // one is enough
}

}  // namespace

std::string unreadable_metadata(hid_t file) {
  std::string failed;
  const herr_t result = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, check_object, &failed, H5O_INFO_ALL);
  if (result < 0 && failed.empty()) return "/";  // the walk itself failed: the root group's links
  return failed == "." ? "/" : failed;
}

Slab::Slab(hid_t dataset, std::int64_t point, std::int64_t first, std::int64_t count) {
  file = space_handle(H5Dget_space(dataset), "get a dataset's dataspace");
  const int rank = H5Sget_simple_extent_ndims(file.get());
  std::vector<hsize_t> start(rank, 0), extent(rank);
  H5Sget_simple_extent_dims(file.get(), extent.data(), nullptr);
  start[0] = static_cast<hsize_t>(point);
  extent[0] = 1;
  if (rank > 1) {
    start[1] = static_cast<hsize_t>(first);
    extent[1] = static_cast<hsize_t>(count);
  }
  check(H5Sselect_hyperslab(file.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
        "select a hyperslab");
  memory = space_handle(H5Screate_simple(rank, extent.data(), nullptr), "create a memory dataspace");
  elements = 1;
  for (hsize_t e : extent) elements *= e;
}

namespace {
// A transfer list with a 64 KiB type-conversion buffer for string writes:
// HDF5's default, 1 MiB zeroed for every string write, was a fifth of the
// start-up of a short run (fresh pages, each one faulted in). Numeric writes
// are in the file's own type and convert nothing.
Handle string_transfer(const std::string& what) {
  constexpr std::size_t kConversionBuffer = 64 * 1024;
  Handle list = plist_handle(H5Pcreate(H5P_DATASET_XFER), "create a transfer property list to " + what);
  check(H5Pset_buffer(list.get(), kConversionBuffer, nullptr, nullptr), "size the conversion buffer to " + what);
  check(H5Pset_edc_check(list.get(), H5Z_DISABLE_EDC), "skip checksums to " + what);
  return list;
}
}  // namespace

hid_t unchecked_transfer() {
  static const hid_t list = [] {
    const hid_t id = H5Pcreate(H5P_DATASET_XFER);
    check(id < 0 ? -1 : H5Pset_edc_check(id, H5Z_DISABLE_EDC), "create a transfer property list without checksums");
    return id;
  }();
  return list;
}

void write_values(hid_t dataset, hid_t memory_space, hid_t file_space, const Values& values, const std::string& what) {
  std::visit(
      [&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        if (v.empty()) return;
        if constexpr (std::is_same_v<T, std::string>) {
          std::vector<const char*> pointers;
          for (const auto& s : v) pointers.push_back(s.c_str());
          const Handle type = utf8_string_type();
          const Handle transfer = string_transfer(what);
          check(H5Dwrite(dataset, type.get(), memory_space, file_space, transfer.get(), pointers.data()), what);
        } else {
          check(H5Dwrite(dataset, native<T>(), memory_space, file_space, unchecked_transfer(), v.data()), what);
        }
      },
      values);
}

namespace {
// "read outcome_count": what a failed read of `dataset` was doing. Taken
// before the read: any later call clears the error stack the message reads.
std::string read_what(hid_t dataset) {
  char name[256] = {0};
  H5Iget_name(dataset, name, sizeof name);  // "/outcome_count": the variable's path in the file
  return fmt::format("read {}", name[0] == '/' ? name + 1 : "a dataset");
}

template <typename T>
Values read_numeric(hid_t dataset, std::size_t n, hid_t transfer) {
  std::vector<T> out(n);
  if (n == 0) return out;
  const std::string what = read_what(dataset);
  check(H5Dread(dataset, native<T>(), H5S_ALL, H5S_ALL, transfer, out.data()), what);
  return out;
}

template <typename T>
Values read_numeric_rows(hid_t dataset, std::int64_t first, std::int64_t count) {
  const std::string what = read_what(dataset);
  const Rows rows(dataset, first, count);
  std::vector<T> out(rows.elements);
  if (!out.empty())
    check(H5Dread(dataset, native<T>(), rows.memory.get(), rows.file.get(), H5P_DEFAULT, out.data()), what);
  return out;
}

// f.template operator()<T>() for the element type T that holds `dtype`'s
// numbers (Values' alternative); nothing for strings.
template <class F>
std::optional<Values> as_numbers(Dtype dtype, F f) {
  switch (dtype) {
    case Dtype::kInt8:
      return f.template operator()<std::int8_t>();
    case Dtype::kInt16:
    case Dtype::kInt32:
    case Dtype::kStepCount:
      return f.template operator()<std::int32_t>();
    case Dtype::kInt64:
      return f.template operator()<std::int64_t>();
    case Dtype::kFloat32:
    case Dtype::kFloat64:
      return f.template operator()<double>();
    case Dtype::kString:
      break;
  }
  return std::nullopt;
}
}  // namespace

Rows::Rows(hid_t dataset, std::int64_t first, std::int64_t count) {
  file = space_handle(H5Dget_space(dataset), "get a dataset's dataspace");
  std::vector<hsize_t> start(static_cast<std::size_t>(std::max(0, H5Sget_simple_extent_ndims(file.get())))),
      extent(start.size());
  H5Sget_simple_extent_dims(file.get(), extent.data(), nullptr);
  if (start.empty()) return;  // a scalar has no rows
  start[0] = static_cast<hsize_t>(first);
  extent[0] = static_cast<hsize_t>(count);
  elements = 1;
  for (hsize_t e : extent) elements *= e;
  if (elements == 0) return;
  check(H5Sselect_hyperslab(file.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
        "select rows of a dataset");
  memory = space_handle(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr),
                        "create a memory dataspace");
}

Values read_rows(hid_t dataset, Dtype dtype, std::int64_t first, std::int64_t count) {
  if (auto values = as_numbers(dtype, [&]<typename T>() { return read_numeric_rows<T>(dataset, first, count); }))
    return std::move(*values);
  throw std::logic_error("read_rows reads numbers only");
}

Values read_values(hid_t dataset, Dtype dtype, hid_t transfer) {
  const Handle space = space_handle(H5Dget_space(dataset), "get a dataset's dataspace");
  const auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
  if (auto values = as_numbers(dtype, [&]<typename T>() { return read_numeric<T>(dataset, n, transfer); }))
    return std::move(*values);
  std::vector<std::string> out;
  const Handle type = utf8_string_type();
  std::vector<char*> pointers(n, nullptr);
  if (n == 0) return out;
  // A read that fails is damage (a reference into the global heap cut or
  // flipped), never an empty list: inspect printed no actor rows at all.
  check(H5Dread(dataset, type.get(), H5S_ALL, H5S_ALL, transfer, pointers.data()), "read the strings of a dataset");
  for (char* p : pointers) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
  return out;
}

BlockResult read_resume_fields(std::span<const VariableSpec* const> block_variables,
                               const std::function<hid_t(std::string_view)>& dataset, const BlockSpec& spec,
                               const std::string& path) {
  BlockResult b;
  b.spec = spec;
  for (const VariableSpec* v : block_variables) {
    if (!v->resume) continue;
    const bool per_block = v->dims.has(Dim::kBlock);
    const std::int64_t first = per_block ? spec.first_replication / kBlockLanes : spec.first_replication;
    const hid_t ds = dataset(v->name);
    const Slab slab(ds, spec.point, first, per_block ? 1 : spec.count);
    std::visit(
        [&](auto member) {
          if constexpr (!std::is_same_v<decltype(member), std::monostate>) {
            auto& out = b.*member;
            using T = typename std::decay_t<decltype(out)>::value_type;
            out.resize(slab.elements);
            check(H5Dread(ds, native<T>(), slab.memory.get(), slab.file.get(), H5P_DEFAULT, out.data()),
                  fmt::format("read {} from {}", v->name, path));
          }
        },
        v->block);
  }
  return b;
}

namespace {

// An empty vector of the Values alternative that holds `dtype`'s elements.
Values empty_values(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
      return std::vector<std::int8_t>{};
    case Dtype::kInt16:
    case Dtype::kInt32:
    case Dtype::kStepCount:
      return std::vector<std::int32_t>{};
    case Dtype::kInt64:
      return std::vector<std::int64_t>{};
    case Dtype::kFloat32:
    case Dtype::kFloat64:
      return std::vector<double>{};
    case Dtype::kString:
      break;
  }
  return std::vector<std::string>{};
}

}  // namespace

PointSummary read_point_summary(const FileLayout& layout, const std::function<hid_t(std::string_view)>& dataset,
                                std::int64_t point, const std::string& path) {
  PointSummary summary;
  summary.point = point;
  for (const VariableSpec& v : variable_table()) {
    if (!v.to_summary || !layout.present(v)) continue;
    if (!v.dims.has(Dim::kPoint)) {  // shared by every point (`day`)
      v.to_summary(summary, read_values(dataset(v.name), v.dtype));
      continue;
    }
    const std::uint64_t width = v.dims.rank > 1 ? layout.length(v.dims.axis[1]) : 1;
    Values values = empty_values(layout.dtype(v));
    if (width > 0) {
      const hid_t ds = dataset(v.name);
      const Slab slab(ds, point, 0, static_cast<std::int64_t>(width));
      std::visit(
          [&](auto& out) {
            using T = typename std::decay_t<decltype(out)>::value_type;
            if constexpr (!std::is_same_v<T, std::string>) {
              out.resize(slab.elements);
              check(H5Dread(ds, native<T>(), slab.memory.get(), slab.file.get(), H5P_DEFAULT, out.data()),
                    fmt::format("read {} from {}", v.name, path));
            }
          },
          values);
    }
    v.to_summary(summary, values);
  }
  return summary;
}

}  // namespace brink::h5
