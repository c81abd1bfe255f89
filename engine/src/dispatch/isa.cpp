// CPU detection shared by the dispatcher and the statically linked kernel.
#include <string>
#include <string_view>

#include "brink/model/kernel_dispatch.hpp"

namespace brink {

bool cpu_supports(std::string_view isa) {
  // libgcc's detection also checks that the OS saves the AVX/AVX-512 state
  // (XCR0), so a CPU with AVX-512 under a kernel that disabled it reads false.
  __builtin_cpu_init();
  if (isa == "avx2") return __builtin_cpu_supports("x86-64-v3");
  if (isa == "avx512") return __builtin_cpu_supports("x86-64-v4");
  // A native build runs only where it was built: everything in it assumes the build machine.
  if (isa == "native") return true;
  return false;
}

std::string default_isa() {
  for (const std::string& isa : built_isas())
    if (cpu_supports(isa)) return isa;
  throw IsaUnavailable("this CPU supports none of the instruction sets brink was built for (" + [] {
    std::string all;
    for (const std::string& isa : built_isas()) all += (all.empty() ? "" : ", ") + isa;
    return all;
  }() + ")");
}

}  // namespace brink
