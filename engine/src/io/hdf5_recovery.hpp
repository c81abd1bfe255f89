// The HDF5-typed half of recovery.hpp, private to the io module.
#pragma once

#include <hdf5.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brink/io/recovery.hpp"

namespace brink {

// Makes an open through `fapl` clear the superblock's status flags, as
// `h5clear -s` does (HDF5 1.10 refuses a read-write open of a file whose
// SWMR writer died without closing it). Only call it once the output lock
// proves that no writer is alive.
void set_clear_status_flags(hid_t fapl);

// Opens read-only; SWMR-read first (works on a file being written or whose
// writer was killed), then a plain read-only open. Returns a negative id on failure.
hid_t open_read_only(const std::string& path);

// The first line of `now` that `before` lacks, or of `before` that `now`
// lacks, in the `overrides` attribute's own lines (run.replications=N for -n,
// a --set's PATH=VALUE, a sweep's line), each side named by its label:
// "'X' now, 'Y' before" (--resume), "'X' in 'b.h5', not in 'a.h5'" (merge).
std::string first_difference(const std::string& before, const std::string& now, std::string_view before_label,
                             std::string_view now_label);

namespace h5 {
// A transfer property list that skips the check of Fletcher-32 checksums
// (variables.hpp, checksummed) when chunks are read, shared and never closed
// (defined in hdf5_util.cpp). Every write uses it: writing part of a chunk
// reads the rest first, and a chunk that fails its check must still be
// writable, or --resume could not rewrite it (the writer reads back what it
// keeps with the check on first: Hdf5Writer::drop_unreadable).
hid_t unchecked_transfer();
}  // namespace h5

// The whole of a numeric dataset of `file` as `memory_type` elements of T;
// nothing if it is absent or cannot be read. Chunks are read without their
// checksums' check: these are marks, which their readers check for sense.
template <typename T>
std::optional<std::vector<T>> read_whole(hid_t file, const char* name, hid_t memory_type) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return std::nullopt;
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) return std::nullopt;
  const hid_t space = H5Dget_space(ds);
  const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  std::optional<std::vector<T>> values;
  std::vector<T> read(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (n >= 0 && (n == 0 || H5Dread(ds, memory_type, H5S_ALL, H5S_ALL, h5::unchecked_transfer(), read.data()) >= 0))
    values = std::move(read);
  if (space >= 0) H5Sclose(space);
  H5Dclose(ds);
  return values;
}

}  // namespace brink
