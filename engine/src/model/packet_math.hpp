// The kernel's exp and log over packets of floats (Eigen's packet types, one
// register of lanes), for the lane loops whose bits must be those of a
// reference: logit_exp gives Eigen's exp, log_packet rules::log_float
// (and so Eigen's log). tests/model/packet_math_test.cpp compares both bit
// for bit over their ranges. Private to engine/src/model.
#pragma once

#include <Eigen/Core>

#include <limits>
#include <type_traits>

// Eigen's packets are vector types with attributes, which GCC warns about
// as template arguments; Eigen silences the warning in its own headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"

namespace brink {

// The logit's exp: Eigen's pexp_float (its exp on the AVX2 path) operation
// for operation, except that 2^m is built directly from m's bits, as
// Eigen's own AVX-512 exp does (which is used as it is). Eigen's pldexp
// must handle any exponent (down to denormals and up to overflow), so it
// splits 2^m into four factors: 14 instructions where one shift and one
// add do for m in [-126, 127]. Scaling by a power of two is exact (one
// rounding, the same in both), so for every x in [kLogitExpLow,
// kLogitExpHigh] the result has Eigen's bits. Inputs are clamped to that
// range on every path (Eigen clamps at ±88.7, or ±88.4 on AVX-512): the
// logit's exponents are at least kLogitFloor − 1 (rules.hpp), and one above
// kLogitExpHigh belongs to an infeasible action, whose weight is zero
// whatever its exp. In the range, m = floor(x·log2(e) + ½) stays in
// [-126, 127], where 2^m is a normal float.
inline constexpr float kLogitExpLow = -87.0f;
inline constexpr float kLogitExpHigh = 88.0f;

template <class Packet>
[[gnu::always_inline]] inline Packet logit_exp(const Packet& in) {
  namespace ei = Eigen::internal;
  const Packet x = ei::pmax(ei::pmin(in, ei::pset1<Packet>(kLogitExpHigh)), ei::pset1<Packet>(kLogitExpLow));
#if defined(EIGEN_VECTORIZE_AVX512)
  // Eigen's AVX-512 exp of 16 floats has its own algorithm, which builds 2^m directly already.
  if constexpr (std::is_same_v<Packet, ei::Packet16f>) return ei::pexp(x);
#endif
  using PacketI = typename ei::unpacket_traits<Packet>::integer_packet;
  // The rest up to the scaling is pexp_float's (Eigen 3.4, GenericPacketMathFunctions.h).
  const Packet m = ei::pfloor(ei::pmadd(x, ei::pset1<Packet>(1.44269504088896341f), ei::pset1<Packet>(0.5f)));
  Packet r = ei::pmadd(m, ei::pset1<Packet>(-0.693359375f), x);
  r = ei::pmadd(m, ei::pset1<Packet>(2.12194440e-4f), r);
  const Packet r2 = ei::pmul(r, r);
  const Packet r3 = ei::pmul(r2, r);
  Packet y = ei::pmadd(ei::pset1<Packet>(1.9875691500E-4f), r, ei::pset1<Packet>(1.3981999507E-3f));
  Packet y1 = ei::pmadd(ei::pset1<Packet>(4.1665795894E-2f), r, ei::pset1<Packet>(1.6666665459E-1f));
  const Packet y2 = ei::padd(r, ei::pset1<Packet>(1.0f));
  y = ei::pmadd(y, r, ei::pset1<Packet>(8.3334519073E-3f));
  y1 = ei::pmadd(y1, r, ei::pset1<Packet>(5.0000001201E-1f));
  y = ei::pmadd(y, r3, y1);
  y = ei::pmadd(y, r2, y2);
  // 2^m: the biased exponent m + 127 in the exponent field.
  const PacketI biased = ei::padd(ei::pcast<Packet, PacketI>(m), ei::pset1<PacketI>(127));
  const Packet scale = ei::preinterpret<Packet>(ei::plogical_shift_left<23>(biased));
  return ei::pmax(ei::pmul(y, scale), x);
}

// rules::log_float over a packet, operation for operation (the same
// constants, the same fused and unfused steps in the same order), so every
// lane has log_float's bits. The loop over lanes that GCC vectorizes from
// log_float itself computes the polynomial's inputs for both sides of the
// [√½, √2) test and blends them: about 60 instructions per AVX2 register
// where this takes 41.
template <class Packet>
[[gnu::always_inline]] inline Packet log_packet(const Packet& v) {
  namespace ei = Eigen::internal;
  using PacketI = typename ei::unpacket_traits<Packet>::integer_packet;
  const Packet one = ei::pset1<Packet>(1.0f);
  const Packet x0 = ei::pmax(v, ei::pset1<Packet>(0x1p-126f));  // the smallest normal
  const PacketI bits = ei::preinterpret<PacketI>(x0);
  Packet e = ei::psub(ei::pcast<PacketI, Packet>(ei::plogical_shift_right<23>(bits)), ei::pset1<Packet>(126.0f));
  // The mantissa in [0.5, 1).
  Packet x = ei::por(ei::pand(x0, ei::pset1frombits<Packet>(0x807fffffu)), ei::pset1frombits<Packet>(0x3f000000u));
  const Packet below = ei::pcmp_lt(x, ei::pset1<Packet>(0.707106781186547524f));  // x ← 2x, e ← e − 1
  const Packet tmp = ei::pand(below, x);
  x = ei::psub(x, one);
  e = ei::psub(e, ei::pand(below, one));
  x = ei::padd(x, tmp);
  const Packet x2 = ei::pmul(x, x), x3 = ei::pmul(x2, x);
  Packet y = ei::pmadd(ei::pset1<Packet>(7.0376836292E-2f), x, ei::pset1<Packet>(-1.1514610310E-1f));
  Packet y1 = ei::pmadd(ei::pset1<Packet>(-1.2420140846E-1f), x, ei::pset1<Packet>(+1.4249322787E-1f));
  Packet y2 = ei::pmadd(ei::pset1<Packet>(+2.0000714765E-1f), x, ei::pset1<Packet>(-2.4999993993E-1f));
  y = ei::pmadd(y, x, ei::pset1<Packet>(1.1676998740E-1f));
  y1 = ei::pmadd(y1, x, ei::pset1<Packet>(-1.6668057665E-1f));
  y2 = ei::pmadd(y2, x, ei::pset1<Packet>(+3.3333331174E-1f));
  y = ei::pmadd(y, x3, y1);
  y = ei::pmadd(y, x3, y2);
  y = ei::pmul(y, x3);
  y = ei::pmadd(ei::pset1<Packet>(-0.5f), x2, y);
  x = ei::padd(x, y);
  x = ei::pmadd(e, ei::pset1<Packet>(0.693147180559945309417232121458176568f), x);
  const Packet inf = ei::pset1<Packet>(std::numeric_limits<float>::infinity());
  x = ei::pselect(ei::pcmp_eq(v, inf), v, x);
  x = ei::pselect(ei::pcmp_lt_or_nan(v, ei::pzero(v)), ei::pset1<Packet>(std::numeric_limits<float>::quiet_NaN()), x);
  return ei::pselect(ei::pcmp_eq(v, ei::pzero(v)), ei::pset1<Packet>(-std::numeric_limits<float>::infinity()), x);
}

// f over count floats in place, a packet at a time (count a multiple of the packet size).
template <class F>
[[gnu::always_inline]] inline void packets_in_place(float* values, int count, F f) {
  using Packet = Eigen::internal::packet_traits<float>::type;
  constexpr int kSize = Eigen::internal::unpacket_traits<Packet>::size;
  for (int j = 0; j < count; j += kSize)
    Eigen::internal::pstoreu(values + j, f(Eigen::internal::ploadu<Packet>(values + j)));
}

inline void logit_exp_in_place(float* values, int count) {
  packets_in_place(values, count, [](const auto& p) { return logit_exp(p); });
}

inline void log_in_place(float* values, int count) {
  packets_in_place(values, count, [](const auto& p) { return log_packet(p); });
}

// Eigen's sum() of each of K columns' first `size` doubles, bit for bit
// (its linear vectorized reduction, Redux.h in Eigen 3.4: a scalar head up
// to the first aligned packet, two packet accumulators over pairs of
// packets, one more packet, predux, then the scalar tail), with the K
// columns' additions interleaved: one column's sum is a chain of dependent
// additions that leaves the adder idle most of the time.
template <int K>
inline void eigen_sums(const double* const (&column)[K], Eigen::Index size, double (&out)[K]) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<double>::type;
  constexpr Eigen::Index kSize = ei::unpacket_traits<Packet>::size;
  const Eigen::Index start = ei::first_default_aligned(column[0], size);
  for (int k = 0; k < K; ++k) {
    // Columns that align differently, and sizes below a packet, take Eigen's own sum.
    if (ei::first_default_aligned(column[k], size) != start || size - start < kSize) {
      for (int c = 0; c < K; ++c) out[c] = Eigen::Map<const Eigen::ArrayXd>(column[c], size).sum();
      return;
    }
  }
  const Eigen::Index end2 = start + (size - start) / (2 * kSize) * (2 * kSize);
  const Eigen::Index end = start + (size - start) / kSize * kSize;
  Packet sum0[K], sum1[K];
  for (int k = 0; k < K; ++k) sum0[k] = ei::ploadu<Packet>(column[k] + start);
  if (end - start > kSize) {
    for (int k = 0; k < K; ++k) sum1[k] = ei::ploadu<Packet>(column[k] + start + kSize);
    for (Eigen::Index i = start + 2 * kSize; i < end2; i += 2 * kSize)
      for (int k = 0; k < K; ++k) {
        sum0[k] = ei::padd(sum0[k], ei::ploadu<Packet>(column[k] + i));
        sum1[k] = ei::padd(sum1[k], ei::ploadu<Packet>(column[k] + i + kSize));
      }
    for (int k = 0; k < K; ++k) sum0[k] = ei::padd(sum0[k], sum1[k]);
    if (end > end2)
      for (int k = 0; k < K; ++k) sum0[k] = ei::padd(sum0[k], ei::ploadu<Packet>(column[k] + end2));
  }
  for (int k = 0; k < K; ++k) {
    double sum = ei::predux(sum0[k]);
    for (Eigen::Index i = 0; i < start; ++i) sum += column[k][i];
    for (Eigen::Index i = end; i < size; ++i) sum += column[k][i];
    out[k] = sum;
  }
}

}  // namespace brink

#pragma GCC diagnostic pop
