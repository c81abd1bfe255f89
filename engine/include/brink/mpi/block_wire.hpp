// Byte encodings of what ranks send each other in a distributed run: a
// finished block (BlockResult, with the chunks its rank compressed) and a
// block assignment. Both ends are the same binary, so values travel in the
// machine's own byte order; a magic word and a version guard against a
// message read as the wrong kind.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brink/model/block_result.hpp"

namespace brink {

// Appends values to a byte buffer.
class WireWriter {
 public:
  template <class T>
  void put(const T& value) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
    buffer_.insert(buffer_.end(), bytes, bytes + sizeof(T));
  }
  template <class T>
  void put_vector(const std::vector<T>& values) {
    put(static_cast<std::uint64_t>(values.size()));
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(values.data());
    buffer_.insert(buffer_.end(), bytes, bytes + values.size() * sizeof(T));
  }
  void put_string(std::string_view text) {
    put(static_cast<std::uint64_t>(text.size()));
    buffer_.insert(buffer_.end(), text.begin(), text.end());
  }
  std::vector<std::uint8_t> take() { return std::move(buffer_); }

 private:
  std::vector<std::uint8_t> buffer_;
};

// Reads what a WireWriter wrote; throws std::runtime_error naming `what` when
// the bytes run out or hold an impossible length.
class WireReader {
 public:
  WireReader(std::span<const std::uint8_t> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
  template <class T>
  T get() {
    T value;
    copy(&value, sizeof(T));
    return value;
  }
  template <class T>
  std::vector<T> get_vector() {
    const std::uint64_t n = count(sizeof(T));
    std::vector<T> values(n);
    copy(values.data(), n * sizeof(T));
    return values;
  }
  std::string get_string() {
    const std::uint64_t n = count(1);
    std::string text(n, '\0');
    copy(text.data(), n);
    return text;
  }
  // A count of items that take at least `element_size` bytes each; throws if
  // that many cannot follow.
  std::uint64_t count(std::size_t element_size);
  bool at_end() const { return offset_ == bytes_.size(); }
  // Throws unless every byte was read.
  void expect_end() const;

 private:
  void copy(void* to, std::size_t n);
  std::span<const std::uint8_t> bytes_;
  std::size_t offset_ = 0;
  std::string what_;
};

std::vector<std::uint8_t> encode_block_result(const BlockResult& block);
// A block assignment: the specs of the points that share one block
// (BlockScheduler::next_block), in order.
std::vector<std::uint8_t> encode_block_specs(std::span<const BlockSpec> specs);
// Throws std::runtime_error if `bytes` is not an encoded assignment of at least one spec.
std::vector<BlockSpec> decode_block_specs(std::span<const std::uint8_t> bytes);
// Throws std::runtime_error if `bytes` is not an encoded block.
BlockResult decode_block_result(std::span<const std::uint8_t> bytes);

}  // namespace brink
