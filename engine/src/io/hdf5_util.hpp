// HDF5 helpers shared by the writer and the reader; private to the io module.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "brink/io/variables.hpp"
#include "handle.hpp"

namespace brink::h5 {

void check(herr_t status, const std::string& what);

// A variable-length UTF-8 string type (netCDF `string`).
Handle utf8_string_type();
// The native in-memory type of a C++ element type.
template <typename T>
hid_t native();
// The type a variable is stored as (strings: a new UTF-8 string type in `owner`).
hid_t file_type(Dtype dtype, Handle& owner);

void set_string_attribute(hid_t object, const std::string& name, const std::string& value);
void set_int_attribute(hid_t object, const std::string& name, hid_t type, const void* values, std::size_t count);
// Whether `object` holds the attribute `name`; DamagedInput where HDF5
// cannot tell (a metadata checksum fails), which is damage, not absence.
bool has_attribute(hid_t object, const char* name);
// A scalar integer attribute; 1 if absent (files before format_version 2
// had none), kNotOneInteger if it is not one integer.
inline constexpr std::int32_t kNotOneInteger = -1;
std::int32_t read_int_attribute(hid_t object, const char* name);
// A scalar integer attribute, or nothing if absent or not a scalar integer.
std::optional<std::int64_t> read_int64_attribute(hid_t object, const char* name);
// Fixed-length string attribute, or "" if absent or not one such string.
std::string read_string_attribute(hid_t object, const char* name);
// Whether the attribute is there and holds exactly one value equal to
// `value` (`bytes` of memory type `type`, read into it), or the string `value`.
bool attribute_holds(hid_t object, const std::string& name, hid_t type, const void* value, std::size_t bytes);
bool attribute_holds(hid_t object, const std::string& name, const std::string& value);

// The texts a file records how it was run by (its root attributes `scenario`
// and `overrides`) against their digests (`scenario_digest`,
// `overrides_digest`, content_digest): the texts are too large for HDF5 to
// keep in checksummed metadata, and a flipped byte there would change the
// recipe of a re-run silently. A sentence naming the damaged attribute, or
// "" (also for a file written before the digests were kept).
std::string recorded_text_problem(hid_t file);

// The part [point, first:first+count, all...] of a dataset whose first axis is
// `point` (rank 1: [point]), as file and memory dataspaces.
struct Slab {
  Slab(hid_t dataset, std::int64_t point, std::int64_t first, std::int64_t count);
  Handle file, memory;
  std::uint64_t elements = 0;
};

// Rows [first, first + count) of a dataset whose first axis is `point`, every
// other axis whole, as file and memory dataspaces (no memory space, and no
// elements, for a scalar or an empty selection).
struct Rows {
  Rows(hid_t dataset, std::int64_t first, std::int64_t count);
  Handle file, memory;
  std::uint64_t elements = 0;
};

// The unsigned number in `bytes` (at most 8) bytes at `p`, little-endian as
// HDF5 stores every field on disk: for the readers that look at a file's
// bytes before HDF5 may (recovery.cpp, hdf5_strings.cpp).
inline std::uint64_t little_endian(const unsigned char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// A dataset access property list with a chunk cache of `cache_bytes` (none when 0).
Handle dataset_access(std::size_t cache_bytes);
// A dataset's chunk extents; empty when it is not chunked.
std::vector<std::uint64_t> chunk_shape(hid_t dataset);
// Reads every page of a chunked dataset's chunk index; false where one fails
// its checksum (a kill -9 during a flush has been seen to leave one). Run
// before SWMR mode, where HDF5 would retry such a page for ever.
bool chunk_index_readable(hid_t dataset);

// Reads the header of every object in the file, its storage sizes and every
// index of its attributes (by name, and by creation order where it is
// kept), as a generic tool's walk (h5stat, h5py's visit) does; the name of
// the first object where that fails ("/" for the root), or "" when all
// read. A damaged index can crash HDF5 on the way: call it in a read check's
// child (damaged_metadata, recovery.hpp).
std::string unreadable_metadata(hid_t file);

// True if `stream`, a stored per-replication chunk (shuffle + deflate), inflates,
// zlib checksum and all, to exactly `raw_bytes` (hdf5_verify.cpp).
bool inflates_whole(std::span<const std::uint8_t> stream, std::size_t raw_bytes);

// Writes `values` (one of Values' alternatives) to the selection.
void write_values(hid_t dataset, hid_t memory_space, hid_t file_space, const Values& values, const std::string& what);
// Reads a whole numeric or string dataset as `dtype`'s Values alternative;
// with `transfer` = unchecked_transfer(), damaged chunks read as they are.
Values read_values(hid_t dataset, Dtype dtype, hid_t transfer = H5P_DEFAULT);
// Rows [first, first + count) of a numeric dataset whose first axis is
// `point` (every other axis whole), as `dtype`'s Values alternative.
Values read_rows(hid_t dataset, Dtype dtype, std::int64_t first, std::int64_t count);

// What --resume and `brink merge` read of one block: the per-replication
// variables marked `resume` (enough for the point summaries and the adaptive
// rounds), from the datasets `dataset` returns by name; `path` names the file
// in errors.
BlockResult read_resume_fields(std::span<const VariableSpec* const> block_variables,
                               const std::function<hid_t(std::string_view)>& dataset, const BlockSpec& spec,
                               const std::string& path);

// The summary of `point` as its run computed and wrote it, read back through
// the table (to_summary) from the datasets `dataset` returns by name (every
// variable `layout` holds that has to_summary); `path` names the file in
// errors.
PointSummary read_point_summary(const FileLayout& layout, const std::function<hid_t(std::string_view)>& dataset,
                                std::int64_t point, const std::string& path);

// Whether the root group links `name`; a lookup HDF5 cannot make (a damaged
// link index) throws DamagedInput instead of reading as "absent", which sent
// an analyst after a missing variable or an older format.
bool has_variable(hid_t file, const std::string& name);

// How `dataset` differs from what a file of `layout` holds as `v`: its shape
// or its stored type (a partial or shard edited, or another program's), or "".
std::string layout_problem(hid_t dataset, const FileLayout& layout, const VariableSpec& v);

// What no summary brink writes can hold (a file edited with valid checksums,
// or written by another program), or "" (summary_check.cpp): counts that do
// not add up, probabilities and intervals that are not theirs, shares outside
// [0, 1] or not adding up to 1, negative or unordered means and quantiles.
// `slots`: the length of the file's dimension `replication`, which no
// point's replications exceed (-1: not known, not checked).
std::string summary_problem(const PointSummary& s, std::int64_t slots = -1);

// What no block brink writes can hold in the variables --resume reads back
// (outcome_code outside 0..4, end_step outside [0, steps], war_start_step
// outside [-1, steps], casualties negative or not finite, agreed not 0 or 1),
// naming the variable, the value and the replication; or "".
std::string block_problem(const BlockResult& b, std::int64_t steps);

}  // namespace brink::h5
