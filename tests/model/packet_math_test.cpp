// packet_math.hpp, the kernel's exp and log over packets: logit_exp is
// Eigen's exp and log_packet is rules::log_float (the scalar twin's log), bit
// for bit over their ranges, on the packet this test is compiled for (the
// baseline's; the AVX2 kernel path is the same source for 8 floats).
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "../support/float_bits.hpp"
#include "brink/model/rules.hpp"
#include "packet_math.hpp"

namespace brink {
namespace {

using testing::bits_of;
using testing::from_bits;

// Over the floats whose bit patterns run from `first` to `last` (inclusive)
// in steps of `stride`: how many of `packet`'s results (in place over whole
// packets) differ in any bit from `reference`'s (in place over an array).
template <class Packet, class Reference>
long differing(std::uint32_t first, std::uint32_t last, std::uint32_t stride, Packet&& packet, Reference&& reference,
               long* checked) {
  constexpr int kChunk = 1 << 16;  // a multiple of every packet size
  // Aligned: Eigen's exp of an array takes std::exp for a misaligned head.
  std::vector<float, Eigen::aligned_allocator<float>> in(kChunk), out(kChunk), want(kChunk);
  long differ = 0;
  const std::int64_t step = first <= last ? stride : -static_cast<std::int64_t>(stride);
  std::int64_t at = first;
  auto inside = [&](std::int64_t v) { return first <= last ? v <= last : v >= last; };
  while (inside(at)) {
    int n = 0;
    for (; n < kChunk && inside(at); ++n, at += step) in[n] = from_bits(static_cast<std::uint32_t>(at));
    for (int j = n; j < kChunk; ++j) in[j] = 1.0f;  // whole packets
    out = in;
    packet(out.data(), kChunk);
    want = in;
    reference(want.data(), kChunk);
    for (int j = 0; j < n; ++j) differ += bits_of(out[j]) != bits_of(want[j]) ? 1 : 0;
    *checked += n;
  }
  return differ;
}

// Eigen's exp over whole aligned packets (a scalar head or tail would be std::exp).
void eigen_exp(float* v, int n) {
  Eigen::Map<Eigen::ArrayXf> a(v, n);
  a = a.exp();
}
void log_float_each(float* v, int n) {
  for (int j = 0; j < n; ++j) v[j] = rules::log_float(v[j]);
}

// Every 13th float from -0 down to kLogitExpLow and from +0 up to
// kLogitExpHigh: about 170 million inputs, every exponent of the range.
TEST(PacketMathTest, LogitExpIsEigensExpBitForBitOverItsRange) {
  long checked = 0;
  EXPECT_EQ(differing(bits_of(-0.0f), bits_of(kLogitExpLow), 13, logit_exp_in_place, eigen_exp, &checked), 0);
  EXPECT_EQ(differing(bits_of(0.0f), bits_of(kLogitExpHigh), 13, logit_exp_in_place, eigen_exp, &checked), 0);
  EXPECT_GT(checked, 150'000'000);
}

// The logit's exponents are floored at kLogitFloor − 1, inside the range;
// beyond it the input is clamped (a finite, positive weight, never inf, NaN or 0).
TEST(PacketMathTest, LogitExpCoversTheLogitsExponentsAndClampsBeyond) {
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

// Every 29th bit pattern of the whole float line, both signs (NaNs,
// infinities, denormals and zeros included): about 150 million inputs.
TEST(PacketMathTest, LogPacketIsLogFloatBitForBitEverywhere) {
  long checked = 0;
  EXPECT_EQ(differing(0u, 0x7fffffffu, 29, log_in_place, log_float_each, &checked), 0);
  EXPECT_EQ(differing(0x80000000u, 0xffffffffu, 29, log_in_place, log_float_each, &checked), 0);
  EXPECT_GT(checked, 140'000'000);
}

TEST(PacketMathTest, LogPacketSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  alignas(64) float v[16] = {0.0f, -0.0f,  inf,    -inf,  nan,         -1.0f,      1.0f,       2.0f,
                             0.5f, 1e-40f, 1e-37f, 3e38f, 0.70710677f, 0.7071068f, 1.4142135f, 10.0f};
  float in[16];
  std::copy(v, v + 16, in);
  log_in_place(v, 16);
  EXPECT_EQ(v[0], -inf);
  EXPECT_EQ(v[1], -inf);
  EXPECT_EQ(v[2], inf);
  EXPECT_TRUE(std::isnan(v[3]) && std::isnan(v[4]) && std::isnan(v[5]));
  EXPECT_EQ(v[6], 0.0f);
  for (int j = 7; j < 16; ++j)
    EXPECT_NEAR(v[j], std::log(std::max(in[j], 0x1p-126f)), 2e-7f * std::abs(v[j]) + 1e-7f) << j;
}

// eigen_sums is Eigen's sum() of each column's head, bit for bit, for every
// length up to a block's and for columns that start on and off the packet
// alignment (the scalar head of Eigen's reduction), in columns of magnitudes
// far apart (where the association shows in the last bits).
TEST(PacketMathTest, EigenSumsAreEigensSumsBitForBit) {
  constexpr int kRows = 300;
  Eigen::ArrayXXd a = Eigen::ArrayXXd::Random(kRows, 4);
  a.col(0) *= 1e6;
  a.col(1) = a.col(1).abs() * 1e-3 + 7.0;
  a.col(2) = a.col(2) * a.col(2) * 3e4;
  int checked = 0;
  for (int offset : {0, 1, 3}) {
    for (Eigen::Index size = 0; size + offset <= kRows; ++size) {
      const double* const same_alignment[3] = {a.col(0).data() + offset, a.col(1).data() + offset,
                                               a.col(2).data() + offset};
      double sums[3];
      eigen_sums(same_alignment, size, sums);
      for (int k = 0; k < 3; ++k) {
        const double want = a.col(k).segment(offset, size).sum();
        ASSERT_EQ(bits_of(sums[k]), bits_of(want)) << "column " << k << ", offset " << offset << ", size " << size;
        ++checked;
      }
    }
  }
  // Columns that align differently: still each one's own sum.
  const double* const mixed[3] = {a.col(0).data(), a.col(1).data() + 1, a.col(3).data() + 2};
  double sums[3];
  eigen_sums(mixed, 200, sums);
  EXPECT_EQ(bits_of(sums[0]), bits_of(a.col(0).head(200).sum()));
  EXPECT_EQ(bits_of(sums[1]), bits_of(a.col(1).segment(1, 200).sum()));
  EXPECT_EQ(bits_of(sums[2]), bits_of(a.col(3).segment(2, 200).sum()));
  EXPECT_GT(checked, 2500);
}

}  // namespace
}  // namespace brink
