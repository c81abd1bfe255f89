// The output file's variables, declared once (docs/output.md): every row of
// variable_table() says what a variable is (name, dimensions, type, units,
// attributes), how it is stored (chunks, filters, cache, fill) and where its
// data comes from. The writer creates and fills the file by looping over the
// table, `--resume` reads blocks back through it, `brink inspect` rebuilds
// its summaries through it, and a test checks it against docs/output.md.
// No HDF5 type appears here.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "brink/model/block_result.hpp"
#include "brink/sweep/morris.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

struct SweepPlan;

// The file's dimensions, in the order they are created.
enum class Dim : std::uint8_t {
  kPoint,
  kReplication,
  kBlock,
  kActor,
  kPool,
  kOutcome,
  kRung,
  kAction,
  kType,
  kQuantile,
  kIssue,
  kOutput,
  kParameter,
  kStep,
  kSlot,  // resume_slot: the slots of --resume's sums (Hdf5Writer, "resume sums")
};
inline constexpr int kDimCount = 15;
std::string_view dimension_name(Dim dim);

struct Dims {
  constexpr Dims() = default;
  constexpr Dims(std::initializer_list<Dim> list) {
    for (Dim d : list) axis[rank++] = d;
  }
  constexpr const Dim* begin() const { return axis.data(); }
  constexpr const Dim* end() const { return axis.data() + rank; }
  constexpr bool has(Dim d) const {
    for (Dim a : *this)
      if (a == d) return true;
    return false;
  }
  std::array<Dim, 5> axis{};
  int rank = 0;
};

// Stored element types. kStepCount is a count bounded by the number of steps:
// int16 when the scenario has at most 32,767 steps, else int32.
enum class Dtype : std::uint8_t { kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64, kString, kStepCount };
std::string_view dtype_name(Dtype dtype);  // numpy's spelling: int8 … float64, string
std::size_t dtype_size(Dtype dtype);       // bytes of one element (strings: 0)

enum class Kind : std::uint8_t {
  kDimension,    // a dimension's coordinate variable (or a bare netCDF dimension)
  kConstant,     // per-scenario or per-plan values written at creation
  kPerRun,       // one value per replication, written block by block
  kSeries,       // per replication and step entry (--timeseries)
  kResumeSums,   // a slot of --resume's sums over a point's first blocks, written by the writer
  kBookkeeping,  // which blocks are in the file
  kPerPoint,     // per-point summaries, written when a point is finished
  kSensitivity,  // Sobol indices, written after the last point
  kMorris,       // Morris screening measures, written after the last point
};
std::string_view kind_name(Kind kind);

// When a variable is in the file.
enum class When : std::uint8_t {
  kAlways,
  kRuns,         // not with --summary-only
  kRunsIssues,   // not with --summary-only, and the scenario has negotiation issues
  kSeries,       // --timeseries and not --summary-only
  kSensitivity,  // --sensitivity
  kIndices,      // --sensitivity or --design morris (the `output` dimension)
  kMorris,       // --design morris
  // Not with --summary-only, and the scenario has a bargaining section.
  kRunsBargaining,
  // Not with --summary-only, and a point has several blocks
  // (SweepPlan::resume_sums_in_file).
  kRunsResumeSums,
};

enum class Storage : std::uint8_t {
  kContiguous,
  // Chunks of `chunk` (per axis; 0 = the whole axis, kPointsThatFit on
  // `point`; capped at the axis length), no filter, written by the writer
  // thread with H5Dwrite.
  kChunked,
  // One chunk per block: extent min(256, N) along `replication` or 1 along
  // `block`, FileLayout::points_per_block_chunk along `point` (1 but for
  // points that share a block), whole along the other axes; HDF5's shuffle
  // and deflate(1) filters. The worker that simulated the block encodes the
  // chunk (encode_chunks) and the writer stores the bytes with H5Dwrite_chunk.
  kBlockChunks,
};

enum class Fill : std::uint8_t {
  kNone,  // written in full before anyone reads it (HDF5's default fill, 0)
  // Replications never run (adaptive runs) hold the fill value, also written
  // as `_FillValue` so that xarray and netCDF readers decode them as missing:
  // NaN for floats, netCDF's default fill for integers (missing_integer),
  // which no real value takes (-1 keeps its meaning "never" in step variables).
  kMissing,
};
// netCDF's default fill value of a signed integer type: -127, -32767,
// -2147483647, -9223372036854775806.
std::int64_t missing_integer(std::size_t bytes);

// CF flag_values / flag_meanings: fixed names, or indices into the rung
// coordinate or into each actor's type names.
enum class Flags : std::uint8_t { kNone, kOutcome, kAllianceWarCause, kRung, kResolveType };

// The file format's version (root attribute `format_version`). It changes
// whenever a name, a dimension, a unit or the meaning of a value changes, so
// that --resume and inspect refuse files they would misread.
// 4: --resume's sums live in a few slots (resume_*) instead of per block (block_*_sum, block_rung_count).
inline constexpr std::int32_t kFormatVersion = 4;

// Values of a whole constant variable, or of one point's row of a per-point one.
using Values = std::variant<std::vector<std::int8_t>, std::vector<std::int32_t>, std::vector<std::int64_t>,
                            std::vector<double>, std::vector<std::string>>;
// A per-replication field of a block; the stored type may be narrower (the
// encoder converts on the worker thread).
using BlockField = std::variant<std::monostate, std::vector<std::int8_t> BlockResult::*,
                                std::vector<std::int16_t> BlockResult::*, std::vector<std::int32_t> BlockResult::*,
                                std::vector<float> BlockResult::*, std::vector<double> BlockResult::*>;

struct VariableSpec {
  std::string_view name;
  Kind kind = Kind::kConstant;
  When when = When::kAlways;
  Dims dims;
  Dtype dtype = Dtype::kFloat64;
  std::string_view units;      // empty: no units attribute (string variables)
  std::string_view long_name;  // netCDF long_name
  Flags flags = Flags::kNone;
  bool day_coordinate = false;  // CF `coordinates = "day"` (variables on the step axis)
  Storage storage = Storage::kContiguous;
  std::array<std::uint32_t, 5> chunk{};  // kChunked only
  Fill fill = Fill::kNone;
  bool bare = false;  // kDimension without values (netCDF dimension, not variable)
  // Where the data comes from (one of these, by kind):
  Values (*constant)(const SweepPlan&) = nullptr;  // kDimension, kConstant: written at creation
  // kConstant on `point` alone, rows [first, first + count): written at creation a slice at a time, so
  // that a plan of millions of points never holds them all (e.g. a command string per point).
  Values (*constant_rows)(const SweepPlan&, std::int64_t first, std::int64_t count) = nullptr;
  BlockField block{};                                          // kPerRun, kSeries
  bool resume = false;                                         // read back by --resume (read_block)
  Values (*from_summary)(const PointSummary&) = nullptr;       // kPerPoint: the point's row
  void (*to_summary)(PointSummary&, const Values&) = nullptr;  // kPerPoint, `day`: read back by inspect
  double SobolIndex::*sobol = nullptr;                         // kSensitivity
  double MorrisIndex::*morris = nullptr;                       // kMorris
};

// Names that code refers to individually; every other name is in the table only.
namespace var {
inline constexpr std::string_view kBlockDone = "block_done";
inline constexpr std::string_view kOutcomeCode = "outcome_code";
inline constexpr std::string_view kReplications = "replications";  // written last: publishes a point
inline constexpr std::string_view kParameterValue = "parameter_value";
inline constexpr std::string_view kDay = "day";
// --resume's sums (ResumeSums): a slot's header, then its sums.
inline constexpr std::string_view kResumePoint = "resume_point";
inline constexpr std::string_view kResumeBlocks = "resume_blocks";
inline constexpr std::string_view kResumeChecksum = "resume_checksum";
inline constexpr std::string_view kResumeRungCount = "resume_rung_count";
inline constexpr std::string_view kResumeTroopsSum = "resume_troops_sum";
inline constexpr std::string_view kResumeBeliefSum = "resume_belief_sum";
}  // namespace var

// Whether HDF5 keeps a Fletcher-32 checksum of each of the variable's chunks,
// so that a reader is refused damaged bytes instead of given them: the
// summaries, constants and marks the writer writes with H5Dwrite. Block
// chunks carry deflate's zlib checksum already, and the resume slots their
// own header checksum (a slot cut off mid-write must read as invalid, not fail).
constexpr bool checksummed(const VariableSpec& v) {
  return v.storage == Storage::kChunked && v.kind != Kind::kResumeSums;
}

// Every variable a file can hold, in creation order.
std::span<const VariableSpec> variable_table();
const VariableSpec& find_variable(std::string_view name);  // throws std::out_of_range

// Each parameter path's coordinate variable along `point` (its dotted path is
// in the attribute `parameter_path`): the path with every character other
// than a letter, digit or '_' turned into '_' ("actors.RUS.forces.deployed"
// -> "actors_RUS_forces_deployed"), made unique against the table's names
// and each other by a numeric suffix. A name longer than kMaxVariableName
// bytes keeps its first bytes and ends in '_' and the path's content_digest
// (16 hex digits), the suffix after it. netCDF-C reads a name into
// NC_MAX_NAME (256) bytes with its terminating NUL: a 256-byte name it reads
// past the end of (files that open only sometimes, without the variable).
inline constexpr std::size_t kMaxVariableName = 255;
std::vector<std::string> parameter_coordinate_names(const std::vector<std::string>& paths);
// A scenario field's unit text as a UDUNITS-2 unit, from the field table
// (FieldSpec::udunits, through udunits_of_unit): "day" for days, "1" for
// counts and dimensionless quantities (troops, steps, probabilities, shares,
// "" ...), "1/day" for rates per day.
std::string udunits_of(std::string_view scenario_unit);

// The outputs a sensitivity analysis decomposes (summary_outputs' order):
// probability_<outcome> for each outcome, probability_war, then mean_casualties_<actor>.
std::vector<std::string> sensitivity_output_names(const std::vector<std::string>& actors);

// A chunk extent along `point` (a per-point summary, block_done): as many
// points as fit in kPointChunkBytes, evened out over the chunks the axis
// needs (FileLayout::points_per_chunk). Their rows arrive a point at a time
// and are assembled in the writer's chunk cache, kPointChunksCached chunks
// per variable (points finish nearly in order: a chunk is complete, and
// leaves the cache, soon after it starts); a chunk per point would cost a
// disk write and an index entry per point and variable.
inline constexpr std::uint32_t kPointsThatFit = 0xFFFFFFFFu;
inline constexpr std::uint64_t kPointChunkBytes = 256 * 1024;
inline constexpr std::size_t kPointChunksCached = 4;

// The shape of one run's file: dimension lengths and which variables exist.
struct FileLayout {
  std::array<std::uint64_t, kDimCount> size{};
  bool runs = true, series = false, sensitivity = false, issues = false, morris = false, bargaining = false;
  bool resume_sums = false;  // SweepPlan::resume_sums_in_file
  int steps = 0;             // simulation steps (resolves Dtype::kStepCount)
  // Points in one chunk of a kBlockChunks variable (SweepPlan::points_per_chunk).
  std::uint64_t points_per_block_chunk = 1;
  // A --shard file (SweepPlan::sharded): its points are dealt round-robin, so
  // a chunk of consecutive points would hold a point of every shard and be
  // allocated whole in each; its per-point chunks (kPointsThatFit) hold one
  // point instead, and a shard takes the disk of its own points only.
  bool shard = false;

  std::uint64_t length(Dim d) const { return size[static_cast<int>(d)]; }
  bool present(const VariableSpec& v) const;
  Dtype dtype(const VariableSpec& v) const;  // kStepCount resolved
  std::vector<std::uint64_t> shape(const VariableSpec& v) const;
  std::vector<std::uint64_t> chunk(const VariableSpec& v) const;  // empty: contiguous
  // The writer's HDF5 chunk cache for `v` (H5Pset_chunk_cache's bytes): 0
  // but for chunks of several points (block chunks are stored whole).
  std::size_t cache_bytes(const VariableSpec& v) const;
  // Points in a chunk of `v` when its chunk extent on `point` is kPointsThatFit.
  std::uint64_t points_per_chunk(const VariableSpec& v) const;
  // Elements of one chunk of `v`, and the offset in the file of the chunk
  // (kBlockChunks) that starts with `block` (the first of its chunk group).
  std::uint64_t chunk_elements(const VariableSpec& v) const;
  std::vector<std::uint64_t> chunk_offset(const VariableSpec& v, const BlockSpec& block) const;
  // Whether `point`'s blocks are stored in a chunk of their own or one that
  // starts with them, not in one that an earlier point's block starts.
  bool starts_block_chunk(std::int64_t point) const {
    return static_cast<std::uint64_t>(point) % points_per_block_chunk == 0;
  }
};
FileLayout file_layout(const SweepPlan& plan);
// HDF5 stores a chunk of at most 4 GiB (its sizes are 32-bit): "" if every
// chunk of `layout` fits, else one sentence naming the first variable whose
// chunk does not, its extents and size. A run that long must be refused
// before it starts, not when the file is created.
std::string oversized_chunk_problem(const FileLayout& layout);
// The bytes the file of `plan` holds before compression: every variable of
// the table, its strings included (a per-point string such as rerun_command
// measured on a sample of points, with HDF5's reference and heap header per
// string), and the coordinate variables of the parameters; HDF5's other
// metadata left out. A shard counts its own points only. What the run may
// write, for the free-space check (cli/output_target.hpp).
struct OutputBytes {
  std::uint64_t total = 0;
  // The part stored without compression: the numeric per-point summaries,
  // constants and coordinates, which take their full size whatever the data.
  std::uint64_t uncompressed = 0;
  // Adaptive replications: every point counted at run.replications.min
  // (`min_replications`), since most stop far below max; a lower bound.
  bool lower_bound = false;
  std::int64_t min_replications = 0;
};
OutputBytes output_bytes(const SweepPlan& plan);

// HDF5's shuffle filter followed by its deflate filter at level 1, applied to
// `v`'s chunk of `points`, the blocks of one chunk (one block, or a block of
// each point of a chunk group, in order), padded with the fill value past
// their replications: the exact bytes HDF5 would store. Thread-safe; no HDF5
// call.
std::vector<std::uint8_t> encode_chunk(const VariableSpec& v, const FileLayout& layout,
                                       std::span<const BlockResult> points);
// Encodes the chunks of `variables` for one simulated block's points'
// results, in order: each chunk's bytes go to the `encoded` of the result
// that starts it (FileLayout::starts_block_chunk), in the order of
// `variables`; the chunk group's other points keep none. Throws
// std::logic_error if a chunk group is not whole.
void encode_chunks(const FileLayout& layout, std::span<const VariableSpec* const> variables,
                   std::span<BlockResult> points);

}  // namespace brink
