// The posterior side of `brink run --posterior`: parameter sets drawn from a
// calibration file's last generation, as a sweep plan, and the summary
// pooled over them.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/cli_calibrate.hpp"
#include "brink/calibrate/prior.hpp"
#include "brink/calibrate/smc.hpp"
#include "brink/io/recovery.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/summary.hpp"
#include "commands.hpp"

namespace brink {
namespace fs = std::filesystem;
namespace po = boost::program_options;

namespace {

// `count` particles of the last generation drawn by systematic resampling of
// its weights (offset from the seed), in an order shuffled from the seed, so
// that any range of replications is a fair sample of the posterior.
std::vector<std::size_t> posterior_particles(const Population& last, std::int64_t count, std::uint64_t seed) {
  double u = 0, unused = 0;
  calibration_uniforms(seed, 0xFFFFu, 0, 0, &u, &unused);
  std::vector<std::size_t> drawn = systematic_resample(last.weight, static_cast<std::size_t>(count), u);
  for (std::size_t i = drawn.size(); i > 1; --i) {  // Fisher-Yates
    calibration_uniforms(seed, 0xFFFEu, static_cast<std::uint32_t>(i), 0, &u, &unused);
    std::swap(drawn[i - 1], drawn[std::min(i - 1, static_cast<std::size_t>(u * static_cast<double>(i)))]);
  }
  return drawn;
}

// One point whose replication r runs particle drawn[r] (its own parameter set).
SweepPlan replication_draws_plan(const LoadedScenario& loaded, const std::vector<FieldRef>& fields,
                                 const CalibrationRecord& record, std::int64_t total) {
  const Population& last = record.generations.back();
  const std::size_t d = record.parameters.size();
  auto draws = std::make_shared<ReplicationDraws>();
  draws->parameters = record.parameters;
  for (const FieldRef& f : fields) draws->units.emplace_back(f.spec->unit);
  std::vector<std::int32_t> set_of_particle(last.size(), -1);
  for (std::size_t particle : posterior_particles(last, total, loaded.scenario.run.seed)) {
    std::int32_t& set = set_of_particle[particle];
    if (set < 0) {
      set = static_cast<std::int32_t>(draws->sets++);
      Scenario s = loaded.scenario;
      for (std::size_t k = 0; k < d; ++k) {
        const double value = last.theta[particle * d + k];
        draws->values.push_back(value);
        fields[k].set(s, value);
      }
      draws->models.push_back(std::make_shared<const Model>(s));
    }
    draws->set_of.push_back(set);
  }
  SweepPlan plan;
  plan.design = "posterior";
  plan.points = PointTable::empty_rows(1);
  plan.rule = {.adaptive = false, .min = total, .max = total};
  plan.replications = total;
  plan.write_runs = loaded.scenario.output.runs;
  plan.base = std::make_shared<const Scenario>(loaded.scenario);
  plan.kept.push_back(std::make_shared<const Model>(loaded.scenario));
  plan.draws = std::move(draws);
  return plan;
}

// K points, one per drawn parameter set, the replications split evenly.
SweepPlan point_draws_plan(const LoadedScenario& loaded, const std::vector<FieldRef>& fields,
                           const CalibrationRecord& record, std::int64_t total, std::int64_t draws) {
  const Population& last = record.generations.back();
  const std::size_t d = record.parameters.size();
  SweepPlan plan;
  plan.axis_fields = fields;
  for (const FieldRef& f : fields) plan.parameter_units.emplace_back(f.spec->unit);
  std::vector<double> values;
  for (std::size_t i : posterior_particles(last, draws, loaded.scenario.run.seed))
    values.insert(values.end(), last.theta.begin() + static_cast<long>(i * d),
                  last.theta.begin() + static_cast<long>((i + 1) * d));
  plan.parameters = record.parameters;
  plan.swept = static_cast<int>(d);
  plan.design = "posterior";
  plan.samples = draws;
  plan.points = PointTable(d, std::move(values));
  plan.rule = {.adaptive = false, .min = (total + draws - 1) / draws, .max = (total + draws - 1) / draws};
  plan.replications = plan.rule.max;
  plan.write_runs = loaded.scenario.output.runs;
  plan.base = std::make_shared<const Scenario>(loaded.scenario);
  // Every draw's model is kept: a posterior plan has at most 1000 points.
  for (std::int64_t p = 0; p < draws; ++p) plan.kept.push_back(std::make_shared<const Model>(plan.scenario_of(p)));
  return plan;
}

// Every particle of the last generation (those drawn) within its field's
// range: a file whose prior text was widened by hand can hold values no
// scenario takes, refused like any other damage, naming the particle.
void check_particles_in_fields(const CalibrationRecord& record, const std::vector<FieldRef>& fields,
                               const std::string& file) {
  const Population& last = record.generations.back();
  const std::size_t d = fields.size();
  for (std::size_t i = 0; i < last.size(); ++i)
    for (std::size_t a = 0; a < d; ++a) {
      const double x = last.theta[i * d + a];
      if (const std::string problem = field_value_problem(*fields[a].spec, record.parameters[a], x, "");
          !problem.empty())
        throw UsageError(
            fmt::format("'{}' is damaged: variable 'particles' holds {} for parameter '{}' (generation "
                        "{}, particle {}), outside the field's range ({})",
                        file, x, record.parameters[a], last.generation, i, problem));
    }
}

}  // namespace

SweepPlan posterior_plan(const LoadedScenario& loaded, const std::string& calibration_file, std::int64_t draws) {
  if (std::error_code ec; !fs::exists(calibration_file, ec))
    throw po::error(fmt::format("--posterior: no file '{}'", calibration_file));
  if (const int error = check_not_short_of_resources(calibration_file); error != 0)
    throw po::error(fmt::format("--posterior: cannot open '{}': {}", calibration_file, std::strerror(error)));
  if (!is_calibration_file(calibration_file)) {
    if (is_hdf5_file(calibration_file) && !hdf5_opens(calibration_file))
      throw po::error(fmt::format(
          "--posterior: '{}' is an HDF5 file that HDF5 cannot open (damaged or cut short); run its calibration again",
          calibration_file));
    throw po::error(fmt::format("--posterior: '{}' is not a calibration file (one written by 'brink calibrate')",
                                calibration_file));
  }
  const CalibrationRecord record = read_calibration_input(calibration_file, "");
  if (record.generations.empty()) throw po::error(fmt::format("'{}' holds no complete generation", calibration_file));
  // An interrupted calibration's last generation is not its posterior (the first one is the prior).
  if (static_cast<int>(record.generations.size()) < record.planned_generations)
    throw po::error(fmt::format(
        "'{}' is an unfinished calibration ({} of {} generations); finish it with 'brink calibrate ... --resume' "
        "before drawing from its posterior",
        calibration_file, record.generations.size(), record.planned_generations));
  if (!loaded.scenario.sweep.empty())
    throw po::error(
        "--posterior draws the points itself; it cannot be combined with a sweep (drop the sweep block "
        "or the --sweep options)");
  const FieldRegistry registry(loaded.scenario);
  std::vector<FieldRef> fields;
  for (const auto& path : record.parameters) {
    const FieldRef* ref = registry.find(path);
    if (!ref)
      throw po::error(fmt::format("the posterior in '{}' calibrates '{}', which scenario '{}' does not have",
                                  calibration_file, path, loaded.scenario.name));
    fields.push_back(*ref);
  }
  check_particles_in_fields(record, fields, calibration_file);
  const std::int64_t total = loaded.scenario.run.rule.max;
  // Each draw is a point of at least one replication: more draws than replications would run
  // fewer draws than asked (or more replications than asked).
  if (draws > total)
    throw po::error(
        fmt::format("--posterior-draws {} runs one point per draw and needs at least as many "
                    "replications, but the run has {} (raise -n or lower --posterior-draws)",
                    draws, total));
  if (draws > 0) return point_draws_plan(loaded, fields, record, total, draws);
  const bool per_lane = std::all_of(fields.begin(), fields.end(), [](const FieldRef& f) { return f.spec->per_lane; });
  // The draws are held per replication (12 bytes each, and the file's coordinates 8 per parameter).
  constexpr std::int64_t kMaxReplicationDraws = 10'000'000;
  if (per_lane && total <= kMaxReplicationDraws) return replication_draws_plan(loaded, fields, record, total);
  const std::int64_t points = std::clamp<std::int64_t>(total / kBlockLanes, 1, 1000);
  SweepPlan plan = point_draws_plan(loaded, fields, record, total, points);
  const auto shared = std::find_if(fields.begin(), fields.end(), [](const FieldRef& f) { return !f.spec->per_lane; });
  plan.why = fmt::format(
      "{} posterior draw{}, not one per replication: {}; each draw is a point of its own (one per {} "
      "replications, at most 1000; --posterior-draws K sets their number)",
      points, points == 1 ? "" : "s",
      shared != fields.end()
          ? fmt::format("'{}' is one value per block, not per lane",
                        record.parameters[static_cast<std::size_t>(shared - fields.begin())])
          : fmt::format("above {} replications the draws are not held per replication", kMaxReplicationDraws),
      kBlockLanes);
  return plan;
}

PointSummary pooled_summary(const std::vector<PointSummary>& summaries) {
  PointSummary pooled;
  if (summaries.empty()) return pooled;
  // One point (a draw per replication) is its own pool, quantiles and all.
  if (summaries.size() == 1) return summaries.front();
  pooled.mean_casualties.assign(summaries.front().mean_casualties.size(), 0.0);
  double end_day = 0;
  for (const PointSummary& s : summaries) {
    pooled.replications += s.replications;
    for (int k = 0; k < kOutcomeCount; ++k) pooled.count[k] += s.count[k];
    for (std::size_t a = 0; a < s.mean_casualties.size(); ++a)
      pooled.mean_casualties[a] += s.mean_casualties[a] * static_cast<double>(s.replications);
    end_day += s.mean_end_day * static_cast<double>(s.replications);
  }
  const auto n = static_cast<double>(std::max<std::int64_t>(pooled.replications, 1));
  // The points are drawn parameter sets, and an outcome depends on its set: the
  // replications of one draw are a cluster, not independent draws of the forecast.
  std::vector<std::int64_t> counts(summaries.size()), replications(summaries.size());
  for (std::size_t i = 0; i < summaries.size(); ++i) replications[i] = summaries[i].replications;
  for (int k = 0; k < kOutcomeCount; ++k) {
    pooled.probability[k] = static_cast<double>(pooled.count[k]) / n;
    for (std::size_t i = 0; i < summaries.size(); ++i) counts[i] = summaries[i].count[k];
    pooled.interval[k] = clustered_interval(counts, replications);
  }
  pooled.pooled_over_draws = true;
  for (double& c : pooled.mean_casualties) c /= n;
  pooled.mean_end_day = end_day / n;
  // Quantiles do not pool from per-point quantiles; the table then shows means only.
  pooled.end_day_quantiles.fill(std::nan(""));
  // Every point ran the same replications: the pooled survival is the mean of the points'.
  pooled.record_day = summaries.front().record_day;
  pooled.survival.assign(summaries.front().survival.size(), 0.0);
  for (const PointSummary& s : summaries)
    for (std::size_t q = 0; q < s.survival.size() && q < pooled.survival.size(); ++q)
      pooled.survival[q] += s.survival[q] / static_cast<double>(summaries.size());
  return pooled;
}

}  // namespace brink
