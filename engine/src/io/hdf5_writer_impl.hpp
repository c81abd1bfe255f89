// The state of an Hdf5Writer (hdf5_writer.cpp writes and resumes,
// hdf5_create.cpp creates a file's variables and attributes).
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/variables.hpp"
#include "hdf5_util.hpp"

namespace brink {

struct Hdf5Writer::Impl {
  std::string path;
  FileLayout layout;
  // The variables stored one chunk per block, in table order: block.encoded[i]
  // is the chunk of block_variables[i].
  std::vector<const VariableSpec*> block_variables;
  std::vector<std::string> sensitivity_outputs;
  // The parameters' coordinate variables along `point`, listed in the CF
  // `coordinates` attribute of every variable on `point`.
  std::vector<std::string> parameter_coordinates;
  // A posterior run's parameters per replication: coordinate variables on
  // (point, replication), listed in every variable on both.
  std::vector<std::string> replication_coordinates;
  // The caller's stop flag: create() and drop_unreadable() throw OutputInterrupted once it is set.
  const std::atomic<bool>* stop = nullptr;
  void check_stop() const {
    if (stop && stop->load(std::memory_order_relaxed)) throw OutputInterrupted();
  }
  double last_flush = 0.0;          // steady-clock seconds at the end of the last publish()
  double publish_cost = 0.0;        // how long it took
  double last_point_publish = 0.0;  // last_flush of the last publish that points asked for
  bool failed = false;  // a write, flush or close of this file threw: leave the file as its last flush left it
  std::vector<std::pair<std::int64_t, std::int64_t>> pending_done;  // (point, block) written, not yet marked
  std::vector<std::pair<std::int64_t, Values>> pending_points;      // (point, replications) written, not published
  // --resume's sums (resume_sums.cpp): each point's newest, until the next
  // flush; each slot's point (-1: free) and the blocks its header covers once
  // written; the headers of the slots written since the last flush.
  std::map<std::int64_t, ResumeSums> staged_sums;
  std::vector<std::int64_t> slot_owner, slot_blocks;
  struct SlotHeader {
    std::int64_t slot, point, blocks;
    std::uint64_t checksum;
  };
  std::vector<SlotHeader> pending_headers;
  bool vouched_sums = false;  // this run has written a slot's header
  Handle file;                // declared before the datasets, so destroyed after them
  std::map<std::string_view, Handle> datasets;

  hid_t dataset(std::string_view name) const { return datasets.at(name).get(); }
  void create(const SweepPlan& plan, const OutputMetadata& metadata);
  void create_variable(const VariableSpec& v, const SweepPlan& plan);
  void write_constant(const VariableSpec& v, hid_t dataset, const SweepPlan& plan);  // if v is a constant
  // Names the coordinate variables outside the table (parameter_coordinates, replication_coordinates).
  void name_coordinates(const SweepPlan& plan);
  void create_parameter_coordinates(const SweepPlan& plan);
  // --resume: writes those coordinates, and `time`, again from the plan.
  void rewrite_coordinates(const SweepPlan& plan);
  // --resume: checks the stored string constants against the plan where they
  // lie, and writes them anew if any differs (hdf5_strings.cpp).
  void mend_strings(const SweepPlan& plan);
  void create_replication_coordinates(const SweepPlan& plan);
  Handle create_parameter_variable(const std::string& name, const std::vector<hsize_t>& shape,
                                   const std::vector<double>& values, const std::string& path,
                                   const std::string& scenario_units, const std::string& long_name);
  void create_time_coordinate(const SweepPlan& plan);
  void write_root_attributes(const SweepPlan& plan, const OutputMetadata& metadata);
  // --resume: the first root attribute the partial holds otherwise than the
  // plan gives it (an edited file), or "".
  std::string changed_root_attribute(const SweepPlan& plan, const OutputMetadata& metadata) const;
  void open_existing(const SweepPlan& plan, const OutputMetadata& metadata);
  // Every dataset exists and every scale is attached: from here on only raw
  // data changes, which is what a single-writer/multiple-reader file allows.
  // A point is complete for a reader once replications[point] > 0, which is
  // written after all of the point's data.
  //
  // A resumed file switches at its first write, after --resume has read back
  // what the partial holds: in SWMR mode HDF5 retries a metadata read whose
  // checksum fails 100 times with doubling sleeps (a torn read for a reader,
  // damage for the only writer), which hangs for ever, deaf to signals.
  void start_swmr() {
    if (swmr) return;
    h5::check(H5Fstart_swmr_write(file.get()), "switch " + path + " to single-writer/multiple-reader mode");
    swmr = true;
  }
  bool swmr = false;
  // Writes the staged resume sums to their slots.
  void write_staged_sums();
  void write_slot_headers();
  // The point is published: its slots may serve other points.
  void release_slots(std::int64_t point);
  // Every point is published: the slots mean nothing any more, and their
  // contents depend on when the flushes fell. Zeros in every slot written
  // (in any run of the file) make a finished file the same whatever its
  // history (a resumed run, the thread count).
  void clear_resume_slots();
  // Writes the staged resume sums, flushes the data, then marks the blocks
  // written since the last call in block_done, writes the slots' headers and
  // flushes again: a flush cut short (full disk, kill -9) never leaves a
  // block marked done, or a slot vouched for, whose data did not reach the disk.
  void flush_finished() {
    write_staged_sums();
    h5::check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "flush " + path);
    if (pending_done.empty() && pending_headers.empty()) return;
    for (const auto& [point, block] : pending_done)
      write_row(var::kBlockDone, std::vector<std::int8_t>{1}, point, block, 1);
    pending_done.clear();
    write_slot_headers();
    h5::check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "flush " + path);
  }
  // flush_finished, then publishes the points whose summaries were written
  // since the last call: their `replications` entries go last, and a flush
  // makes them visible. A point cut off before (kill -9) has its blocks
  // marked done and is summarized again by --resume.
  void publish() {
    const double start = seconds_now();
    flush_finished();
    if (!pending_points.empty()) {
      for (const auto& [point, replications] : pending_points) write_row(var::kReplications, replications, point, 0, 1);
      h5::check(H5Fflush(file.get(), H5F_SCOPE_LOCAL), "flush " + path);
      for (const auto& [point, replications] : pending_points) release_slots(point);
      pending_points.clear();
    }
    last_flush = seconds_now();
    publish_cost = last_flush - start;
  }
  // publish() once `interval` seconds have passed since the last one, so that
  // a killed run leaves a resumable file and a reader sees progress. A flush
  // costs about a millisecond: one per block or per small point would cost
  // as much as simulating it.
  void publish_if_due(double interval) {
    if (seconds_now() - last_flush > interval) publish();
  }
  // Blocks are published every 2 seconds. Points as soon as that costs at
  // most about 5% of the time, and at least every 2 seconds, counted from the
  // last publish of points (a block's does not hold them back): the first
  // finished point is published at once.
  static constexpr double kBlockInterval = 2.0;
  void publish_points_if_due() {
    if (seconds_now() - last_point_publish <= std::min(kBlockInterval, 20.0 * publish_cost)) return;
    publish();
    last_point_publish = last_flush;
  }
  static double seconds_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  void write_row(std::string_view name, const Values& values, std::int64_t point, std::int64_t first,
                 std::int64_t count) {
    const h5::Slab slab(dataset(name), point, first, count);
    h5::write_values(dataset(name), slab.memory.get(), slab.file.get(), values,
                     fmt::format("write {} to {}", name, path));
  }
};

}  // namespace brink
