// Encodes a block's chunk exactly as HDF5's shuffle and deflate filters
// would, so that the worker threads compress and the writer thread only
// stores bytes (H5Dwrite_chunk).
#include <zlib.h>

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "brink/io/variables.hpp"

namespace brink {
namespace {

// The chunk's elements in the stored type, padded past the block's
// replications with the fill value (HDF5 never reads the padding back: it
// lies beyond the dataset's extent or belongs to no replication yet).
template <typename Stored, typename Source>
void convert(const std::vector<Source>& source, std::uint64_t elements, Fill fill, std::vector<std::uint8_t>& out) {
  Stored pad{};
  if (fill == Fill::kMissing) {
    if constexpr (std::is_floating_point_v<Stored>)
      pad = std::numeric_limits<Stored>::quiet_NaN();
    else
      pad = static_cast<Stored>(-1);
  }
  std::vector<Stored> values(elements, pad);
  for (std::size_t i = 0; i < source.size(); ++i) values[i] = static_cast<Stored>(source[i]);
  out.resize(elements * sizeof(Stored));
  std::memcpy(out.data(), values.data(), out.size());
}

// HDF5's shuffle filter (H5Zshuffle.c): byte j of element i goes to
// position j·n + i, which groups the slowly varying high bytes together.
std::vector<std::uint8_t> shuffle(const std::vector<std::uint8_t>& raw, std::size_t size) {
  if (size <= 1) return raw;
  const std::size_t n = raw.size() / size;
  std::vector<std::uint8_t> out(raw.size());
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < size; ++j) out[j * n + i] = raw[i * size + j];
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_chunk(const VariableSpec& v, const FileLayout& layout, const BlockResult& block) {
  const Dtype type = layout.dtype(v);
  const std::uint64_t elements = layout.chunk_elements(v);
  std::vector<std::uint8_t> raw;
  std::visit(
      [&](auto member) {
        if constexpr (std::is_same_v<decltype(member), std::monostate>) {
          throw std::logic_error("variable '" + std::string(v.name) + "' has no block field to encode");
        } else {
          const auto& source = block.*member;
          if (source.size() > elements)
            throw std::logic_error("block field of '" + std::string(v.name) + "' holds more than one chunk");
          switch (type) {
            case Dtype::kInt8: convert<std::int8_t>(source, elements, v.fill, raw); break;
            case Dtype::kInt16: convert<std::int16_t>(source, elements, v.fill, raw); break;
            case Dtype::kInt32: convert<std::int32_t>(source, elements, v.fill, raw); break;
            case Dtype::kInt64: convert<std::int64_t>(source, elements, v.fill, raw); break;
            case Dtype::kFloat32: convert<float>(source, elements, v.fill, raw); break;
            case Dtype::kFloat64: convert<double>(source, elements, v.fill, raw); break;
            default: throw std::logic_error("variable '" + std::string(v.name) + "' has no numeric type to encode");
          }
        }
      },
      v.block);
  const std::vector<std::uint8_t> shuffled = shuffle(raw, dtype_size(type));
  // HDF5's deflate filter (H5Zdeflate.c) is zlib's compress2 at the set level.
  uLongf size = compressBound(static_cast<uLong>(shuffled.size()));
  std::vector<std::uint8_t> out(size);
  if (compress2(out.data(), &size, shuffled.data(), static_cast<uLong>(shuffled.size()), 1) != Z_OK)
    throw std::runtime_error("zlib failed to compress a chunk of '" + std::string(v.name) + "'");
  out.resize(size);
  return out;
}

}  // namespace brink
