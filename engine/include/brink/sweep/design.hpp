// Experimental designs for parameter sweeps: grids, random, Latin hypercube and
// Sobol' designs, and Saltelli's sampling plan for global sensitivity.
//
// Every design is a pure function of its arguments and the seed: the same call
// gives the same points, bit for bit, on every platform and thread count. The
// random draws come from Philox4x32-10 keyed by the seed like the simulation
// streams (brink/model/rng.hpp), on stream tags that simulation draws never use.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace brink {

// One swept parameter. A grid uses `values`; the other designs use [min, max],
// uniformly, or log-uniformly when `log` is set (then 0 < min is required).
struct Axis {
  std::string path;                 // scenario path, e.g. "actors.RUS.forces.deployed"
  std::vector<double> values = {};  // grid values, in sweep order (`= {}` lets designated initializers omit it)
  double min = 0;
  double max = 0;
  bool log = false;
  bool lever = false;  // mixed designs: a grid axis (values) crossed with the sampled axes
};

enum class DesignKind { kGrid, kRandom, kLhs, kSobol, kMorris };

// Morris (1991) elementary-effects screening: `trajectories` one-at-a-time
// paths of dimensions + 1 points each on the grid {0, 1/(p-1), ..., 1} of
// p = `levels` (even, >= 2) levels per unit coordinate. Step Δ = p / (2(p-1));
// each path starts at a random base point x* with every coordinate in
// {0, ..., 1 - Δ}, shifted by Δ where its random direction is down, then moves
// every coordinate once, by +Δ or -Δ, in a random order. Trajectory t holds
// points t(d+1) .. t(d+1)+d. Random choices come from Philox keyed by the seed
// (stream kMorris). Throws std::invalid_argument for dimensions < 1,
// trajectories < 1 or levels odd or < 2.
std::vector<std::vector<double>> morris_trajectories(int dimensions, std::int64_t trajectories, int levels,
                                                     std::uint64_t seed);

// Dimensions offered for Sobol' designs: Boost.Random's Joe–Kuo table
// (new-joe-kuo-6.21201) has 3,667; the first 1,111 (every primitive
// polynomial of degree <= 13, plus dimension 1) are checked against SciPy.
inline constexpr int kMaxSobolDimensions = 1111;

// `samples` points in [0, 1)^dimensions, one vector of `dimensions` coordinates
// per point, for the random, LHS and Sobol' designs:
// - kRandom: independent uniforms from Philox.
// - kLhs: in every dimension exactly one point per stratum [k/n, (k+1)/n),
//   strata matched across dimensions by independent random permutations, each
//   point placed uniformly within its stratum.
// - kSobol: the unscrambled Joe–Kuo Sobol' sequence in Gray-code order with its
//   first point (the origin) skipped, i.e. sequence points 1..samples; the seed
//   is not used. The skip costs the net property (points 1..2^m are not a
//   (t, m, s)-net; Owen 2022, "On dropping the first Sobol' point"), which
//   sobol_sequence from point 0 and scrambled_sobol keep.
// Throws std::invalid_argument for kGrid, dimensions < 1, samples < 0, and for
// Sobol' beyond kMaxSobolDimensions dimensions or 2^32 points.
std::vector<std::vector<double>> unit_design(DesignKind kind, int dimensions, std::int64_t samples, std::uint64_t seed);

// Points first..first+count-1 of the unscrambled Sobol' sequence (point 0 is
// the origin), with 32-bit direction numbers: coordinates are multiples of
// 2^-32 in [0, 1). Equal to scipy.stats.qmc.Sobol(d, scramble=False) for
// indices below 2^30. Throws std::invalid_argument when dimensions is outside
// [1, kMaxSobolDimensions], first or count is negative, or first + count > 2^32.
std::vector<std::vector<double>> sobol_sequence(int dimensions, std::int64_t first, std::int64_t count);

// Points 0..count-1 of the Sobol' sequence under Owen's nested uniform
// scrambling keyed by the seed: each bit of a coordinate is flipped by a random
// bit that depends on the dimension, the bit position and all higher bits.
// Every (t, m, s)-net property of the sequence is kept and each point is
// uniform on [0, 1)^d (at 2^-32 resolution), so no point needs skipping.
// Throws like sobol_sequence.
std::vector<std::vector<double>> scrambled_sobol(int dimensions, std::int64_t count, std::uint64_t seed);

// Sweep points in parameter units, one vector of axes.size() values per point.
// kGrid: the cartesian product of each axis's values, the last axis varying
// fastest; `samples` and `seed` are not used. Other kinds: unit_design(kind,
// axes.size(), samples, seed) mapped onto each axis's [min, max] (kMorris:
// morris_trajectories with `samples` trajectories and 4 levels). Mixed designs
// (some axes are levers): every combination of the levers' values (grid order)
// is crossed with the same sampled points of the other axes, point
// c · S + i holding lever combination c and sampled point i (S points per
// combination); the columns keep the axes' order.
// Throws std::invalid_argument (naming the axis path) for no axes, a grid axis
// without values, a range axis given values, min > max, non-finite bounds, or a
// log axis with min <= 0.
std::vector<std::vector<double>> sweep_points(DesignKind kind, const std::vector<Axis>& axes, std::int64_t samples,
                                              std::uint64_t seed, int morris_levels = 4);

// The grid of the axes' values as one flat row-major matrix (points × axes),
// in sweep_points(kGrid, ...) order, without a vector per point. Throws like
// sweep_points.
std::vector<double> grid_values(const std::vector<Axis>& axes);

// Saltelli's plan for first-order and total Sobol' indices of d = axes.size()
// parameters from base_samples = N rows: matrices A and B (N x d) are the first
// and last d columns of a 2d-dimensional Sobol' design, and A_B^(i) is A with
// column i taken from B. `points` holds N * (d + 2) points in the order
// A, B, A_B^(1), ..., A_B^(d) (row r of each block at block * N + r), mapped
// onto the axes' ranges. The 2d-dimensional design is scrambled_sobol keyed by
// the seed; choose N a power of two. Throws like sweep_points, and for
// base_samples < 1 or 2d > kMaxSobolDimensions.
struct SaltelliPlan {
  std::vector<std::vector<double>> points;
  int dimensions = 0;
  std::int64_t base_samples = 0;
};
SaltelliPlan saltelli_points(const std::vector<Axis>& axes, std::int64_t base_samples, std::uint64_t seed);

// Random streams of the designs. The Philox key is the seed, as for simulation
// draws; the counter is {a, b, c, (stream << 16) | d}. Simulation counters carry
// their Purpose (< 2^15) in the same top 16 bits, so design and simulation
// streams never share a counter.
enum class DesignStream : std::uint16_t {
  kRandom = 0x8001,           // a = point (low), b = point (high), c = dimension / 2
  kLhsPermutation = 0x8002,   // a = dimension, b/c = shuffle step (low/high), d = retry
  kLhsJitter = 0x8003,        // a = point (low), b = point (high), c = dimension / 2
  kScramble = 0x8004,         // a = bit prefix, b = prefix length, c = dimension
  kBootstrap = 0x8005,        // a = resample, b/c = draw (low/high), d = retry
  kMorris = 0x8006,           // a = trajectory, b = dimension or shuffle step, c = choice (0 base, 1 sign, 2 order)
  kMorrisBootstrap = 0x8007,  // a = resample, b/c = draw (low/high), d = retry
};

// The four Philox words for (seed, stream, a, b, c, d).
std::array<std::uint32_t, 4> design_words(std::uint64_t seed, DesignStream stream, std::uint32_t a, std::uint32_t b,
                                          std::uint32_t c, std::uint16_t d = 0);

// An integer uniform on [0, bound), exactly (Lemire's multiply-and-reject on a
// 64-bit Philox word; a rejected word moves on to the next word and then to the
// next retry d). `step` fills the b and c words. Requires bound >= 1.
std::uint64_t design_below(std::uint64_t seed, DesignStream stream, std::uint32_t a, std::uint64_t step,
                           std::uint64_t bound);

}  // namespace brink
