// Writes a sweep to a netCDF-4-compatible HDF5 file (docs/output.md): every
// variable's axes carry dimension scales, link and attribute creation order
// is tracked, strings are UTF-8. The variables are those of
// brink/io/variables.hpp. Not thread-safe: one writer thread owns it, except
// encode(), which the simulating threads call.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/model/block_result.hpp"
#include "brink/sweep/morris.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

struct SweepPlan;

// Root attributes of a `--shard I/N` file only: I, N and the full plan's point count.
inline constexpr const char* kShardIndexAttribute = "shard_index";
inline constexpr const char* kShardCountAttribute = "shard_count";
inline constexpr const char* kShardPlanPointsAttribute = "shard_plan_points";

struct OutputMetadata {
  std::string scenario_label;  // file path or shipped name
  std::string scenario_text;   // exact YAML the run started from
  std::string overrides;       // "--set" assignments, one per line
  std::string command_line;
};

// Thrown for I/O failures (exit code 1).
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown where HDF5 cannot say whether an input file holds an attribute (its
// metadata fails a checksum): the file is damaged, bad input (exit code 2),
// never to be read on as if the attribute were absent. The message names
// the file. An OutputError, so that a read that reports HDF5's failures as
// damage reports this one too.
class DamagedInput : public OutputError {
 public:
  using OutputError::OutputError;
};

// Thrown when a file cannot be opened because this process ran short of
// descriptors or memory (exit code 1): nothing is known about the file,
// which is never to be called damaged for it.
class ResourceShortage : public std::runtime_error {
 public:
  ResourceShortage(int error, const std::string& what) : std::runtime_error(what), error_(error) {}
  int error() const { return error_; }  // EMFILE, ENFILE or ENOMEM

 private:
  int error_;
};

// Thrown when --resume finds a partial file from a different run (exit code 2).
class ResumeMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when the stop flag given to the Hdf5Writer constructor is set while
// it creates a file: the file is incomplete and holds no finished block.
class OutputInterrupted : public std::runtime_error {
 public:
  OutputInterrupted() : std::runtime_error("interrupted while creating or reading back the output file") {}
};

// Stops HDF5 from printing its error stack to stderr: brink reports each
// failure as one sentence (OutputError) instead. Call once, at start-up.
void quiet_hdf5_errors();

class Hdf5Writer {
 public:
  enum class Mode { kCreate, kResume };
  // kCreate creates (truncates) `path`; kResume reopens a partial file written
  // by the same scenario, overrides and seed, and throws ResumeMismatch if it
  // was not. Creating a file writes every per-point constant (parameter
  // values, rerun commands: seconds for a million points); `stop`, checked
  // between slices of them, makes it throw OutputInterrupted once set.
  Hdf5Writer(const std::string& path, const SweepPlan& plan, const OutputMetadata& metadata, Mode mode = Mode::kCreate,
             const std::atomic<bool>* stop = nullptr);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  // Compresses the chunks of one simulated block's points into their
  // `encoded` (encode_chunks). Thread-safe (reads only what the constructor
  // set); call it on the thread that simulated the block. write_block
  // encodes a block of a point with a chunk of its own that was not.
  void encode(std::span<BlockResult> points) const;
  void write_block(const BlockResult& block);
  // The device and inode of the file this writer holds open (fstat of
  // HDF5's descriptor): what publishing checks the partial path still names.
  std::array<std::uint64_t, 2> file_identity() const;
  // One entry per block of the plan (point-major): 1 if its data is in the file.
  std::vector<std::uint8_t> finished_blocks() const;
  // One entry per point: its replications once published, else 0.
  std::vector<std::int64_t> published_replications() const;
  // Reads back the chunks of every block `finished` marks (finished_blocks());
  // a block with a chunk that is missing or does not inflate to its size
  // (a partial file damaged on disk) is unmarked and its point unpublished,
  // in `finished` and `published` and in the file, so that --resume runs it
  // again rather than keeping it unread. So is every point of a chunk of
  // summaries or marks that fails its checksum, with all its blocks. `stop`
  // (the constructor's) makes it throw OutputInterrupted between chunks,
  // before it writes anything.
  void drop_unreadable(const SweepPlan& plan, std::vector<std::uint8_t>& finished,
                       std::vector<std::int64_t>& published);
  // A published point's summary as the file holds it (--resume keeps it).
  // Throws ResumeMismatch if it holds what brink never writes
  // (h5::summary_problem), or, given `counted` (the outcomes of the point's
  // kept blocks, read back), counts other than those.
  using OutcomeCounts = std::array<std::int64_t, kOutcomeCount>;
  PointSummary read_summary(std::int64_t point, const OutcomeCounts* counted = nullptr) const;
  // The sums of a point not yet finished over its first blocks, folded so
  // far (PointAccumulator::sums_so_far): the newest per point is written to
  // one of the point's two slots at the next flush, then vouched for by its
  // header, so that --resume can continue the point from them. Dropped once
  // the point's summary is written.
  void stage_resume_sums(ResumeSums sums);
  // --resume: every slot whose header vouches for its sums (checksum), of
  // the points `published` does not publish; the writer keeps their slots.
  std::vector<ResumeSums> resume_sums(const std::vector<std::int64_t>& published);
  // What --resume needs of one block (the variables the table marks
  // `resume`): enough for the point summaries and the adaptive rounds.
  // Throws ResumeMismatch if it holds what no run writes (h5::block_problem:
  // an outcome code outside 0..4, NaN casualties, ...).
  BlockResult read_block(const BlockSpec& spec) const;
  void write_summary(const PointSummary& summary);
  // Sobol indices of the Saltelli plan's outputs (see sensitivity_outputs()).
  void write_sensitivity(const std::vector<SobolIndex>& indices, int swept);
  // Morris measures, output-major over the swept parameters (as write_sensitivity).
  void write_morris(const std::vector<MorrisIndex>& indices, int swept);
  // Names of the outputs decomposed by write_sensitivity, in order: each
  // outcome's probability, then each actor's mean casualties.
  const std::vector<std::string>& sensitivity_outputs() const;
  // Marks the file complete and closes it; throws OutputError on failure.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brink
