// A step of the vectorized kernel allocates nothing on the heap: every working
// array is sized when the block is set up. Counted on every kernel path this
// CPU runs, through the shared objects the brink binary loads (like
// path_twin_test.cpp), by replacing every heap entry point of glibc for this
// binary: malloc, calloc, realloc, reallocarray, free and the aligned ones.
// operator new and new[] (every form, aligned and nothrow) and Eigen's
// allocations all end in one of them, in the test binary and in the
// dlopen'ed kernels alike (the executable's definitions come first in symbol
// lookup). Only calls made while a step runs count: the block's set-up and
// the test's own work before and after each step do not.
#include <errno.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <atomic>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "twin_models.hpp"

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted(void* p) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return p;
}
}  // namespace

// Each forwards to glibc's own allocator, so its blocks are glibc's blocks
// (malloc_usable_size and the rest keep working on them).
extern "C" {
void* malloc(std::size_t size) noexcept { return counted(__libc_malloc(size)); }
void* calloc(std::size_t count, std::size_t size) noexcept { return counted(__libc_calloc(count, size)); }
void* realloc(void* p, std::size_t size) noexcept { return counted(__libc_realloc(p, size)); }
void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return counted(__libc_realloc(p, bytes));
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t alignment, std::size_t size) noexcept { return counted(__libc_memalign(alignment, size)); }
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return counted(__libc_memalign(alignment, size));
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = counted(__libc_memalign(alignment, size));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t size) noexcept { return counted(__libc_memalign(4096, size)); }
}

namespace brink {
namespace {

void start_counting(void*, int) { g_counting.store(true, std::memory_order_relaxed); }
void stop_counting(void*, const StepView&) { g_counting.store(false, std::memory_order_relaxed); }

class AllocationTest : public ::testing::TestWithParam<std::string> {};

// Allocations that f makes (each result kept from the optimizer, which may
// drop an allocation whose memory is never used).
template <class F>
long allocations_of(F&& f) {
  g_allocations = 0;
  g_counting = true;
  f();
  g_counting = false;
  return g_allocations.load();
}
void keep(const void* p) { __asm__ __volatile__("" : : "r"(p) : "memory"); }

// The counter itself: each entry point, as the kernel's code would reach it.
TEST(AllocationCounterTest, CountsEveryHeapEntryPoint) {
  auto count = [](auto f) { return allocations_of(f); };
  EXPECT_GE(count([] {
              auto* p = new double(1);
              keep(p);
              delete p;
            }),
            1);
  EXPECT_GE(count([] {
              auto* p = new double[3];
              keep(p);
              delete[] p;
            }),
            1);
  EXPECT_GE(count([] {
              auto* p = new (std::nothrow) int(1);
              keep(p);
              delete p;
            }),
            1);
  EXPECT_GE(count([] {
              void* p = ::operator new (64, std::align_val_t{64});
              keep(p);
              ::operator delete (p, std::align_val_t{64});
            }),
            1);
  EXPECT_GE(count([] {
              void* p = std::malloc(8);
              keep(p);
              std::free(p);
            }),
            1);
  EXPECT_GE(count([] {
              void* p = std::calloc(2, 8);
              keep(p);
              std::free(p);
            }),
            1);
  EXPECT_GE(count([] {
              void* p = std::realloc(nullptr, 8);
              keep(p);
              std::free(p);
            }),
            1);
  EXPECT_GE(count([] {
              void* p = std::aligned_alloc(64, 64);
              keep(p);
              std::free(p);
            }),
            1);
  EXPECT_GE(count([] {
              void* p = nullptr;
              if (posix_memalign(&p, 64, 64) == 0) keep(p);
              std::free(p);
            }),
            1);
  EXPECT_GE(count([] {
              Eigen::ArrayXd junk = Eigen::ArrayXd::Zero(17);
              keep(junk.data());
            }),
            1);
  EXPECT_GE(count([] {
              Eigen::ArrayXXf junk = Eigen::ArrayXXf::Zero(16, 3);
              keep(junk.data());
            }),
            1);
}

// Every shipped scenario and the twin's extra models (more than two types,
// per-type war values with a casualty cost, noisy acceptance and time
// series, many-party talks), in a full block, a partly filled one (its
// first steps run with a width that is not a whole number of vectors) and a
// packed block of three points' segments (a posterior run's).
TEST_P(AllocationTest, AStepAllocatesNothingInAnyShippedScenario) {
  const std::string& isa = GetParam();
  if (!cpu_supports(isa)) GTEST_SKIP() << "this CPU does not run the " << isa << " path";
  select_kernel(isa);
  const KernelTable& table = kernel();
  ASSERT_EQ(std::string(table.isa), isa);
  for (const twin_compare::Named& s : twin_compare::twin_models()) {
    SCOPED_TRACE(s.name);
    const Model& model = s.model;
    const std::vector<LaneSegment> segments{{&model, 4, 100, 40}, {&model, 5, 0, 48}, {&model, 6, 7, 24}};
    BlockSpec packed{0, 0, 112};
    packed.segments = segments;
    for (const BlockSpec& spec : {BlockSpec{0, 0, kBlockLanes}, BlockSpec{0, 0, 72}, packed}) {
      table.observe_block(model, spec, {});  // warm-up: anything made once per process
      g_allocations = 0;
      table.observe_block(model, spec, BlockObserver{nullptr, &start_counting, &stop_counting});
      EXPECT_EQ(g_allocations.load(), 0) << "allocations in the steps of a block of " << spec.count;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BuiltPaths, AllocationTest, ::testing::ValuesIn(built_isas()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace brink
