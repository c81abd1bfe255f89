// main() of brink_unit_bench_<path>: the unit costs measured with one kernel
// path's instructions, on a CPU that has them (otherwise it says so and exits
// 0, so that a script can run every path's binary on any machine).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>

namespace {

bool cpu_runs(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;  // native: built for this machine
}

}  // namespace

int main(int argc, char** argv) {
  if (!cpu_runs(BRINK_UNIT_ISA)) {
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
