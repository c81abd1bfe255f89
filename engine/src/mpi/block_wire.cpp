#include "brink/mpi/block_wire.hpp"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace brink {
namespace {

constexpr std::uint32_t kBlockMagic = 0x424b4c42;  // "BLKB" in memory
constexpr std::uint32_t kBlockWireVersion = 3;

// Every vector of a BlockResult, in wire order (block_result.hpp's lists).
template <class Block, class F>
void for_each_field(Block& b, F&& f) {
  for_each_replication_array([&](auto member) { f(b.*member); });
  for_each_record_sum([&](auto member) { f(b.*member); });
}

}  // namespace

void WireReader::expect_end() const {
  if (!at_end())
    throw std::runtime_error(fmt::format("{}: {} bytes left over after the message", what_, bytes_.size() - offset_));
}

std::uint64_t WireReader::count(std::size_t element_size) {
  const auto n = get<std::uint64_t>();
  if (n > (bytes_.size() - offset_) / element_size)
    throw std::runtime_error(fmt::format("{}: a length of {} runs past the end of the message", what_, n));
  return n;
}

void WireReader::copy(void* to, std::size_t n) {
  if (n > bytes_.size() - offset_)
    throw std::runtime_error(fmt::format("{}: the message ends {} bytes early", what_, n - (bytes_.size() - offset_)));
  if (n) std::memcpy(to, bytes_.data() + offset_, n);
  offset_ += n;
}

std::vector<std::uint8_t> encode_block_result(const BlockResult& block) {
  WireWriter out;
  out.put(kBlockMagic);
  out.put(kBlockWireVersion);
  out.put(block.spec.point);
  out.put(block.spec.first_replication);
  out.put(static_cast<std::int32_t>(block.spec.count));
  out.put(static_cast<std::uint8_t>(block.interrupted));
  for_each_field(block, [&](const auto& v) { out.put_vector(v); });
  out.put(static_cast<std::uint64_t>(block.encoded.size()));
  for (const auto& chunk : block.encoded) out.put_vector(chunk);
  return out.take();
}

std::vector<std::uint8_t> encode_block_specs(std::span<const BlockSpec> specs) {
  WireWriter out;
  out.put(static_cast<std::uint64_t>(specs.size()));
  for (const BlockSpec& spec : specs) {
    out.put(spec.point);
    out.put(spec.first_replication);
    out.put(static_cast<std::int64_t>(spec.count));
  }
  return out.take();
}

std::vector<BlockSpec> decode_block_specs(std::span<const std::uint8_t> bytes) {
  WireReader in(bytes, "a block assignment from rank 0");
  std::vector<BlockSpec> specs(in.count(3 * sizeof(std::int64_t)));
  if (specs.empty()) throw std::runtime_error("a block assignment from rank 0 holds no block");
  for (BlockSpec& spec : specs) {
    spec.point = in.get<std::int64_t>();
    spec.first_replication = in.get<std::int64_t>();
    spec.count = static_cast<int>(in.get<std::int64_t>());
  }
  in.expect_end();
  return specs;
}

BlockResult decode_block_result(std::span<const std::uint8_t> bytes) {
  WireReader in(bytes, "a block result from another rank");
  if (in.get<std::uint32_t>() != kBlockMagic || in.get<std::uint32_t>() != kBlockWireVersion)
    throw std::runtime_error("a message from another rank is not a block result of this brink version");
  BlockResult block;
  block.spec.point = in.get<std::int64_t>();
  block.spec.first_replication = in.get<std::int64_t>();
  block.spec.count = in.get<std::int32_t>();
  block.interrupted = in.get<std::uint8_t>() != 0;
  for_each_field(block, [&](auto& v) { v = in.get_vector<typename std::decay_t<decltype(v)>::value_type>(); });
  const auto chunks = in.get<std::uint64_t>();
  if (chunks > bytes.size())
    throw std::runtime_error("a block result from another rank holds an impossible chunk count");
  block.encoded.resize(chunks);
  for (auto& chunk : block.encoded) chunk = in.get_vector<std::uint8_t>();
  in.expect_end();
  return block;
}

}  // namespace brink
