// A native vector of lanes, for the few loops whose per-lane state must stay
// in registers across a loop over actions that only the scenario bounds (a
// pass per action over lane arrays would load and store that state once per
// action). GCC's vector extensions: the same operators as a float or an int,
// one zmm register on the AVX-512 path, one ymm register on AVX2, an xmm
// register elsewhere. Kernel-internal: never passed to a function that is
// not inlined, so the variants' ABIs never meet. Lane for lane, an operator
// on a vector is the operator on a float: rules written as templates
// (rules::passed) give the bits of their scalar use.
#pragma once

#include <cstdint>
#include <cstring>

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

template <class Vector, class T>
[[gnu::always_inline]] inline Vector load(const T* p) {
  static_assert(sizeof(T) * kLanes == sizeof(Vector));
  Vector v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class Vector, class T>
[[gnu::always_inline]] inline void store(T* p, const Vector& v) {
  static_assert(sizeof(T) * kLanes == sizeof(Vector));
  std::memcpy(p, &v, sizeof v);
}

}  // namespace brink::lane_vector
