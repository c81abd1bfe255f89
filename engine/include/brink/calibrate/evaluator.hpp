// The calibrator's evaluator on today's sweep engine: one sweep point per
// particle, a fixed number of replications each, run by SweepPlan + execute
// (threads, blocks, BlockScheduler), reduced to each observation's
// statistic.
//
// Where per-lane parameters (issue 13, item 2) plug in: a kernel that reads
// its parameters per lane would pack several particles into one 256-lane
// block instead of one particle per block (R < 256 lanes kept, the rest
// simulated and dropped). Only this class changes; AbcSmc, the priors, the
// distances and the file stay as they are.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "brink/calibrate/smc.hpp"
#include "brink/model/block_result.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {

// The scenario a calibration simulates: `scenario` with its horizon cut to
// the day after the last observation (nothing later can change a
// statistic), records on the steps the observations need, `replications`
// per particle and no per-replication output.
Scenario calibration_scenario(const Scenario& scenario, std::int64_t replications);

// The step at whose start an observation on `day` reads the state, and the
// step through which it counts events (war started, incidents): day / dt, rounded down.
int observation_step(double day, double dt);

class SweepEvaluator final : public ParticleEvaluator {
 public:
  // `scenario` is calibration_scenario's result; `paths` the calibrated fields, in the priors' order.
  SweepEvaluator(Scenario scenario, std::vector<std::string> paths, int threads,
                 const std::atomic<bool>* stop = nullptr);
  std::vector<double> evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed) override;
  // Replication-steps simulated so far (every lane of every block).
  double lane_steps() const { return lane_steps_; }
  std::int64_t points() const { return points_; }

 private:
  Scenario scenario_;
  std::vector<std::string> paths_;
  int threads_;
  const std::atomic<bool>* stop_;
  double lane_steps_ = 0;
  std::int64_t points_ = 0;
};

// Each observation's value in each replication of a block (count × observations).
std::vector<double> observed_values(const Scenario& scenario, const BlockResult& block, int record_every);
// The statistic of one observation over a particle's replications: their
// mean, or their quantile (numpy's linear definition).
double observation_statistic(std::vector<double> values, double quantile);

}  // namespace brink
