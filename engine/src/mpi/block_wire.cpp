#include "brink/mpi/block_wire.hpp"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace brink {
namespace {

constexpr std::uint32_t kBlockMagic = 0x424b4c42;  // "BLKB" in memory
constexpr std::uint32_t kBlockWireVersion = 2;

// Every vector of a BlockResult, in wire order. A field added to BlockResult
// changes its size and trips the static_assert below, so it cannot be
// forgotten here (the rank that wrote the file would silently lose it).
template <class Block, class F>
void for_each_field(Block& b, F&& f) {
  f(b.outcome);
  f(b.peak_rung);
  f(b.end_step);
  f(b.war_start_step);
  f(b.war_end_step);
  f(b.first_incident_step);
  f(b.incidents);
  f(b.casualties);
  f(b.final_forces);
  f(b.action_count);
  f(b.troops_added);
  f(b.troops_removed);
  f(b.alliance_war_cause);
  f(b.agreed);
  f(b.resolve_type);
  f(b.final_belief);
  f(b.ts_belief);
  f(b.record_rung_count);
  f(b.record_troops_sum);
  f(b.record_belief_sum);
  f(b.ts_forces);
  f(b.ts_rung);
  f(b.ts_tension);
  f(b.offer);
  f(b.war_cost);
}
constexpr std::size_t kVectorFields = 25;
static_assert(sizeof(BlockResult) == sizeof(BlockSpec) + 8 + (kVectorFields + 1) * sizeof(std::vector<int>),
              "BlockResult changed: add the new field to for_each_field in block_wire.cpp");

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
