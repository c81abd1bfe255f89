// The variable table. Each variable's name, dimensions, type, units, long
// name, storage and data source are written here and nowhere else.
#include "brink/io/variables.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

using D = Dim;

std::vector<std::string> strings_of(auto names) { return {names.begin(), names.end()}; }

template <typename T, std::size_t N>
Values row(const std::array<T, N>& a) {
  return std::vector<T>(a.begin(), a.end());
}

// Per-point rows <-> PointSummary. Readers call to_summary with one point's row.
template <typename T>
const std::vector<T>& as(const Values& v) {
  return std::get<std::vector<T>>(v);
}
std::vector<double> lowers(const auto& intervals) {
  std::vector<double> out;
  for (const Interval& i : intervals) out.push_back(i.lower);
  return out;
}
std::vector<double> uppers(const auto& intervals) {
  std::vector<double> out;
  for (const Interval& i : intervals) out.push_back(i.upper);
  return out;
}
void set_bounds(auto& intervals, const std::vector<double>& v, bool lower) {
  for (std::size_t i = 0; i < v.size() && i < intervals.size(); ++i)
    (lower ? intervals[i].lower : intervals[i].upper) = v[i];
}

// Each actor's types' `field`, padded with 0 to the type slots.
// Per point: a sweep or a posterior's draws may vary a type's prior (which
// moves the actor's other priors) or its resolve, and scenario choices their
// types. Only then is each point's scenario built (a million points' would
// cost seconds); else every point has the first's values.
Values per_type(const SweepPlan& p, double ResolveType::*field) {
  const std::size_t actors = p.model(0).scenario().actors.size();
  const auto slots = static_cast<std::size_t>(p.model(0).scenario().type_slots());
  const std::size_t width = actors * slots;
  const bool varies = !p.choices.empty() || std::any_of(p.parameters.begin(), p.parameters.end(), [](const auto& path) {
    return path.find(".types.") != std::string::npos;
  });
  std::vector<double> values(static_cast<std::size_t>(p.point_count()) * width, 0.0);
  for (std::int64_t point = 0; point < p.point_count(); ++point) {
    double* at = values.data() + static_cast<std::size_t>(point) * width;
    if (point > 0 && !varies) {
      std::copy(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(width), at);
      continue;
    }
    const Scenario sc = p.scenario_of(point);
    for (std::size_t i = 0; i < std::min(actors, sc.actors.size()); ++i)
      for (std::size_t k = 0; k < std::min(slots, sc.actors[i].types.size()); ++k)
        at[i * slots + k] = sc.actors[i].types[k].*field;
  }
  return values;
}

constexpr std::array<std::uint32_t, 5> kWhole{0, 0, 0, 0, 0};

// The dimensions, each with its coordinate values (or none: a bare dimension).
void add_dimensions(std::vector<VariableSpec>& t) {
  auto dim = [&](Dim d, Dtype type, std::string_view long_name, std::string_view units,
                 Values (*values)(const SweepPlan&), bool bare = false) {
    t.push_back({.name = dimension_name(d),
                 .kind = Kind::kDimension,
                 .when = d == Dim::kOutput ? When::kIndices
                         : d == Dim::kSlot ? When::kRunsResumeSums
                                           : When::kAlways,
                 .dims = {d},
                 .dtype = type,
                 .units = units,
                 .long_name = long_name,
                 .bare = bare,
                 .constant = values});
  };
  // Dimensions, with their coordinate values.
  dim(D::kPoint, Dtype::kInt64, "sweep point index", "1", [](const SweepPlan& p) -> Values {
    std::vector<std::int64_t> ids(p.points.size());
    std::iota(ids.begin(), ids.end(), 0);
    return ids;
  });
  dim(D::kReplication, Dtype::kInt32, "", "", nullptr, true);
  dim(D::kBlock, Dtype::kInt32, "", "", nullptr, true);
  dim(D::kActor, Dtype::kString, "actor", "", [](const SweepPlan& p) -> Values {
    std::vector<std::string> ids;
    for (const auto& a : p.model(0).scenario().actors) ids.push_back(a.id);
    return ids;
  });
  dim(D::kPool, Dtype::kString, "force pool", "", [](const SweepPlan&) -> Values {
    return std::vector<std::string>{"deployed", "ready", "reserve"};
  });
  dim(D::kOutcome, Dtype::kString, "crisis outcome", "",
      [](const SweepPlan&) -> Values { return strings_of(outcome_names()); });
  dim(D::kRung, Dtype::kString, "escalation ladder rung, lowest first", "",
      [](const SweepPlan& p) -> Values { return p.model(0).scenario().escalation.rungs; });
  dim(D::kAction, Dtype::kString, "kind of action", "",
      [](const SweepPlan&) -> Values { return strings_of(action_kind_names()); });
  dim(D::kType, Dtype::kInt32, "index of a private resolve type within its actor (names in type_name)", "1",
      [](const SweepPlan& p) -> Values {
        std::vector<std::int32_t> ids(static_cast<std::size_t>(p.model(0).scenario().type_slots()));
        std::iota(ids.begin(), ids.end(), 0);
        return ids;
      });
  dim(D::kQuantile, Dtype::kFloat64, "probability level of a quantile", "1",
      [](const SweepPlan&) -> Values { return row(kQuantiles); });
  dim(D::kIssue, Dtype::kString, "negotiation issue", "", [](const SweepPlan& p) -> Values {
    std::vector<std::string> ids;
    for (const auto& issue : p.model(0).scenario().negotiation.issues) ids.push_back(issue.id);
    return ids;
  });
  dim(D::kOutput, Dtype::kString, "summary output whose variance is decomposed", "", [](const SweepPlan& p) -> Values {
    std::vector<std::string> actors;
    for (const auto& a : p.model(0).scenario().actors) actors.push_back(a.id);
    return sensitivity_output_names(actors);
  });
  dim(D::kParameter, Dtype::kString, "swept scenario parameter path", "",
      [](const SweepPlan& p) -> Values { return p.parameters; });
  dim(D::kStep, Dtype::kInt32, "simulation step (state at the start of the step; the last is the horizon)", "1",
      [](const SweepPlan& p) -> Values {
        const Model& m = p.model(0);
        std::vector<std::int32_t> steps(m.records());
        for (int q = 0; q < m.records(); ++q) steps[q] = m.record_step(q);
        return steps;
      });
  dim(D::kSlot, Dtype::kInt32, "", "", nullptr, true);
}

// Per-scenario and per-plan constants, written at creation.
void add_constants(std::vector<VariableSpec>& t) {
  t.push_back({.name = "actor_name",
               .dims = {D::kActor},
               .dtype = Dtype::kString,
               .units = "",
               .long_name = "full name of each actor",
               .constant = [](const SweepPlan& p) -> Values {
                 std::vector<std::string> names;
                 for (const auto& a : p.model(0).scenario().actors) names.push_back(a.name);
                 return names;
               }});
  t.push_back({.name = "type_name",
               .dims = {D::kActor, D::kType},
               .dtype = Dtype::kString,
               .units = "",
               .long_name = "name of each actor's private types (empty: no such type)",
               .constant = [](const SweepPlan& p) -> Values {
                 const Scenario& sc = p.model(0).scenario();
                 const std::size_t slots = static_cast<std::size_t>(sc.type_slots());
                 std::vector<std::string> names(sc.actors.size() * slots);
                 for (std::size_t i = 0; i < sc.actors.size(); ++i)
                   for (std::size_t k = 0; k < sc.actors[i].types.size(); ++k)
                     names[i * slots + k] = sc.actors[i].types[k].name;
                 return names;
               }});
  t.push_back({.name = "type_prior",
               .dims = {D::kPoint, D::kActor, D::kType},
               .units = "1",
               .long_name = "prior probability of each type at each point",
               .storage = Storage::kChunked,
               .chunk = {4096, 0, 0},
               .constant = [](const SweepPlan& p) { return per_type(p, &ResolveType::prior); }});
  t.push_back({.name = "type_resolve",
               .dims = {D::kPoint, D::kActor, D::kType},
               .units = "1",
               .long_name = "resolve of each type at each point",
               .storage = Storage::kChunked,
               .chunk = {4096, 0, 0},
               .constant = [](const SweepPlan& p) { return per_type(p, &ResolveType::resolve); }});
  // "day", not "days": CF time units would make xarray decode this as a timedelta.
  t.push_back({.name = var::kDay,
               .dims = {D::kStep},
               .units = "day",
               .long_name = "simulated day at the start of the step",
               .storage = Storage::kChunked,
               .chunk = kWhole,
               .constant = [](const SweepPlan& p) -> Values {
                 const Model& m = p.model(0);
                 std::vector<double> days(m.records());
                 for (int q = 0; q < m.records(); ++q) days[q] = m.record_step(q) * m.scenario().run.dt_days;
                 return days;
               },
               .to_summary = [](PointSummary& s, const Values& v) { s.record_day = as<double>(v); }});
  t.push_back({.name = var::kParameterValue,
               .dims = {D::kPoint, D::kParameter},
               .units = "",  // per parameter, in parameter_units
               .long_name = "value of each swept parameter at each point (units in parameter_units)",
               .storage = Storage::kChunked,
               // Written once, whole: thousands of points per chunk, so that a
               // million-point plan is not a million chunks.
               .chunk = {4096, 64},
               .constant = [](const SweepPlan& p) -> Values {
                 std::vector<double> values;
                 for (const auto& pt : p.points) values.insert(values.end(), pt.values.begin(), pt.values.end());
                 return values;
               }});
  t.push_back({.name = "parameter_units",
               .dims = {D::kParameter},
               .dtype = Dtype::kString,
               .units = "",
               .long_name = "units of each parameter",
               .constant = [](const SweepPlan& p) -> Values { return p.parameter_units; }});
  t.push_back({.name = "parameter_swept",
               .dims = {D::kParameter},
               .dtype = Dtype::kInt8,
               .units = "1",
               .long_name = "1 for a sweep axis, 0 for a field fixed with --set",
               .storage = Storage::kChunked,
               .chunk = {64},
               .constant = [](const SweepPlan& p) -> Values {
                 std::vector<std::int8_t> swept(p.parameters.size(), 0);
                 for (int k = 0; k < p.swept; ++k) swept[k] = 1;
                 return swept;
               }});
  t.push_back({.name = "rerun_command",
               .dims = {D::kPoint},
               .dtype = Dtype::kString,
               .units = "",
               .long_name = "a brink command that runs this point alone (same bits with common random numbers)",
               .constant_rows = [](const SweepPlan& p, std::int64_t first, std::int64_t count) -> Values {
                 std::vector<std::string> commands;
                 for (std::int64_t k = first; k < first + count; ++k) commands.push_back(p.rerun_command(k));
                 return commands;
               }});
}

// Per-replication variables, one chunk per block, encoded on the workers.
void add_per_replication(std::vector<VariableSpec>& t) {
  auto run = [&](std::string_view name, Dims dims, Dtype type, std::string_view units, std::string_view long_name,
                 BlockField field, bool resume = false, Flags flags = Flags::kNone) {
    t.push_back({.name = name,
                 .kind = Kind::kPerRun,
                 .when = dims.has(D::kIssue) ? When::kRunsIssues : When::kRuns,
                 .dims = dims,
                 .dtype = type,
                 .units = units,
                 .long_name = long_name,
                 .flags = flags,
                 .storage = Storage::kBlockChunks,
                 .fill = Fill::kMissing,
                 .block = field,
                 .resume = resume});
  };
  const Dims pr{D::kPoint, D::kReplication}, pra{D::kPoint, D::kReplication, D::kActor};
  run("outcome_code", pr, Dtype::kInt8, "1", "outcome of the replication", &BlockResult::outcome, true,
      Flags::kOutcome);
  run("end_step", pr, Dtype::kInt32, "1", "step at which the outcome was decided (the horizon for a standoff)",
      &BlockResult::end_step, true);
  run("war_start_step", pr, Dtype::kInt32, "1", "step at which fighting began, -1 if never",
      &BlockResult::war_start_step, true);
  run("war_end_step", pr, Dtype::kInt32, "1", "step at which a side collapsed and the fighting ended, -1 if it did not",
      &BlockResult::war_end_step);
  run("first_incident_step", pr, Dtype::kInt32, "1", "step of the first military incident, -1 if none",
      &BlockResult::first_incident_step);
  run("incidents", pr, Dtype::kInt32, "1", "number of military incidents", &BlockResult::incidents);
  run("peak_rung", pr, Dtype::kInt8, "1", "highest escalation rung reached (index into rung)", &BlockResult::peak_rung,
      false, Flags::kRung);
  run("casualties", pra, Dtype::kFloat64, "1", "troops lost in combat", &BlockResult::casualties, true);
  // float64, not float32: the file's troop audit (pools + casualties − added +
  // removed = initial, to 1e-12) and mean_troops' last entry = the mean of
  // final_forces hold only at full precision.
  run("final_forces", {D::kPoint, D::kReplication, D::kActor, D::kPool}, Dtype::kFloat64, "1",
      "troops per pool at the end of the replication", &BlockResult::final_forces);
  run("action_count", {D::kPoint, D::kReplication, D::kActor, D::kAction}, Dtype::kStepCount, "1",
      "times each actor took each kind of action", &BlockResult::action_count);
  run("troops_added", pra, Dtype::kFloat64, "1", "troops added by reinforcement events", &BlockResult::troops_added);
  run("troops_removed", pra, Dtype::kFloat64, "1", "troops removed by demobilization events",
      &BlockResult::troops_removed);
  run("alliance_war_cause", pr, Dtype::kInt8, "1",
      "what first brought the escalation ladder to the alliance-war rung, if anything",
      &BlockResult::alliance_war_cause, false, Flags::kAllianceWarCause);
  run("resolve_type", pra, Dtype::kInt8, "1", "each actor's private type in the replication (index into type_name)",
      &BlockResult::resolve_type, false, Flags::kResolveType);
  run("final_belief", {D::kPoint, D::kReplication, D::kActor, D::kType}, Dtype::kFloat32, "1",
      "public belief at the end that each actor is of each type", &BlockResult::final_belief);
  run("agreed", {D::kPoint, D::kReplication, D::kIssue}, Dtype::kInt8, "1",
      "1 if the issue was agreed by the end of the replication", &BlockResult::agreed, true);
  // Bargaining and war (docs/model.md): only for scenarios with a bargaining section.
  run("offer", pr, Dtype::kFloat64, "1", "the proposer's latest demand, its share of the stake (NaN if none)",
      &BlockResult::offer);
  run("war_cost", pra, Dtype::kFloat64, "1", "each actor's private cost of war, in shares of the stake",
      &BlockResult::war_cost);
  t[t.size() - 2].when = t.back().when = When::kRunsBargaining;
}

// --resume's sums, per-replication series, and which blocks are in the file.
void add_resume_sums_and_series(std::vector<VariableSpec>& t) {
  // The sums over replications on the step axis of a point's first blocks
  // that --resume continues from: a few slots, each a point's sums written by
  // the writer thread at a flush and vouched for by its header (point, blocks,
  // checksum) written after it (Hdf5Writer, "resume sums"). Only where a
  // point has several blocks: SweepPlan::resume_sums_in_file.
  auto slot = [&](std::string_view name, Dims dims, Dtype type, std::string_view long_name, bool header) {
    t.push_back({.name = name,
                 .kind = Kind::kResumeSums,
                 .when = When::kRunsResumeSums,
                 .dims = dims,
                 .dtype = type,
                 .units = "1",
                 .long_name = long_name,
                 .storage = header ? Storage::kContiguous : Storage::kChunked,
                 .chunk = {1, 0, 0, 0, 0}});
  };
  slot(var::kResumePoint, {D::kSlot}, Dtype::kInt64, "the point whose sums the slot holds (for --resume)", true);
  slot(var::kResumeBlocks, {D::kSlot}, Dtype::kInt64,
       "how many of the point's first blocks the slot's sums cover; 0: none (for --resume)", true);
  slot(var::kResumeChecksum, {D::kSlot}, Dtype::kInt64,
       "FNV-1a digest of the slot's point, blocks and sums; a slot that does not match is ignored (for --resume)",
       true);
  slot(var::kResumeRungCount, {D::kSlot, D::kStep, D::kRung}, Dtype::kInt64,
       "replications on each rung, over the point's first blocks (for --resume)", false);
  slot(var::kResumeTroopsSum, {D::kSlot, D::kStep, D::kActor, D::kPool}, Dtype::kFloat64,
       "sum of troops over the replications of the point's first blocks (for --resume)", false);
  slot(var::kResumeBeliefSum, {D::kSlot, D::kStep, D::kActor, D::kType}, Dtype::kFloat64,
       "sum of public beliefs over the replications of the point's first blocks (for --resume)", false);

  // Per-replication time series (--timeseries).
  auto series = [&](std::string_view name, Dims dims, Dtype type, std::string_view units, std::string_view long_name,
                    BlockField field, Flags flags = Flags::kNone) {
    t.push_back({.name = name,
                 .kind = Kind::kSeries,
                 .when = When::kSeries,
                 .dims = dims,
                 .dtype = type,
                 .units = units,
                 .long_name = long_name,
                 .flags = flags,
                 .day_coordinate = true,
                 .storage = Storage::kBlockChunks,
                 .fill = Fill::kMissing,
                 .block = field});
  };
  series("troops", {D::kPoint, D::kReplication, D::kStep, D::kActor, D::kPool}, Dtype::kFloat32, "1",
         "troops per pool over time", &BlockResult::ts_forces);
  series("rung_series", {D::kPoint, D::kReplication, D::kStep}, Dtype::kInt8, "1",
         "escalation rung over time (index into rung)", &BlockResult::ts_rung, Flags::kRung);
  series("tension", {D::kPoint, D::kReplication, D::kStep}, Dtype::kFloat32, "1", "crisis tension over time",
         &BlockResult::ts_tension);
  series("belief", {D::kPoint, D::kReplication, D::kStep, D::kActor, D::kType}, Dtype::kFloat32, "1",
         "public belief over time that each actor is of each type", &BlockResult::ts_belief);

  t.push_back({.name = var::kBlockDone,
               .kind = Kind::kBookkeeping,
               .dims = {D::kPoint, D::kBlock},
               .dtype = Dtype::kInt8,
               .units = "1",
               .long_name = "1 once the block's replications are in this file (used by --resume)",
               .storage = Storage::kChunked,
               .chunk = {kPointsThatFit, 1024}});
}

// Per-point summaries, as many points per chunk as fit (kPointsThatFit); read back by `brink inspect`.
void add_summaries(std::vector<VariableSpec>& t) {
  auto point = [&](std::string_view name, Dims dims, Dtype type, std::string_view units, std::string_view long_name,
                   Values (*get)(const PointSummary&), void (*set)(PointSummary&, const Values&),
                   bool on_step = false) {
    t.push_back({.name = name,
                 .kind = Kind::kPerPoint,
                 .dims = dims,
                 .dtype = type,
                 .units = units,
                 .long_name = long_name,
                 .day_coordinate = on_step,
                 .storage = Storage::kChunked,
                 .chunk = {kPointsThatFit, 0, 0, 0, 0},
                 .from_summary = get,
                 .to_summary = set});
  };
  const Dims po{D::kPoint, D::kOutcome}, ps{D::kPoint, D::kStep};
  point(
      var::kReplications, {D::kPoint}, Dtype::kInt64, "1",
      "replications run at the point (fewer than the replication dimension when adaptive)",
      [](const PointSummary& s) -> Values { return std::vector<std::int64_t>{s.replications}; },
      [](PointSummary& s, const Values& v) { s.replications = as<std::int64_t>(v).at(0); });
  point(
      "outcome_count", po, Dtype::kInt64, "1", "replications ending in each outcome",
      [](const PointSummary& s) { return row(s.count); },
      [](PointSummary& s, const Values& v) {
        std::copy_n(as<std::int64_t>(v).begin(), kOutcomeCount, s.count.begin());
      });
  point(
      "outcome_probability", po, Dtype::kFloat64, "1", "estimated probability of each outcome",
      [](const PointSummary& s) { return row(s.probability); },
      [](PointSummary& s, const Values& v) {
        std::copy_n(as<double>(v).begin(), kOutcomeCount, s.probability.begin());
      });
  point(
      "outcome_probability_lower", po, Dtype::kFloat64, "1",
      "lower bound of the 95% Wilson score interval of outcome_probability",
      [](const PointSummary& s) -> Values { return lowers(s.interval); },
      [](PointSummary& s, const Values& v) { set_bounds(s.interval, as<double>(v), true); });
  point(
      "outcome_probability_upper", po, Dtype::kFloat64, "1",
      "upper bound of the 95% Wilson score interval of outcome_probability",
      [](const PointSummary& s) -> Values { return uppers(s.interval); },
      [](PointSummary& s, const Values& v) { set_bounds(s.interval, as<double>(v), false); });
  point(
      "mean_casualties", {D::kPoint, D::kActor}, Dtype::kFloat64, "1", "mean troops lost in combat per replication",
      [](const PointSummary& s) -> Values { return s.mean_casualties; },
      [](PointSummary& s, const Values& v) { s.mean_casualties = as<double>(v); });
  point(
      "casualty_quantile", {D::kPoint, D::kActor, D::kQuantile}, Dtype::kFloat64, "1",
      "quantiles of troops lost in combat per replication",
      [](const PointSummary& s) -> Values {
        std::vector<double> q;
        for (const auto& a : s.casualty_quantiles) q.insert(q.end(), a.begin(), a.end());
        return q;
      },
      [](PointSummary& s, const Values& v) {
        const auto& q = as<double>(v);
        s.casualty_quantiles.assign(q.size() / kQuantiles.size(), {});
        for (std::size_t i = 0; i < q.size(); ++i)
          s.casualty_quantiles[i / kQuantiles.size()][i % kQuantiles.size()] = q[i];
      });
  point(
      "mean_end_day", {D::kPoint}, Dtype::kFloat64, "day", "mean day at which the outcome was decided",
      [](const PointSummary& s) -> Values { return std::vector<double>{s.mean_end_day}; },
      [](PointSummary& s, const Values& v) { s.mean_end_day = as<double>(v).at(0); });
  point(
      "end_day_quantile", {D::kPoint, D::kQuantile}, Dtype::kFloat64, "day",
      "quantiles of the day at which the outcome was decided",
      [](const PointSummary& s) { return row(s.end_day_quantiles); },
      [](PointSummary& s, const Values& v) {
        std::copy_n(as<double>(v).begin(), kQuantiles.size(), s.end_day_quantiles.begin());
      });
  point(
      "survival", ps, Dtype::kFloat64, "1", "probability that no fighting has begun before the day",
      [](const PointSummary& s) -> Values { return s.survival; },
      [](PointSummary& s, const Values& v) {
        s.survival = as<double>(v);
        s.survival_interval.resize(s.survival.size());
      },
      true);
  point(
      "survival_lower", ps, Dtype::kFloat64, "1", "lower bound of the 95% Wilson score interval of survival",
      [](const PointSummary& s) -> Values { return lowers(s.survival_interval); },
      [](PointSummary& s, const Values& v) { set_bounds(s.survival_interval, as<double>(v), true); }, true);
  point(
      "survival_upper", ps, Dtype::kFloat64, "1", "upper bound of the 95% Wilson score interval of survival",
      [](const PointSummary& s) -> Values { return uppers(s.survival_interval); },
      [](PointSummary& s, const Values& v) { set_bounds(s.survival_interval, as<double>(v), false); }, true);
  point(
      "rung_share", {D::kPoint, D::kStep, D::kRung}, Dtype::kFloat64, "1",
      "share of replications on each escalation rung", [](const PointSummary& s) -> Values { return s.rung_share; },
      [](PointSummary& s, const Values& v) { s.rung_share = as<double>(v); }, true);
  point(
      "mean_troops", {D::kPoint, D::kStep, D::kActor, D::kPool}, Dtype::kFloat64, "1",
      "mean troops per pool across replications", [](const PointSummary& s) -> Values { return s.mean_troops; },
      [](PointSummary& s, const Values& v) { s.mean_troops = as<double>(v); }, true);
  point(
      "mean_belief", {D::kPoint, D::kStep, D::kActor, D::kType}, Dtype::kFloat64, "1",
      "mean public belief that each actor is of each type",
      [](const PointSummary& s) -> Values { return s.mean_belief; },
      [](PointSummary& s, const Values& v) { s.mean_belief = as<double>(v); }, true);
  point(
      "agreement_probability", {D::kPoint, D::kIssue}, Dtype::kFloat64, "1",
      "share of replications in which the issue was agreed",
      [](const PointSummary& s) -> Values { return s.agreement; },
      [](PointSummary& s, const Values& v) { s.agreement = as<double>(v); });
}

// Sobol indices (--sensitivity).
void add_sensitivity(std::vector<VariableSpec>& t) {
  auto sobol = [&](std::string_view name, std::string_view long_name, double SobolIndex::*field) {
    t.push_back({.name = name,
                 .kind = Kind::kSensitivity,
                 .when = When::kSensitivity,
                 .dims = {D::kOutput, D::kParameter},
                 .units = "1",
                 .long_name = long_name,
                 .storage = Storage::kChunked,
                 .chunk = kWhole,
                 .sobol = field});
  };
  sobol("sensitivity_first", "first-order Sobol index of each output", &SobolIndex::first);
  sobol("sensitivity_first_lower", "first-order Sobol index of each output (lower bound of the 95% bootstrap interval)",
        &SobolIndex::first_low);
  sobol("sensitivity_first_upper", "first-order Sobol index of each output (upper bound of the 95% bootstrap interval)",
        &SobolIndex::first_high);
  sobol("sensitivity_total", "total-effect Sobol index of each output", &SobolIndex::total);
  sobol("sensitivity_total_lower",
        "total-effect Sobol index of each output (lower bound of the 95% bootstrap interval)", &SobolIndex::total_low);
  sobol("sensitivity_total_upper",
        "total-effect Sobol index of each output (upper bound of the 95% bootstrap interval)", &SobolIndex::total_high);
}

// Morris screening measures (--design morris).
void add_morris(std::vector<VariableSpec>& t) {
  auto morris = [&](std::string_view name, std::string_view long_name, double MorrisIndex::*field) {
    t.push_back({.name = name,
                 .kind = Kind::kMorris,
                 .when = When::kMorris,
                 .dims = {D::kOutput, D::kParameter},
                 .units = "1",
                 .long_name = long_name,
                 .storage = Storage::kChunked,
                 .chunk = kWhole,
                 .morris = field});
  };
  morris("morris_mu", "mean Morris elementary effect of each parameter (output change over its whole range)",
         &MorrisIndex::mu);
  morris("morris_mu_star", "mean absolute Morris elementary effect of each parameter (its importance)",
         &MorrisIndex::mu_star);
  morris("morris_sigma", "standard deviation of the Morris elementary effects (interactions, non-linearity)",
         &MorrisIndex::sigma);
  morris("morris_mu_star_lower", "mean absolute Morris elementary effect (lower bound of the 95% bootstrap interval)",
         &MorrisIndex::mu_star_low);
  morris("morris_mu_star_upper", "mean absolute Morris elementary effect (upper bound of the 95% bootstrap interval)",
         &MorrisIndex::mu_star_high);
}

std::vector<VariableSpec> make_table() {
  std::vector<VariableSpec> t;
  add_dimensions(t);
  add_constants(t);
  add_per_replication(t);
  add_resume_sums_and_series(t);
  add_summaries(t);
  add_sensitivity(t);
  add_morris(t);
  return t;
}

}  // namespace

std::string_view dimension_name(Dim dim) {
  static constexpr std::array<std::string_view, kDimCount> kNames = {
      "point", "replication",    "block", "actor",  "pool",      "outcome", "rung",       "action",
      "type",  "quantile_level", "issue", "output", "parameter", "step",    "resume_slot"};
  return kNames.at(static_cast<std::size_t>(dim));
}

std::string_view dtype_name(Dtype dtype) {
  static constexpr std::array<std::string_view, 8> kNames = {"int8",    "int16",   "int32",  "int64",
                                                             "float32", "float64", "string", "int16"};
  return kNames.at(static_cast<std::size_t>(dtype));
}

std::size_t dtype_size(Dtype dtype) {
  static constexpr std::array<std::size_t, 8> kSizes = {1, 2, 4, 8, 4, 8, 0, 2};
  return kSizes.at(static_cast<std::size_t>(dtype));
}

std::string_view kind_name(Kind kind) {
  static constexpr std::array<std::string_view, 9> kNames = {"dimension", "constant",    "per replication",
                                                             "series",    "resume sums", "bookkeeping",
                                                             "per point", "sensitivity", "screening"};
  return kNames.at(static_cast<std::size_t>(kind));
}

std::span<const VariableSpec> variable_table() {
  static const std::vector<VariableSpec> table = make_table();
  return table;
}

const VariableSpec& find_variable(std::string_view name) {
  for (const VariableSpec& v : variable_table())
    if (v.name == name) return v;
  throw std::out_of_range("no variable '" + std::string(name) + "' in the output table");
}

std::vector<std::string> sensitivity_output_names(const std::vector<std::string>& actors) {
  std::vector<std::string> names;
  for (auto o : outcome_names()) names.push_back("probability_" + std::string(o));
  names.push_back("probability_war");
  for (const auto& a : actors) names.push_back("mean_casualties_" + a);
  return names;
}

}  // namespace brink
