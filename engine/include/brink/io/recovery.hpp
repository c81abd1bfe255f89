// HDF5-side help for runs that did not end cleanly: telling a valid HDF5 file
// from debris, reopening a file whose writer was killed (what `h5clear -s`
// does, done in-process), reading a partial file while or after it is written,
// checking that a file has the layout of a brink result, and turning the
// errno behind a failed write into a sentence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brink/sweep/summary.hpp"

namespace brink {

// True if `path` is a readable file with an HDF5 signature.
bool is_hdf5_file(const std::string& path);

// The errno with which open(2) refuses to read `path`, 0 if it opens.
int open_errno(const std::string& path);
// True for the errors that mean this process, not a file, ran short: the
// open-file limits (EMFILE, ENFILE) and memory (ENOMEM).
bool is_resource_errno(int error);
// Throws ResourceShortage, naming `path` and the limit, if `path` cannot be
// opened for reading because this process ran short (is_resource_errno);
// else returns the errno of the open (0 if it opens), for the caller to name.
int check_not_short_of_resources(const std::string& path);

// What an existing TARGET.partial is, read without changing it.
enum class PartialState {
  kRunOutput,   // a run's file: it records which blocks are done
  kNeverSaved,  // empty, or HDF5's superblock as H5Fcreate left it: stopped before its first flush, so no block
  kUnreadable,  // an HDF5 signature but it does not open: damaged or cut short, and may hold finished blocks
  kForeign,     // an HDF5 file that opens but is not a run's output (no block record)
  kNotHdf5,     // a file with content but no HDF5 signature: no brink run wrote it
  kReadOnly,    // a run's file this process may not write
};
PartialState partial_state(const std::string& path);

// True if `path` is a file `brink merge` wrote: its root attribute
// command_line names the command merge (a merge records the command as a run
// does, so that its finished file differs from a run's only there). False if
// it does not open, or another command wrote it.
bool written_by_merge(const std::string& path);
// Whether HDF5 opens `path` for reading: a file with HDF5's signature that it
// does not open is damaged or cut short (or this process ran short: ask
// check_not_short_of_resources first).
bool hdf5_opens(const std::string& path);
// The first object of `path` whose metadata HDF5 cannot read back (its
// header, storage or an index of its attributes; "/" for the root), or ""
// when every one reads or the file does not open. brink reads only what it
// names, so a damaged index (of the root's dense attributes, say) passed a
// resume and was carried into a file marked complete that h5stat and h5py's
// visit refuse. Damage there can crash HDF5: call it in a read check's child.
std::string damaged_metadata(const std::string& path);

// The words of the root attribute command_line of a brink file (a partial a
// writer has marked open too), as the run was invoked; empty if unreadable.
std::vector<std::string> recorded_command(const std::string& path);

// True if `path` opens read-write as the writer opens it to resume (status
// flags cleared, and a file cut short by the file size limit extended to the
// end its superblock records, so it changes the file). Throws, leaving the
// file as it is, if that end is still beyond the file size limit or the free
// space, or if another program holds HDF5's lock on it. Only call it under
// the output lock.
bool reopens_for_resume(const std::string& path);

// Clears the superblock's mark of a writer that is gone (what `h5clear -s`
// does, keeping what lies past the recorded end as reopens_for_resume does),
// so that the file opens read-only again: true if it was marked and now is
// not. A damaged file that does not open read-write is left as it is. Only
// call it under the output lock, which proves that no writer is alive.
bool clear_stale_write_mark(const std::string& path);

// Blocks marked finished in a partial file's `block_done`, or -1 if the file
// is not HDF5 or has no readable block_done.
std::int64_t finished_block_count(const std::string& path);

// A partial file's `block_done` flags (one per block, point-major), its
// points' published replications (`replications`, 0 until published) and
// its valid resume sums (read_resume_sums), for SweepPlan::kept_on_resume;
// nothing if the file is not HDF5 or lacks either of the first two.
struct FinishedWork {
  std::vector<std::uint8_t> blocks;
  std::vector<std::int64_t> published;
  std::vector<ResumeSums> resume_sums;
};
std::optional<FinishedWork> finished_work(const std::string& path);

// The first variable or attribute a brink result needs that `path` lacks or
// holds with the wrong type or shape, as a sentence; empty if the layout is sound.
std::string brink_layout_problem(const std::string& path);

// After an HDF5 call failed: the errno the HDF5 file driver recorded on the
// error stack (or errno itself), 0 if none. Remembered for last_io_errno().
int hdf5_failure_errno();
// The errno of the last failure hdf5_failure_message() described.
int last_io_errno();
// True for the errors that mean the disk (or quota, or file size limit) is full.
bool is_space_errno(int error);
// "HDF5 failed to WHAT" plus the reason when the OS gave one, e.g.
// ": no space left on device (ENOSPC)".
std::string hdf5_failure_message(const std::string& what);
// Names ENOSPC, EDQUOT, EFBIG, ENOMEM, EMFILE (with the open-file limit)
// and ENFILE in words; strerror for others.
std::string describe_errno(int error);

}  // namespace brink
