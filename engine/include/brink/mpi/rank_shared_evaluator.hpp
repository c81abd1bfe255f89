// The calibrator's evaluator shared by the ranks of `brink calibrate` under
// an MPI launcher (docs/cluster.md, "Calibration under MPI"). It sits in the mpi
// layer, above the sweep layer's SweepEvaluator it wraps.
#pragma once

#include <cstdint>
#include <span>

#include "brink/calibrate/evaluator.hpp"
#include "brink/calibrate/smc.hpp"
#include "brink/mpi/distributed.hpp"

namespace brink {

// A batch shared by the ranks of an MPI job in lockstep (RankGroup): rank k
// of K evaluates the contiguous run of slices k·S/K .. (k+1)·S/K - 1 of the
// batch's S slices with `local`, and a sum over the ranks gives every rank
// every statistic and every world's values. Each candidate keeps its streams, so the result is the
// one-rank result bit for bit.
class RankSharedEvaluator final : public ParticleEvaluator {
 public:
  RankSharedEvaluator(SweepEvaluator& local, RankGroup& group) : local_(local), group_(group) {}
  Evaluation evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed) override;
  // Replication-steps simulated by every rank so far.
  double lane_steps() const { return lane_steps_; }

 private:
  SweepEvaluator& local_;
  RankGroup& group_;
  double lane_steps_ = 0;
};

}  // namespace brink
