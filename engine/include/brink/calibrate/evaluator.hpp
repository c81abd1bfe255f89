// The calibrator's evaluator on today's sweep engine: one sweep point per
// particle, a fixed number of replications each, run by SweepPlan + execute
// (threads, blocks, BlockScheduler), reduced to each observation's
// statistic, with every replication's own values beside them.
//
// Packed blocks (issue 13, item 2; docs/calibration.md): when every
// calibrated field is per_lane and a particle has at most 256 replications,
// floor(256 / R) particles share each 256-lane block (the rest of the block
// is padding) instead of one particle per block. Every particle keeps the
// stream it has unpacked (slice seed, point = its index in the slice), so
// both ways give the same statistics bit for bit.
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "brink/calibrate/smc.hpp"
#include "brink/model/block_result.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// The scenario a calibration simulates: `scenario` with its horizon cut to
// the day after the last observation (nothing later can change a
// statistic), records on the steps the observations need, `replications`
// per particle and no per-replication output. Its events keep their places
// (so that a calibrated `events.N.*` path still names event N), including
// those the cut run no longer reaches: every particle's scenario drops
// them (drop_unreached_events) once its values are set.
Scenario calibration_scenario(const Scenario& scenario, std::int64_t replications);

// Removes the events on or after the end of the run (event_step >=
// step_count()): in a calibration, events after the last observed day,
// which cannot change any observed quantity. The full-horizon runs of
// `brink run --posterior` keep them.
void drop_unreached_events(Scenario& scenario);

// The step at whose start an observation on `day` reads the state, and the
// step through which it counts events (war started, incidents): day / dt, rounded down.
int observation_step(double day, double dt);

// Plans of at most this many points keep every point's model (SweepPlan::kept):
// the evaluator runs a batch of particles in slices of this size, and slice k
// of independent streams has seed stream_seed + k (its particles are points 0..63).
inline constexpr std::size_t kEvaluatorSlice = 64;

// A batch stopped by the stop flag (SIGINT, SIGTERM): on one process, or,
// thrown by RankSharedEvaluator (brink/mpi/rank_shared_evaluator.hpp) on
// every rank alike, on any rank of a job.
class EvaluationInterrupted : public std::runtime_error {
 public:
  EvaluationInterrupted() : std::runtime_error("interrupted") {}
};

class SweepEvaluator final : public ParticleEvaluator {
 public:
  // `scenario` is calibration_scenario's result; `paths` the calibrated fields, in the priors' order.
  SweepEvaluator(Scenario scenario, std::vector<std::string> paths, int threads,
                 const std::atomic<bool>* stop = nullptr);
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed) override {
    return evaluate_slices(thetas, width, stream_seed, 0);
  }
  // `thetas` are the candidates of a batch from slice `first_slice` on (its
  // candidate first_slice · kEvaluatorSlice first): each keeps the streams it
  // has when the whole batch is evaluated at once.
  Evaluation evaluate_slices(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed,
                             std::size_t first_slice);
  // Particles packed floor(256 / R) to a block (evaluator_packed.cpp).
  Evaluation evaluate_packed(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed,
                             std::size_t first_slice);
  // Off: one sweep point per particle, whatever the fields (tests compare the two).
  void set_packing(bool on) { packing_ = on; }
  // Whether evaluate packs particles into blocks (see above).
  bool packs() const;
  // Replication-steps simulated so far (every lane of every block).
  double lane_steps() const { return lane_steps_; }
  // Candidates simulated so far; read by a progress thread while a batch runs (a slice at a time).
  std::int64_t points() const { return points_.load(std::memory_order_relaxed); }
  std::size_t observation_count() const { return scenario_.observations.size(); }
  std::int64_t replications() const { return scenario_.run.rule.max; }
  // True once the stop flag is set.
  bool stopped() const { return stop_ && stop_->load(); }

 private:
  Scenario scenario_;
  std::vector<std::string> paths_;
  int threads_;
  const std::atomic<bool>* stop_;
  bool packing_ = true;
  double lane_steps_ = 0;
  std::atomic<std::int64_t> points_ = 0;
};

// Each observation's value in each replication of a block (count × observations).
std::vector<double> observed_values(const Scenario& scenario, const BlockResult& block, int record_every);
// The statistic of one observation over a particle's replications: their
// mean, or their quantile (numpy's linear definition).
double observation_statistic(std::vector<double> values, double quantile);

}  // namespace brink
