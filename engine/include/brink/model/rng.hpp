// Counter-based random numbers (Random123 Philox4x32-10).
//
// A draw is a pure function of (seed, point, replication, step, actor,
// purpose): no generator state is carried between steps, so any thread or MPI
// rank computes the same number for the same replication, in any order.
#pragma once

#include <Random123/philox.h>
#include <Random123/uniform.hpp>

#include <cstdint>

namespace brink {

enum class Purpose : std::uint32_t {
  kDecision = 1,  // an actor's action choice (one uniform)
  kIncident = 2,  // incident occurrence and its escalation (two uniforms)
  kResolve = 3,   // private resolve type, drawn at step 0
  // 0x8001-0x8005 are taken by sweep designs (brink/sweep/design.hpp).
};

struct StreamKey {
  std::uint64_t seed = 0;
  std::uint32_t point = 0;  // 0 for every point under common random numbers
};

// Two uniforms strictly inside (0, 1) for one (replication, step, actor, purpose).
inline void uniform_pair(const StreamKey& key, std::uint32_t replication, std::uint32_t step, std::uint32_t actor,
                         Purpose purpose, double* first, double* second) {
  using Philox = r123::Philox4x32;
  const Philox::key_type k = {{static_cast<std::uint32_t>(key.seed), static_cast<std::uint32_t>(key.seed >> 32)}};
  const Philox::ctr_type c = {{replication, key.point, step, (static_cast<std::uint32_t>(purpose) << 16) | actor}};
  const Philox::ctr_type r = Philox()(c, k);
  *first = r123::u01fixedpt<double>((static_cast<std::uint64_t>(r[0]) << 32) | r[1]);
  *second = r123::u01fixedpt<double>((static_cast<std::uint64_t>(r[2]) << 32) | r[3]);
}

}  // namespace brink
