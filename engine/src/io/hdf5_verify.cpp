// Reading a partial file's chunks back before --resume keeps them: a chunk
// damaged on disk would otherwise be copied into a finished file unread, and
// a summary chunk rewritten around its damage would get a valid checksum.
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "brink/sweep/plan.hpp"
#include "hdf5_writer_impl.hpp"

namespace brink {

namespace {

// True if the chunk of `dataset` at `offset` is in the file and its bytes
// inflate, zlib checksum and all, to the chunk's whole size (every chunk of
// a per-replication variable is shuffle + deflate, written whole).
bool chunk_reads_back(hid_t dataset, const std::vector<hsize_t>& offset, std::size_t raw_bytes) {
  hsize_t stored = 0;
  if (H5Dget_chunk_storage_size(dataset, offset.data(), &stored) < 0 || stored == 0) return false;
  // A damaged index entry can claim gigabytes: no stream of this chunk is longer than
  // stored deflate blocks make it (5 bytes per 64 KiB, with zlib's header and trailer).
  if (stored > raw_bytes + raw_bytes / 65535 * 5 + 64) return false;
  std::vector<std::uint8_t> bytes(stored);
  std::uint32_t filters = 0;
  if (H5Dread_chunk(dataset, H5P_DEFAULT, offset.data(), &filters, bytes.data()) < 0 || filters != 0) return false;
  return h5::inflates_whole(bytes, raw_bytes);
}

// True if rows [first, first + count) of `dataset`, whose first axis is
// `point`, read back with their chunks' Fletcher-32 checksums checked.
bool rows_read_back(hid_t dataset, std::int64_t first, std::int64_t count) {
  const Handle type = type_handle(H5Dget_type(dataset), "read a dataset's type");
  const h5::Rows rows(dataset, first, count);
  if (rows.elements == 0) return true;
  std::vector<std::uint8_t> raw(H5Tget_size(type.get()) * rows.elements);
  return H5Dread(dataset, type.get(), rows.memory.get(), rows.file.get(), H5P_DEFAULT, raw.data()) >= 0;
}

// The points whose rows share a chunk that fails its checksum, in any
// variable written point by point (the summaries and the marks), among the
// chunks holding a point that is published or has a finished block. Every
// point of such a chunk is run again, so that each of its bytes is written anew.
std::vector<std::int64_t> points_in_damaged_chunks(const SweepPlan& plan, const FileLayout& layout,
                                                   const std::function<hid_t(std::string_view)>& dataset,
                                                   const std::vector<std::uint8_t>& finished,
                                                   const std::vector<std::int64_t>& published) {
  const std::int64_t points = plan.point_count(), per_point = plan.blocks_per_point();
  std::vector<std::uint8_t> kept(static_cast<std::size_t>(points), 0), damaged(kept.size(), 0);
  for (std::int64_t p = 0; p < points; ++p) {
    const auto blocks = finished.begin() + p * per_point;
    kept[static_cast<std::size_t>(p)] =
        published[static_cast<std::size_t>(p)] > 0 || std::find(blocks, blocks + per_point, 1) != blocks + per_point;
  }
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v) || !checksummed(v) || v.constant || v.constant_rows || v.dims.rank == 0 ||
        v.dims.axis[0] != Dim::kPoint)
      continue;
    const auto rows = static_cast<std::int64_t>(layout.chunk(v)[0]);
    for (std::int64_t first = 0; first < points; first += rows) {
      const std::int64_t count = std::min(rows, points - first);
      const auto from = kept.begin() + first, to = from + count;
      if (std::find(from, to, 1) == to || rows_read_back(dataset(v.name), first, count)) continue;
      std::fill(damaged.begin() + first, damaged.begin() + first + count, 1);
    }
  }
  std::vector<std::int64_t> out;
  for (std::int64_t p = 0; p < points; ++p)
    if (damaged[static_cast<std::size_t>(p)]) out.push_back(p);
  return out;
}

}  // namespace

bool h5::inflates_whole(std::span<const std::uint8_t> stream, std::size_t raw_bytes) {
  std::vector<std::uint8_t> raw(raw_bytes);
  // On the heap: ISA-L's inflate state holds tens of KB of tables, more than
  // a small stack ('ulimit -s') has room for.
  const auto held = std::make_unique<inflate_state>();
  inflate_state& state = *held;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_ZLIB;
  state.next_in = const_cast<std::uint8_t*>(stream.data());  // ISA-L's field is not const; it only reads
  state.avail_in = static_cast<std::uint32_t>(stream.size());
  state.next_out = raw.data();
  state.avail_out = static_cast<std::uint32_t>(raw.size());
  return isal_inflate_stateless(&state) == ISAL_DECOMP_OK && state.avail_out == 0 && state.avail_in == 0;
}

void Hdf5Writer::drop_unreadable(const SweepPlan& plan, std::vector<std::uint8_t>& finished,
                                 std::vector<std::int64_t>& published) {
  Impl& m = *impl_;
  if (!m.layout.runs) return;
  std::vector<std::pair<std::int64_t, std::int64_t>> dropped;  // (point, block)
  try {
    for (const VariableSpec* v : m.block_variables) {
      const hid_t dataset = m.dataset(v->name);
      const Handle type = type_handle(H5Dget_type(dataset), "read the type of " + std::string(v->name));
      std::size_t raw_bytes = H5Tget_size(type.get());
      for (std::uint64_t extent : h5::chunk_shape(dataset)) raw_bytes *= extent;
      // A chunk group's points are consecutive blocks: their chunk is read once.
      std::vector<hsize_t> last;
      bool last_reads_back = false;
      for (std::size_t i = 0; i < finished.size(); ++i) {
        if (!finished[i]) continue;
        m.check_stop();  // reading back a large file takes seconds: a signal must not wait for it
        BlockSpec first = plan.block(static_cast<std::int64_t>(i));
        const std::int64_t point = first.point;
        first.point -= first.point % static_cast<std::int64_t>(m.layout.points_per_block_chunk);
        const std::vector<std::uint64_t> at = m.layout.chunk_offset(*v, first);
        const std::vector<hsize_t> offset(at.begin(), at.end());
        if (offset != last) {
          last = offset;
          last_reads_back = chunk_reads_back(dataset, offset, raw_bytes);
        }
        if (last_reads_back) continue;
        finished[i] = 0;
        published[static_cast<std::size_t>(point)] = 0;
        dropped.emplace_back(point, first.first_replication / kBlockLanes);
      }
    }
    const std::int64_t per_point = plan.blocks_per_point();
    const std::vector<std::int64_t> rerun = points_in_damaged_chunks(
        plan, m.layout, [&](std::string_view name) { return m.dataset(name); }, finished, published);
    for (std::int64_t point : rerun) {
      published[static_cast<std::size_t>(point)] = 0;
      std::fill_n(finished.begin() + point * per_point, per_point, 0);
    }
    // The file stops claiming what it does not hold before the blocks run again.
    if (dropped.empty() && rerun.empty()) return;
    for (const auto& [point, block] : dropped) {
      m.write_row(var::kBlockDone, std::vector<std::int8_t>{0}, point, block, 1);
      m.write_row(var::kReplications, std::vector<std::int64_t>{0}, point, 0, 1);
    }
    for (std::int64_t point : rerun) {  // whole rows: every byte of a damaged chunk of marks is written anew
      m.write_row(var::kBlockDone, std::vector<std::int8_t>(static_cast<std::size_t>(per_point), 0), point, 0,
                  per_point);
      m.write_row(var::kReplications, std::vector<std::int64_t>{0}, point, 0, 1);
    }
    h5::check(H5Fflush(m.file.get(), H5F_SCOPE_LOCAL), "flush " + m.path);
  } catch (const OutputInterrupted&) {
    throw;  // before anything was written: the file closes as it was
  } catch (...) {
    m.failed = true;
    throw;
  }
}

}  // namespace brink
