// The one symbol a kernel variant exports. Compiled into every variant shared
// object (and into the statically linked baseline kernel) with the variant's
// name and -march given by CMake.
#include "brink/model/kernel_dispatch.hpp"
#include "brink/model/scalar_twin.hpp"
#include "kernel_fingerprint.hpp"

#if !defined(BRINK_KERNEL_ISA) || !defined(BRINK_KERNEL_MARCH)
#error "BRINK_KERNEL_ISA and BRINK_KERNEL_MARCH are set by engine/CMakeLists.txt"
#endif

namespace {
constexpr brink::KernelTable kTable{
    BRINK_KERNEL_FINGERPRINT,      BRINK_KERNEL_ISA,     BRINK_KERNEL_MARCH, &brink::simulate_block,
    &brink::simulate_block_scalar, &brink::observe_block};
}  // namespace

extern "C" __attribute__((visibility("default"))) const brink::KernelTable* brink_kernel_table() { return &kTable; }

// Looked up and compared before the table is read: its signature never
// changes, so a variant of any other build is refused without reading a table
// whose layout may differ.
extern "C" __attribute__((visibility("default"))) const char* brink_kernel_fingerprint() {
  return BRINK_KERNEL_FINGERPRINT;
}
