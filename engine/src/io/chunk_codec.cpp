// Encodes a block's chunk in the format of HDF5's shuffle and deflate
// filters, so that the worker threads compress and the writer thread only
// stores bytes (H5Dwrite_chunk).
#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "brink/io/variables.hpp"

namespace brink {
namespace {

// The chunk's elements in the stored type: the blocks' fields one after
// another, padded past their replications with the fill value (HDF5 never
// reads the padding back: it lies beyond the dataset's extent or belongs to
// no replication yet).
template <typename Stored, typename Member>
void convert(std::span<const BlockResult> blocks, Member member, std::uint64_t elements, Fill fill,
             std::vector<std::uint8_t>& out) {
  Stored pad{};
  if (fill == Fill::kMissing) {
    if constexpr (std::is_floating_point_v<Stored>)
      pad = std::numeric_limits<Stored>::quiet_NaN();
    else
      pad = static_cast<Stored>(missing_integer(sizeof(Stored)));
  }
  std::vector<Stored> values(elements, pad);
  std::size_t at = 0;
  for (const BlockResult& block : blocks)
    for (const auto& value : block.*member) values[at++] = static_cast<Stored>(value);
  out.resize(elements * sizeof(Stored));
  std::memcpy(out.data(), values.data(), out.size());
}

// HDF5's shuffle filter (H5Zshuffle.c): byte j of element i goes to
// position j·n + i, which groups the slowly varying high bytes together.
// With the element size fixed at compile time the loop vectorizes (a
// de-interleave of kSize byte streams).
template <std::size_t kSize>
void shuffle_bytes(const std::uint8_t* __restrict raw, std::size_t n, std::uint8_t* __restrict out) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < kSize; ++j) out[j * n + i] = raw[i * kSize + j];
}

std::vector<std::uint8_t> shuffle(const std::vector<std::uint8_t>& raw, std::size_t size) {
  if (size <= 1) return raw;
  const std::size_t n = raw.size() / size;
  std::vector<std::uint8_t> out(raw.size());
  switch (size) {
    case 2:
      shuffle_bytes<2>(raw.data(), n, out.data());
      break;
    case 4:
      shuffle_bytes<4>(raw.data(), n, out.data());
      break;
    case 8:
      shuffle_bytes<8>(raw.data(), n, out.data());
      break;
    default:
      throw std::logic_error("shuffle: no element of " + std::to_string(size) + " bytes");
  }
  return out;
}

// ISA-L's level 1 keeps its hash table in a caller's buffer: one per
// thread, sized for chunks of tens of kilobytes (a larger one costs more to
// reset per chunk than it finds).
std::vector<std::uint8_t>& level_buffer() {
  thread_local std::vector<std::uint8_t> buffer(ISAL_DEF_LVL1_SMALL);
  return buffer;
}

// Symbol counts of the shipped scenarios' shuffled chunks, per element size
// (scripts/train_chunk_code.py, which says why).
struct TrainedCounts {
  std::size_t element_size;
  std::uint64_t counts[ISAL_DEF_LIT_LEN_SYMBOLS + ISAL_DEF_DIST_SYMBOLS];  // literal/length, then distance
};
constexpr TrainedCounts kTrainedCounts[] = {
#include "chunk_code_histograms.inc"
};

// The fixed Huffman code for chunks of `element_size`-byte elements, built
// once; igzip gives every symbol a code, whatever its count.
const isal_hufftables* trained_code(std::size_t element_size) {
  static const std::vector<isal_hufftables> codes = [] {
    std::vector<isal_hufftables> out(std::size(kTrainedCounts));
    auto histogram = std::make_unique<isal_huff_histogram>();
    for (std::size_t k = 0; k < out.size(); ++k) {
      const std::uint64_t* counts = kTrainedCounts[k].counts;
      std::copy(counts, counts + ISAL_DEF_LIT_LEN_SYMBOLS, histogram->lit_len_histogram);
      std::copy(counts + ISAL_DEF_LIT_LEN_SYMBOLS, counts + ISAL_DEF_LIT_LEN_SYMBOLS + ISAL_DEF_DIST_SYMBOLS,
                histogram->dist_histogram);
      if (isal_create_hufftables(&out[k], histogram.get()) != 0)
        throw std::logic_error("ISA-L rejected the trained Huffman code");
    }
    return out;
  }();
  for (std::size_t k = 0; k < codes.size(); ++k)
    if (kTrainedCounts[k].element_size == element_size) return &codes[k];
  return nullptr;
}

// A zlib stream (RFC 1950) of `in` at ISA-L's `level` (0 or 1), as HDF5's
// deflate filter stores it; level 0 with `code` if one is given, else with
// ISA-L's built-in code.
std::vector<std::uint8_t> zlib_stream_at(const std::vector<std::uint8_t>& in, int level, const isal_hufftables* code,
                                         std::string_view name) {
  if (in.size() > std::numeric_limits<std::uint32_t>::max() / 2)
    throw std::logic_error("a chunk of '" + std::string(name) + "' is too large for one zlib stream");
  // Stored blocks bound the output: 5 bytes per 64 KiB, plus the zlib header and trailer.
  std::vector<std::uint8_t> out(in.size() + in.size() / 65535 * 5 + 64);
  std::vector<std::uint8_t>& buffer = level_buffer();
  // ISA-L reads state that a stateless call neither takes nor resets: the
  // window size (stateless_init leaves it unset), flags, and the match
  // tables, of which it clears only the part a short input hashes into while
  // matches may still come from stale entries. Left as the stack (or the
  // thread's last chunk) had them, a chunk's bytes would depend on what the
  // thread did before. All of it but the input buffer (not read by a
  // stateless call) starts at zero; 0 is the default 32 KiB window.
  // On the heap: the stream holds tens of KB of tables, more than a worker
  // thread's stack may have (glibc sizes it from 'ulimit -s').
  const auto stream = std::make_unique_for_overwrite<isal_zstream>();
  isal_zstream& s = *stream;
  std::memset(&s, 0, offsetof(isal_zstream, internal_state.buffer));
  std::memset(s.internal_state.head, 0, sizeof s.internal_state.head);
  isal_deflate_stateless_init(&s);
  if (level == 1) {
    std::fill(buffer.begin(), buffer.end(), std::uint8_t{0});
    s.level = 1;
    s.level_buf = buffer.data();
    s.level_buf_size = static_cast<std::uint32_t>(buffer.size());
  } else if (code != nullptr) {
    // ISA-L only reads the code (its API is not const: its own built-in
    // codes are const objects passed the same way), so threads share it.
    if (isal_deflate_set_hufftables(&s, const_cast<isal_hufftables*>(code), IGZIP_HUFFTABLE_CUSTOM) != COMP_OK)
      throw std::logic_error("ISA-L refused the trained Huffman code for '" + std::string(name) + "'");
  }
  s.gzip_flag = IGZIP_ZLIB;
  s.next_in = const_cast<std::uint8_t*>(in.data());  // ISA-L's API is not const; it only reads
  s.avail_in = static_cast<std::uint32_t>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<std::uint32_t>(out.size());
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  if (isal_deflate_stateless(&s) != COMP_OK)
    throw std::runtime_error("ISA-L failed to compress a chunk of '" + std::string(name) + "'");
  out.resize(out.size() - s.avail_out);
  return out;
}

// From this many bytes a chunk takes level 1, which builds a Huffman code
// for the chunk: its cost is then spread over enough bytes (time series,
// whose chunks are often long runs that level 1's matching finds better).
// Below, level 0 with the trained code for the element size: a block's
// per-replication chunks hold 0.25–27 KB, and building a code for each was
// 40% of level 1's time on them. On the shipped scenarios the files are
// within 1% of level 1's size in 35–45% less compression time (docs/output.md,
// "Why one chunk per block"). A chunk that level 0 does not shrink (a float64
// variable of near-random bits) takes level 1 after all, unless it is under
// kRetryMin bytes: level 1 would build a code to save a few bytes at most
// (a sweep of one-replication points has only such chunks, and building
// their codes took 6% of its CPU).
constexpr std::size_t kPerChunkCodeMin = 64 * 1024;
constexpr std::size_t kRetryMin = 1024;

// Below this many bytes a chunk is stored uncompressed inside its zlib
// stream (one stored deflate block): compressing a few dozen bytes saves a
// few dozen at most, and ISA-L's set-up for each call cost more than the
// simulation of a point of one replication, whose chunks are all this small.
constexpr std::size_t kStoredMax = 128;

// A zlib stream (RFC 1950) of one final stored deflate block (RFC 1951, 3.2.4).
std::vector<std::uint8_t> stored_zlib_stream(const std::vector<std::uint8_t>& in) {
  const auto length = static_cast<std::uint16_t>(in.size());
  const std::uint32_t adler = isal_adler32(1, in.data(), in.size());
  constexpr std::size_t kHead = 7, kTail = 4;
  std::vector<std::uint8_t> out(kHead + in.size() + kTail);
  out[0] = 0x78;  // deflate, 32 KiB window ...
  out[1] = 0x01;  // ... no dictionary; (0x78·256 + 0x01) is a multiple of 31
  out[2] = 0x01;  // the final block, stored
  out[3] = static_cast<std::uint8_t>(length & 0xFF);
  out[4] = static_cast<std::uint8_t>(length >> 8);
  out[5] = static_cast<std::uint8_t>(~length & 0xFF);
  out[6] = static_cast<std::uint8_t>((~length >> 8) & 0xFF);
  if (!in.empty()) std::memcpy(out.data() + kHead, in.data(), in.size());
  for (std::size_t k = 0; k < kTail; ++k) out[kHead + in.size() + k] = static_cast<std::uint8_t>(adler >> (24 - 8 * k));
  return out;
}

std::vector<std::uint8_t> zlib_stream(const std::vector<std::uint8_t>& in, std::size_t element_size,
                                      std::string_view name) {
  if (in.size() < kStoredMax) return stored_zlib_stream(in);
  if (in.size() >= kPerChunkCodeMin) return zlib_stream_at(in, 1, nullptr, name);
  std::vector<std::uint8_t> out = zlib_stream_at(in, 0, trained_code(element_size), name);
  return out.size() < in.size() || in.size() < kRetryMin ? out : zlib_stream_at(in, 1, nullptr, name);
}

}  // namespace

std::vector<std::uint8_t> encode_chunk(const VariableSpec& v, const FileLayout& layout,
                                       std::span<const BlockResult> points) {
  const Dtype type = layout.dtype(v);
  const std::uint64_t elements = layout.chunk_elements(v);
  std::vector<std::uint8_t> raw;
  std::visit(
      [&](auto member) {
        if constexpr (std::is_same_v<decltype(member), std::monostate>) {
          throw std::logic_error("variable '" + std::string(v.name) + "' has no block field to encode");
        } else {
          std::uint64_t values = 0;
          for (const BlockResult& block : points) values += (block.*member).size();
          if (values > elements)
            throw std::logic_error("block field of '" + std::string(v.name) + "' holds more than one chunk");
          // Points of a chunk group fill whole rows of it, one after another (only a chunk's
          // one block may be short of its rows, the last of a point's blocks).
          const std::uint64_t row = elements / layout.chunk(v).front();
          if (points.size() > 1)
            for (const BlockResult& block : points)
              if ((block.*member).size() != row)
                throw std::logic_error("block field of '" + std::string(v.name) + "' of point " +
                                       std::to_string(block.spec.point) + " is not one row of its chunk");
          switch (type) {
            case Dtype::kInt8:
              convert<std::int8_t>(points, member, elements, v.fill, raw);
              break;
            case Dtype::kInt16:
              convert<std::int16_t>(points, member, elements, v.fill, raw);
              break;
            case Dtype::kInt32:
              convert<std::int32_t>(points, member, elements, v.fill, raw);
              break;
            case Dtype::kInt64:
              convert<std::int64_t>(points, member, elements, v.fill, raw);
              break;
            case Dtype::kFloat32:
              convert<float>(points, member, elements, v.fill, raw);
              break;
            case Dtype::kFloat64:
              convert<double>(points, member, elements, v.fill, raw);
              break;
            default:
              throw std::logic_error("variable '" + std::string(v.name) + "' has no numeric type to encode");
          }
        }
      },
      v.block);
  // A chunk of zeros (a pool no event ever fills, say) costs as much to
  // compress as any other; its stream depends only on its size (ISA-L
  // writes a run of one byte with a fixed code of its own, whatever the
  // level or the code given), so each thread compresses it once.
  const bool zeros = std::all_of(raw.begin(), raw.end(), [](std::uint8_t b) { return b == 0; });
  thread_local std::unordered_map<std::size_t, std::vector<std::uint8_t>> zero_streams;
  if (zeros) {
    const auto known = zero_streams.find(raw.size());
    if (known != zero_streams.end()) return known->second;
  }
  const std::vector<std::uint8_t> shuffled = shuffle(raw, dtype_size(type));
  // HDF5's deflate filter stores a zlib stream (RFC 1950) and reads any
  // valid one with inflate(). ISA-L's level 1 writes one about 1.6 times
  // faster than libdeflate's level 1 and 5 times faster than zlib's (what
  // HDF5 itself would call), 2% larger than libdeflate's; it is
  // deterministic, so a block's bytes do not depend on the thread that
  // encoded it.
  std::vector<std::uint8_t> out = zlib_stream(shuffled, dtype_size(type), v.name);
  if (zeros) zero_streams.emplace(raw.size(), out);
  return out;
}

void encode_chunks(const FileLayout& layout, std::span<const VariableSpec* const> variables,
                   std::span<BlockResult> points) {
  const std::uint64_t group = layout.points_per_block_chunk;
  const std::uint64_t point_count = layout.length(Dim::kPoint);
  for (std::size_t first = 0; first < points.size();) {
    const std::int64_t start = points[first].spec.point;
    // The chunk's points: the results from `first` on, one per point of its group.
    const std::uint64_t want = group == 1 ? 1 : std::min(group, point_count - static_cast<std::uint64_t>(start));
    std::size_t end = first + 1;
    while (end < points.size() && end - first < want && points[end].spec.point == start + std::int64_t(end - first))
      ++end;
    if (!layout.starts_block_chunk(start) || end - first != want)
      throw std::logic_error("the points of a chunk group, from point " + std::to_string(start) +
                             ", were not simulated as one block");
    const std::span<const BlockResult> chunk(points.data() + first, end - first);
    points[first].encoded.clear();
    for (const VariableSpec* v : variables) points[first].encoded.push_back(encode_chunk(*v, layout, chunk));
    for (std::size_t k = first + 1; k < end; ++k) points[k].encoded.clear();
    first = end;
  }
}

}  // namespace brink
