#include "brink/mpi/rank_shared_evaluator.hpp"

#include <algorithm>
#include <vector>

namespace brink {

Evaluation RankSharedEvaluator::evaluate(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed) {
  const std::size_t count = width ? thetas.size() / width : 0, m = local_.observation_count();
  const std::int64_t reps = local_.replications();
  const std::size_t cells = count * m, worlds = cells * static_cast<std::size_t>(reps);
  const std::size_t slices = (count + kEvaluatorSlice - 1) / kEvaluatorSlice;
  const auto rank = static_cast<std::size_t>(group_.rank()), ranks = static_cast<std::size_t>(group_.size());
  const std::size_t lo = slices * rank / ranks, hi = slices * (rank + 1) / ranks;
  const std::size_t first = std::min(count, lo * kEvaluatorSlice), last = std::min(count, hi * kEvaluatorSlice);
  // Statistics, then every world's values, then this rank's replication-steps,
  // then 1 if this rank was stopped. Every other rank contributes 0 to this
  // rank's candidates: x + 0 is x, so the sum is exact.
  std::vector<double> out(cells + worlds + 2, 0.0);
  const double before = local_.lane_steps();
  bool stopped = local_.stopped();
  if (first < last && !stopped) {
    try {
      const Evaluation mine =
          local_.evaluate_slices(thetas.subspan(first * width, (last - first) * width), width, stream_seed, lo);
      std::copy(mine.statistic.begin(), mine.statistic.end(), out.begin() + static_cast<long>(first * m));
      std::copy(mine.world.begin(), mine.world.end(),
                out.begin() + static_cast<long>(cells + first * m * static_cast<std::size_t>(reps)));
    } catch (const EvaluationInterrupted&) {
      stopped = true;
    }
  }
  // A stopped rank still joins the sum, so that every rank learns of it there
  // and stops alike, none left waiting in a sum the others never join, and
  // rank 0 alone prints.
  out[cells + worlds] = local_.lane_steps() - before;
  out.back() = stopped ? 1.0 : 0.0;
  group_.sum(out);
  if (out.back() > 0) throw EvaluationInterrupted();
  lane_steps_ += out[cells + worlds];
  return {.statistic = std::vector<double>(out.begin(), out.begin() + static_cast<long>(cells)),
          .world = std::vector<double>(out.begin() + static_cast<long>(cells), out.end() - 2),
          .replications = reps};
}

}  // namespace brink
