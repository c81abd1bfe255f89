// A sweep plan is a value: the base scenario, the points (a row of parameter
// values each), the replication rule and the fixed cut of replications into
// blocks. Executors only schedule it; any thread or rank can run any block.
//
// A point's scenario is the base scenario with the point's axis values set
// through the field table: nothing is parsed per point and no Scenario is
// held per point. Plan memory is the values: points × parameters doubles.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

struct KernelTable;

// One point's row of values, one per SweepPlan::parameters.
struct PointView {
  std::span<const double> values;
};

// The points of a plan as one points × width matrix of values.
class PointTable {
 public:
  PointTable() = default;
  PointTable(std::size_t width, std::vector<double> values)
      : width_(width), count_(width ? values.size() / width : 0), values_(std::move(values)) {}
  // A table of `count` points without parameters (a single point, or --set of settings only).
  static PointTable empty_rows(std::size_t count) {
    PointTable t;
    t.count_ = count;
    return t;
  }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::size_t width() const { return width_; }
  PointView operator[](std::size_t point) const {
    return {std::span<const double>(values_.data() + point * width_, width_)};
  }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = PointView;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = PointView;
    iterator(const PointTable* table, std::size_t i) : table_(table), i_(i) {}
    PointView operator*() const { return (*table_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    const PointTable* table_;
    std::size_t i_;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, count_}; }

 private:
  std::size_t width_ = 0;
  std::size_t count_ = 0;
  std::vector<double> values_;
};

// Recently resolved points of a large plan, shared by the workers.
class ModelCache;

// A posterior run's parameters per replication, in a plan of one point:
// replication r runs parameter set set_of[r] (a posterior particle). Every parameter is a
// per-lane field, so a block carries its replications' sets side by side
// (packed blocks); each replication keeps the stream it has in an ordinary
// run, so the draws change only the parameters.
struct ReplicationDraws {
  std::vector<std::string> parameters;  // dotted paths
  std::vector<std::string> units;       // per parameter, from the field table
  std::size_t sets = 0;
  std::vector<double> values;                        // sets × parameters
  std::vector<std::shared_ptr<const Model>> models;  // per set: the point's scenario with the set's values
  std::vector<std::int32_t> set_of;                  // per replication
  // The lane segments of `spec` (one per run of replications sharing a set).
  std::vector<LaneSegment> segments(const BlockSpec& spec) const;
  // Per parameter, its value in every replication (replication-major).
  std::vector<double> column(std::size_t parameter) const;
};

// One scenario of a sweep over scenario choices (`--sweep scenario=a.yaml,b.yaml`):
// loaded with the run's --set overrides, sharing the base's actors, rungs,
// issues, types and run settings.
struct ScenarioChoice {
  std::string label;  // the file as given
  std::string text;   // its YAML, stored in the output
  std::shared_ptr<const Scenario> scenario;
  std::string path;  // where it was read: an input no output may replace
  // Named in the base file's own sweep block, relative to that file's folder
  // (a --sweep scenario=... name is relative to the working directory).
  bool beside_base = false;
};

// FNV-1a (64 bits): `hash` (the offset basis to start) with `n` bytes mixed in.
inline constexpr std::uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t hash = kFnvOffsetBasis);
// fnv1a of `bytes` in 16 hex digits: a file's digest in SweepPlan::inputs.
std::string content_digest(std::string_view bytes);

struct SweepPlan {
  std::vector<std::string> parameters;       // dotted paths: the swept axes first, then fixed --set fields
  int swept = 0;                             // how many of `parameters` are sweep axes
  std::vector<std::string> parameter_units;  // per parameter, from the field table
  // Per parameter: a categorical axis's names (its values are their indices), else empty.
  std::vector<std::vector<std::string>> parameter_choices;
  std::string design;        // "" for a single point, else grid/random/lhs/sobol
  std::int64_t samples = 0;  // design samples (Saltelli: base rows N)
  PointTable points;
  ReplicationRule rule;
  std::int64_t replications = 0;  // per point: the most any point can run (rule.max)
  bool write_runs = true;         // per-replication variables in the file
  bool sensitivity = false;       // points are a Saltelli plan
  std::int64_t base_samples = 0;  // Saltelli's N
  // `--shard I/N`: this run simulates only the points p with p mod N == I
  // (dealt round-robin, so shards hold equal point counts). The plan keeps
  // every point, so a shard's point p is the full plan's point p and its file
  // has the full plan's shape. shard_count 0: not sharded.
  std::int64_t shard_index = 0;
  std::int64_t shard_count = 0;
  bool morris = false;  // points are Morris trajectories (samples of them)
  int morris_levels = 4;
  std::int64_t rejected_points = 0;  // design points dropped by reject constraints
  // Why the plan is as it is, where the user did not ask for it (a posterior
  // run's draws as points): a line of the run's header, or "".
  std::string why;
  // Per swept axis: "lever" or "uncertainty" in a mixed design, else "".
  std::vector<std::string> axis_roles;

  std::int64_t point_count() const { return static_cast<std::int64_t>(points.size()); }
  bool sharded() const { return shard_count > 0; }
  bool runs_point(std::int64_t point) const { return !sharded() || point % shard_count == shard_index; }
  // The points this run simulates: all of them, or its shard's.
  std::int64_t points_run() const {
    return sharded() ? (point_count() - shard_index + shard_count - 1) / shard_count : point_count();
  }
  // The run and output settings: the base scenario's (sweeps never set them),
  // the same values every point's Model gives the kernel.
  const RunSettings& run() const { return base->run; }
  const OutputSettings& output() const { return base->output; }
  std::int64_t blocks_per_point() const { return (replications + kBlockLanes - 1) / kBlockLanes; }
  std::int64_t total_blocks() const { return blocks_per_point() * point_count(); }
  // Block `index` of `point`; the last block of a point may be short.
  BlockSpec block(std::int64_t point, std::int64_t index) const;
  // Blocks numbered point-major (point · blocks_per_point + index).
  BlockSpec block(std::int64_t flat_index) const;
  // The scenario at `point`: the base with the point's axis values set.
  Scenario scenario_of(std::int64_t point) const;
  // The model at `point`. Small plans keep every model; large ones keep point
  // 0 and build the others when they run (cached for the few points in
  // flight), so memory does not grow with the number of points.
  std::shared_ptr<const Model> model_of(std::int64_t point) const;
  // Simulates `spec` with `kernel`: a posterior run's block carries its
  // replications' parameter sets (ReplicationDraws), any other the point's.
  BlockResult simulate(const KernelTable& kernel, const BlockSpec& spec, const std::atomic<bool>* stop,
                       BlockResult buffer = {}) const;
  const Model& model(std::int64_t point) const { return *model_of(point); }

  // Points that share one simulation block (docs/sweeps.md, "Points that
  // share a block"): kBlockLanes / replications when every point runs the
  // same fixed count of at most kLaneGroup replications and some axis is a
  // field whose lanes keep their bits beside other points'
  // (shares_blocks_exactly); else 1. Every result is that of the point's
  // own block, bit for bit.
  int points_per_block() const;
  // Whether points a and b may share a block: they agree on every other axis.
  bool share_a_block(std::int64_t a, std::int64_t b) const;
  bool share_blocks = true;  // false: one block per point (the tests' reference)
  // Points whose per-replication data share one chunk of each per-replication
  // variable (docs/output.md, "Chunking, compression and cache"): the
  // aligned group of G points from a multiple of G, which always run as one
  // block, so that the worker that simulated them encodes the chunk whole.
  // G = points_per_block(), or fewer so that the sweep has at least
  // kChunkGroupsAtLeast groups for its threads and ranks to share, when any
  // two points may share a block (every axis keeps its lanes' bits), the
  // file holds per-replication data, the plan is not a shard (whose points
  // are not consecutive) and chunk_groups; else 1, a chunk per point.
  int points_per_chunk() const;
  static constexpr std::int64_t kChunkGroupsAtLeast = 32;
  // false: a chunk per point even so (a merge of shards, whose chunks it copies).
  bool chunk_groups = true;
  // Whether the file keeps --resume's sums (resume_*: a point's sums on the
  // step axis over its first blocks, in a few slots), from which --resume
  // continues a point it has not finished: only when a point has several
  // blocks (and the file per-replication data). A point of one block is
  // published whole or runs again, and --resume reads a published point's
  // summaries back instead.
  bool resume_sums_in_file() const { return write_runs && blocks_per_point() > 1; }
  // The slots of --resume's sums: two per point being summarized, for as many
  // points at once as kResumePointsAtOnce (a point beyond them is not
  // checkpointed until a slot frees, and runs again whole if the run is cut
  // off). HDF5 allocates a slot's chunk when it is first written.
  std::int64_t resume_slots() const {
    return resume_sums_in_file() ? 2 * std::min<std::int64_t>(point_count(), kResumePointsAtOnce) : 0;
  }
  static constexpr std::int64_t kResumePointsAtOnce = 32;
  // Of a file's finished blocks (one flag per block, point-major, as
  // block_done holds them), its points' published replications (0 for a
  // point not yet published) and the first blocks each point not published
  // continues from (resume_blocks(), from its resume sums), the blocks a
  // resumed run keeps: every finished block of a published point, the first
  // resume_blocks of another; and never the blocks of a chunk group not
  // wholly kept, which runs again as one block and writes its chunks again
  // whole, with the same bytes where they were done.
  // A partial file's block_done flags and published replications as far as
  // they agree with each other and the plan: a block is finished if its flag
  // is 1 (not any other value), and a point published only if its count is
  // one the plan allows and, with per-replication data, its blocks are all
  // finished. A file damaged otherwise would keep a summary never written.
  void trust_consistent(std::vector<std::uint8_t>& finished, std::vector<std::int64_t>& published) const;
  std::vector<std::uint8_t> kept_on_resume(std::vector<std::uint8_t> finished,
                                           const std::vector<std::int64_t>& published,
                                           const std::vector<std::int64_t>& resume_blocks) const;
  // Simulates `specs`, block 0 of as many points (at most points_per_block()),
  // in one block: `out` becomes one result per spec, in order, each as
  // simulate() gives it. `block` and `out`'s elements lend their memory.
  void simulate_points(const KernelTable& kernel, std::span<const BlockSpec> specs, const std::atomic<bool>* stop,
                       BlockResult& block, std::vector<BlockResult>& out) const;

  // Scenario choices: the axis "scenario" (column scenario_column) holds the
  // choice's index; the last choice_columns parameters are the fields whose
  // values differ between the choices (NaN where a choice has no such field).
  std::vector<ScenarioChoice> choices;
  int scenario_column = -1;
  int choice_columns = 0;
  std::vector<std::vector<double>> choice_values;  // per choice, the choice columns' values
  // For each point's re-run recipe: the scenario argument and the run's fixed
  // options (--seed, -n, run settings given with --set). Set by the caller.
  std::string scenario_label;
  std::vector<std::string> rerun_options;
  // The files the plan read besides the scenario and its options, one line
  // each with a digest of what was read ("choice LABEL DIGEST", "posterior
  // PATH DIGEST"): recorded in the output (root attribute `inputs`) so that
  // --resume and brink merge refuse a plan whose inputs changed since.
  std::string inputs;
  // A command that runs `point` alone: its scenario with its parameters set
  // (a scenario choice's point: the choice's file as named from the working
  // directory, with --no-file-sweep, so that no file's own sweep block runs).
  std::string rerun_command(std::int64_t point) const;

  std::shared_ptr<const Scenario> base;  // validated, every --set applied, no axis value
  std::vector<FieldRef> axis_fields;     // per sweep axis: the field it sets
  // Per scenario choice, the field each sweep axis sets in that choice's
  // scenario: a field is found by its path, whose action, issue or type names
  // may stand at another place in each file.
  std::vector<std::vector<FieldRef>> choice_axis_fields;
  std::vector<std::shared_ptr<const Model>> kept;  // small plans: every point's model; else point 0's
  std::shared_ptr<ModelCache> cache;               // large plans only
  std::shared_ptr<const ReplicationDraws> draws;   // posterior runs: parameters per replication
};

// The plan a loaded scenario describes: one point, or the points of its
// sweep. Every point is checked by the validation rules its axes touch (the
// rest hold for the base scenario); a problem names the point, its axis
// values and the field's place in the file. `recorded` (the --set overrides)
// become parameters of the file. Throws ScenarioError.
SweepPlan make_plan(const LoadedScenario& loaded, const std::vector<Override>& recorded,
                    std::vector<ScenarioChoice> choices = {});

// Reads the scenario choices of the sweep (`sweep.scenarios`, relative to the
// base file; or `--sweep scenario=...`, relative to the working directory),
// each with `settings` (the run's --set and flags), checks that each shares
// the base's actors, rungs, issues, types and run settings, that every axis
// exists in it and that its whole declared range is valid there, and puts the
// "scenario" axis first (a grid axis, or a lever of a sampled design).
// Throws ScenarioError naming the file and the difference. With `recorded`
// (one text per choice, as an output file holds them) no file is read.
std::vector<ScenarioChoice> load_scenario_choices(LoadedScenario& loaded, const std::string& base_label,
                                                  const std::vector<Override>& settings,
                                                  const std::vector<std::string>& recorded = {});

// Sets what each point's re-run recipe needs besides the point: the scenario
// argument, --seed, -n `replications` (fixed counts; a posterior run's is its
// total, which it shares out among its draws) and the --set options among
// `settings` the point's parameters do not give.
void set_rerun_recipe(SweepPlan* plan, const std::string& scenario_label, const std::vector<Override>& settings,
                      std::int64_t replications);

// Appends the --set paths among `recorded` that `plan` does not list (model
// parameters only, as make_plan records them) as fixed parameters, their
// values at every point: a posterior plan, whose points are draws, records
// its --set options where an ordinary run does.
void append_fixed_parameters(const LoadedScenario& loaded, const std::vector<Override>& recorded, SweepPlan* plan);

// One point: the scenario with its overrides (kept for tests and benchmarks).
SweepPlan single_point_plan(const LoadedScenario& loaded, const std::vector<Override>& overrides);

}  // namespace brink
