#include "brink/io/hdf5_writer.hpp"

#include <hdf5_hl.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/version.hpp"
#include "hdf5_recovery.hpp"
#include "hdf5_util.hpp"
#include "hdf5_writer_impl.hpp"

namespace brink {

using h5::check;

void quiet_hdf5_errors() {
  H5dont_atexit();
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Hdf5Writer::Hdf5Writer(const std::string& path, const SweepPlan& plan, const OutputMetadata& metadata, Mode mode,
                       const std::atomic<bool>* stop)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.stop = stop;
  m.layout = file_layout(plan);
  for (const VariableSpec& v : variable_table())
    if (v.storage == Storage::kBlockChunks && m.layout.present(v)) m.block_variables.push_back(&v);
  if (plan.sensitivity || plan.morris) {
    std::vector<std::string> actors;
    for (const auto& a : plan.model(0).scenario().actors) actors.push_back(a.id);
    m.sensitivity_outputs = sensitivity_output_names(actors);
  }
  if (mode == Mode::kResume) {
    // The partial is an input here: one that opens but cannot be read back is
    // refused as such (the run's own faults surface later, when it writes).
    try {
      m.open_existing(plan, metadata);
    } catch (const ResumeMismatch&) {
      throw;
    } catch (const ResourceShortage&) {  // this process ran short, not the file's content
      throw;
    } catch (const DamagedInput& e) {  // names the file as damaged already
      throw ResumeMismatch(fmt::format("{}; start over with --overwrite instead of --resume", e.what()));
    } catch (const std::exception& e) {
      // A full disk, or this process short of descriptors or memory: not the file's content.
      if (is_space_errno(last_io_errno()) || is_resource_errno(last_io_errno())) throw;
      throw ResumeMismatch(
          fmt::format("'{}' is damaged and cannot be continued ({}); start over with --overwrite "
                      "instead of --resume",
                      path, e.what()));
    }
  } else
    m.create(plan, metadata);
  m.slot_owner.assign(static_cast<std::size_t>(plan.resume_slots()), -1);
  m.slot_blocks.assign(m.slot_owner.size(), 0);
  if (mode == Mode::kCreate) m.start_swmr();
}

Hdf5Writer::~Hdf5Writer() {
  Impl& m = *impl_;
  if (!m.file) return;
  // After a failed write the file is left as its last complete flush made it:
  // closing would write a mix of old and new data.
  auto abandon = [&] {
    for (auto& [name, handle] : m.datasets) handle.abandon();
    m.file.abandon();
  };
  if (m.failed) {
    abandon();
    return;
  }
  try {
    m.publish();
  } catch (...) {  // a destructor must not throw
    abandon();
  }
}

const std::vector<std::string>& Hdf5Writer::sensitivity_outputs() const { return impl_->sensitivity_outputs; }

namespace {

// (index, count) of a shard file; (0, 0) for a file that is not a shard.
std::pair<std::int64_t, std::int64_t> read_shard(hid_t file) {
  return {h5::read_int64_attribute(file, kShardIndexAttribute).value_or(0),
          h5::read_int64_attribute(file, kShardCountAttribute).value_or(0)};
}

}  // namespace

void Hdf5Writer::Impl::open_existing(const SweepPlan& plan, const OutputMetadata& metadata) {
  const Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  set_clear_status_flags(fapl.get());  // the caller holds the output lock: no writer is alive
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (id < 0) {
    const std::string failure = hdf5_failure_message("open it");
    if (last_io_errno() == EAGAIN || last_io_errno() == EWOULDBLOCK)  // HDF5's file lock: nothing wrong with the file
      throw OutputError(fmt::format("cannot reopen '{}' to resume it: another program has it open ({}); close it there",
                                    path, failure));
    std::string why = fmt::format("cannot reopen '{}' to resume it ({}); start over with --overwrite", path, failure);
    if (is_space_errno(last_io_errno())) throw OutputError(std::move(why));
    throw ResumeMismatch(std::move(why));  // the partial is the input at fault
  }
  file = file_handle(id, "reopen " + path);
  // A run cut off (kill -9) may leave index entries of chunks it wrote after
  // its last flush, pointing past the end of file its superblock recorded
  // (EOA). Written again with the same bytes, such a chunk keeps its place,
  // and HDF5 refuses a write past the EOA: the EOA becomes the file's real
  // end (as in reopens_for_resume, whose close would otherwise cut them off).
  check(H5Fincrement_filesize(id, 0), "extend " + path + " to its end on disk");
  auto mismatch = [&](const std::string& what, const std::string& how = "") {
    throw ResumeMismatch(
        fmt::format("'{}' was written by a different run ({} changed{}); start over with --overwrite instead of "
                    "--resume",
                    path, what, how.empty() ? "" : ": " + how));
  };
  auto damaged = [&](const std::string& problem) {
    throw ResumeMismatch(
        fmt::format("'{}' is damaged: {}; start over with --overwrite instead of --resume", path, problem));
  };
  const std::int32_t version = h5::read_int_attribute(id, "format_version");
  if (version == h5::kNotOneInteger) damaged("its root attribute 'format_version' is not one integer");
  if (version != kFormatVersion)
    throw ResumeMismatch(fmt::format(
        "'{}' is in brink output format {} and this brink writes format {}, so it cannot be continued; start over "
        "with --overwrite instead of --resume",
        path, version, kFormatVersion));
  std::string problem = h5::recorded_text_problem(id);
  // Marked complete at the end: one of another type would fail only then, after the whole run.
  if (problem.empty() && !h5::read_int64_attribute(id, "complete"))
    problem = "its root attribute 'complete' is not the number brink writes";
  if (!problem.empty()) damaged(problem);
  if (h5::read_string_attribute(id, "engine_version") != engine_version()) mismatch("the engine version");
  if (h5::read_string_attribute(id, "engine_fingerprint") != engine_fingerprint())
    mismatch("the brink build (attribute engine_fingerprint: another build's model may differ)");
  if (h5::read_string_attribute(id, "target_isa") != kernel().isa) mismatch("the instruction-set path");
  if (h5::read_string_attribute(id, "scenario") != metadata.scenario_text) mismatch("the scenario text");
  if (const std::uint64_t seed = plan.run().seed;
      !h5::attribute_holds(id, "seed", H5T_NATIVE_UINT64, &seed, sizeof seed))
    mismatch("the seed");
  if (const std::string recorded = h5::read_string_attribute(id, "overrides"); recorded != metadata.overrides)
    mismatch("the --set or run options", first_difference(recorded, metadata.overrides, "before", "now"));
  if (h5::read_string_attribute(id, "inputs") != plan.inputs)
    mismatch(
        "a file it read besides the scenario (a scenario choice or the --posterior calibration; attribute "
        "inputs)");
  if (read_shard(id) != std::pair{plan.shard_index, plan.shard_count}) mismatch("the --shard");
  // The rest follow from the checks above: one that differs was edited.
  if (const std::string name = changed_root_attribute(plan, metadata); !name.empty())
    damaged(fmt::format("its root attribute '{}' is not what its scenario and options give", name));
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v)) continue;
    const std::string name(v.name);
    if (!h5::has_variable(id, name)) mismatch("the layout (no variable " + name + ")");
    const Handle dapl = h5::dataset_access(layout.cache_bytes(v));  // as when created
    const hid_t dataset = H5Dopen2(id, name.c_str(), dapl.get());
    datasets.emplace(v.name, dataset_handle(dataset, "open " + name));
    // Before anything reads or writes it: a shape edited to 2^40 replications
    // had a failed write allocate an index that a later resume iterated for ever.
    if (const std::string problem = h5::layout_problem(dataset, layout, v); !problem.empty()) damaged(problem);
    // Chunks are written whole where this run's layout puts them.
    const std::vector<std::uint64_t> chunk = h5::chunk_shape(dataset);
    if (v.storage == Storage::kBlockChunks && chunk != layout.chunk(v))
      mismatch("the layout (the chunks of " + name + ")");
    // A write would look up a damaged index page in SWMR mode, where HDF5
    // retries for ever (start_swmr): every page is read now, before it.
    if (!chunk.empty() && !h5::chunk_index_readable(dataset))
      throw std::runtime_error(fmt::format("the chunk index of {} fails its checksum", name));
  }
  // Once the file is known to be this run's: its constants follow from the
  // plan. Strings are checked where they lie and written anew if one differs
  // (before anything reads them through HDF5, which a damaged string can
  // crash); numbers are written again, which mends a damaged chunk or a
  // damaged coordinate (contiguous, without a checksum). The finished file
  // then holds the plan's constants whatever happened to the partial.
  mend_strings(plan);
  for (const VariableSpec& v : variable_table())
    if (layout.present(v) && layout.dtype(v) != Dtype::kString) write_constant(v, dataset(v.name), plan);
  rewrite_coordinates(plan);
}

void Hdf5Writer::encode(std::span<BlockResult> points) const {
  encode_chunks(impl_->layout, impl_->block_variables, points);
}

void Hdf5Writer::write_block(const BlockResult& b) {
  try {
    Impl& m = *impl_;
    if (!m.layout.runs) return;
    m.start_swmr();
    const std::vector<std::vector<std::uint8_t>>* chunks = &b.encoded;
    BlockResult encoded;
    const bool own_chunk = m.layout.points_per_block_chunk == 1;
    if (b.encoded.size() != m.block_variables.size() && own_chunk) {  // not encoded by a worker (e.g. a test)
      encoded.spec = b.spec;
      for (const VariableSpec* v : m.block_variables)
        encoded.encoded.push_back(encode_chunk(*v, m.layout, std::span(&b, 1)));
      chunks = &encoded.encoded;
    }
    // A chunk group's chunks come with its first point, whose block comes
    // first; the others' data is in them.
    const bool carries = m.layout.starts_block_chunk(b.spec.point);
    if (chunks->size() != (carries ? m.block_variables.size() : 0))
      throw std::logic_error(fmt::format("the block of point {} came with {} chunks for {} variables", b.spec.point,
                                         chunks->size(), carries ? m.block_variables.size() : 0));
    // The block's data goes first, its "done" mark last: a partial file never
    // claims a block it does not fully hold. A block is one whole chunk of
    // every variable, or its points' share of one written whole with the
    // first of them, so no chunk is ever partly written.
    for (std::size_t i = 0; i < chunks->size(); ++i) {
      const VariableSpec& v = *m.block_variables[i];
      const std::vector<std::uint64_t> at = m.layout.chunk_offset(v, b.spec);
      const std::vector<hsize_t> offset(at.begin(), at.end());
      const std::vector<std::uint8_t>& bytes = (*chunks)[i];
      check(H5Dwrite_chunk(m.dataset(v.name), H5P_DEFAULT, 0, offset.data(), bytes.size(), bytes.data()),
            fmt::format("write a chunk of {} to {}", v.name, m.path));
    }
    m.pending_done.emplace_back(b.spec.point, b.spec.first_replication / kBlockLanes);
    // At once when this run's first resume sums are staged, so that a run cut
    // off in its first seconds keeps its first blocks; else every 2 seconds.
    if (!m.vouched_sums && !m.staged_sums.empty())
      m.publish();
    else
      m.publish_if_due(Impl::kBlockInterval);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

std::array<std::uint64_t, 2> Hdf5Writer::file_identity() const {
  void* handle = nullptr;
  check(H5Fget_vfd_handle(impl_->file.get(), H5P_DEFAULT, &handle), "get the descriptor of " + impl_->path);
  struct stat st {};
  if (handle == nullptr || ::fstat(*static_cast<const int*>(handle), &st) != 0)
    throw OutputError(fmt::format("cannot stat '{}': {}", impl_->path, std::strerror(errno)));
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

std::vector<std::uint8_t> Hdf5Writer::finished_blocks() const {
  const Impl& m = *impl_;
  // Marks are read as they are, damaged or not: trust_consistent and
  // drop_unreadable decide which of them to believe.
  const Values all = h5::read_values(m.dataset(var::kBlockDone), Dtype::kInt8, h5::unchecked_transfer());
  const auto& done = std::get<std::vector<std::int8_t>>(all);
  return {done.begin(), done.end()};
}

std::vector<std::int64_t> Hdf5Writer::published_replications() const {
  return std::get<std::vector<std::int64_t>>(
      h5::read_values(impl_->dataset(var::kReplications), Dtype::kInt64, h5::unchecked_transfer()));
}

// What brink never writes (summary_check.cpp) is damage of the partial, the
// input here: refused before anything is written, never carried into a file
// marked complete whose own readers then call it damaged.
PointSummary Hdf5Writer::read_summary(std::int64_t point, const OutcomeCounts* counted) const {
  const Impl& m = *impl_;
  PointSummary s = h5::read_point_summary(
      m.layout, [&](std::string_view name) { return m.dataset(name); }, point, m.path);
  std::string problem = h5::summary_problem(s, static_cast<std::int64_t>(m.layout.length(Dim::kReplication)));
  for (std::size_t k = 0; problem.empty() && counted != nullptr && k < kOutcomeCount; ++k)
    if ((*counted)[k] != s.count[k])
      problem = fmt::format(
          "counts {} replications of outcome {} in 'outcome_count', where its blocks' "
          "'outcome_code' holds {}",
          s.count[k], k, (*counted)[k]);
  if (!problem.empty())
    throw ResumeMismatch(
        fmt::format("'{}' is damaged: point {}'s summary {}; start over with --overwrite instead of --resume", m.path,
                    point, problem));
  return s;
}

BlockResult Hdf5Writer::read_block(const BlockSpec& spec) const {
  const Impl& m = *impl_;
  BlockResult b = h5::read_resume_fields(
      m.block_variables, [&](std::string_view name) { return m.dataset(name); }, spec, m.path);
  if (const std::string problem = h5::block_problem(b, m.layout.steps); !problem.empty())
    throw ResumeMismatch(fmt::format(
        "'{}' is damaged: a kept block of point {} holds what no run writes ({}); start over with --overwrite "
        "instead of --resume",
        m.path, spec.point, problem));
  return b;
}

void Hdf5Writer::write_summary(const PointSummary& s) {
  try {
    Impl& m = *impl_;
    m.start_swmr();
    for (const VariableSpec& v : variable_table()) {
      if (v.kind != Kind::kPerPoint || v.name == var::kReplications || !m.layout.present(v)) continue;
      const std::uint64_t width = v.dims.rank > 1 ? m.layout.length(v.dims.axis[1]) : 1;
      if (width > 0) m.write_row(v.name, v.from_summary(s), s.point, 0, static_cast<std::int64_t>(width));
    }
    // `replications` goes last (see start_swmr), after a flush that also marks the
    // point's blocks done; publish() writes it.
    m.pending_points.emplace_back(s.point, find_variable(var::kReplications).from_summary(s));
    m.staged_sums.erase(s.point);  // the summary covers it
    m.publish_points_if_due();
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

void Hdf5Writer::write_sensitivity(const std::vector<SobolIndex>& indices, int swept) {
  try {
    // indices: output-major over the swept parameters; fixed (--set) parameters get NaN.
    Impl& m = *impl_;
    m.start_swmr();
    const std::size_t outputs = m.layout.length(Dim::kOutput), parameters = m.layout.length(Dim::kParameter);
    for (const VariableSpec& v : variable_table()) {
      if (v.kind != Kind::kSensitivity || !m.layout.present(v)) continue;
      std::vector<double> values(outputs * parameters, std::numeric_limits<double>::quiet_NaN());
      for (std::size_t o = 0; o < outputs; ++o)
        for (int j = 0; j < swept; ++j) values[o * parameters + j] = indices[o * swept + j].*(v.sobol);
      h5::write_values(m.dataset(v.name), H5S_ALL, H5S_ALL, values, fmt::format("write {}", v.name));
    }
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

void Hdf5Writer::write_morris(const std::vector<MorrisIndex>& indices, int swept) {
  try {
    Impl& m = *impl_;
    m.start_swmr();
    const std::size_t outputs = m.layout.length(Dim::kOutput), parameters = m.layout.length(Dim::kParameter);
    for (const VariableSpec& v : variable_table()) {
      if (v.kind != Kind::kMorris || !m.layout.present(v)) continue;
      std::vector<double> values(outputs * parameters, std::numeric_limits<double>::quiet_NaN());
      for (std::size_t o = 0; o < outputs; ++o)
        for (int j = 0; j < swept; ++j) values[o * parameters + j] = indices[o * swept + j].*(v.morris);
      h5::write_values(m.dataset(v.name), H5S_ALL, H5S_ALL, values, fmt::format("write {}", v.name));
    }
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

void Hdf5Writer::close() {
  try {
    Impl& m = *impl_;
    if (!m.file) return;
    m.start_swmr();
    m.publish();
    m.clear_resume_slots();
    const std::int32_t complete = 1;
    {
      const Handle attr =
          attribute_handle(H5Aopen(m.file.get(), "complete", H5P_DEFAULT), "open the complete attribute of " + m.path);
      check(H5Awrite(attr.get(), H5T_NATIVE_INT32, &complete), "mark " + m.path + " complete");
    }
    m.datasets.clear();
    check(m.file.close(), "close " + m.path);
  } catch (...) {
    impl_->failed = true;
    throw;
  }
}

}  // namespace brink
