// Reading a partial file's chunks back before --resume keeps them: a chunk
// damaged on disk would otherwise be copied into a finished file unread.
#include <isa-l/igzip_lib.h>

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
  std::vector<std::uint8_t> bytes(stored), raw(raw_bytes);
  std::uint32_t filters = 0;
  if (H5Dread_chunk(dataset, H5P_DEFAULT, offset.data(), &filters, bytes.data()) < 0 || filters != 0) return false;
  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_ZLIB;
  state.next_in = bytes.data();
  state.avail_in = static_cast<std::uint32_t>(bytes.size());
  state.next_out = raw.data();
  state.avail_out = static_cast<std::uint32_t>(raw.size());
  return isal_inflate_stateless(&state) == ISAL_DECOMP_OK && state.avail_out == 0 && state.avail_in == 0;
}

}  // namespace

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
    // The file stops claiming what it does not hold before the blocks run again.
    if (dropped.empty()) return;
    for (const auto& [point, block] : dropped) {
      m.write_row(var::kBlockDone, std::vector<std::int8_t>{0}, point, block, 1);
      m.write_row(var::kReplications, std::vector<std::int64_t>{0}, point, 0, 1);
    }
    h5::check(H5Fflush(m.file.get(), H5F_SCOPE_LOCAL), "flush " + m.path);
  } catch (...) {
    m.failed = true;
    throw;
  }
}

}  // namespace brink
