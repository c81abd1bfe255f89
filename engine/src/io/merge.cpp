#include "brink/io/merge.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

#include "brink/io/recorder.hpp"
#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/version.hpp"
#include "hdf5_recovery.hpp"
#include "hdf5_util.hpp"

namespace brink {

using h5::check;
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The checks that need no attribute of the file: it exists, is finished and is HDF5.
void check_shard_file(const std::string& path) {
  std::error_code ec;
  if (ends_with(path, ".partial") && fs::exists(path, ec))
    throw MergeRefused(
        fmt::format("'{}' is an unfinished shard (a .partial file); finish its run with the same 'brink run --shard' "
                    "command and --resume, then merge the finished file",
                    path));
  if (!fs::exists(path, ec)) {
    if (fs::exists(path + ".partial", ec))
      throw MergeRefused(fmt::format(
          "no shard file '{}', only '{}.partial': that shard has not finished; finish it with the same 'brink run "
          "--shard' command and --resume",
          path, path));
    throw MergeRefused(fmt::format("no shard file '{}'", path));
  }
  if (!is_hdf5_file(path)) {
    if (const int error = check_not_short_of_resources(path); error != 0)
      throw MergeRefused(fmt::format("cannot open the shard '{}': {}", path, std::strerror(error)));
    throw MergeRefused(fmt::format("'{}' is not an HDF5 file (or cannot be read)", path));
  }
}

// Why a file with HDF5's signature does not open: this process ran short
// (ResourceShortage), it may not be read, or it is damaged or cut short (a
// copy that stopped, a full disk).
[[noreturn]] void refuse_unopenable(const std::string& path) {
  if (const int error = check_not_short_of_resources(path); error != 0)
    throw MergeRefused(fmt::format("cannot open the shard '{}': {}", path, std::strerror(error)));
  throw MergeRefused(
      fmt::format("'{}' is an HDF5 file that HDF5 cannot open (damaged or cut short); run its shard again", path));
}

// A merge holds every shard open at once (their points interleave): the soft
// open-file limit is raised, as far as the hard one allows, to `shards` plus
// room for the output, its lock, the kernels and standard streams.
void make_room_for(std::size_t shards) {
  constexpr rlim_t kRoom = 32;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const rlim_t wanted = static_cast<rlim_t>(shards) + kRoom;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &limit);  // if refused, a shard's open names the limit
}

}  // namespace

ShardInfo read_shard_info(const std::string& path) {
  check_shard_file(path);
  const hid_t id = open_read_only(path);
  if (id < 0) refuse_unopenable(path);
  const Handle file = file_handle(id, "open " + path);
  if (h5::read_string_attribute(id, "engine") != "brink")
    throw MergeRefused(fmt::format("'{}' is not a brink result (its attribute 'engine' is not 'brink')", path));
  const std::int64_t version = h5::read_int64_attribute(id, "format_version").value_or(1);
  if (version != kFormatVersion)
    throw MergeRefused(
        fmt::format("'{}' is in brink output format {} and this brink merges format {}; run its shard again with "
                    "this brink",
                    path, version, kFormatVersion));
  if (const std::string problem = brink_layout_problem(path); !problem.empty())
    throw MergeRefused(fmt::format("'{}' is not a readable brink result: {}", path, problem));
  ShardInfo s;
  s.path = path;
  const std::optional<std::int64_t> index = h5::read_int64_attribute(id, kShardIndexAttribute);
  const std::optional<std::int64_t> count = h5::read_int64_attribute(id, kShardCountAttribute);
  const std::optional<std::int64_t> points = h5::read_int64_attribute(id, kShardPlanPointsAttribute);
  if (!index || !count || !points)
    throw MergeRefused(fmt::format("'{}' is not a shard: it was not written by 'brink run --shard I/N'", path));
  s.index = *index;
  s.count = *count;
  s.plan_points = *points;
  if (s.count < 1 || s.index < 0 || s.index >= s.count || s.plan_points < 0)
    throw MergeRefused(
        fmt::format("'{}' records an impossible shard {}/{} of {} points", path, s.index, s.count, s.plan_points));
  if (h5::read_int64_attribute(id, "complete").value_or(0) != 1)
    throw MergeRefused(
        fmt::format("'{}' is an unfinished shard ({}/{}: its run did not finish); run it again with --resume", path,
                    s.index, s.count));
  s.seed = static_cast<std::uint64_t>(h5::read_int64_attribute(id, "seed").value_or(0));
  s.engine_version = h5::read_string_attribute(id, "engine_version");
  s.engine_fingerprint = h5::read_string_attribute(id, "engine_fingerprint");
  s.target_isa = h5::read_string_attribute(id, "target_isa");
  s.scenario_label = h5::read_string_attribute(id, "scenario_source");
  s.scenario_text = h5::read_string_attribute(id, "scenario");
  s.overrides = h5::read_string_attribute(id, "overrides");
  if (const std::string problem = h5::recorded_text_problem(id); !problem.empty())
    throw MergeRefused(fmt::format("'{}' is damaged: {}; run that shard again", path, problem));
  s.inputs = h5::read_string_attribute(id, "inputs");
  if (const std::string labels = h5::read_string_attribute(id, "scenario_choices"); !labels.empty()) {
    const auto count = 1 + std::count(labels.begin(), labels.end(), '\n');
    for (std::ptrdiff_t k = 0; k < count; ++k)
      s.choice_texts.push_back(h5::read_string_attribute(id, fmt::format("scenario_choice_{}", k).c_str()));
  }
  return s;
}

void check_shard_set(const std::vector<ShardInfo>& shards) {
  if (shards.empty()) throw MergeRefused("no shard files to merge");
  const ShardInfo& first = shards.front();
  for (const ShardInfo& s : shards) {
    auto differs = [&](const std::string& what, const std::string& which = {}) {
      throw MergeRefused(fmt::format(
          "'{}' and '{}' are shards of different runs: {} differs{}; merge the shards of one 'brink run' only",
          first.path, s.path, what, which.empty() ? which : " (" + which + ")"));
    };
    if (s.scenario_text != first.scenario_text) differs("the scenario");
    if (s.seed != first.seed) differs("the seed");
    if (s.overrides != first.overrides)
      differs("the list of --set, sweep and run options",
              first_difference(first.overrides, s.overrides, fmt::format("in '{}'", first.path),
                               fmt::format("in '{}'", s.path)));
    if (s.inputs != first.inputs) differs("a file the run read (a scenario choice or the --posterior calibration)");
    if (s.count != first.count) differs(fmt::format("the shard count ({} against {})", first.count, s.count));
    if (s.plan_points != first.plan_points) differs("the plan's point count");
    if (s.engine_version != first.engine_version) differs("the brink version");
    if (s.engine_fingerprint != first.engine_fingerprint) differs("the brink build (attribute engine_fingerprint)");
    if (s.target_isa != first.target_isa) differs("the instruction-set path");
  }
  if (first.engine_version != engine_version())
    throw MergeRefused(
        fmt::format("'{}' was written by brink {} and this is brink {}; merge with the brink that ran "
                    "the shards",
                    first.path, first.engine_version, engine_version()));
  if (first.engine_fingerprint != engine_fingerprint())
    throw MergeRefused(fmt::format(
        "'{}' was written by another brink build (engine sources {}, this one's {}; brink --version shows them); "
        "merge with the brink that ran the shards",
        first.path, first.engine_fingerprint.empty() ? std::string("not recorded") : first.engine_fingerprint,
        engine_fingerprint()));
  std::vector<const ShardInfo*> by_index(static_cast<std::size_t>(first.count), nullptr);
  for (const ShardInfo& s : shards) {
    const ShardInfo*& slot = by_index[static_cast<std::size_t>(s.index)];
    if (slot)
      throw MergeRefused(fmt::format("'{}' and '{}' are both shard {}/{}; give each shard once", slot->path, s.path,
                                     s.index, s.count));
    slot = &s;
  }
  std::vector<std::int64_t> missing;
  for (std::size_t i = 0; i < by_index.size(); ++i)
    if (!by_index[i]) missing.push_back(static_cast<std::int64_t>(i));
  if (!missing.empty())
    throw MergeRefused(fmt::format("shard{} {} of {} {} missing (given: {} file{})", missing.size() == 1 ? "" : "s",
                                   fmt::join(missing, ", "), first.count, missing.size() == 1 ? "is" : "are",
                                   shards.size(), shards.size() == 1 ? "" : "s"));
}

namespace {

// One shard file, open read-only, with the datasets of its blocks.
class ShardReader {
 public:
  ShardReader(const ShardInfo& info, const SweepPlan& plan, const FileLayout& layout,
              const std::vector<const VariableSpec*>& block_variables)
      : path_(info.path), layout_(layout), variables_(block_variables) {
    const hid_t id = open_read_only(path_);
    if (id < 0) refuse_unopenable(path_);
    file_ = file_handle(id, "open " + path_);
    const Values done = damaged_if_unread([&] {
      for (const VariableSpec* v : variables_) open(*v);
      for (const VariableSpec& v : variable_table())  // its points' summaries are read back, not rebuilt
        if (v.to_summary && layout.present(v)) open(v);
      open(find_variable(var::kBlockDone));
      return h5::read_values(dataset(var::kBlockDone), Dtype::kInt8);
    });
    const auto& flags = std::get<std::vector<std::int8_t>>(done);
    done_.assign(flags.begin(), flags.end());
    // Blocks of another shard's points would be silently dropped: refuse them.
    for (std::size_t i = 0; i < done_.size(); ++i) {
      const std::int64_t point = static_cast<std::int64_t>(i) / plan.blocks_per_point();
      if (done_[i] && point % info.count != info.index)
        throw MergeRefused(fmt::format("'{}' holds blocks of point {}, which is not in its shard {}/{}", path_, point,
                                       info.index, info.count));
    }
  }

  bool done(std::int64_t flat_block) const { return done_[static_cast<std::size_t>(flat_block)] != 0; }

  // f(), with a failure to read the shard (damaged metadata, a chunk that
  // fails its checksum) reported as the damaged input it is.
  template <class F>
  auto damaged_if_unread(F f) const -> decltype(f()) {
    try {
      return f();
    } catch (const DamagedInput& e) {  // names the file as damaged already
      throw MergeRefused(fmt::format("{}; run that shard again", e.what()));
    } catch (const OutputError& e) {
      throw MergeRefused(fmt::format("'{}' is damaged ({}); run that shard again", path_, e.what()));
    }
  }

  // The summary of `point` as its run computed and wrote it; one that no run
  // writes (an edited file) is refused, not copied into a file that reads as whole.
  PointSummary read_summary(std::int64_t point) const {
    PointSummary summary = damaged_if_unread([&] {
      return h5::read_point_summary(
          layout_, [&](std::string_view name) { return dataset(name); }, point, path_);
    });
    const std::int64_t slots = layout_.runs ? static_cast<std::int64_t>(layout_.length(Dim::kReplication)) : -1;
    if (const std::string problem = h5::summary_problem(summary, slots); !problem.empty())
      throw MergeRefused(
          fmt::format("'{}' is damaged (point {}'s summary {}); run that shard again", path_, point, problem));
    return summary;
  }

  // The point's outcome codes, read back (one byte per replication, beside
  // the chunks the merge inflates anyway), against its summary's counts: a
  // shard whose summary was edited to other counts, or whose codes no run
  // writes, is refused, not laundered into a merged file that reads as clean.
  void check_outcomes(const PointSummary& summary) const {
    const Values row =
        damaged_if_unread([&] { return h5::read_rows(dataset(var::kOutcomeCode), Dtype::kInt8, summary.point, 1); });
    const auto& codes = std::get<std::vector<std::int8_t>>(row);
    std::array<std::int64_t, kOutcomeCount> counted{};
    for (std::int64_t r = 0; r < summary.replications && r < static_cast<std::int64_t>(codes.size()); ++r) {
      const int code = codes[static_cast<std::size_t>(r)];
      if (code < 0 || code >= static_cast<int>(kOutcomeCount))
        throw MergeRefused(fmt::format(
            "'{}' is damaged: 'outcome_code' holds {} for replication {} of point {}, where brink writes an outcome "
            "from 0 to {}; run that shard again",
            path_, code, r, summary.point, kOutcomeCount - 1));
      ++counted[static_cast<std::size_t>(code)];
    }
    for (std::size_t k = 0; k < kOutcomeCount; ++k)
      if (counted[k] != summary.count[k])
        throw MergeRefused(fmt::format(
            "'{}' is damaged: point {}'s summary counts {} replications of outcome {} in 'outcome_count', where its "
            "'outcome_code' holds {}; run that shard again",
            path_, summary.point, summary.count[k], k, counted[k]));
  }

  // The block's stored chunks, unchanged.
  BlockResult read(const BlockSpec& spec) const {
    BlockResult block;
    block.spec = spec;
    for (const VariableSpec* v : variables_) {
      const std::vector<std::uint64_t> at = layout_.chunk_offset(*v, spec);
      const std::vector<hsize_t> offset(at.begin(), at.end());
      const hid_t ds = dataset(v->name);
      const std::string what = fmt::format("read a chunk of {} from {}", v->name, path_);
      hsize_t bytes = 0;
      std::vector<std::uint8_t> chunk;
      std::uint32_t filters = 0;
      damaged_if_unread([&] {
        check(H5Dget_chunk_storage_size(ds, offset.data(), &bytes), what);
        chunk.resize(bytes);
        check(H5Dread_chunk(ds, H5P_DEFAULT, offset.data(), &filters, chunk.data()), what);
      });
      // The writer stores every chunk with all filters applied (mask 0), and
      // a copy is read first: a damaged chunk is not carried into the merge.
      if (filters != 0) throw OutputError(fmt::format("{}: the chunk skipped a filter (mask {})", what, filters));
      const Handle type = type_handle(H5Dget_type(ds), what);
      std::size_t raw_bytes = H5Tget_size(type.get());
      for (std::uint64_t extent : layout_.chunk(*v)) raw_bytes *= extent;
      if (!h5::inflates_whole(chunk, raw_bytes))
        throw MergeRefused(
            fmt::format("'{}' is damaged: a chunk of {} does not inflate to its size; run that shard "
                        "again",
                        path_, v->name));
      block.encoded.push_back(std::move(chunk));
    }
    return block;
  }

 private:
  hid_t dataset(std::string_view name) const { return datasets_.at(name).get(); }
  void open(const VariableSpec& v) {
    const std::string name(v.name);
    if (!h5::has_variable(file_.get(), name))
      throw MergeRefused(fmt::format("'{}' has no variable {}, which its plan's file holds", path_, name));
    Handle ds = dataset_handle(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), "open " + name + " in " + path_);
    if (const std::string problem = h5::layout_problem(ds.get(), layout_, v); !problem.empty())
      throw MergeRefused(fmt::format("'{}' is damaged: {}; run that shard again", path_, problem));
    datasets_.emplace(v.name, std::move(ds));
  }

  std::string path_;
  const FileLayout& layout_;
  const std::vector<const VariableSpec*>& variables_;
  Handle file_;  // declared before the datasets, so closed after them
  std::map<std::string_view, Handle> datasets_;
  std::vector<std::uint8_t> done_;
};

}  // namespace

MergeResult merge_shards(const SweepPlan& plan, const OutputMetadata& metadata, const std::vector<ShardInfo>& shards,
                         const std::string& path, const std::atomic<bool>* stop,
                         const std::function<void(std::int64_t, std::int64_t)>& progress,
                         std::array<std::uint64_t, 2>* created) {
  const FileLayout layout = file_layout(plan);
  std::vector<const VariableSpec*> block_variables;
  for (const VariableSpec& v : variable_table())
    if (v.storage == Storage::kBlockChunks && layout.present(v)) block_variables.push_back(&v);
  make_room_for(shards.size());
  std::vector<ShardReader> readers;
  readers.reserve(shards.size());
  try {
    for (const ShardInfo& s : shards) readers.emplace_back(s, plan, layout, block_variables);
  } catch (const ResourceShortage& e) {
    if (e.error() != EMFILE) throw;
    throw ResourceShortage(
        e.error(), fmt::format("{}; a merge holds all {} shards open at once: raise the limit above {}", e.what(),
                               shards.size(), shards.size() + 32));
  }

  MergeResult result;
  Hdf5Writer writer(path, plan, metadata, Hdf5Writer::Mode::kCreate);
  result.file_identity = writer.file_identity();
  if (created) *created = result.file_identity;  // known to the caller even if the merge fails
  Recorder recorder(plan, &writer);
  // Point by point: each shard holds its points finished and summarized.
  const auto shard_count = static_cast<std::int64_t>(shards.size());
  for (std::int64_t p = 0; p < plan.point_count(); ++p) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) throw MergeInterrupted();
    if (progress && p > 0) progress(p, plan.point_count());
    const ShardReader& reader = readers[static_cast<std::size_t>(p % shard_count)];
    if (!layout.runs) {
      PointSummary summary = reader.read_summary(p);
      if (summary.replications <= 0)
        throw MergeRefused(fmt::format("'{}' does not hold the summary of its point {}; run that shard again",
                                       shards[static_cast<std::size_t>(p % shard_count)].path, p));
      recorder.record(std::move(summary));
      continue;
    }
    // The point's chunks as they are, and its summary.
    const PointSummary summary = reader.read_summary(p);
    // Its blocks are exactly the first ones that its count of replications fills.
    const std::int64_t blocks = (summary.replications + kBlockLanes - 1) / kBlockLanes;
    bool whole = summary.replications > 0 && (plan.rule.adaptive ? summary.replications <= plan.replications
                                                                 : summary.replications == plan.replications);
    for (std::int64_t b = 0; whole && b < plan.blocks_per_point(); ++b)
      whole = reader.done(p * plan.blocks_per_point() + b) == (b < blocks);
    if (!whole)
      throw MergeRefused(fmt::format("'{}' does not hold all the blocks of its point {}; run that shard again",
                                     shards[static_cast<std::size_t>(p % shard_count)].path, p));
    reader.check_outcomes(summary);
    for (std::int64_t b = 0; b < blocks; ++b) {
      writer.write_block(reader.read(plan.block(p, b)));
      ++result.blocks;
    }
    recorder.record(summary);
  }
  if (progress) progress(plan.point_count(), plan.point_count());
  result.table = recorder.table();
  result.screening = recorder.finish();
  return result;
}

}  // namespace brink
