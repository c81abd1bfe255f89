// Every kernel path the brink binary loads, set against the scalar twin
// compiled into the same shared object: the comparison of
// scalar_twin_test.cpp, through the dispatcher (dlopen, RTLD_LOCAL), so that
// code that exists only on one path (AVX-512's Philox and lane lists, say)
// is checked as well as the statically linked baseline. This binary sits
// beside the brink binary, where the dispatcher finds the shared objects.
#include <gtest/gtest.h>

#include <string>

#include "brink/model/kernel_dispatch.hpp"
#include "twin_compare.hpp"

namespace brink {
namespace {

class PathTwinTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PathTwinTest, EveryShippedScenarioGivesTheSameOutcomesAsTheScalarTwin) {
  const std::string& isa = GetParam();
  // A path the CPU lacks cannot be loaded, let alone run (an AVX2-only machine
  // runs the avx2 instance; the dispatcher refuses the other with IsaUnavailable).
  if (!cpu_supports(isa)) GTEST_SKIP() << "this CPU does not run the " << isa << " path";
  select_kernel(isa);
  const KernelTable& table = kernel();
  ASSERT_EQ(std::string(table.isa), isa);
  twin_compare::expect_twin_agrees(
      [&](const Model& m, const BlockSpec& b) { return table.simulate_block(m, b, nullptr, {}); },
      [&](const Model& m, const BlockSpec& b) { return table.simulate_block_scalar(m, b); });
}

INSTANTIATE_TEST_SUITE_P(BuiltPaths, PathTwinTest, ::testing::ValuesIn(built_isas()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace brink
