// Every kernel path the brink binary loads, set against the scalar twin
// compiled into the same shared object: the comparisons of
// scalar_twin_test.cpp (twin_compare.hpp, twin_draws.hpp), through the
// dispatcher (dlopen, RTLD_LOCAL), so that code that exists only on one path
// (AVX-512's Philox tail and lane lists, say) is checked as well as the
// statically linked baseline. This binary sits beside the brink binary,
// where the dispatcher finds the shared objects.
#include <gtest/gtest.h>

#include <string>

#include "brink/model/kernel_dispatch.hpp"
#include "twin_compare.hpp"
#include "twin_draws.hpp"

namespace brink {
namespace {

class PathTwinTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The path's table, or nullptr (and the test skipped) where the CPU cannot
  // run it: an AVX2-only machine runs the avx2 instance, and the dispatcher
  // refuses the other with IsaUnavailable.
  const KernelTable* path() {
    const std::string& isa = GetParam();
    if (!cpu_supports(isa)) return nullptr;
    select_kernel(isa);
    const KernelTable& table = kernel();
    EXPECT_EQ(std::string(table.isa), isa);
    return &table;
  }
};

TEST_P(PathTwinTest, EveryShippedScenarioGivesTheSameOutcomesAsTheScalarTwin) {
  const KernelTable* table = path();
  if (!table) GTEST_SKIP() << "this CPU does not run the " << GetParam() << " path";
  twin_compare::expect_twin_agrees(
      [&](const Model& m, const BlockSpec& b) { return table->simulate_block(m, b, nullptr, {}); },
      [&](const Model& m, const BlockSpec& b) { return table->simulate_block_scalar(m, b); });
}

TEST_P(PathTwinTest, EveryDrawIsTheTwinsAndFinishedReplicationsStopLearning) {
  const KernelTable* table = path();
  if (!table) GTEST_SKIP() << "this CPU does not run the " << GetParam() << " path";
  twin_draws::expect_same_draws(
      [&](const Model& m, const BlockSpec& b, const BlockObserver& o) { table->observe_block(m, b, o); });
}

INSTANTIATE_TEST_SUITE_P(BuiltPaths, PathTwinTest, ::testing::ValuesIn(built_isas()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace brink
