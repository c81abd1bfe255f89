// `brink merge`: joins the files of `brink run --shard I/N` back into the
// file one run of the whole plan writes. A shard file has the whole plan's
// shape and holds only its own points' blocks; the merge copies every block's
// stored chunks unchanged and then summarizes the points exactly as a run
// does (the Recorder, from the blocks in point order), so every dataset of the
// result is the same bits as a single run's. A --summary-only shard keeps no
// blocks: its points' summaries, as its run computed them, are read back and
// written again. Sobol indices are computed from the joined summaries.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recorder.hpp"
#include "brink/io/table.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

struct SweepPlan;

// A shard set that cannot be merged (bad input, exit code 2): the message is
// one sentence naming the file at fault.
class MergeRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class MergeInterrupted : public std::runtime_error {
 public:
  MergeInterrupted() : std::runtime_error("interrupted") {}
};

// What a shard file says about itself: its root attributes.
struct ShardInfo {
  std::string path;
  std::int64_t index = 0;        // shard_index: I of --shard I/N
  std::int64_t count = 0;        // shard_count: N
  std::int64_t plan_points = 0;  // shard_plan_points: the whole plan's points
  std::uint64_t seed = 0;
  std::string engine_version, engine_fingerprint, target_isa, scenario_label, scenario_text, overrides;
  std::string inputs;                     // SweepPlan::inputs of the run
  std::vector<std::string> choice_texts;  // scenario_choice_0, 1, ... of a sweep over scenario files
};

// Reads one shard file's attributes. Throws MergeRefused unless `path` is a
// finished brink result of this format version written with --shard: a
// `.partial` file, or a file whose run did not finish, is refused.
ShardInfo read_shard_info(const std::string& path);

// Checks that `shards` are shards 0 … N-1 of one plan (same engine, scenario,
// seed, options and shard count), each exactly once; throws MergeRefused
// naming a missing shard, a repeated one, or the file from another run.
void check_shard_set(const std::vector<ShardInfo>& shards);

struct MergeResult {
  TableRows table;                               // the rows of the merged plan's table
  Screening screening;                           // --sensitivity and Morris plans
  std::int64_t blocks = 0;                       // blocks copied
  std::array<std::uint64_t, 2> file_identity{};  // of the merged file (Hdf5Writer::file_identity)
};

// Writes `path` (created or truncated) as a single run of `plan` writes it,
// from `shards` (a checked set; shards[i] is shard i). `plan` is the whole,
// unsharded plan the shards' scenario and overrides give, and `metadata`
// their scenario and overrides with the merge's command line. Throws
// MergeRefused if a shard's layout or blocks are not those of its points of
// `plan`, OutputError if a file cannot be read or written, MergeInterrupted
// (between points) once `*stop` is set. `progress`, if given, is called
// after each point with (points merged, points in all).
MergeResult merge_shards(const SweepPlan& plan, const OutputMetadata& metadata, const std::vector<ShardInfo>& shards,
                         const std::string& path, const std::atomic<bool>* stop = nullptr,
                         const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                         std::array<std::uint64_t, 2>* created = nullptr);

}  // namespace brink
