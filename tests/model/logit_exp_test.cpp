// logit_exp (engine/src/model/logit_exp.hpp), the kernel's exp of the logit's
// exponents: Eigen's exp bit for bit over its whole range, on the packet this
// test is compiled for (the baseline's; the AVX2 kernel path is the same
// source for 8 floats), and the clamps where its range ends.
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "brink/model/rules.hpp"
#include "logit_exp.hpp"

namespace brink {
namespace {

float from_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Inputs whose bit patterns run from `first` to `last` (inclusive) in steps
// of `stride`: how many of their logit_exp differ from Eigen's exp in any bit.
long differing(std::uint32_t first, std::uint32_t last, std::uint32_t stride, long* checked) {
  constexpr int kChunk = 1 << 16;  // a multiple of every packet size
  std::vector<float, Eigen::aligned_allocator<float>> in(kChunk), out(kChunk);
  long differ = 0;
  const std::int64_t step = first <= last ? stride : -static_cast<std::int64_t>(stride);
  std::int64_t at = first;
  auto inside = [&](std::int64_t v) { return first <= last ? v <= last : v >= last; };
  while (inside(at)) {
    int n = 0;
    for (; n < kChunk && inside(at); ++n, at += step) in[n] = from_bits(static_cast<std::uint32_t>(at));
    for (int j = n; j < kChunk; ++j) in[j] = 0.0f;  // whole packets
    out = in;
    logit_exp_in_place(out.data(), kChunk);
    // Eigen's exp over whole packets too (its scalar tail would be std::exp).
    const Eigen::ArrayXf eigen = Eigen::Map<const Eigen::ArrayXf>(in.data(), kChunk).exp();
    for (int j = 0; j < n; ++j) differ += bits_of(out[j]) != bits_of(eigen[j]) ? 1 : 0;
    *checked += n;
  }
  return differ;
}

// Every 13th float from -0 down to kLogitExpLow and from +0 up to
// kLogitExpHigh: about 170 million inputs, every exponent of the range.
TEST(LogitExpTest, IsEigensExpBitForBitOverItsRange) {
  long checked = 0;
  EXPECT_EQ(differing(bits_of(-0.0f), bits_of(kLogitExpLow), 13, &checked), 0);
  EXPECT_EQ(differing(bits_of(0.0f), bits_of(kLogitExpHigh), 13, &checked), 0);
  EXPECT_GT(checked, 150'000'000);
}

// The logit's exponents are floored at kLogitFloor − 1, inside the range;
// beyond it the input is clamped (a finite, positive weight, never inf, NaN or 0).
TEST(LogitExpTest, CoversTheLogitsExponentsAndClampsBeyond) {
  EXPECT_GE(rules::logit_exponent(-1e30f, 0.0f, 50.0f), kLogitExpLow);
  alignas(64) float v[16] = {kLogitExpLow, -88.5f, -1e30f, kLogitExpHigh, 88.5f,  1e30f, 0.0f, -1.0f,
                             1.0f,         -50.0f, 50.0f,  -80.0f,        -81.0f, 10.0f, 0.5f, -0.5f};
  float want[16];
  for (int j = 0; j < 16; ++j) want[j] = std::exp(std::min(std::max(v[j], kLogitExpLow), kLogitExpHigh));
  logit_exp_in_place(v, 16);
  for (int j = 0; j < 16; ++j) {
    EXPECT_TRUE(std::isfinite(v[j]) && v[j] > 0.0f) << j;
    EXPECT_NEAR(v[j] / want[j], 1.0f, 4e-7f) << j;
  }
}

}  // namespace
}  // namespace brink
