#pragma once

#include <string_view>

namespace brink {
std::string_view engine_version();
// The -march the binary was built for; bitwise reproducibility holds per binary.
std::string_view target_isa();
}  // namespace brink
