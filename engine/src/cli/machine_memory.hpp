// The machine's physical memory, for the up-front memory checks of
// `brink run` and `brink calibrate`: a job that cannot fit is refused before
// it starts instead of failing (or being killed) hours later.
#pragma once

#include <unistd.h>

#include <optional>

namespace brink {

// Bytes of physical memory, or nothing when the system does not say.
inline std::optional<double> machine_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::nullopt;
  return static_cast<double>(pages) * static_cast<double>(page);
}

}  // namespace brink
