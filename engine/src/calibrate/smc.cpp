#include "brink/calibrate/smc.hpp"

#include <Random123/philox.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace brink {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Philox purpose words of the calibrator (the kernel uses 1-3, sweep designs 0x8001-0x8005).
constexpr std::uint32_t kProposalPurpose = 0x8101;
constexpr std::uint32_t kStreamPurpose = 0x8102;
constexpr std::uint32_t kNoisePurpose = 0x8103;

r123::Philox4x32::ctr_type words(std::uint64_t seed, std::uint32_t a, std::uint32_t b, std::uint32_t c,
                                 std::uint32_t purpose) {
  using Philox = r123::Philox4x32;
  const Philox::key_type k = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const Philox::ctr_type ctr = {{a, b, c, purpose}};
  return Philox()(ctr, k);
}

double unit(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(high) << 32) | low;
  return static_cast<double>(static_cast<std::int64_t>((bits >> 11) | 1u)) * 0x1p-53;
}

// Two standard normals from two uniforms in (0, 1) (Box-Muller).
std::pair<double, double> normal_pair(double u0, double u1) {
  const double r = std::sqrt(-2.0 * std::log(u0));
  return {r * std::cos(2 * M_PI * u1), r * std::sin(2 * M_PI * u1)};
}

// numpy's default ("linear") quantile of unsorted values; +inf values sort last.
double linear_quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double h = (static_cast<double>(values.size()) - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  if (!std::isfinite(values[hi])) return values[lo];
  return values[lo] + (h - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

// Beaumont et al. (2009): w_i ∝ π(z_i) / Σ_j w_j K(z_i | z_j) in the free
// coordinates (π with its Jacobian), times the particle's ABC likelihood
// estimate (the share of its worlds within the tolerance), normalized.
std::vector<double> importance_weights(const std::vector<Prior>& priors, const std::vector<double>& z,
                                       const std::vector<double>& centres, const std::vector<double>& previous,
                                       const std::vector<double>& lower, const std::vector<double>& likelihood) {
  const std::size_t d = priors.size(), n = z.size() / d;
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) {
    double log_prior = 0;
    for (std::size_t a = 0; a < d; ++a) log_prior += priors[a].log_free_density(z[i * d + a]);
    w[i] = log_prior + std::log(likelihood[i]) -
           log_kernel_mixture(std::span(z).subspan(i * d, d), centres, previous, lower, d);
  }
  const double top = *std::max_element(w.begin(), w.end());
  double total = 0;
  for (double& x : w) total += (x = std::exp(x - top));
  for (double& x : w) x /= total;
  return w;
}

}  // namespace

void calibration_uniforms(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate, std::uint32_t draw,
                          double* first, double* second) {
  const auto r = words(seed, candidate, generation, draw, kProposalPurpose);
  *first = unit(r[0], r[1]);
  *second = unit(r[2], r[3]);
}

void noise_normals(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate, std::uint32_t first_draw,
                   std::span<double> z) {
  for (std::size_t k = 0; k < z.size(); k += 2) {  // two normals per draw
    const auto r = words(seed, candidate, generation, first_draw + static_cast<std::uint32_t>(k / 2), kNoisePurpose);
    const auto [z0, z1] = normal_pair(unit(r[0], r[1]), unit(r[2], r[3]));
    z[k] = z0;
    if (k + 1 < z.size()) z[k + 1] = z1;
  }
}

std::vector<double> world_distances(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate,
                                    std::span<const double> statistic, std::span<const double> world,
                                    std::int64_t replications, const std::vector<Observation>& observations) {
  const std::size_t m = observations.size(), reps = static_cast<std::size_t>(std::max<std::int64_t>(replications, 1));
  const auto draws_per_world = static_cast<std::uint32_t>((m + 1) / 2);
  std::vector<double> z(m), first(m), value(m), out(reps);
  for (std::size_t r = 0; r < reps; ++r) {
    noise_normals(seed, generation, candidate, static_cast<std::uint32_t>(r) * draws_per_world, z);
    if (r == 0) first = z;  // a quantile observation's one draw, the same for every world
    for (std::size_t o = 0; o < m; ++o) {
      const Observation& ob = observations[o];
      // A quantile is a statement about the distribution of worlds, not about one of them.
      value[o] = ob.quantile < 0 ? world[r * m + o] + ob.sd * z[o] : statistic[o] + ob.sd * first[o];
    }
    out[r] = observation_distance(value, observations);
  }
  return out;
}

double share_within(std::span<const double> distances, double tolerance) {
  if (distances.empty()) return 0.0;
  if (tolerance == kInf) return 1.0;
  const auto within = std::count_if(distances.begin(), distances.end(), [&](double d) { return d <= tolerance; });
  return static_cast<double>(within) / static_cast<double>(distances.size());
}

double effective_sample_size(std::span<const double> weights) {
  double sum = 0, squares = 0;
  for (double w : weights) {
    sum += w;
    squares += w * w;
  }
  return squares > 0 ? sum * sum / squares : 0.0;
}

namespace {

// The standardized distance of particle i's statistics (no measurement error) to the observations.
double statistic_distance(const Population& population, std::size_t i, std::span<const double> observed,
                          std::span<const double> observed_sd) {
  const std::size_t m = observed.size();
  double sum = 0;
  for (std::size_t o = 0; o < m; ++o)
    sum += std::pow((population.statistic[i * m + o] - observed[o]) / observed_sd[o], 2);
  return std::isfinite(sum) ? std::sqrt(sum) : kInf;
}

}  // namespace

DataConflict data_conflict(const Population& population, std::span<const double> observed,
                           std::span<const double> observed_sd) {
  DataConflict c;
  const std::size_t m = observed.size();
  if (population.size() == 0 || m == 0) return c;
  c.bound = kConflictSd * std::sqrt(static_cast<double>(m));
  // The closest particle by its worlds read with error, and by its statistics
  // without; NaN counts as farthest.
  c.distance = kInf;
  double clean = kInf;
  std::size_t clean_particle = 0;
  for (std::size_t i = 0; i < population.size(); ++i) {
    if (population.distance[i] < c.distance || i == 0) {
      c.particle = i;
      c.distance = std::isnan(population.distance[i]) ? kInf : population.distance[i];
    }
    if (const double s = statistic_distance(population, i, observed, observed_sd); s < clean || i == 0) {
      clean_particle = i;
      clean = s;
    }
  }
  c.found = !(c.distance <= c.bound);
  // ABC keeps the worlds whose measurement-error draw happened to bring them
  // near the record: out of thousands of candidates some world lies within
  // the bound of a record 6 sd beyond anything the priors allow. The
  // statistics themselves do not get that help.
  if (!c.found && !(clean <= c.bound)) {
    c.found = c.by_statistic = true;
    c.particle = clean_particle;
    c.distance = clean;
  }
  for (std::size_t o = 0; o < m; ++o) {
    const double z = (population.statistic[c.particle * m + o] - observed[o]) / observed_sd[o];
    if (o == 0 || std::abs(z) > std::abs(c.standardized)) {
      c.observation = o;
      c.standardized = z;
    }
  }
  return c;
}

std::vector<double> weighted_covariance(std::span<const double> points, std::span<const double> weights,
                                        std::size_t d) {
  const std::size_t n = weights.size();
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> mean(d, 0.0), cov(d * d, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a) mean[a] += weights[i] * points[i * d + a] / total;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b <= a; ++b)
        cov[a * d + b] += weights[i] / total * (points[i * d + a] - mean[a]) * (points[i * d + b] - mean[b]);
  for (std::size_t a = 0; a < d; ++a)
    for (std::size_t b = 0; b < a; ++b) cov[b * d + a] = cov[a * d + b];
  return cov;
}

std::vector<double> cholesky(std::vector<double> a, std::size_t d) {
  double scale = 0;
  for (std::size_t k = 0; k < d; ++k) scale = std::max(scale, std::abs(a[k * d + k]));
  if (!(scale > 0)) scale = 1.0;
  for (double jitter = 0;; jitter = jitter == 0 ? scale * 1e-10 : jitter * 10) {
    std::vector<double> l(d * d, 0.0);
    bool ok = true;
    for (std::size_t i = 0; i < d && ok; ++i)
      for (std::size_t j = 0; j <= i; ++j) {
        double s = a[i * d + j] + (i == j ? jitter : 0.0);
        for (std::size_t k = 0; k < j; ++k) s -= l[i * d + k] * l[j * d + k];
        if (i == j) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          l[i * d + i] = std::sqrt(s);
        } else {
          l[i * d + j] = s / l[j * d + j];
        }
      }
    if (ok) return l;
    if (jitter > scale * 1e6) throw std::runtime_error("the particles' covariance cannot be factored");
  }
}

double log_kernel_mixture(std::span<const double> z, std::span<const double> centres, std::span<const double> weights,
                          std::span<const double> lower, std::size_t d) {
  const std::size_t n = weights.size();
  std::vector<double> exponent(n), y(d);
  double top = -kInf;
  for (std::size_t j = 0; j < n; ++j) {
    double q = 0;
    for (std::size_t a = 0; a < d; ++a) {  // solve L y = z - centre_j
      double s = z[a] - centres[j * d + a];
      for (std::size_t b = 0; b < a; ++b) s -= lower[a * d + b] * y[b];
      y[a] = s / lower[a * d + a];
      q += y[a] * y[a];
    }
    exponent[j] = weights[j] > 0 ? std::log(weights[j]) - 0.5 * q : -kInf;
    top = std::max(top, exponent[j]);
  }
  if (!std::isfinite(top)) return -kInf;
  double sum = 0;
  for (std::size_t j = 0; j < n; ++j) sum += std::exp(exponent[j] - top);
  return top + std::log(sum);
}

double observation_distance(std::span<const double> statistic, const std::vector<Observation>& observations) {
  double sum = 0;
  for (std::size_t k = 0; k < observations.size(); ++k) {
    const double t = (statistic[k] - observations[k].value) / observations[k].sd;
    sum += t * t;
  }
  return std::isfinite(sum) ? std::sqrt(sum) : kInf;
}

std::size_t pick_by_weight(std::span<const double> cdf, double u) {
  const double target = u * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), target);
  return std::min(static_cast<std::size_t>(it - cdf.begin()), cdf.size() - 1);
}

std::vector<std::size_t> systematic_resample(std::span<const double> weights, std::size_t count, double u) {
  // An empty generation (a file with no particles) has nothing to draw: cdf.back() would read before the vector.
  if (weights.empty()) throw std::invalid_argument("systematic_resample: no particles to draw from");
  std::vector<double> cdf(weights.size());
  std::partial_sum(weights.begin(), weights.end(), cdf.begin());
  std::vector<std::size_t> out;
  out.reserve(count);
  std::size_t j = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double target = (static_cast<double>(i) + u) / static_cast<double>(count) * cdf.back();
    while (j + 1 < cdf.size() && cdf[j] <= target) ++j;
    out.push_back(j);
  }
  return out;
}

AbcSmc::AbcSmc(std::vector<Prior> priors, std::vector<Observation> observations, SmcSettings settings,
               ParticleEvaluator& evaluator)
    : priors_(std::move(priors)), observations_(std::move(observations)), settings_(settings), evaluator_(evaluator) {}

std::uint64_t AbcSmc::stream_seed(int generation, std::int64_t batch) const {
  const auto r = words(settings_.seed, static_cast<std::uint32_t>(generation),
                       settings_.common_random ? 0u : static_cast<std::uint32_t>(batch), 0, kStreamPurpose);
  return ((static_cast<std::uint64_t>(r[0]) << 32) | r[1]) >> 11;  // a valid run.seed: below 2^53
}

AbcSmc::Batch AbcSmc::evaluate_batch(int generation, std::int64_t first, std::int64_t count,
                                     const std::function<void(std::int64_t, double*)>& propose) {
  const std::size_t d = width();
  Batch batch;
  batch.theta.resize(static_cast<std::size_t>(count) * d);
  for (std::int64_t c = 0; c < count; ++c) propose(first + c, batch.theta.data() + c * d);
  const std::int64_t index = first == 0 ? 0 : first;  // batches are keyed by their first candidate
  Evaluation evaluation = evaluator_.evaluate(batch.theta, d, stream_seed(generation, index));
  const std::size_t m = observations_.size(), n = static_cast<std::size_t>(count);
  const auto reps = static_cast<std::size_t>(std::max<std::int64_t>(evaluation.replications, 1));
  if (evaluation.statistic.size() != n * m || evaluation.world.size() != n * reps * m)
    throw std::logic_error(
        fmt::format("the evaluator returned {} statistics and {} world values for {} candidates x "
                    "{} replications x {} observations",
                    evaluation.statistic.size(), evaluation.world.size(), n, reps, m));
  batch.statistic = std::move(evaluation.statistic);
  batch.replications = reps;
  // Each world is read with its measurement error and gets its own distance;
  // the statistics are kept as the model made them.
  batch.worlds.reserve(n * reps);
  for (std::size_t c = 0; c < n; ++c) {
    const std::vector<double> dist = world_distances(
        settings_.seed, static_cast<std::uint32_t>(generation),
        static_cast<std::uint32_t>(first + static_cast<std::int64_t>(c)), std::span(batch.statistic).subspan(c * m, m),
        std::span(evaluation.world).subspan(c * reps * m, reps * m), static_cast<std::int64_t>(reps), observations_);
    batch.worlds.insert(batch.worlds.end(), dist.begin(), dist.end());
    batch.distance.push_back(*std::min_element(dist.begin(), dist.end()));
  }
  return batch;
}

std::vector<double> AbcSmc::free_coordinates(const Population& p) const {
  const std::size_t d = width();
  std::vector<double> z(p.theta.size());
  for (std::size_t i = 0; i < p.theta.size() / d; ++i)
    for (std::size_t a = 0; a < d; ++a) z[i * d + a] = priors_[a].to_free(p.theta[i * d + a]);
  return z;
}

Population AbcSmc::first() {
  const std::size_t d = width();
  const auto n = settings_.particles;
  Population pop;
  pop.tolerance = kInf;
  pop.proposed = n;
  const Batch batch = evaluate_batch(0, 0, n, [&](std::int64_t c, double* row) {
    for (std::size_t a = 0; a < d; a += 2) {
      double u0 = 0, u1 = 0;
      calibration_uniforms(settings_.seed, 0, static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(a / 2), &u0,
                           &u1);
      row[a] = priors_[a].sample(u0);
      if (a + 1 < d) row[a + 1] = priors_[a + 1].sample(u1);
    }
  });
  pop.theta = batch.theta;
  pop.statistic = batch.statistic;
  pop.weight.assign(static_cast<std::size_t>(n), 1.0 / static_cast<double>(n));
  pop.distance = batch.distance;
  require_a_finite_distance(pop);
  return pop;
}

void AbcSmc::require_a_finite_distance(const Population& p) const {
  if (std::any_of(p.distance.begin(), p.distance.end(), [](double dist) { return std::isfinite(dist); })) return;
  // Name the observation whose standardized difference is finite for the fewest particles.
  const std::size_t m = observations_.size(), n = p.size();
  std::size_t worst = 0, fewest = n + 1;
  for (std::size_t k = 0; k < m; ++k) {
    std::size_t finite = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double t = (p.statistic[i * m + k] - observations_[k].value) / observations_[k].sd;
      finite += std::isfinite(t * t) ? 1 : 0;
    }
    if (finite < fewest) {
      fewest = finite;
      worst = k;
    }
  }
  const Observation& o = observations_[worst];
  throw NoFiniteDistance(
      worst, fmt::format("no particle of generation {} is at a finite distance from the observations (observation "
                         "'{}', value {}, sd {}: ((statistic - value) / sd)^2 is not finite for {} of {} particles), "
                         "so nothing can be fitted; give it an sd on the scale of what the model can produce",
                         p.generation, o.id, o.value, o.sd, n - fewest, n));
}

Population AbcSmc::next(const Population& previous) {
  const std::size_t d = width(), m = observations_.size();
  const auto n = settings_.particles;
  const int generation = previous.generation + 1;
  Population pop;
  pop.generation = generation;
  // A population without a finite distance would give the tolerance +inf,
  // which accepts anything: refused. Otherwise the tolerance is finite (an
  // infinite quantile after the prior falls to the largest finite distance
  // below), so no candidate at an infinite distance is ever accepted.
  require_a_finite_distance(previous);
  pop.tolerance = linear_quantile(previous.distance, settings_.quantile);
  // Discrete distances (counts) can pin the quantile at the previous
  // tolerance; the next lower distance seen keeps the sequence shrinking.
  if (pop.tolerance >= previous.tolerance) {
    double below = -kInf;
    for (double dist : previous.distance)
      if (dist < previous.tolerance) below = std::max(below, dist);
    if (std::isfinite(below)) pop.tolerance = below;
  }
  const std::vector<double> centres = free_coordinates(previous);
  std::vector<double> cov = weighted_covariance(centres, previous.weight, d);
  for (double& c : cov) c *= 2.0;  // Beaumont et al. (2009): twice the weighted covariance
  const std::vector<double> lower = cholesky(cov, d);
  std::vector<double> cdf(previous.size());
  std::partial_sum(previous.weight.begin(), previous.weight.end(), cdf.begin());

  auto propose = [&](std::int64_t c, double* row) {
    const auto cand = static_cast<std::uint32_t>(c);
    double u = 0, unused = 0;
    calibration_uniforms(settings_.seed, static_cast<std::uint32_t>(generation), cand, 0, &u, &unused);
    const std::size_t j = pick_by_weight(cdf, u);
    std::vector<double> normal(d + 1);
    for (std::size_t a = 0; a < d; a += 2) {  // two normals per pair of uniforms
      double u0 = 0, u1 = 0;
      calibration_uniforms(settings_.seed, static_cast<std::uint32_t>(generation), cand,
                           1 + static_cast<std::uint32_t>(a / 2), &u0, &u1);
      std::tie(normal[a], normal[a + 1]) = normal_pair(u0, u1);
    }
    for (std::size_t a = 0; a < d; ++a) {
      double z = centres[j * d + a];
      for (std::size_t b = 0; b <= a; ++b) z += lower[a * d + b] * normal[b];
      row[a] = priors_[a].from_free(z);
    }
  };

  std::int64_t candidates = 0, accepted = 0;
  std::vector<double> likelihood;  // per accepted particle: the share of its worlds within the tolerance
  // The first batch guesses the acceptance rate: about the quantile after the
  // prior, else somewhat below the previous generation's (the tolerance
  // shrinks); later batches use the rate seen so far. Every input is a count
  // of earlier results, so the batches are the same for any thread count.
  const double guess = std::max(0.01, previous.generation == 0 ? settings_.quantile : 0.7 * previous.acceptance());
  while (accepted < n) {
    const double rate = candidates > 0 && accepted > 0 ? static_cast<double>(accepted) / candidates : guess;
    const std::int64_t remaining = n - accepted;
    const auto count = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(remaining / rate * 1.1)),
                                                std::min<std::int64_t>(64, remaining * 4), 10 * n);
    const Batch batch = evaluate_batch(generation, candidates, count, propose);
    for (std::int64_t c = 0; c < count && accepted < n; ++c) {
      // Accepted when some world is within the tolerance (f > 0): the
      // smallest distance, which is also what the next tolerance is taken from.
      const double dist = batch.distance[static_cast<std::size_t>(c)];
      if (!(dist <= pop.tolerance)) continue;
      likelihood.push_back(share_within(
          std::span(batch.worlds).subspan(static_cast<std::size_t>(c) * batch.replications, batch.replications),
          pop.tolerance));
      pop.theta.insert(pop.theta.end(), batch.theta.begin() + c * d, batch.theta.begin() + (c + 1) * d);
      pop.statistic.insert(pop.statistic.end(), batch.statistic.begin() + c * m, batch.statistic.begin() + (c + 1) * m);
      pop.distance.push_back(dist);
      ++accepted;
      pop.proposed = candidates + c + 1;
    }
    candidates += count;
    if (accepted < n && candidates >= settings_.max_proposals_per_particle * n)
      throw GenerationStalled(
          fmt::format("generation {} accepted {} of {} particles in {} candidates at tolerance {:.4g}", generation,
                      accepted, n, candidates, pop.tolerance));
  }
  pop.weight = importance_weights(priors_, free_coordinates(pop), centres, previous.weight, lower, likelihood);
  // Weights that are NaN, infinite or all 0 would be saved, and --resume and
  // inspect refuse the file; the generations before this one stay readable.
  const double total = std::accumulate(pop.weight.begin(), pop.weight.end(), 0.0);
  if (!(std::isfinite(total) && total > 0) ||
      !std::all_of(pop.weight.begin(), pop.weight.end(), [](double w) { return std::isfinite(w) && w >= 0; }))
    throw std::runtime_error(fmt::format(
        "generation {}'s importance weights are not finite positive numbers (every particle's prior density over its "
        "proposal density under- or overflowed a double), so it is not saved; widen the priors that are narrow on "
        "the scale of their support",
        generation));
  return pop;
}

}  // namespace brink
