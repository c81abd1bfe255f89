// lane_vector::list_marked against the loop it replaces, on the path this
// binary is built for (the path twin test covers the others end to end).
#include "lane_vector.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace brink {
namespace {

TEST(ListMarkedTest, ListsEveryMarkedLaneInOrderForAnyPattern) {
  constexpr int kWidth = 256;
  std::mt19937 rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    // Densities from none to all, and widths that are every multiple of 16.
    const double density = (trial % 11) / 10.0;
    const int width = 16 * (1 + trial % 16);
    std::vector<std::int32_t> mask(kWidth), list(kWidth + 16, -1);
    std::bernoulli_distribution marked(density);
    std::vector<std::int32_t> expected;
    for (int r = 0; r < kWidth; ++r) {
      mask[r] = marked(rng) ? 1 + static_cast<std::int32_t>(rng() % 3) : 0;  // any nonzero value marks
      if (r < width && mask[r] != 0) expected.push_back(r);
    }
    const int count = lane_vector::list_marked(mask.data(), width, list.data());
    ASSERT_EQ(count, static_cast<int>(expected.size())) << "trial " << trial;
    for (int c = 0; c < count; ++c) ASSERT_EQ(list[c], expected[c]) << "trial " << trial << " entry " << c;
  }
}

}  // namespace
}  // namespace brink
