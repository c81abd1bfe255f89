// SweepEvaluator with packed blocks: several particles per 256-lane block
// (docs/calibration.md, "Packed blocks"), run on a few threads of its own.
#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "brink/calibrate/evaluator.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/fields.hpp"

namespace brink {

bool SweepEvaluator::packs() const {
  const std::int64_t reps = scenario_.run.rule.max;
  if (!packing_ || reps < 1 || reps > kBlockLanes / 2) return false;
  const FieldRegistry registry(scenario_);
  return std::all_of(paths_.begin(), paths_.end(), [&](const std::string& path) {
    const FieldRef* ref = registry.find(path);
    return ref != nullptr && ref->spec->per_lane;
  });
}

namespace {

// Runs `blocks` on up to `threads` threads; block b's result goes to out[b].
void run_blocks(const std::vector<BlockSpec>& blocks, const Model& model, int threads, const std::atomic<bool>* stop,
                std::vector<BlockResult>* out) {
  out->assign(blocks.size(), {});
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (std::size_t b = next++; b < blocks.size(); b = next++)
        (*out)[b] = kernel().simulate_block(model, blocks[b], stop, {});
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      error = std::current_exception();
    }
  };
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(blocks.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

Evaluation SweepEvaluator::evaluate_packed(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed,
                                           std::size_t first_slice) {
  const std::size_t count = width ? thetas.size() / width : 0, m = scenario_.observations.size();
  const int reps = static_cast<int>(scenario_.run.rule.max);
  const std::size_t per_block = static_cast<std::size_t>(kBlockLanes / reps);
  const FieldRegistry registry(scenario_);
  std::vector<const FieldRef*> refs;
  for (const std::string& path : paths_) refs.push_back(registry.find(path));
  const std::size_t per_candidate = static_cast<std::size_t>(reps) * m;
  Evaluation out{.statistic = std::vector<double>(count * m),
                 .world = std::vector<double>(count * per_candidate),
                 .replications = reps};
  for (std::size_t first = 0; first < count; first += kEvaluatorSlice) {
    const std::size_t n = std::min(kEvaluatorSlice, count - first);
    // Each particle is the scenario and stream it is unpacked: point p of its slice.
    Scenario slice_base = scenario_;
    slice_base.run.seed = scenario_.run.common_random
                              ? stream_seed
                              : (stream_seed + first_slice + first / kEvaluatorSlice) % (1ULL << 53);
    std::vector<Model> models;
    models.reserve(n);
    for (std::size_t p = 0; p < n; ++p) {
      Scenario s = slice_base;
      for (std::size_t k = 0; k < refs.size(); ++k) refs[k]->set(s, thetas[(first + p) * width + k]);
      drop_unreached_events(s);
      models.emplace_back(std::move(s));
    }
    std::vector<LaneSegment> segments(n);
    std::vector<BlockSpec> blocks;
    for (std::size_t p = 0; p < n; ++p) {
      segments[p] = {&models[p], static_cast<std::int64_t>(p), 0, reps};
      if (p % per_block != 0) continue;
      BlockSpec spec;
      const std::size_t size = std::min(per_block, n - p);
      spec.count = static_cast<int>(size) * reps;
      spec.segments = std::span<const LaneSegment>(segments.data() + p, size);
      blocks.push_back(spec);
    }
    std::vector<BlockResult> results;
    run_blocks(blocks, models.front(), threads_, stop_, &results);
    if (stopped()) throw EvaluationInterrupted();
    const int every = models.front().record_every();
    std::vector<double> one(static_cast<std::size_t>(reps));
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const std::vector<double> v = observed_values(slice_base, results[b], every);
      for (std::size_t j = 0; j < blocks[b].segments.size(); ++j) {
        const std::size_t particle = first + b * per_block + j;
        std::copy_n(v.begin() + static_cast<long>(j * per_candidate), per_candidate,
                    out.world.begin() + static_cast<long>(particle * per_candidate));
        for (std::size_t o = 0; o < m; ++o) {
          for (int r = 0; r < reps; ++r) one[static_cast<std::size_t>(r)] = v[(j * reps + r) * m + o];
          out.statistic[particle * m + o] = observation_statistic(one, scenario_.observations[o].quantile);
        }
      }
    }
    lane_steps_ += static_cast<double>(blocks.size()) * kBlockLanes * models.front().steps();
    points_ += static_cast<std::int64_t>(n);
  }
  return out;
}

}  // namespace brink
