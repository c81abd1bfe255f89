// The HDF5-typed half of recovery.hpp, private to the io module.
#pragma once

#include <hdf5.h>

#include <string>

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

}  // namespace brink
