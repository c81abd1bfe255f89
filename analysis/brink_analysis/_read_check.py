"""How brink_analysis opens a brink file with h5py, and a read of all of its metadata meant for a
child process: ``python3 _read_check.py FILE`` (run by open_results before it opens FILE itself).

One flipped bit in metadata HDF5 keeps checksums of (an index of the root group's links or
attributes) or in the global heap can make HDF5 itself crash (SIGSEGV, SIGABRT) while Python reads
it, and take the analyst's interpreter (a Jupyter kernel) with it; brink's own commands read such
files through a child too (brink __read-check). Only a crash or a hang is the child's to report:
every error is left to the parent, which names it. This module imports nothing heavier than h5py,
so that the child starts quickly."""

import os
import sys

# What HDF5 says when a writer's mark is on a file (a run in progress, or one killed outright).
WRITER_MARK = "already open for write"

# A SWMR reader re-reads metadata whose checksum fails, waiting twice as long each time; HDF5's
# default of 100 attempts makes a damaged file hang the reader for ever. brink's own reader
# (open_read_only in engine/src/io/recovery.cpp) allows as many, about a quarter of a second in all.
SWMR_READ_ATTEMPTS = 28


def swmr_access():
    """File-access properties of a read-only SWMR open that gives up on a damaged file within a
    quarter of a second, or None where the retry bound cannot be set (the open could then hang)."""
    import ctypes

    import h5py

    try:
        # h5py does not wrap H5Pset_metadata_read_attempts; its extension module links the HDF5
        # library h5py uses, where looking the symbol up through the module finds it.
        setter = ctypes.CDLL(h5py.h5p.__file__).H5Pset_metadata_read_attempts
    except (OSError, AttributeError):
        return None
    setter.argtypes, setter.restype = [ctypes.c_int64, ctypes.c_uint], ctypes.c_int  # hid_t is int64_t since HDF5 1.10
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    return fapl if setter(fapl.id, SWMR_READ_ATTEMPTS) >= 0 else None


def read_all_metadata(path: str) -> None:
    """Opens `path` as open_results does and reads every attribute and every string variable of
    up to a million entries, through both ways h5py walks a file; ignores every error."""
    import h5py

    try:
        try:
            file = h5py.File(path, "r")
        except OSError as error:
            fapl = swmr_access() if WRITER_MARK in str(error) else None
            if fapl is None:
                return
            file = h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ,
                                           fapl=fapl))
    except Exception:
        return

    def read(_name, obj):
        try:
            for key in obj.attrs:
                obj.attrs[key]
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "OSU" and obj.size <= 1_000_000:
                obj[()]
        except Exception:
            pass

    try:
        read("/", file)
        for name in list(file):  # the root group's links, iterated as open_results and h5netcdf do
            read(name, file[name])
        file.visititems(read)
    except Exception:
        pass


if __name__ == "__main__":
    read_all_metadata(sys.argv[1])
