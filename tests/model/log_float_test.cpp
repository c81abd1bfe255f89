// rules::log_float, the model's float log (features: security gains, war
// gains): Eigen's vectorized log bit for bit, so the kernel's lane loop and
// the scalar twin give what Eigen gave, and accurate against libm.
#include <gtest/gtest.h>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "../support/float_bits.hpp"
#include "brink/model/rules.hpp"

namespace brink {
namespace {

using testing::bits_of;
using testing::from_bits;

// Every 37th float from 1e-37 to the largest finite one: 55 million inputs.
TEST(LogFloatTest, IsEigensLogBitForBitFromTenToTheMinus37Up) {
  const std::uint32_t first = bits_of(1e-37f), last = bits_of(std::numeric_limits<float>::max());
  constexpr std::uint32_t kStride = 37, kChunk = 1 << 16;
  std::vector<float> in(kChunk);
  long differ = 0, checked = 0;
  for (std::uint64_t start = first; start <= last; start += static_cast<std::uint64_t>(kStride) * kChunk) {
    int n = 0;
    for (; n < static_cast<int>(kChunk) && start + static_cast<std::uint64_t>(n) * kStride <= last; ++n)
      in[n] = from_bits(static_cast<std::uint32_t>(start + static_cast<std::uint64_t>(n) * kStride));
    const Eigen::ArrayXf eigen = Eigen::Map<const Eigen::ArrayXf>(in.data(), n).log();
    for (int i = 0; i < n; ++i) {
      differ += bits_of(rules::log_float(in[i])) != bits_of(eigen[i]) ? 1 : 0;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50'000'000);
  EXPECT_EQ(differ, 0);
}

TEST(LogFloatTest, SpecialValuesAsEigen) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(rules::log_float(0.0f), -inf);
  EXPECT_EQ(rules::log_float(-0.0f), -inf);
  EXPECT_EQ(rules::log_float(inf), inf);
  EXPECT_TRUE(std::isnan(rules::log_float(-1.0f)));
  EXPECT_TRUE(std::isnan(rules::log_float(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(rules::log_float(1.0f), 0.0f);
}

TEST(LogFloatTest, WithinTwoUlpsOfLibm) {
  for (float x = 1e-30f; x < 1e30f; x *= 1.0137f) {
    const float want = std::log(x), got = rules::log_float(x);
    EXPECT_LE(std::abs(got - want), 2.0f * std::abs(std::nextafter(want, 2.0f * want) - want) + 1e-7f) << x;
  }
}

}  // namespace
}  // namespace brink
