#include "brink/sweep/design.hpp"

#include <Random123/philox.h>
#include <fmt/format.h>

#include <Random123/uniform.hpp>
#include <algorithm>
#include <boost/random/sobol.hpp>
#include <cmath>
#include <iterator>
#include <numeric>
#include <stdexcept>

namespace brink {
namespace {

constexpr int kBits = 32;
constexpr std::int64_t kMaxSobolPoints = std::int64_t{1} << kBits;
__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet

void check_sobol(int dimensions, std::int64_t first, std::int64_t count) {
  if (dimensions < 1 || dimensions > kMaxSobolDimensions) {
    throw std::invalid_argument(fmt::format("Sobol' design: {} dimensions, the direction numbers cover 1..{}",
                                            dimensions, kMaxSobolDimensions));
  }
  if (first < 0 || count < 0 || first > kMaxSobolPoints - count) {
    throw std::invalid_argument(
        fmt::format("Sobol' design: points {}..{} requested, the 32-bit sequence has 2^32", first, first + count - 1));
  }
}

// Integer coordinates (scaled by 2^32) of points first..first+count-1 of the
// Joe–Kuo Sobol' sequence in Gray-code order, from Boost.Random. Boost's
// engine starts after the origin (its seed(n) gives point n + 1), so point 0
// is added here.
std::vector<std::vector<std::uint32_t>> sobol_integers(int dimensions, std::int64_t first, std::int64_t count) {
  check_sobol(dimensions, first, count);
  std::vector<std::vector<std::uint32_t>> points(count, std::vector<std::uint32_t>(dimensions, 0));
  const std::int64_t skip = first == 0 && count > 0 ? 1 : 0;  // the origin stays all zeros
  if (count == skip) return points;
  boost::random::sobol_engine<std::uint32_t, kBits> engine(static_cast<std::size_t>(dimensions));
  engine.seed(static_cast<std::uint32_t>(first + skip - 1));
  for (std::int64_t n = skip; n < count; ++n)
    for (int j = 0; j < dimensions; ++j) points[n][j] = engine();
  return points;
}

double from_fixed(std::uint32_t x) { return std::ldexp(static_cast<double>(x), -kBits); }

std::uint64_t word64(const std::array<std::uint32_t, 4>& w, int half) {
  return (static_cast<std::uint64_t>(w[2 * half]) << 32) | w[2 * half + 1];
}

// Uniform in (0, 1) for coordinate j of point i, two coordinates per Philox call.
double stream_uniform(std::uint64_t seed, DesignStream stream, std::int64_t i, int j) {
  const auto point = static_cast<std::uint64_t>(i);
  const auto w = design_words(seed, stream, static_cast<std::uint32_t>(point), static_cast<std::uint32_t>(point >> 32),
                              static_cast<std::uint32_t>(j / 2));
  return r123::u01fixedpt<double>(word64(w, j % 2));
}

// (k + u) / n nudged by ulps so that floor(x * n) == k and x < 1 hold in
// double arithmetic, as a caller checking the stratum would compute it.
double in_stratum(std::int64_t k, std::int64_t n, double u) {
  const double nn = static_cast<double>(n);
  double x = (static_cast<double>(k) + u) / nn;
  while (x >= 1.0 || std::floor(x * nn) > static_cast<double>(k)) x = std::nextafter(x, 0.0);
  while (std::floor(x * nn) < static_cast<double>(k)) x = std::nextafter(x, 1.0);
  return x;
}

std::vector<std::vector<double>> latin_hypercube(int dimensions, std::int64_t samples, std::uint64_t seed) {
  std::vector<std::vector<double>> points(samples, std::vector<double>(dimensions));
  std::vector<std::int64_t> stratum(samples);
  for (int j = 0; j < dimensions; ++j) {
    // Fisher–Yates with exact bounded draws: every permutation equally likely.
    std::iota(stratum.begin(), stratum.end(), std::int64_t{0});
    for (std::int64_t k = samples - 1; k > 0; --k) {
      const auto r = design_below(seed, DesignStream::kLhsPermutation, static_cast<std::uint32_t>(j),
                                  static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(k) + 1);
      std::swap(stratum[k], stratum[static_cast<std::int64_t>(r)]);
    }
    for (std::int64_t i = 0; i < samples; ++i) {
      points[i][j] = in_stratum(stratum[i], samples, stream_uniform(seed, DesignStream::kLhsJitter, i, j));
    }
  }
  return points;
}

void check_range_axis(const Axis& axis) {
  if (!axis.values.empty()) {
    throw std::invalid_argument(
        fmt::format("sweep axis '{}' lists values; random, lhs and sobol designs need {{min, max}}", axis.path));
  }
  if (!std::isfinite(axis.min) || !std::isfinite(axis.max) || axis.min > axis.max) {
    throw std::invalid_argument(
        fmt::format("sweep axis '{}' needs finite min <= max, got [{}, {}]", axis.path, axis.min, axis.max));
  }
  if (axis.log && axis.min <= 0) {
    throw std::invalid_argument(
        fmt::format("sweep axis '{}' is log-scaled and needs min > 0, got min = {}", axis.path, axis.min));
  }
}

void check_axes(DesignKind kind, const std::vector<Axis>& axes) {
  if (axes.empty()) throw std::invalid_argument("a sweep needs at least one parameter");
  for (const Axis& axis : axes) {
    if (kind != DesignKind::kGrid && !axis.lever) {
      check_range_axis(axis);
      continue;
    }
    if (axis.values.empty()) {
      throw std::invalid_argument(fmt::format("sweep axis '{}' has no values; a grid design needs a list", axis.path));
    }
    for (double value : axis.values) {
      if (!std::isfinite(value)) {
        throw std::invalid_argument(fmt::format("sweep axis '{}' has a non-finite value {}", axis.path, value));
      }
    }
  }
}

// u in [0, 1) onto [min, max], linearly or log-uniformly. The clamp keeps
// rounding (and exp(log(x)) != x) from stepping outside the stated range.
double map_unit(const Axis& axis, double u) {
  const double x = axis.log ? std::exp(std::log(axis.min) + u * (std::log(axis.max) - std::log(axis.min)))
                            : axis.min + u * (axis.max - axis.min);
  return std::clamp(x, axis.min, axis.max);
}

}  // namespace

std::array<std::uint32_t, 4> design_words(std::uint64_t seed, DesignStream stream, std::uint32_t a, std::uint32_t b,
                                          std::uint32_t c, std::uint16_t d) {
  using Philox = r123::Philox4x32;
  // Same key layout as uniform_pair in brink/model/rng.hpp; the stream tag in
  // the top half of the last counter word keeps the counters apart.
  const Philox::key_type key = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const Philox::ctr_type ctr = {{a, b, c, (static_cast<std::uint32_t>(stream) << 16) | d}};
  const Philox::ctr_type r = Philox()(ctr, key);
  return {r[0], r[1], r[2], r[3]};
}

std::uint64_t design_below(std::uint64_t seed, DesignStream stream, std::uint32_t a, std::uint64_t step,
                           std::uint64_t bound) {
  if (bound < 1) throw std::invalid_argument("design_below: bound must be at least 1");
  // Lemire: the high word of w * bound is uniform once the low word is outside
  // the 2^64 mod bound values that would over-represent some results. The
  // rejection chance is below bound / 2^64, so a second word is rarely read and
  // a second Philox call practically never.
  const std::uint64_t threshold = (0 - bound) % bound;
  for (std::uint32_t retry = 0;; ++retry) {
    const auto w = design_words(seed, stream, a, static_cast<std::uint32_t>(step),
                                static_cast<std::uint32_t>(step >> 32), static_cast<std::uint16_t>(retry));
    for (int half = 0; half < 2; ++half) {
      const Uint128 m = static_cast<Uint128>(word64(w, half)) * bound;
      if (static_cast<std::uint64_t>(m) >= threshold) return static_cast<std::uint64_t>(m >> 64);
    }
  }
}

std::vector<std::vector<double>> sobol_sequence(int dimensions, std::int64_t first, std::int64_t count) {
  const auto integers = sobol_integers(dimensions, first, count);
  std::vector<std::vector<double>> points(count, std::vector<double>(dimensions));
  for (std::int64_t n = 0; n < count; ++n) {
    for (int j = 0; j < dimensions; ++j) points[n][j] = from_fixed(integers[n][j]);
  }
  return points;
}

std::vector<std::vector<double>> scrambled_sobol(int dimensions, std::int64_t count, std::uint64_t seed) {
  const auto integers = sobol_integers(dimensions, 0, count);
  // Owen's nested scrambling flips bit l (from the top) by a random bit chosen
  // by the l bits above it: a binary tree of flip bits per dimension. One
  // Philox call holds a 7-level subtree (127 of its 128 bits), keyed by the
  // prefix above the subtree, so a 32-bit coordinate costs 5 calls.
  constexpr int kLevels = 7;
  std::vector<std::vector<double>> points(count, std::vector<double>(dimensions));
  for (std::int64_t n = 0; n < count; ++n) {
    for (int j = 0; j < dimensions; ++j) {
      const std::uint32_t x = integers[n][j];
      std::uint32_t y = 0;
      for (int top = 0; top < kBits; top += kLevels) {
        const std::uint32_t prefix = top == 0 ? 0 : x >> (kBits - top);
        const auto w = design_words(seed, DesignStream::kScramble, prefix, static_cast<std::uint32_t>(top),
                                    static_cast<std::uint32_t>(j));
        std::uint32_t below = 0;  // bits of x between `top` and the current level
        for (int l = 0; l < kLevels && top + l < kBits; ++l) {
          const int position = kBits - 1 - top - l;
          const std::uint32_t bit = (x >> position) & 1;
          const std::uint32_t node = (std::uint32_t{1} << l) - 1 + below;
          const std::uint32_t flip = (w[node >> 5] >> (node & 31)) & 1;
          y |= (bit ^ flip) << position;
          below = (below << 1) | bit;
        }
      }
      points[n][j] = from_fixed(y);
    }
  }
  return points;
}

std::vector<std::vector<double>> unit_design(DesignKind kind, int dimensions, std::int64_t samples,
                                             std::uint64_t seed) {
  if (dimensions < 1) {
    throw std::invalid_argument(fmt::format("a design needs at least one dimension, got {}", dimensions));
  }
  if (samples < 0) throw std::invalid_argument(fmt::format("a design needs samples >= 0, got {}", samples));
  switch (kind) {
    case DesignKind::kGrid:
      throw std::invalid_argument("a grid design has no unit design; use sweep_points");
    case DesignKind::kRandom: {
      std::vector<std::vector<double>> points(samples, std::vector<double>(dimensions));
      for (std::int64_t i = 0; i < samples; ++i) {
        for (int j = 0; j < dimensions; ++j) points[i][j] = stream_uniform(seed, DesignStream::kRandom, i, j);
      }
      return points;
    }
    case DesignKind::kLhs:
      return latin_hypercube(dimensions, samples, seed);
    case DesignKind::kSobol:
      return sobol_sequence(dimensions, 1, samples);
    case DesignKind::kMorris:
      return morris_trajectories(dimensions, samples, 4, seed);
  }
  throw std::invalid_argument("unknown design kind");
}

std::vector<double> grid_values(const std::vector<Axis>& axes) {
  check_axes(DesignKind::kGrid, axes);
  const std::size_t d = axes.size();
  std::int64_t total = 1;
  for (const Axis& axis : axes) total *= static_cast<std::int64_t>(axis.values.size());
  std::vector<double> values(static_cast<std::size_t>(total) * d);
  for (std::int64_t p = 0; p < total; ++p) {
    // Mixed-radix digits of p, least significant for the last axis.
    std::int64_t rest = p;
    for (std::size_t j = d; j-- > 0;) {
      const auto size = static_cast<std::int64_t>(axes[j].values.size());
      values[static_cast<std::size_t>(p) * d + j] = axes[j].values[rest % size];
      rest /= size;
    }
  }
  return values;
}

std::vector<std::vector<double>> morris_trajectories(int dimensions, std::int64_t trajectories, int levels,
                                                     std::uint64_t seed) {
  if (dimensions < 1 || trajectories < 1)
    throw std::invalid_argument(fmt::format(
        "a Morris design needs at least one dimension and one trajectory, got {} and {}", dimensions, trajectories));
  if (levels < 2 || levels % 2 != 0)
    throw std::invalid_argument(fmt::format("Morris levels must be even and at least 2, got {}", levels));
  const double step = static_cast<double>(levels) / (2.0 * (levels - 1));
  const auto base_levels = static_cast<std::uint64_t>(levels / 2);  // x* in {0, ..., 1 - Δ}
  std::vector<std::vector<double>> points;
  points.reserve(static_cast<std::size_t>(trajectories) * (dimensions + 1));
  std::vector<int> order(dimensions);
  for (std::int64_t t = 0; t < trajectories; ++t) {
    const auto a = static_cast<std::uint32_t>(t);
    std::vector<double> x(dimensions);
    std::vector<double> sign(dimensions);
    for (int j = 0; j < dimensions; ++j) {
      const auto u = static_cast<std::uint32_t>(j);
      const double base =
          static_cast<double>(design_below(seed, DesignStream::kMorris, a, u, base_levels)) / (levels - 1);
      sign[j] = design_below(seed, DesignStream::kMorris, a, (std::uint64_t{1} << 32) | u, 2) ? 1.0 : -1.0;
      x[j] = sign[j] > 0 ? base : base + step;
    }
    std::iota(order.begin(), order.end(), 0);
    for (int k = dimensions - 1; k > 0; --k) {
      const auto r =
          design_below(seed, DesignStream::kMorris, a, (std::uint64_t{2} << 32) | static_cast<std::uint32_t>(k),
                       static_cast<std::uint64_t>(k) + 1);
      std::swap(order[k], order[static_cast<int>(r)]);
    }
    points.push_back(x);
    for (int j : order) {
      // Levels are exact multiples of 1/(p-1); rounding keeps them on the grid.
      x[j] = std::round((x[j] + sign[j] * step) * (levels - 1)) / (levels - 1);
      points.push_back(x);
    }
  }
  return points;
}

namespace {

std::vector<std::vector<double>> mixed_points(DesignKind kind, const std::vector<Axis>& axes, std::int64_t samples,
                                              std::uint64_t seed, int morris_levels) {
  std::vector<Axis> levers, sampled;
  for (const Axis& a : axes) (a.lever ? levers : sampled).push_back(a);
  if (sampled.empty()) throw std::invalid_argument("a mixed design needs at least one sampled (range) axis");
  const std::vector<double> combos = grid_values(levers);
  const std::vector<std::vector<double>> drawn = sweep_points(kind, sampled, samples, seed, morris_levels);
  const std::size_t nl = levers.size();
  std::vector<std::vector<double>> points;
  points.reserve(combos.size() / nl * drawn.size());
  for (std::size_t c = 0; c < combos.size() / nl; ++c) {
    for (const auto& row : drawn) {
      std::vector<double> p(axes.size());
      std::size_t li = 0, si = 0;
      for (std::size_t j = 0; j < axes.size(); ++j) p[j] = axes[j].lever ? combos[c * nl + li++] : row[si++];
      points.push_back(std::move(p));
    }
  }
  return points;
}

}  // namespace

std::vector<std::vector<double>> sweep_points(DesignKind kind, const std::vector<Axis>& axes, std::int64_t samples,
                                              std::uint64_t seed, int morris_levels) {
  check_axes(kind, axes);
  const int d = static_cast<int>(axes.size());
  if (kind != DesignKind::kGrid && std::any_of(axes.begin(), axes.end(), [](const Axis& a) { return a.lever; }))
    return mixed_points(kind, axes, samples, seed, morris_levels);
  if (kind == DesignKind::kGrid) {
    std::int64_t total = 1;
    for (const Axis& axis : axes) total *= static_cast<std::int64_t>(axis.values.size());
    std::vector<std::vector<double>> points(total, std::vector<double>(d));
    for (std::int64_t p = 0; p < total; ++p) {
      // Mixed-radix digits of p, least significant for the last axis.
      std::int64_t rest = p;
      for (int j = d - 1; j >= 0; --j) {
        const auto size = static_cast<std::int64_t>(axes[j].values.size());
        points[p][j] = axes[j].values[rest % size];
        rest /= size;
      }
    }
    return points;
  }
  std::vector<std::vector<double>> points = kind == DesignKind::kMorris
                                                ? morris_trajectories(d, samples, morris_levels, seed)
                                                : unit_design(kind, d, samples, seed);
  for (auto& point : points) {
    for (int j = 0; j < d; ++j) point[j] = map_unit(axes[j], point[j]);
  }
  return points;
}

SaltelliPlan saltelli_points(const std::vector<Axis>& axes, std::int64_t base_samples, std::uint64_t seed) {
  check_axes(DesignKind::kSobol, axes);
  if (base_samples < 1) {
    throw std::invalid_argument(fmt::format("Saltelli sampling needs base samples >= 1, got {}", base_samples));
  }
  const int d = static_cast<int>(axes.size());
  if (2 * d > kMaxSobolDimensions) {
    throw std::invalid_argument(fmt::format("Saltelli sampling of {} parameters needs {} Sobol' dimensions, at most {}",
                                            d, 2 * d, kMaxSobolDimensions));
  }
  const std::int64_t n = base_samples;
  const auto unit = scrambled_sobol(2 * d, n, seed);
  SaltelliPlan plan;
  plan.dimensions = d;
  plan.base_samples = n;
  plan.points.assign(n * (d + 2), std::vector<double>(d));
  for (std::int64_t r = 0; r < n; ++r) {
    std::vector<double>& a = plan.points[r];
    std::vector<double>& b = plan.points[n + r];
    for (int j = 0; j < d; ++j) {
      a[j] = map_unit(axes[j], unit[r][j]);
      b[j] = map_unit(axes[j], unit[r][d + j]);
    }
    for (int i = 0; i < d; ++i) {
      std::vector<double>& ab = plan.points[(2 + i) * n + r];
      ab = a;
      ab[i] = b[i];
    }
  }
  return plan;
}

}  // namespace brink
