// Counter-based random numbers (Random123 Philox4x32-10).
//
// A draw is a pure function of (seed, point, replication, step, actor or
// actor group, purpose): no generator state is carried between steps, so any
// thread or MPI rank computes the same number for the same replication, in any
// order. `philox_lanes` computes the same function for a whole block of
// consecutive replications at once, in a loop the compiler vectorizes; the
// scalar twin and the tests use Random123 itself, one call at a time.
#pragma once

#include <Random123/philox.h>
#include <Random123/uniform.hpp>

#include <cstdint>

namespace brink {

enum class Purpose : std::uint32_t {
  kDecision = 1,  // action choices: one call gives four float uniforms, for actors 4g..4g+3 of group g
  kIncident = 2,  // incident occurrence and its escalation (two double uniforms)
  kResolve = 3,   // private resolve type, drawn at step 0
  // 0x8001-0x8005 are taken by sweep designs (brink/sweep/design.hpp).
};

// Actors whose decision uniforms come from one Philox call.
inline constexpr int kDecisionGroup = 4;

struct StreamKey {
  std::uint64_t seed = 0;
  std::uint32_t point = 0;  // 0 for every point under common random numbers
};

inline std::uint32_t purpose_word(Purpose purpose, std::uint32_t actor) {
  return (static_cast<std::uint32_t>(purpose) << 16) | actor;
}

// The four 32-bit words of one Philox call.
inline r123::Philox4x32::ctr_type philox_words(const StreamKey& key, std::uint32_t replication, std::uint32_t step,
                                               std::uint32_t purpose_and_actor) {
  using Philox = r123::Philox4x32;
  const Philox::key_type k = {{static_cast<std::uint32_t>(key.seed), static_cast<std::uint32_t>(key.seed >> 32)}};
  const Philox::ctr_type c = {{replication, key.point, step, purpose_and_actor}};
  return Philox()(c, k);
}

// A float strictly inside (0, 1) from 32 random bits: r123::u01fixedpt<float>,
// an odd multiple of 2^-24.
inline float unit_float(std::uint32_t bits) {
  return static_cast<float>(static_cast<std::int32_t>((bits >> 8) | 1u)) * 0x1p-24f;
}

// A double strictly inside (0, 1) from 64 random bits: r123::u01fixedpt<double>.
inline double unit_double(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(high) << 32) | low;
  return static_cast<double>(static_cast<std::int64_t>((bits >> 11) | 1u)) * 0x1p-53;
}

// Two uniforms strictly inside (0, 1) for one (replication, step, actor, purpose).
inline void uniform_pair(const StreamKey& key, std::uint32_t replication, std::uint32_t step, std::uint32_t actor,
                         Purpose purpose, double* first, double* second) {
  const auto r = philox_words(key, replication, step, purpose_word(purpose, actor));
  *first = unit_double(r[0], r[1]);
  *second = unit_double(r[2], r[3]);
}

// Philox4x32-10 for `lanes` consecutive replications first_replication, +1, ...
// with the other counter words fixed; out[w][l] is word w of lane l. Written
// as plain loops over lanes so that the 32x32->64-bit multiplies vectorize.
template <int kLanes>
inline void philox_lanes(const StreamKey& key, std::uint32_t first_replication, std::uint32_t step,
                         std::uint32_t purpose_and_actor, std::uint32_t (*out)[kLanes]) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  std::uint32_t* c0 = out[0];
  std::uint32_t* c1 = out[1];
  std::uint32_t* c2 = out[2];
  std::uint32_t* c3 = out[3];
  for (int l = 0; l < kLanes; ++l) {
    c0[l] = first_replication + static_cast<std::uint32_t>(l);
    c1[l] = key.point;
    c2[l] = step;
    c3[l] = purpose_and_actor;
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(key.seed), k1 = static_cast<std::uint32_t>(key.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    for (int l = 0; l < kLanes; ++l) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c0[l];
      const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c2[l];
      const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
      const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
      const std::uint32_t n0 = hi1 ^ c1[l] ^ k0;
      const std::uint32_t n2 = hi0 ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = lo1;
      c2[l] = n2;
      c3[l] = lo0;
    }
    k0 += kW0;
    k1 += kW1;
  }
}

}  // namespace brink
