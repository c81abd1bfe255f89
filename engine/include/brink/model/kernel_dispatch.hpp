// Which compiled kernel runs: the instruction-set paths and the table of entry
// points a kernel variant exports.
//
// The Eigen kernel is built once per instruction set, each as its own shared
// object with hidden visibility that exports only brink_kernel_table(). The
// brink binary loads the one the CPU supports (RTLD_LOCAL), so the AVX-512
// and AVX2 instantiations of the same Eigen templates can never be merged by
// the linker. Tests and benchmarks link the baseline kernel statically and see
// the same interface. See docs/architecture.md, "Determinism".
#pragma once

#include <atomic>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "brink/model/kernel.hpp"
#include "brink/model/observe.hpp"

namespace brink {

struct KernelTable {
  // The fingerprint of the engine sources it was built from, for --version
  // (cmake/kernel_fingerprint.cmake). The loader compares the variant's
  // brink_kernel_fingerprint() with its own before it reads this table.
  const char* fingerprint;
  const char* isa;    // the path's name, recorded as the file's target_isa: "avx2", "avx512" or "native"
  const char* march;  // the -march it was compiled for
  BlockResult (*simulate_block)(const Model&, const BlockSpec&, const std::atomic<bool>* stop, BlockResult buffer);
  // The scalar reference twin, compiled with the path's own -march, so that
  // a test can set every path's vectorized kernel against it.
  BlockResult (*simulate_block_scalar)(const Model&, const BlockSpec&);
  // The path's block step by step (observe.hpp): the tests' view of its
  // draws, its per-step state and its allocations.
  void (*observe_block)(const Model&, const BlockSpec&, const BlockObserver&);
};

// A path the user asked for that this CPU or this build cannot run (exit 2).
class IsaUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kernel this process runs. In the brink binary: the variant chosen by
// select_kernel, or the best one for the CPU on first use. In tests and
// benchmarks: the statically linked baseline kernel.
const KernelTable& kernel();

// The identity of the engine that simulates: the fingerprint of the sources
// this build was compiled from (KernelTable::fingerprint; the loader checks a
// variant's against the binary's). Files record it as `engine_fingerprint`,
// and --resume, merge and MPI ranks compare it: `engine_version` stays the
// same across builds whose results differ. BRINK_TEST_ENGINE_FINGERPRINT
// replaces it, so that a test can stand for another build without one.
inline std::string engine_fingerprint() {
  const char* hook = std::getenv("BRINK_TEST_ENGINE_FINGERPRINT");
  return hook && *hook ? std::string(hook) : std::string(kernel().fingerprint);
}

// The paths this build provides, best first (e.g. {"avx512", "avx2"}).
std::vector<std::string> built_isas();
// Whether the CPU (and the operating system) can run a path.
bool cpu_supports(std::string_view isa);
// The path kernel() uses unless one is selected: the best built path the CPU runs.
std::string default_isa();
// Makes `isa` the kernel of this process; throws IsaUnavailable with one
// sentence if the path is unknown, not built or not supported by the CPU.
void select_kernel(std::string_view isa);

}  // namespace brink
