// Approximate Bayesian computation by sequential Monte Carlo (Toni et al.
// 2009) with Beaumont et al. (2009)'s importance weights and an adaptive
// tolerance: each generation's tolerance is a quantile of the previous
// generation's distances (Del Moral, Doucet & Jasra 2012 adapt it the same way).
//
// The target is one world measured with error, for any R: each of a
// candidate's R replications is one world, read with N(0, sd²) measurement
// error and given its own distance; the candidate's ABC likelihood at
// tolerance ε is the share of its worlds within ε, which multiplies its
// importance weight (a candidate with none is rejected). That estimate is
// unbiased for the R = 1 ABC likelihood, so R lowers the variance and leaves
// the posterior alone (pseudo-marginal ABC: Del Moral et al. 2012; Bornn et
// al. 2017). docs/calibration.md, "Distance".
//
// The algorithm knows nothing of the model: a ParticleEvaluator turns
// parameter sets into summary statistics. Today's evaluator runs one sweep
// point per particle (calibrate/evaluator.hpp); a kernel with per-lane
// parameters (issue 13, item 2) replaces only the evaluator.
//
// Determinism: every draw is a Philox function of (seed, generation,
// candidate, draw), candidates are simulated in batches whose sizes depend
// only on counts of earlier results, and particles are accepted in candidate
// order, so a calibration is the same bits for any thread count and resumes
// exactly from any complete generation.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/calibrate/prior.hpp"
#include "brink/scenario/observations.hpp"

namespace brink {

// What an evaluator returns for `count` candidates of R replications each.
struct Evaluation {
  // count × observations: each observation's statistic over the candidate's
  // replications (their mean, or the observation's quantile). Stored in the
  // file; the distance reads it for quantile observations only.
  std::vector<double> statistic;
  // count × R × observations (candidate, replication, observation): each
  // replication's own value of each observation, one world each. The
  // distance reads it for observations whose statistic is the mean.
  std::vector<double> world;
  std::int64_t replications = 1;  // R, the same for every candidate
};

// Simulates parameter sets; the calibrator's only window on the model.
class ParticleEvaluator {
 public:
  virtual ~ParticleEvaluator() = default;
  // `thetas` is count × width parameter values (the priors' order).
  // `stream_seed` keys the random streams: the same seed and candidate index
  // give the same replications.
  virtual Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed) = 0;
};

// One generation: particles in acceptance order.
struct Population {
  int generation = 0;
  double tolerance = 0.0;         // +inf for the prior draw
  std::int64_t proposed = 0;      // candidates simulated to accept `particles`
  std::vector<double> theta;      // particles × parameters, parameter scale
  std::vector<double> weight;     // normalized importance weights
  std::vector<double> distance;   // per particle: the smallest of its worlds' distances
  std::vector<double> statistic;  // particles × observations
  std::size_t size() const { return weight.size(); }
  double acceptance() const { return proposed > 0 ? static_cast<double>(size()) / proposed : 0.0; }
};

struct SmcSettings {
  std::int64_t particles = 1000;
  double quantile = 0.5;  // next tolerance: this quantile of the previous distances
  std::uint64_t seed = 1;
  bool common_random = false;                      // every candidate of a generation shares the random streams
  std::int64_t max_proposals_per_particle = 2000;  // gives up on a generation past this many per particle
};

// No particle of a generation is at a finite distance from the observations
// (an sd so small that (statistic - value) / sd overflows, or a statistic
// that is not a number): nothing can be fitted, and a tolerance of +inf would
// accept every candidate. Bad input, not a result; `observation()` indexes
// the observation whose standardized difference is finite for the fewest
// particles.
class NoFiniteDistance : public std::runtime_error {
 public:
  NoFiniteDistance(std::size_t observation, const std::string& message)
      : std::runtime_error(message), observation_(observation) {}
  std::size_t observation() const { return observation_; }

 private:
  std::size_t observation_;
};

// A generation found fewer than its particles within the tolerance in
// max_proposals_per_particle candidates each. After generations that did, the
// tolerance has fallen faster than candidates can follow (with the one-world
// target acceptance falls about as fast as the tolerance): the complete
// generations are a posterior at their own tolerance. In the first, the
// observations are out of the priors' reach.
class GenerationStalled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Effective sample size (Σw)² / Σw².
double effective_sample_size(std::span<const double> weights);

// A data–prior conflict (docs/calibration.md, "Data–prior conflict"): not one
// particle of a generation has a world within kConflictSd·√m of the m
// observations (kConflictSd standardized units per observation, root mean
// square; defined in scenario/observations.hpp). At the parameters that made the record its one world's squared
// distance is χ²_m-distributed, so P(d > 3√m) = P(χ²_m > 9m) is at most
// 0.27% (m = 1) and falls with m; the best particle's nearest world lies
// nearer still. ABC selects worlds by their measurement-error draws, so a
// world can come within the bound of a record several sd beyond the priors'
// reach: a conflict is also found when not one particle's statistics (the
// worlds' mean or quantile, without measurement error) are within the bound
// (`by_statistic`; the particle and distance are then the statistics').
// `found` is false otherwise; the closest particle, and the observation its
// statistic misses by the most standard deviations.
struct DataConflict {
  bool found = false, by_statistic = false;
  std::size_t particle = 0;
  double distance = 0.0, bound = 0.0;
  std::size_t observation = 0;  // the worst-fitted observation of that particle
  double standardized = 0.0;    // (statistic - value) / sd there, by its mean statistic
};
DataConflict data_conflict(const Population& population, std::span<const double> observed,
                           std::span<const double> observed_sd);
// Weighted mean and covariance (d × d, row-major) of rows of `points` (n × d).
std::vector<double> weighted_covariance(std::span<const double> points, std::span<const double> weights, std::size_t d);
// Lower Cholesky factor of a symmetric d × d matrix; a matrix that is not
// positive definite gets a growing diagonal jitter until it is.
std::vector<double> cholesky(std::vector<double> a, std::size_t d);
// Log of Σ_j w_j N(z; centres_j, L Lᵀ) for the lower factor L, up to the constant common to every z.
double log_kernel_mixture(std::span<const double> z, std::span<const double> centres, std::span<const double> weights,
                          std::span<const double> lower, std::size_t d);
// The distance of one particle's statistics to the observations: the
// Euclidean norm of (statistic - value) / sd.
double observation_distance(std::span<const double> statistic, const std::vector<Observation>& observations);
// The distance of each of a candidate's R worlds (docs/calibration.md,
// "Distance"): world r's value of observation o is world[r·m + o] plus
// sd_o·z_{r,o} when o's statistic is the mean, and statistic[o] plus
// sd_o·z_{0,o} (one draw for every world) when it is a quantile; d_r is the
// norm of (value - observed) / sd over the observations (+inf when not
// finite). The normals z come from the noise stream (seed, generation,
// candidate, draw), draw r·ceil(m/2) + o/2 two normals at a time.
std::vector<double> world_distances(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate,
                                    std::span<const double> statistic, std::span<const double> world,
                                    std::int64_t replications, const std::vector<Observation>& observations);
// The share of `distances` at most `tolerance`: the candidate's ABC
// likelihood estimate at that tolerance (1 when it is +inf).
double share_within(std::span<const double> distances, double tolerance);
// Index i with cdf[i-1] <= u·total < cdf[i] (cdf is the running sum of weights).
std::size_t pick_by_weight(std::span<const double> cdf, double u);
// `count` indices drawn by systematic resampling with offset u in (0, 1);
// throws std::invalid_argument if `weights` is empty.
std::vector<std::size_t> systematic_resample(std::span<const double> weights, std::size_t count, double u);

class AbcSmc {
 public:
  AbcSmc(std::vector<Prior> priors, std::vector<Observation> observations, SmcSettings settings,
         ParticleEvaluator& evaluator);
  // Generation 0: the prior, every draw accepted (tolerance +inf). Throws
  // NoFiniteDistance when no draw is at a finite distance.
  Population first();
  // The generation after `previous`, at a finite tolerance: a candidate at
  // an infinite distance is never accepted. Throws NoFiniteDistance when
  // `previous` has no particle at a finite distance.
  Population next(const Population& previous);
  std::size_t width() const { return priors_.size(); }
  // The free coordinates of a population (particles × parameters).
  std::vector<double> free_coordinates(const Population& p) const;

 private:
  struct Batch {
    std::vector<double> theta, statistic;  // statistics without noise
    std::vector<double> distance;          // per candidate: the smallest of its worlds'
    std::vector<double> worlds;            // count × R: each world's distance
    std::size_t replications = 1;
  };
  Batch evaluate_batch(int generation, std::int64_t first, std::int64_t count,
                       const std::function<void(std::int64_t, double*)>& propose);
  std::uint64_t stream_seed(int generation, std::int64_t batch) const;
  // Throws NoFiniteDistance unless some particle of `p` is at a finite distance.
  void require_a_finite_distance(const Population& p) const;

  std::vector<Prior> priors_;
  std::vector<Observation> observations_;
  SmcSettings settings_;
  ParticleEvaluator& evaluator_;
};

// Standard normals z_0 .. z_{count-1} of the noise stream (seed, generation,
// candidate), from draw index `first_draw` on, two per draw.
void noise_normals(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate, std::uint32_t first_draw,
                   std::span<double> z);
// Uniforms in (0, 1) for (seed, generation, candidate, draw): two per call.
void calibration_uniforms(std::uint64_t seed, std::uint32_t generation, std::uint32_t candidate, std::uint32_t draw,
                          double* first, double* second);

}  // namespace brink
