// main() of brink_unit_bench_<path>: the unit costs measured with one kernel
// path's instructions, on a CPU that has them. The CPU check is brink's own
// (brink::cpu_supports, from brink_model, compiled for the baseline); on a
// CPU without the path it says so and exits 0. bench/floor.py asks
// `brink --version` which paths this CPU runs before it starts a bench.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "brink/model/kernel_dispatch.hpp"

int main(int argc, char** argv) {
  if (!brink::cpu_supports(BRINK_UNIT_ISA)) {
    std::printf("brink_unit_bench_%s: this CPU cannot run the %s path; nothing measured\n", BRINK_UNIT_ISA,
                BRINK_UNIT_ISA);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("kernel_path", BRINK_UNIT_ISA);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
