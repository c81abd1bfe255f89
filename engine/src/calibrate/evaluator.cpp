#include "brink/calibrate/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "brink/model/model.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

namespace {

constexpr std::size_t kSlice = kEvaluatorSlice;

// Collects every replication's observed values, in replication order, so
// that the statistics do not depend on the order the blocks arrived in.
class ObservationSink final : public ResultSink {
 public:
  ObservationSink(const Scenario& scenario, std::int64_t replications, std::size_t points, int record_every)
      : scenario_(scenario),
        replications_(replications),
        m_(scenario.observations.size()),
        every_(record_every),
        values_(points * static_cast<std::size_t>(replications) * m_) {}
  void consume(BlockResult&& block) override {
    const std::vector<double> v = observed_values(scenario_, block, every_);
    const std::size_t at =
        (static_cast<std::size_t>(block.spec.point) * replications_ + block.spec.first_replication) * m_;
    std::copy(v.begin(), v.end(), values_.begin() + static_cast<long>(at));
  }
  void point_finished(std::int64_t, std::int64_t) override {}
  // Every replication's value of every observation at `point` (R × observations).
  void worlds(std::size_t point, double* out) const {
    const std::size_t size = static_cast<std::size_t>(replications_) * m_;
    std::copy_n(values_.begin() + static_cast<long>(point * size), size, out);
  }
  // The statistic of every observation at `point`.
  void statistics(std::size_t point, double* out) const {
    std::vector<double> one(static_cast<std::size_t>(replications_));
    for (std::size_t o = 0; o < m_; ++o) {
      for (std::int64_t r = 0; r < replications_; ++r) one[r] = values_[(point * replications_ + r) * m_ + o];
      out[o] = observation_statistic(one, scenario_.observations[o].quantile);
    }
  }

 private:
  const Scenario& scenario_;
  std::int64_t replications_;
  std::size_t m_;
  int every_;
  std::vector<double> values_;
};

}  // namespace

int observation_step(double day, double dt) { return static_cast<int>(step_of_day(day, dt)); }

Scenario calibration_scenario(const Scenario& scenario, std::int64_t replications) {
  Scenario s = scenario;
  const double dt = s.run.dt_days;
  int last = 0, every = 0;
  bool rung = false;
  for (const Observation& o : s.observations) {
    const int k = observation_step(o.day, dt);
    last = std::max(last, k);
    if (o.quantity == ObservedQuantity::kForces) every = std::gcd(every, k);
    rung = rung || o.quantity == ObservedQuantity::kRung;
  }
  // Events count through the observed day: the run ends after its step.
  // Later events stay listed until each particle's values are set.
  s.run.horizon_days = (last + 1) * dt;
  // A rung is read as the highest on the record grid through the end of
  // the observed step: every step. Without forces or rungs no per-lane series is needed at all.
  const bool forces = std::any_of(s.observations.begin(), s.observations.end(),
                                  [](const Observation& o) { return o.quantity == ObservedQuantity::kForces; });
  s.output.timeseries_every = rung ? 1 : forces ? std::max(every, 1) : 0;
  s.output.runs = true;
  s.run.rule = {.adaptive = false, .min = replications, .max = replications, .ci_halfwidth = 0.01};
  s.sweep = {};
  return s;
}

void drop_unreached_events(Scenario& s) {
  const int steps = s.step_count();
  std::erase_if(s.events, [&](const Event& e) { return event_step(e.day, s.run.dt_days) >= steps; });
}

std::vector<double> observed_values(const Scenario& s, const BlockResult& block, int every) {
  const std::size_t m = s.observations.size(), n = s.actors.size();
  const int count = block.spec.count;
  const std::size_t records = count > 0 ? block.ts_rung.size() / static_cast<std::size_t>(count) : 0;
  std::vector<double> out(static_cast<std::size_t>(count) * m);
  for (std::size_t o = 0; o < m; ++o) {
    const Observation& ob = s.observations[o];
    const int k = observation_step(ob.day, s.run.dt_days);
    for (int r = 0; r < count; ++r) {
      double v = 0;
      switch (ob.quantity) {
        case ObservedQuantity::kForces: {
          const std::size_t q = static_cast<std::size_t>(k / every);
          const std::size_t base = ((static_cast<std::size_t>(r) * records + q) * n + ob.actor) * kPoolCount;
          if (ob.pool == kTotalPool)
            v = double(block.ts_forces[base]) + block.ts_forces[base + 1] + block.ts_forces[base + 2];
          else
            v = block.ts_forces[base + ob.pool];
          break;
        }
        case ObservedQuantity::kRung: {
          // Record q holds the state after q·every steps, so the end of
          // step k is record (k + 1) / every (every is 1 when a rung is
          // observed): step k counts, as it does for incidents and war.
          int peak = 0;
          for (std::size_t q = 0; q <= static_cast<std::size_t>((k + 1) / every) && q < records; ++q)
            peak = std::max<int>(peak, block.ts_rung[static_cast<std::size_t>(r) * records + q]);
          v = peak >= ob.rung ? 1.0 : 0.0;
          break;
        }
        case ObservedQuantity::kWarStarted:
          v = block.war_start_step[r] >= 0 && block.war_start_step[r] <= k ? 1.0 : 0.0;
          break;
        case ObservedQuantity::kIncidents:
          v = block.incidents[r];
          break;
      }
      out[static_cast<std::size_t>(r) * m + o] = v;
    }
  }
  return out;
}

double observation_statistic(std::vector<double> values, double quantile) {
  if (values.empty()) return std::nan("");
  if (quantile < 0) {
    double sum = 0;
    for (double v : values) sum += v;
    return sum / static_cast<double>(values.size());
  }
  std::sort(values.begin(), values.end());
  return quantile_of_sorted(values, quantile);
}

SweepEvaluator::SweepEvaluator(Scenario scenario, std::vector<std::string> paths, int threads,
                               const std::atomic<bool>* stop)
    : scenario_(std::move(scenario)), paths_(std::move(paths)), threads_(threads), stop_(stop) {}

Evaluation SweepEvaluator::evaluate_slices(std::span<const double> thetas, std::size_t width, std::uint64_t stream_seed,
                                           std::size_t first_slice) {
  if (packs()) return evaluate_packed(thetas, width, stream_seed, first_slice);
  const std::size_t count = width ? thetas.size() / width : 0, m = scenario_.observations.size();
  Scenario base = scenario_;
  base.run.seed = stream_seed;
  auto shared = std::make_shared<const Scenario>(std::move(base));
  const FieldRegistry registry(*shared);
  const std::int64_t reps = shared->run.rule.max;
  const std::size_t per_candidate = static_cast<std::size_t>(reps) * m;
  Evaluation out{.statistic = std::vector<double>(count * m),
                 .world = std::vector<double>(count * per_candidate),
                 .replications = reps};
  for (std::size_t first = 0; first < count; first += kSlice) {
    const std::size_t n = std::min(kSlice, count - first);
    SweepPlan plan;
    plan.parameters = paths_;
    plan.swept = static_cast<int>(paths_.size());
    for (const auto& path : paths_) plan.axis_fields.push_back(*registry.find(path));
    plan.design = "calibrate";
    plan.points = PointTable(width, std::vector<double>(thetas.begin() + static_cast<long>(first * width),
                                                        thetas.begin() + static_cast<long>((first + n) * width)));
    plan.rule = shared->run.rule;
    plan.replications = reps;
    plan.write_runs = false;
    // Under independent streams, point p of this slice must not reuse another slice's stream.
    Scenario slice_base = *shared;
    slice_base.run.seed =
        shared->run.common_random ? stream_seed : (stream_seed + first_slice + first / kSlice) % (1ULL << 53);
    plan.base = std::make_shared<const Scenario>(std::move(slice_base));
    for (std::size_t p = 0; p < n; ++p) {
      Scenario particle = plan.scenario_of(static_cast<std::int64_t>(p));
      drop_unreached_events(particle);
      plan.kept.push_back(std::make_shared<const Model>(std::move(particle)));
    }
    ObservationSink sink(*plan.base, reps, n, plan.kept.front()->record_every());
    execute(plan, threads_, sink, {}, nullptr, stop_);
    if (stopped()) throw EvaluationInterrupted();
    for (std::size_t p = 0; p < n; ++p) {
      sink.statistics(p, out.statistic.data() + (first + p) * m);
      sink.worlds(p, out.world.data() + (first + p) * per_candidate);
    }
    lane_steps_ += static_cast<double>(n) * plan.blocks_per_point() * kBlockLanes * plan.kept.front()->steps();
    points_ += static_cast<std::int64_t>(n);
  }
  return out;
}

}  // namespace brink
