// Writes a sweep to a netCDF-4-compatible HDF5 file (docs/output.md): every
// variable's axes carry dimension scales, link and attribute creation order
// is tracked, strings are UTF-8. Not thread-safe: one writer thread owns it.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <string>

#include "brink/model/kernel.hpp"
#include "brink/sweep/plan.hpp"
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

class Hdf5Writer {
 public:
  // Creates (truncates) `path`.
  Hdf5Writer(const std::string& path, const SweepPlan& plan, const OutputMetadata& metadata);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  void write_block(const BlockResult& block);
  void write_summary(const PointSummary& summary);
  // Marks the file complete and closes it; throws OutputError on failure.
  void close();

 private:
  hid_t dataset(const std::string& name) const { return datasets_.at(name); }
  void write_slab(const std::string& name, hid_t type, const void* data, std::int64_t point, std::int64_t first,
                  std::int64_t count);

  std::string path_;
  hid_t file_ = -1;
  std::map<std::string, hid_t> datasets_;
  int actors_ = 0;
  int records_ = 0;
};

}  // namespace brink
