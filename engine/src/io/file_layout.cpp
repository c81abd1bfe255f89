// A plan's file layout: which variables of the table (variables.cpp) its
// file holds, with their types, shapes and chunks.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "brink/io/variables.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

using D = Dim;

FileLayout file_layout(const SweepPlan& plan) {
  const Model& model = plan.model(0);
  const Scenario& sc = model.scenario();
  FileLayout l;
  auto set = [&](Dim d, std::size_t n) { l.size[static_cast<int>(d)] = n; };
  set(D::kPoint, plan.points.size());
  set(D::kReplication, static_cast<std::size_t>(plan.replications));
  set(D::kBlock, static_cast<std::size_t>(plan.blocks_per_point()));
  set(D::kActor, static_cast<std::size_t>(model.actors()));
  set(D::kPool, kPoolCount);
  set(D::kOutcome, kOutcomeCount);
  set(D::kRung, sc.escalation.rungs.size());
  set(D::kAction, kActionKindCount);
  set(D::kType, static_cast<std::size_t>(sc.type_slots()));
  set(D::kQuantile, kQuantiles.size());
  set(D::kIssue, sc.negotiation.issues.size());
  set(D::kOutput, plan.sensitivity || plan.morris ? summary_output_count(static_cast<std::size_t>(model.actors())) : 0);
  set(D::kParameter, plan.parameters.size());
  set(D::kStep, static_cast<std::size_t>(model.records()));
  set(D::kSlot, static_cast<std::size_t>(plan.resume_slots()));
  l.runs = plan.write_runs;
  l.series = plan.write_runs && plan.output().timeseries_every > 0;
  l.sensitivity = plan.sensitivity;
  l.morris = plan.morris;
  l.issues = !sc.negotiation.issues.empty();
  l.bargaining = sc.bargaining.enabled();
  l.steps = model.steps();
  l.points_per_block_chunk = static_cast<std::uint64_t>(plan.points_per_chunk());
  l.resume_sums = plan.resume_sums_in_file();
  l.shard = plan.sharded();
  return l;
}

std::string oversized_chunk_problem(const FileLayout& layout) {
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 32;
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v)) continue;
    const std::vector<std::uint64_t> chunk = layout.chunk(v);
    if (chunk.empty()) continue;
    // In long double: the product of the extents can pass 2^64.
    long double bytes = static_cast<long double>(std::max<std::size_t>(1, dtype_size(layout.dtype(v))));
    std::string extents;
    for (int i = 0; i < v.dims.rank; ++i) {
      bytes *= static_cast<long double>(chunk[static_cast<std::size_t>(i)]);
      extents += fmt::format("{}{}={}", extents.empty() ? "" : ", ", dimension_name(v.dims.axis[i]),
                             chunk[static_cast<std::size_t>(i)]);
    }
    if (bytes >= static_cast<long double>(kLimit))
      return fmt::format(
          "variable '{}' would be stored in chunks of {:.0f} bytes ({}), and HDF5 stores a chunk of less than 4 GiB "
          "({} bytes)",
          v.name, static_cast<double>(bytes), extents, kLimit);
  }
  return {};
}

bool FileLayout::present(const VariableSpec& v) const {
  switch (v.when) {
    case When::kAlways:
      return true;
    case When::kRuns:
      return runs;
    case When::kRunsIssues:
      return runs && issues;
    case When::kRunsBargaining:
      return runs && bargaining;
    case When::kRunsResumeSums:
      return resume_sums;
    case When::kSeries:
      return series;
    case When::kSensitivity:
      return sensitivity;
    case When::kIndices:
      return sensitivity || morris;
    case When::kMorris:
      return morris;
  }
  return false;
}

Dtype FileLayout::dtype(const VariableSpec& v) const {
  if (v.dtype != Dtype::kStepCount) return v.dtype;
  return steps <= 32767 ? Dtype::kInt16 : Dtype::kInt32;
}

std::vector<std::uint64_t> FileLayout::shape(const VariableSpec& v) const {
  std::vector<std::uint64_t> out;
  for (Dim d : v.dims) out.push_back(length(d));
  return out;
}

std::vector<std::uint64_t> FileLayout::chunk(const VariableSpec& v) const {
  std::vector<std::uint64_t> out;
  if (v.storage == Storage::kContiguous) return out;
  for (int i = 0; i < v.dims.rank; ++i) {
    const Dim d = v.dims.axis[i];
    std::uint64_t extent = length(d);
    if (v.storage == Storage::kBlockChunks) {
      if (d == D::kPoint) extent = std::min(points_per_block_chunk, extent);
      if (d == D::kBlock) extent = 1;
      if (d == D::kReplication) extent = std::min<std::uint64_t>(kBlockLanes, extent);
    } else if (v.chunk[i] == kPointsThatFit) {
      extent = std::min<std::uint64_t>(points_per_chunk(v), extent);
    } else if (v.chunk[i] > 0) {
      extent = std::min<std::uint64_t>(v.chunk[i], extent);
    }
    out.push_back(std::max<std::uint64_t>(1, extent));
  }
  return out;
}

// The bytes of a chunk's row (its extents past the first axis), then as many
// rows as fit in kPointChunkBytes, evened out over the chunks the point axis
// needs so that the last one is not mostly padding.
std::uint64_t FileLayout::points_per_chunk(const VariableSpec& v) const {
  std::uint64_t row = std::max<std::uint64_t>(1, dtype_size(dtype(v)));
  for (int i = 1; i < v.dims.rank; ++i) {
    const std::uint64_t n = length(v.dims.axis[i]);
    row *= std::max<std::uint64_t>(1, v.chunk[i] > 0 ? std::min<std::uint64_t>(v.chunk[i], n) : n);
  }
  if (shard) return 1;
  const std::uint64_t fit = std::max<std::uint64_t>(1, kPointChunkBytes / row);
  const std::uint64_t points = std::max<std::uint64_t>(1, length(D::kPoint));
  const std::uint64_t chunks = (points + fit - 1) / fit;
  return (points + chunks - 1) / chunks;
}

std::size_t FileLayout::cache_bytes(const VariableSpec& v) const {
  if (v.storage != Storage::kChunked || v.chunk[0] != kPointsThatFit) return 0;
  if (chunk(v)[0] <= 1) return 0;  // a row is a whole chunk: written as it comes
  return static_cast<std::size_t>(chunk_elements(v) * std::max<std::uint64_t>(1, dtype_size(dtype(v)))) *
         kPointChunksCached;
}

std::uint64_t FileLayout::chunk_elements(const VariableSpec& v) const {
  std::uint64_t n = 1;
  for (std::uint64_t e : chunk(v)) n *= e;
  return n;
}

std::vector<std::uint64_t> FileLayout::chunk_offset(const VariableSpec& v, const BlockSpec& block) const {
  if (!starts_block_chunk(block.point))
    throw std::logic_error("point " + std::to_string(block.point) + " does not start a chunk of " +
                           std::string(v.name));
  std::vector<std::uint64_t> out;
  for (Dim d : v.dims)
    out.push_back(d == D::kPoint         ? static_cast<std::uint64_t>(block.point)
                  : d == D::kReplication ? static_cast<std::uint64_t>(block.first_replication)
                  : d == D::kBlock       ? static_cast<std::uint64_t>(block.first_replication / kBlockLanes)
                                         : 0);
  return out;
}

namespace {

// A variable-length string in the file: its 16-byte reference in the dataset,
// and its bytes in a global heap object with a 16-byte header, padded to 8.
std::uint64_t stored_string_bytes(std::uint64_t length) { return 16 + 16 + (length + 7) / 8 * 8; }

// The bytes of `rows` rows of a string variable written by rows
// (rerun_command: one per point, tens of bytes per parameter), from the mean
// length of at most 64 rows spread over them.
std::uint64_t sampled_rows_bytes(const VariableSpec& v, const SweepPlan& plan, std::uint64_t rows) {
  if (rows == 0) return 0;
  const std::uint64_t samples = std::min<std::uint64_t>(rows, 64);
  std::uint64_t sampled = 0;
  for (std::uint64_t i = 0; i < samples; ++i) {
    const auto row = static_cast<std::int64_t>(i * (rows - 1) / std::max<std::uint64_t>(1, samples - 1));
    const Values values = v.constant_rows(plan, row, 1);  // kept: the loop reads into it
    for (const std::string& text : std::get<std::vector<std::string>>(values))
      sampled += stored_string_bytes(text.size());
  }
  return (sampled * rows + samples - 1) / samples;
}

// The element count of `v` in its file, a shard's own points only.
std::uint64_t elements_written(const VariableSpec& v, const FileLayout& layout, const SweepPlan& plan) {
  std::uint64_t elements = 1;
  for (std::uint64_t extent : layout.shape(v)) elements *= extent;
  if (plan.sharded() && v.dims.rank > 0 && v.dims.axis[0] == D::kPoint && plan.point_count() > 0)
    elements =
        elements / static_cast<std::uint64_t>(plan.point_count()) * static_cast<std::uint64_t>(plan.points_run());
  return elements;
}

// Whether a finished file holds `v` at its full size whatever its values:
// the numeric per-point summaries, written for every point run, in chunks
// with no compression filter (Fletcher-32 only).
bool stored_whole(const VariableSpec& v, const FileLayout& layout) {
  return v.kind == Kind::kPerPoint && layout.dtype(v) != Dtype::kString && v.storage != Storage::kBlockChunks;
}

}  // namespace

OutputBytes output_bytes(const SweepPlan& plan) {
  FileLayout layout = file_layout(plan);
  OutputBytes out;
  if (plan.rule.adaptive && plan.rule.min < plan.replications) {
    const std::int64_t blocks = (plan.rule.min + kBlockLanes - 1) / kBlockLanes;
    out.lower_bound = true;
    out.min_replications = plan.rule.min;
    layout.size[static_cast<int>(D::kReplication)] =
        static_cast<std::uint64_t>(std::min(plan.replications, blocks * kBlockLanes));
    layout.size[static_cast<int>(D::kBlock)] = static_cast<std::uint64_t>(blocks);
  }
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v)) continue;
    const std::vector<std::uint64_t> shape = layout.shape(v);
    if (layout.dtype(v) != Dtype::kString) {
      const std::uint64_t bytes = elements_written(v, layout, plan) * dtype_size(layout.dtype(v));
      out.total += bytes;
      if (stored_whole(v, layout)) out.uncompressed += bytes;
    } else if (v.constant_rows) {
      out.total += sampled_rows_bytes(v, plan, shape.empty() ? 0 : shape[0]);
    } else if (v.constant) {
      const Values values = v.constant(plan);
      for (const std::string& text : std::get<std::vector<std::string>>(values))
        out.total += stored_string_bytes(text.size());
    }
  }
  // One float64 coordinate variable along `point` per parameter (and, for a
  // posterior's draws with per-replication data, one on point × replication).
  const std::uint64_t points = layout.length(Dim::kPoint);
  const std::uint64_t coordinates = points * plan.parameters.size() * sizeof(double);
  out.total += coordinates;
  out.uncompressed += coordinates;
  if (plan.draws && layout.runs)
    out.total += points * layout.length(Dim::kReplication) * plan.draws->parameters.size() * sizeof(double);
  return out;
}

}  // namespace brink
