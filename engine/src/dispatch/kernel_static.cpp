// The dispatch interface for binaries that link the baseline kernel statically
// (unit tests, benchmarks): one path, the one linked in.
#include <string>
#include <string_view>
#include <vector>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/model/kernel_files.hpp"

extern "C" const brink::KernelTable* brink_kernel_table();

namespace brink {

const KernelTable& kernel() { return *brink_kernel_table(); }

std::vector<std::string> built_isas() { return {kernel().isa}; }

std::vector<std::string> kernel_files() { return {}; }

void select_kernel(std::string_view isa) {
  if (isa != kernel().isa)
    throw IsaUnavailable("this binary links only the " + std::string(kernel().isa) + " kernel, not " +
                         std::string(isa));
  if (!cpu_supports(isa)) throw IsaUnavailable("this CPU does not support " + std::string(isa));
}

}  // namespace brink
