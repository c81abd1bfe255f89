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
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace brink {

enum class Purpose : std::uint32_t {
  kDecision = 1,  // a step's uniforms: actors' choices and the incident's occurrence (see incident_word)
  kIncident = 2,  // an incident's escalation (first double uniform), drawn only where an incident occurred
  kResolve = 3,   // private resolve type (first uniform) and war cost (second), drawn at step 0
  kBargain = 4,   // the receiver's noisy acceptance of an offer (bargaining, acceptance_noise > 0)
  // 0x8001-0x8005 are taken by sweep designs (brink/sweep/design.hpp).
};

// Actors whose decision uniforms come from one Philox call.
inline constexpr int kDecisionGroup = 4;

// A step's uniforms are the words of the decision stream, word w of call
// (Purpose::kDecision, g) being word 4g + w: actor i's choice is the float of
// word i, and the incident's occurrence the double of words incident_word(n)
// and the one after, the first even word past the n actors'. With n mod 4 in
// {1, 2} the occurrence comes from the actors' last call: a Philox call per
// replication-step fewer than a stream of its own would take.
inline constexpr int incident_word(int actors) { return (actors + 1) / 2 * 2; }

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

// unit_double, bit for bit, from 32-bit integer conversions only (AVX2 has no
// 64-bit integer to double conversion, so a lane loop of unit_double stays
// scalar there): the 53-bit fraction is split into 21 + 16 + 16 bits, and each
// partial sum is exact.
inline double unit_double_lanes(std::uint32_t high, std::uint32_t low) {
  const std::uint32_t top = high >> 11;                                   // bits 52..32
  const std::uint32_t rest = ((high & 0x7FFu) << 21) | (low >> 11) | 1u;  // bits 31..0
  const auto top_d = static_cast<double>(static_cast<std::int32_t>(top));
  const auto mid_d = static_cast<double>(static_cast<std::int32_t>(rest >> 16));
  const auto low_d = static_cast<double>(static_cast<std::int32_t>(rest & 0xFFFFu));
  return (top_d * 0x1p-21 + mid_d * 0x1p-37) + low_d * 0x1p-53;
}

// Two uniforms strictly inside (0, 1) for one (replication, step, actor, purpose).
inline void uniform_pair(const StreamKey& key, std::uint32_t replication, std::uint32_t step, std::uint32_t actor,
                         Purpose purpose, double* first, double* second) {
  const auto r = philox_words(key, replication, step, purpose_word(purpose, actor));
  *first = unit_double(r[0], r[1]);
  *second = unit_double(r[2], r[3]);
}

namespace detail {

#if defined(__AVX2__)
// Philox's mulhilo on 32-bit lanes: _mm*_mul_epu32 multiplies the even lanes
// to 64 bits; the odd lanes are shifted down and multiplied again, and the
// halves are blended back. GCC does not find this for the plain loop.
#if defined(__AVX512F__)
using Lanes32 = __m512i;
inline constexpr int kVectorLanes = 16;
inline Lanes32 splat(std::uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
inline Lanes32 bit_xor(Lanes32 a, Lanes32 b) { return _mm512_xor_si512(a, b); }
// The odd lanes are moved down (and the products' halves moved across) by
// in-lane dword shuffles instead of 64-bit shifts: the multiplies and the
// shifts compete for one port, the shuffles run on another (the dwords a
// shuffle leaves in the other half are never read). Merge-masking puts each
// shuffled half straight into the other product: no blends.
inline void mulhilo(Lanes32 m, Lanes32 x, Lanes32* hi, Lanes32* lo) {
  const Lanes32 even = _mm512_mul_epu32(x, m), odd = _mm512_mul_epu32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), m);
  *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_DDBB);
  *lo = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CCAA);
}
inline void store(std::uint32_t* p, Lanes32 v) { _mm512_storeu_si512(p, v); }
#else
using Lanes32 = __m256i;
inline constexpr int kVectorLanes = 8;
inline Lanes32 splat(std::uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
inline Lanes32 bit_xor(Lanes32 a, Lanes32 b) { return _mm256_xor_si256(a, b); }
inline void mulhilo(Lanes32 m, Lanes32 x, Lanes32* hi, Lanes32* lo) {
  constexpr int kOddDown = 0xF5, kEvenUp = 0xA0;  // dwords (1,1,3,3) and (0,0,2,2) of each 128 bits
  const Lanes32 even = _mm256_mul_epu32(x, m), odd = _mm256_mul_epu32(_mm256_shuffle_epi32(x, kOddDown), m);
  *hi = _mm256_blend_epi32(_mm256_shuffle_epi32(even, kOddDown), odd, 0xAA);
  *lo = _mm256_blend_epi32(even, _mm256_shuffle_epi32(odd, kEvenUp), 0xAA);
}
inline void store(std::uint32_t* p, Lanes32 v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
#endif

// Philox4x32's multipliers and key increments, Random123's.
inline constexpr std::uint32_t kPhiloxM0 = PHILOX_M4x32_0, kPhiloxM1 = PHILOX_M4x32_1;
inline constexpr std::uint32_t kPhiloxW0 = PHILOX_W32_0, kPhiloxW1 = PHILOX_W32_1;

// The Philox4x32 rounds first_round..9 on K registers of counters
// c[v][0..3] under `seed`, in place. The K registers are independent:
// interleaving them hides the latency of each round's multiply, shuffle and
// xor chain.
template <int K>
inline void philox_rounds(Lanes32 (&c)[K][4], std::uint64_t seed, int first_round) {
  const Lanes32 m0 = splat(kPhiloxM0), m1 = splat(kPhiloxM1);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed) + static_cast<std::uint32_t>(first_round) * kPhiloxW0;
  std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32) + static_cast<std::uint32_t>(first_round) * kPhiloxW1;
  for (int round = first_round; round < 10; ++round) {
    const Lanes32 key0 = splat(k0), key1 = splat(k1);
    for (int v = 0; v < K; ++v) {
      Lanes32 hi0, lo0, hi1, lo1;
      mulhilo(m0, c[v][0], &hi0, &lo0);
      mulhilo(m1, c[v][2], &hi1, &lo1);
      c[v][0] = bit_xor(bit_xor(hi1, c[v][1]), key0);
      c[v][1] = lo1;
      c[v][2] = bit_xor(bit_xor(hi0, c[v][3]), key1);
      c[v][3] = lo0;
    }
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
}

// Lanes l.. of philox_lanes_at, K registers at once.
template <int K>
inline void philox_registers(std::uint64_t seed, const std::uint32_t* replication, const std::uint32_t* point,
                             std::uint32_t step, std::uint32_t purpose_and_actor, std::uint32_t* const* out, int l) {
  // The first round, with counter words 2 and 3 the same in every lane: the
  // multiply of word 2 is one scalar multiply, and each xor with a key
  // meets a scalar.
  const std::uint64_t product = static_cast<std::uint64_t>(kPhiloxM1) * step;
  const Lanes32 xor0 = splat(static_cast<std::uint32_t>(product >> 32) ^ static_cast<std::uint32_t>(seed));
  const Lanes32 low1 = splat(static_cast<std::uint32_t>(product));
  const Lanes32 xor2 = splat(purpose_and_actor ^ static_cast<std::uint32_t>(seed >> 32));
  const Lanes32 m0 = splat(kPhiloxM0);
  Lanes32 c[K][4];
  for (int v = 0; v < K; ++v) {
    Lanes32 word0, word1, hi0, lo0;
    std::memcpy(&word0, replication + l + v * kVectorLanes, sizeof(Lanes32));
    std::memcpy(&word1, point + l + v * kVectorLanes, sizeof(Lanes32));
    mulhilo(m0, word0, &hi0, &lo0);
    c[v][0] = bit_xor(word1, xor0);
    c[v][1] = low1;
    c[v][2] = bit_xor(hi0, xor2);
    c[v][3] = lo0;
  }
  philox_rounds<K>(c, seed, 1);
  for (int v = 0; v < K; ++v)
    for (int w = 0; w < 4; ++w) store(out[w] + l + v * kVectorLanes, c[v][w]);
}
#endif

}  // namespace detail

// Philox4x32-10 with each lane's own replication and point counter words
// (packed blocks, lanes of several sweep points side by side, and blocks
// whose finished lanes retired): lane l < count (a multiple of 16) gets
// philox_words({seed, point[l]}, replication[l], ...), bit for bit.
template <int kLanes>
inline void philox_lanes_at(std::uint64_t seed, const std::uint32_t* replication, const std::uint32_t* point,
                            std::uint32_t step, std::uint32_t purpose_and_actor, std::uint32_t (*out)[kLanes],
                            int count = kLanes) {
#if defined(__AVX2__)
  static_assert(kLanes % detail::kVectorLanes == 0 && 16 % detail::kVectorLanes == 0);
  using namespace detail;
  std::uint32_t* words[4] = {out[0], out[1], out[2], out[3]};
  constexpr int kInterleave = 2;
  int l = 0;
  for (; l + kInterleave * kVectorLanes <= count; l += kInterleave * kVectorLanes)
    philox_registers<kInterleave>(seed, replication, point, step, purpose_and_actor, words, l);
  for (; l < count; l += kVectorLanes) philox_registers<1>(seed, replication, point, step, purpose_and_actor, words, l);
#else
  for (int l = 0; l < count; ++l) {
    const auto r = philox_words({seed, point[l]}, replication[l], step, purpose_and_actor);
    for (int w = 0; w < 4; ++w) out[w][l] = r[w];
  }
#endif
}

// Philox4x32-10 for `kLanes` consecutive replications first_replication, +1, ...
// with the other counter words fixed; out[w][l] is word w of lane l: the same
// numbers as philox_words, lane by lane (PhiloxLanesTest), by philox_lanes_at.
template <int kLanes>
inline void philox_lanes(const StreamKey& key, std::uint32_t first_replication, std::uint32_t step,
                         std::uint32_t purpose_and_actor, std::uint32_t (*out)[kLanes]) {
  alignas(64) std::uint32_t replication[kLanes], point[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    replication[l] = first_replication + static_cast<std::uint32_t>(l);
    point[l] = key.point;
  }
  philox_lanes_at<kLanes>(key.seed, replication, point, step, purpose_and_actor, out);
}

}  // namespace brink
