// A step of the vectorized kernel allocates nothing on the heap: every working
// array is sized when the block is set up. Counted by replacing the global
// operator new for this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "brink/model/kernel.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

// GCC pairs these free() calls with the new-expressions of its inlined callers
// and warns; they are right: operator new below allocates with malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace brink {
namespace {

TEST(AllocationTest, AStepAllocatesNothingInAnyShippedScenario) {
  for (const ShippedScenario& s : shipped_scenarios()) {
    SCOPED_TRACE(std::string(s.name));
    const Model model(load_scenario({std::string(s.path), std::string(s.text)}).scenario);
    BlockSimulator sim(model, {0, 0, kBlockLanes});
    const long before = g_allocations.load();
    for (int step = 0; step < model.steps(); ++step) sim.step(step);
    sim.finish();
    EXPECT_EQ(g_allocations.load() - before, 0);
  }
}

}  // namespace
}  // namespace brink
