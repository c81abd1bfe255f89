// Writes a sweep to a netCDF-4-compatible HDF5 file (docs/output.md): every
// variable's axes carry dimension scales, link and attribute creation order
// is tracked, strings are UTF-8. Not thread-safe: one writer thread owns it.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

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

// Thrown when --resume finds a partial file from a different run (exit code 2).
class ResumeMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Hdf5Writer {
 public:
  enum class Mode { kCreate, kResume };
  // kCreate creates (truncates) `path`; kResume reopens a partial file written
  // by the same scenario, overrides and seed, and throws ResumeMismatch if it
  // was not.
  Hdf5Writer(const std::string& path, const SweepPlan& plan, const OutputMetadata& metadata, Mode mode = Mode::kCreate);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  void write_block(const BlockResult& block);
  // One entry per block of the plan (point-major): 1 if its data is in the file.
  std::vector<std::uint8_t> finished_blocks() const;
  // The per-run fields a point summary needs, read back for one block.
  BlockResult read_block(const BlockSpec& spec) const;
  void write_summary(const PointSummary& summary);
  // Sobol indices of the Saltelli plan's outputs (see sensitivity_outputs()).
  void write_sensitivity(const std::vector<SobolIndex>& indices, int swept);
  // Names of the outputs decomposed by write_sensitivity, in order: each
  // outcome's probability, then each actor's mean casualties.
  const std::vector<std::string>& sensitivity_outputs() const { return sensitivity_outputs_; }
  // Marks the file complete and closes it; throws OutputError on failure.
  void close();

 private:
  hid_t dataset(const std::string& name) const { return datasets_.at(name); }
  void write_slab(const std::string& name, hid_t type, const void* data, std::int64_t point, std::int64_t first,
                  std::int64_t count);
  void read_slab(const std::string& name, hid_t type, void* data, std::int64_t point, std::int64_t first,
                 std::int64_t count) const;
  void open_existing(const SweepPlan& plan, const OutputMetadata& metadata);
  void start_swmr();
  // Flushes the data, then marks the blocks written since the last call in
  // block_done and flushes again: a flush cut short (full disk, kill -9) never
  // leaves a block marked done whose data did not reach the disk.
  void flush_finished();

  std::string path_;
  hid_t file_ = -1;
  std::map<std::string, hid_t> datasets_;
  int actors_ = 0;
  int records_ = 0;     // per-replication series records (0 if off)
  int steps_grid_ = 0;  // entries of the step axis
  int step_every_ = 1;  // steps between entries
  bool write_runs_ = true;
  std::size_t parameter_count_ = 0;
  std::vector<std::string> sensitivity_outputs_;
  std::int64_t blocks_per_point_ = 0;
  std::int64_t points_ = 0;
  double last_flush_ = 0.0;
  std::vector<std::pair<std::int64_t, std::int64_t>> pending_done_;  // (point, block) not yet marked
};

}  // namespace brink
