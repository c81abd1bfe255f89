#pragma once

#include <string_view>

namespace brink {
std::string_view engine_version();
// BRINK_ARCH: the -march of everything but the kernel. The kernel path that runs,
// recorded as the file's target_isa, is kernel().isa (model/kernel_dispatch.hpp).
std::string_view target_isa();
}  // namespace brink
