// A native vector of lanes, for the few loops whose per-lane state must stay
// in registers across a loop over actions that only the scenario bounds (a
// pass per action over lane arrays would load and store that state once per
// action). GCC's vector extensions: the same operators as a float or an int,
// one zmm register on the AVX-512 path, one ymm register on AVX2, an xmm
// register elsewhere. Kernel-internal: never passed to a function that is
// not inlined, so the variants' ABIs never meet. Lane for lane, an operator
// on a vector is the operator on a float: rules written as templates
// (rules::passed) give the bits of their scalar use. Also list_marked, the
// list of a mask's set lanes built a register at a time.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace brink::lane_vector {

#if defined(__AVX512F__)
inline constexpr int kLanes = 16;
#elif defined(__AVX__)
inline constexpr int kLanes = 8;
#else
inline constexpr int kLanes = 4;
#endif
static_assert(16 % kLanes == 0, "a lane group (kLaneGroup) holds whole vectors");
using Floats = float __attribute__((vector_size(4 * kLanes)));
using Ints = std::int32_t __attribute__((vector_size(4 * kLanes)));

// Doubles: a register of doubles (half as many lanes as Floats); Longs, the
// 64-bit integers of the same width, are the masks that select between them.
inline constexpr int kDoubleLanes = kLanes / 2;
using Doubles = double __attribute__((vector_size(8 * kDoubleLanes)));
using Longs = std::int64_t __attribute__((vector_size(8 * kDoubleLanes)));

// base[index[k]] for the kDoubleLanes entries of `index`: a gather. The
// masked forms, from zeros: the plain ones' source is undefined, which GCC 12
// warns of.
[[gnu::always_inline]] inline Doubles gather(const double* base, const std::int32_t* index) {
#if defined(__AVX512F__)
  const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(index));
  return reinterpret_cast<Doubles>(_mm512_mask_i32gather_pd(_mm512_setzero_pd(), 0xFF, at, base, 8));
#elif defined(__AVX2__)
  const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(index));
  const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  return reinterpret_cast<Doubles>(_mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, at, all, 8));
#else
  Doubles out = {};
  for (int k = 0; k < kDoubleLanes; ++k) out[k] = base[index[k]];
  return out;
#endif
}
// The same for 32-bit integers, widened to 64 bits (to select doubles).
[[gnu::always_inline]] inline Longs gather_wide(const std::int32_t* base, const std::int32_t* index) {
#if defined(__AVX512F__)
  const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(index));
  const __m256i gathered = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), base, at, _mm256_set1_epi32(-1), 4);
  return reinterpret_cast<Longs>(_mm512_cvtepi32_epi64(gathered));
#elif defined(__AVX2__)
  const __m128i at = _mm_loadu_si128(reinterpret_cast<const __m128i*>(index));
  const __m128i gathered = _mm_mask_i32gather_epi32(_mm_setzero_si128(), base, at, _mm_set1_epi32(-1), 4);
  return reinterpret_cast<Longs>(_mm256_cvtepi32_epi64(gathered));
#else
  Longs out = {};
  for (int k = 0; k < kDoubleLanes; ++k) out[k] = base[index[k]];
  return out;
#endif
}
// x·y + z rounded once, as std::fma, lane by lane.
[[gnu::always_inline]] inline Doubles fma(Doubles x, Doubles y, Doubles z) {
#if defined(__AVX512F__)
  return reinterpret_cast<Doubles>(
      _mm512_fmadd_pd(reinterpret_cast<__m512d>(x), reinterpret_cast<__m512d>(y), reinterpret_cast<__m512d>(z)));
#elif defined(__AVX2__) && defined(__FMA__)
  return reinterpret_cast<Doubles>(
      _mm256_fmadd_pd(reinterpret_cast<__m256d>(x), reinterpret_cast<__m256d>(y), reinterpret_cast<__m256d>(z)));
#else
  Doubles out = {};
  for (int k = 0; k < kDoubleLanes; ++k) out[k] = std::fma(x[k], y[k], z[k]);
  return out;
#endif
}

template <class Vector, class T>
[[gnu::always_inline]] inline Vector load(const T* p) {
  static_assert(sizeof(T) * kLanes == sizeof(Vector) || (sizeof(T) == 8 && sizeof(Vector) == sizeof(Doubles)));
  Vector v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class Vector, class T>
[[gnu::always_inline]] inline void store(T* p, const Vector& v) {
  static_assert(sizeof(T) * kLanes == sizeof(Vector) || (sizeof(T) == 8 && sizeof(Vector) == sizeof(Doubles)));
  std::memcpy(p, &v, sizeof v);
}

// Writes the positions r < width of the nonzero masks to `list`, in
// increasing order, and returns how many there are. width is a multiple of
// 16, and `list` has room for 16 entries past the count (whole vectors are
// stored). A vector of lanes at a time: AVX-512 compresses the positions of
// 16 masks in one instruction; AVX2 permutes 8 by a table indexed by their
// bits; elsewhere a branch-free loop.
inline int list_marked(const std::int32_t* mask, int width, std::int32_t* list) {
  int count = 0;
#if defined(__AVX512F__)
  const __m512i zero = _mm512_setzero_si512();
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int g = 0; g < width; g += 16) {
    const __mmask16 set = _mm512_cmpneq_epi32_mask(_mm512_loadu_si512(mask + g), zero);
    const __m512i lanes = _mm512_add_epi32(iota, _mm512_set1_epi32(g));
    _mm512_storeu_si512(list + count, _mm512_maskz_compress_epi32(set, lanes));
    count += __builtin_popcount(set);
  }
#elif defined(__AVX2__)
  // The positions of the set bits of every 8-bit mask, packed first.
  static constexpr auto kPacked = [] {
    std::array<std::array<std::int32_t, 8>, 256> table{};
    for (int bits = 0; bits < 256; ++bits) {
      int k = 0;
      for (int b = 0; b < 8; ++b)
        if ((bits >> b) & 1) table[bits][k++] = b;
    }
    return table;
  }();
  const __m256i zero = _mm256_setzero_si256();
  for (int g = 0; g < width; g += 8) {
    const __m256i clear = _mm256_cmpeq_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask + g)), zero);
    const int set = ~_mm256_movemask_ps(_mm256_castsi256_ps(clear)) & 0xFF;
    const __m256i offsets = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kPacked[set].data()));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(list + count), _mm256_add_epi32(offsets, _mm256_set1_epi32(g)));
    count += __builtin_popcount(static_cast<unsigned>(set));
  }
#else
  for (int r = 0; r < width; ++r) {
    list[count] = r;
    count += mask[r] != 0 ? 1 : 0;
  }
#endif
  return count;
}

}  // namespace brink::lane_vector
