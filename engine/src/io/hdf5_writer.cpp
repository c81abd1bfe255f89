#include "brink/io/hdf5_writer.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "brink/io/recovery.hpp"
#include "brink/version.hpp"

namespace brink {
namespace {

void check(herr_t status, const std::string& what) {
  if (status < 0) throw OutputError(hdf5_failure_message(what));
}
hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw OutputError(hdf5_failure_message(what));
  return id;
}

void set_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<std::size_t>(value.size(), 1));
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  H5Tset_cset(type, H5T_CSET_UTF8);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr =
      check_id(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "create attribute " + name);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr, type, padded.data()), "write attribute " + name);
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

template <typename T>
void set_numeric_attribute(hid_t object, const std::string& name, hid_t type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  const hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  const hid_t attr =
      check_id(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "create attribute " + name);
  check(H5Awrite(attr, type, values.data()), "write attribute " + name);
  H5Aclose(attr);
  H5Sclose(space);
}

hid_t utf8_string_type() {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

constexpr std::size_t kRunChunkCache = 4u << 20;  // bytes per per-replication dataset

std::vector<std::string> sensitivity_output_names(const Scenario& sc) {
  std::vector<std::string> names;
  for (auto o : outcome_names()) names.push_back("probability_" + std::string(o));
  for (const auto& a : sc.actors) names.push_back("mean_casualties_" + a.id);
  return names;
}

struct Axis {
  std::string name;
  hsize_t size;
  hsize_t chunk;
};

}  // namespace

Hdf5Writer::Hdf5Writer(const std::string& path, const SweepPlan& plan, const OutputMetadata& metadata, Mode mode)
    : path_(path) {
  const Model& model = plan.model(0);
  const Scenario& sc = model.scenario();
  actors_ = model.actors();
  write_runs_ = plan.write_runs;
  parameter_count_ = plan.parameters.size();
  // One time axis, `step`: every K steps (K = --timeseries every, else 1).
  // Per-point summaries always use it; per-replication series only when asked.
  steps_grid_ = model.records();
  step_every_ = model.record_every();
  records_ = write_runs_ && plan.options.timeseries_every > 0 ? steps_grid_ : 0;
  blocks_per_point_ = plan.blocks_per_point();
  points_ = static_cast<std::int64_t>(plan.points.size());
  if (mode == Mode::kResume) {
    open_existing(plan, metadata);
    return;
  }
  const hsize_t points = plan.points.size();
  const hsize_t reps = static_cast<hsize_t>(plan.replications);
  const hsize_t actors = static_cast<hsize_t>(actors_);

  // netCDF-C needs tracked (and indexed) creation order to reopen a file.
  const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  // The 1.10 format: attributes over 64 KiB (the scenario text) and SWMR, so
  // that a reader can follow the run (netCDF-C 4.9 and h5py read it).
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  H5Pclose(fcpl);
  H5Pclose(fapl);
  if (file_ < 0) throw OutputError(hdf5_failure_message(fmt::format("create output file '{}'", path)));

  std::map<std::string, hid_t> scales;
  auto make_dcpl = [](const std::vector<hsize_t>& chunk, bool compress) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    if (!chunk.empty()) {
      H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
      if (compress) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 1);
      }
    }
    return dcpl;
  };
  auto coordinate = [&](const std::string& name, hid_t type, const void* data, hsize_t n, const std::string& long_name,
                        const std::string& units) {
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t dcpl = make_dcpl({}, false);
    const hid_t ds = check_id(H5Dcreate2(file_, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                              "create coordinate " + name);
    if (n > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write coordinate " + name);
    check(H5DSset_scale(ds, name.c_str()), "make " + name + " a dimension scale");
    set_string_attribute(ds, "long_name", long_name);
    if (!units.empty()) set_string_attribute(ds, "units", units);
    H5Pclose(dcpl);
    H5Sclose(space);
    scales[name] = ds;
    datasets_[name] = ds;
  };
  auto string_coordinate = [&](const std::string& name, const std::vector<std::string>& values,
                               const std::string& long_name) {
    std::vector<const char*> pointers;
    for (const auto& v : values) pointers.push_back(v.c_str());
    const hid_t type = utf8_string_type();
    coordinate(name, type, pointers.data(), values.size(), long_name, "");
    H5Tclose(type);
  };

  std::vector<std::int64_t> point_ids(points);
  std::iota(point_ids.begin(), point_ids.end(), 0);
  coordinate("point", H5T_NATIVE_INT64, point_ids.data(), points, "sweep point index", "1");
  // A dimension without a coordinate variable (netCDF's convention): no
  // values are stored, so a generous adaptive maximum costs no disk.
  auto bare_dimension = [&](const std::string& name, hsize_t n) {
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t dcpl = make_dcpl({}, false);
    const hid_t ds = check_id(H5Dcreate2(file_, name.c_str(), H5T_NATIVE_INT32, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                              "create dimension " + name);
    check(H5DSset_scale(ds, fmt::format("This is a netCDF dimension but not a netCDF variable.{:10d}", n).c_str()),
          "make " + name + " a dimension scale");
    H5Pclose(dcpl);
    H5Sclose(space);
    scales[name] = ds;
    datasets_[name] = ds;
  };
  bare_dimension("replication", reps);
  bare_dimension("block", static_cast<hsize_t>(blocks_per_point_));
  std::vector<std::string> actor_ids, outcome_ids, rung_ids = sc.escalation.rungs;
  for (const auto& a : sc.actors) actor_ids.push_back(a.id);
  for (auto o : outcome_names()) outcome_ids.emplace_back(o);
  string_coordinate("actor", actor_ids, "actor");
  string_coordinate("pool", {"deployed", "ready", "reserve"}, "force pool");
  string_coordinate("outcome", outcome_ids, "crisis outcome");
  string_coordinate("rung", rung_ids, "escalation ladder rung, lowest first");
  std::vector<std::string> kinds(action_kind_names().begin(), action_kind_names().end());
  string_coordinate("action", kinds, "kind of action");
  std::vector<std::int32_t> type_ids(kMaxTypes);
  std::iota(type_ids.begin(), type_ids.end(), 0);
  coordinate("type", H5T_NATIVE_INT32, type_ids.data(), kMaxTypes,
             "index of a private resolve type within its actor (names in type_name)", "1");
  std::vector<std::string> causes(alliance_war_cause_names().begin(), alliance_war_cause_names().end());
  std::vector<double> quantiles(kQuantiles.begin(), kQuantiles.end());
  coordinate("quantile", H5T_NATIVE_DOUBLE, quantiles.data(), quantiles.size(), "probability level of a quantile", "1");
  {
    std::vector<std::string> issue_ids;
    for (const auto& issue : sc.negotiation.issues) issue_ids.push_back(issue.id);
    string_coordinate("issue", issue_ids, "negotiation issue");
  }
  if (plan.sensitivity) {
    sensitivity_outputs_ = sensitivity_output_names(sc);
    string_coordinate("output", sensitivity_outputs_, "summary output whose variance is decomposed");
  }
  // Always present (length 0 for a single point without --set), so that every
  // file has the same dimensions.
  string_coordinate("parameter", plan.parameters, "swept scenario parameter path");
  {
    std::vector<std::int32_t> steps(steps_grid_);
    for (int q = 0; q < steps_grid_; ++q) steps[q] = model.record_step(q);
    coordinate("step", H5T_NATIVE_INT32, steps.data(), steps.size(),
               "simulation step (state at the start of the step; the last is the horizon)", "1");
  }

  auto variable = [&](const std::string& name, hid_t type, const std::vector<Axis>& axes, bool compress,
                      const std::string& long_name, const std::string& units) {
    std::vector<hsize_t> dims, chunk;
    for (const auto& a : axes) {
      dims.push_back(a.size);
      chunk.push_back(std::max<hsize_t>(1, std::min(a.chunk, a.size)));
    }
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t dcpl = make_dcpl(chunk, compress);
    // Replications a point never ran (adaptive sweeps) read as -1 or NaN.
    if (std::any_of(axes.begin(), axes.end(), [](const Axis& a) { return a.name == "replication"; })) {
      const long long int_fill = -1;
      const double float_fill = std::numeric_limits<double>::quiet_NaN();
      if (H5Tget_class(type) == H5T_INTEGER)
        H5Pset_fill_value(dcpl, H5T_NATIVE_LLONG, &int_fill);
      else
        H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &float_fill);
    }
    // Per-replication variables get a cache that holds the chunks of the
    // blocks in flight (written out of order), evicting full chunks first.
    // Memory stays bounded however many points and replications a sweep has.
    const hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    const bool per_run = std::any_of(axes.begin(), axes.end(), [](const Axis& a) { return a.name == "replication"; });
    // Summaries are written once per point, whole: they need no cache.
    H5Pset_chunk_cache(dapl, per_run ? 12421 : 0, per_run ? kRunChunkCache : 0, 1.0);
    const hid_t ds =
        check_id(H5Dcreate2(file_, name.c_str(), type, space, H5P_DEFAULT, dcpl, dapl), "create dataset " + name);
    for (std::size_t i = 0; i < axes.size(); ++i)
      check(H5DSattach_scale(ds, scales.at(axes[i].name), static_cast<unsigned>(i)),
            "attach dimension " + axes[i].name + " to " + name);
    set_string_attribute(ds, "long_name", long_name);
    set_string_attribute(ds, "units", units);
    H5Pclose(dapl);
    H5Pclose(dcpl);
    H5Sclose(space);
    datasets_[name] = ds;
  };

  // A 1-D string variable along an existing dimension (not a coordinate).
  auto string_variable = [&](const std::string& name, const std::string& dimension,
                             const std::vector<std::string>& values, const std::string& long_name) {
    std::vector<const char*> pointers;
    for (const auto& v : values) pointers.push_back(v.c_str());
    const hid_t type = utf8_string_type();
    const hsize_t n = values.size();
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t dcpl = make_dcpl({}, false);
    const hid_t ds =
        check_id(H5Dcreate2(file_, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "create " + name);
    if (n > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), "write " + name);
    check(H5DSattach_scale(ds, scales.at(dimension), 0), "attach " + dimension + " to " + name);
    set_string_attribute(ds, "long_name", long_name);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    datasets_[name] = ds;
  };
  {
    std::vector<std::string> names;
    for (const auto& a : sc.actors) names.push_back(a.name);
    string_variable("actor_name", "actor", names, "full name of each actor");
  }

  // Per-run chunks span whole blocks along replication so a block touches few chunks.
  const hsize_t rc = 16 * kBlockLanes;
  const Axis p_ax{"point", points, 1}, r_ax{"replication", reps, rc}, a_ax{"actor", actors, actors},
      pool_ax{"pool", kPoolCount, kPoolCount}, o_ax{"outcome", kOutcomeCount, kOutcomeCount},
      q_ax{"quantile", kQuantiles.size(), kQuantiles.size()},
      s_ax{"step", static_cast<hsize_t>(steps_grid_), static_cast<hsize_t>(steps_grid_)},
      i_ax{"issue", sc.negotiation.issues.size(), std::max<hsize_t>(1, sc.negotiation.issues.size())},
      rung_ax{"rung", sc.escalation.rungs.size(), sc.escalation.rungs.size()};
  const Axis type_ax{"type", kMaxTypes, kMaxTypes};
  {
    // Type names per actor, padded with empty strings: a 2-D string variable.
    const hsize_t dims[2] = {actors, kMaxTypes};
    std::vector<std::string> names_flat(actors * kMaxTypes);
    for (std::size_t i = 0; i < actors; ++i)
      for (std::size_t k = 0; k < sc.actors[i].types.size(); ++k)
        names_flat[i * kMaxTypes + k] = sc.actors[i].types[k].name;
    std::vector<const char*> pointers;
    for (const auto& v : names_flat) pointers.push_back(v.c_str());
    const hid_t type = utf8_string_type();
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = make_dcpl({}, false);
    const hid_t ds =
        check_id(H5Dcreate2(file_, "type_name", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "create type_name");
    check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), "write type_name");
    check(H5DSattach_scale(ds, scales.at("actor"), 0), "attach actor to type_name");
    check(H5DSattach_scale(ds, scales.at("type"), 1), "attach type to type_name");
    set_string_attribute(ds, "long_name", "name of each actor's private types (empty: no such type)");
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Tclose(type);
    datasets_["type_name"] = ds;
    std::vector<double> priors(actors * kMaxTypes, 0.0), resolve(actors * kMaxTypes, 0.0);
    for (std::size_t i = 0; i < actors; ++i)
      for (std::size_t k = 0; k < sc.actors[i].types.size(); ++k) {
        priors[i * kMaxTypes + k] = sc.actors[i].types[k].prior;
        resolve[i * kMaxTypes + k] = sc.actors[i].types[k].resolve;
      }
    variable("type_prior", H5T_NATIVE_DOUBLE, {a_ax, type_ax}, false, "prior probability of each type", "1");
    check(H5Dwrite(dataset("type_prior"), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, priors.data()),
          "write type_prior");
    variable("type_resolve", H5T_NATIVE_DOUBLE, {a_ax, type_ax}, false, "resolve of each type", "1");
    check(H5Dwrite(dataset("type_resolve"), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, resolve.data()),
          "write type_resolve");
  }
  if (write_runs_) {
    // Per-replication variables.
    variable("outcome_code", H5T_NATIVE_INT8, {p_ax, r_ax}, true, "outcome of the replication", "1");
    {
      std::vector<std::int8_t> flags(kOutcomeCount);
      std::iota(flags.begin(), flags.end(), 0);
      set_numeric_attribute(dataset("outcome_code"), "flag_values", H5T_NATIVE_INT8, flags);
      std::string meanings;
      for (auto o : outcome_names()) {
        if (!meanings.empty()) meanings += ' ';
        meanings += o;
      }
      set_string_attribute(dataset("outcome_code"), "flag_meanings", meanings);
    }
    variable("end_step", H5T_NATIVE_INT32, {p_ax, r_ax}, true,
             "step at which the outcome was decided (the horizon for a standoff)", "step");
    variable("war_start_step", H5T_NATIVE_INT32, {p_ax, r_ax}, true, "step at which fighting began, -1 if never",
             "step");
    variable("war_end_step", H5T_NATIVE_INT32, {p_ax, r_ax}, true,
             "step at which a side collapsed and the fighting ended, -1 if it did not", "step");
    variable("first_incident_step", H5T_NATIVE_INT32, {p_ax, r_ax}, true,
             "step of the first military incident, -1 if none", "step");
    variable("incidents", H5T_NATIVE_INT32, {p_ax, r_ax}, true, "number of military incidents", "1");
    variable("peak_rung", H5T_NATIVE_INT8, {p_ax, r_ax}, true, "highest escalation rung reached (index into rung)",
             "1");
    variable("casualties", H5T_NATIVE_DOUBLE, {p_ax, {"replication", reps, 4 * kBlockLanes}, a_ax}, true,
             "troops lost in combat", "troops");
    variable("final_forces", H5T_NATIVE_DOUBLE, {p_ax, {"replication", reps, 2 * kBlockLanes}, a_ax, pool_ax}, true,
             "troops per pool at the end of the replication", "troops");
    variable("action_count", H5T_NATIVE_INT32,
             {p_ax, {"replication", reps, 2 * kBlockLanes}, a_ax, {"action", kActionKindCount, kActionKindCount}}, true,
             "times each actor took each kind of action", "1");
    variable("troops_added", H5T_NATIVE_DOUBLE, {p_ax, {"replication", reps, 4 * kBlockLanes}, a_ax}, true,
             "troops added by reinforcement events", "troops");
    variable("troops_removed", H5T_NATIVE_DOUBLE, {p_ax, {"replication", reps, 4 * kBlockLanes}, a_ax}, true,
             "troops removed by demobilization events", "troops");
    variable("alliance_war_cause", H5T_NATIVE_INT8, {p_ax, r_ax}, true,
             "what brought about a direct NATO-Russia clash, if one happened", "1");
    {
      std::vector<std::int8_t> flags(kAllianceWarCauseCount);
      std::iota(flags.begin(), flags.end(), 0);
      set_numeric_attribute(dataset("alliance_war_cause"), "flag_values", H5T_NATIVE_INT8, flags);
      std::string meanings;
      for (const auto& c : causes) {
        if (!meanings.empty()) meanings += ' ';
        meanings += c;
      }
      set_string_attribute(dataset("alliance_war_cause"), "flag_meanings", meanings);
    }
    // Per-block sums on the step grid, so that --resume can rebuild the
    // per-point time summaries of the blocks it does not run again.
    // 16 blocks per chunk: the chunk index is sized for the adaptive maximum up front.
    const Axis b_ax{"block", static_cast<hsize_t>(blocks_per_point_), 16};
    variable("block_rung_count", H5T_NATIVE_INT32, {p_ax, b_ax, s_ax, rung_ax}, true,
             "replications of the block on each rung (for --resume)", "1");
    variable("block_troops_sum", H5T_NATIVE_DOUBLE, {p_ax, b_ax, s_ax, a_ax, pool_ax}, true,
             "sum of troops over the block's replications (for --resume)", "troops");
    variable("block_belief_sum", H5T_NATIVE_DOUBLE, {p_ax, b_ax, s_ax, a_ax, type_ax}, true,
             "sum of public beliefs over the block's replications (for --resume)", "1");
    if (!sc.negotiation.issues.empty())
      variable("agreed", H5T_NATIVE_INT8, {p_ax, {"replication", reps, 4 * kBlockLanes}, i_ax}, true,
               "1 if the issue was agreed by the end of the replication", "1");
    variable("resolve_type", H5T_NATIVE_INT8, {p_ax, {"replication", reps, 4 * kBlockLanes}, a_ax}, true,
             "each actor's private type in the replication (index into type_name)", "1");
    variable("final_belief", H5T_NATIVE_FLOAT, {p_ax, {"replication", reps, kBlockLanes}, a_ax, type_ax}, true,
             "public belief at the end that each actor is of each type", "1");
  }
  variable("block_done", H5T_NATIVE_INT8, {p_ax, {"block", static_cast<hsize_t>(blocks_per_point_), 1024}}, false,
           "1 once the block's replications are in this file (used by --resume)", "1");
  variable("outcome_count", H5T_NATIVE_INT64, {p_ax, o_ax}, false, "replications ending in each outcome", "1");
  variable("outcome_probability", H5T_NATIVE_DOUBLE, {p_ax, o_ax}, false, "estimated probability of each outcome", "1");
  variable("outcome_probability_lower", H5T_NATIVE_DOUBLE, {p_ax, o_ax}, false,
           "lower bound of the 95% Wilson score interval of outcome_probability", "1");
  variable("outcome_probability_upper", H5T_NATIVE_DOUBLE, {p_ax, o_ax}, false,
           "upper bound of the 95% Wilson score interval of outcome_probability", "1");
  variable("mean_casualties", H5T_NATIVE_DOUBLE, {p_ax, a_ax}, false, "mean troops lost in combat per replication",
           "troops");
  variable("mean_end_day", H5T_NATIVE_DOUBLE, {p_ax}, false, "mean day at which the outcome was decided", "day");
  variable("replications", H5T_NATIVE_INT64, {p_ax}, false,
           "replications run at the point (fewer than the replication dimension when adaptive)", "1");
  variable("casualty_quantile", H5T_NATIVE_DOUBLE, {p_ax, a_ax, q_ax}, false,
           "quantiles of troops lost in combat per replication", "troops");
  variable("end_day_quantile", H5T_NATIVE_DOUBLE, {p_ax, q_ax}, false,
           "quantiles of the day at which the outcome was decided", "day");
  // "day", not "days": CF time units would make xarray decode this as a timedelta.
  variable("day", H5T_NATIVE_DOUBLE, {s_ax}, false, "simulated day at the start of the step", "day");
  {
    std::vector<double> days(steps_grid_);
    for (int q = 0; q < steps_grid_; ++q) days[q] = model.record_step(q) * sc.run.dt_days;
    check(H5Dwrite(dataset("day"), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, days.data()), "write day");
  }
  variable("survival", H5T_NATIVE_DOUBLE, {p_ax, s_ax}, false, "probability that no fighting has begun before the day",
           "1");
  variable("survival_lower", H5T_NATIVE_DOUBLE, {p_ax, s_ax}, false,
           "lower bound of the 95% Wilson score interval of survival", "1");
  variable("survival_upper", H5T_NATIVE_DOUBLE, {p_ax, s_ax}, false,
           "upper bound of the 95% Wilson score interval of survival", "1");
  variable("rung_share", H5T_NATIVE_DOUBLE, {p_ax, s_ax, rung_ax}, false,
           "share of replications on each escalation rung", "1");
  variable("mean_troops", H5T_NATIVE_DOUBLE, {p_ax, s_ax, a_ax, pool_ax}, false,
           "mean troops per pool across replications", "troops");
  variable("mean_belief", H5T_NATIVE_DOUBLE, {p_ax, s_ax, a_ax, type_ax}, false,
           "mean public belief that each actor is of each type", "1");
  variable("agreement_probability", H5T_NATIVE_DOUBLE, {p_ax, i_ax}, false,
           "share of replications in which the issue was agreed", "1");
  for (const char* name : {"survival", "survival_lower", "survival_upper", "rung_share", "mean_troops", "mean_belief"})
    set_string_attribute(dataset(name), "coordinates", "day");  // CF: day labels the step axis
  if (plan.sensitivity) {
    const Axis out_ax{"output", sensitivity_outputs_.size(), sensitivity_outputs_.size()},
        par_ax{"parameter", plan.parameters.size(), plan.parameters.size()};
    for (const char* name : {"sensitivity_first", "sensitivity_first_lower", "sensitivity_first_upper",
                             "sensitivity_total", "sensitivity_total_lower", "sensitivity_total_upper"}) {
      const std::string n = name;
      const bool total = n.find("total") != std::string::npos;
      const std::string bound = n.find("lower") != std::string::npos   ? " (lower bound of the 95% bootstrap interval)"
                                : n.find("upper") != std::string::npos ? " (upper bound of the 95% bootstrap interval)"
                                                                       : "";
      variable(n, H5T_NATIVE_DOUBLE, {out_ax, par_ax}, false,
               std::string(total ? "total-effect" : "first-order") + " Sobol index of each output" + bound, "1");
    }
  }
  {
    variable("parameter_value", H5T_NATIVE_DOUBLE, {p_ax, {"parameter", plan.parameters.size(), 64}}, false,
             "value of each swept parameter at each point", "as in the scenario");
    std::vector<double> values;
    for (const auto& pt : plan.points) values.insert(values.end(), pt.values.begin(), pt.values.end());
    if (!values.empty())
      check(H5Dwrite(dataset("parameter_value"), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
            "write parameter_value");
    string_variable("parameter_units", "parameter", plan.parameter_units, "units of each parameter");
    std::vector<std::int8_t> swept(plan.parameters.size(), 0);
    for (int k = 0; k < plan.swept; ++k) swept[k] = 1;
    variable("parameter_swept", H5T_NATIVE_INT8, {{"parameter", plan.parameters.size(), 64}}, false,
             "1 for a sweep axis, 0 for a field fixed with --set", "1");
    if (!swept.empty())
      check(H5Dwrite(dataset("parameter_swept"), H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, swept.data()),
            "write parameter_swept");
  }
  if (records_ > 0) {
    const Axis ts_r{"replication", reps, 64};
    variable("troops", H5T_NATIVE_FLOAT, {p_ax, ts_r, s_ax, a_ax, pool_ax}, true, "troops per pool over time",
             "troops");
    variable("rung_series", H5T_NATIVE_INT8, {p_ax, ts_r, s_ax}, true, "escalation rung over time (index into rung)",
             "1");
    variable("tension", H5T_NATIVE_FLOAT, {p_ax, ts_r, s_ax}, true, "crisis tension over time", "1");
    variable("belief", H5T_NATIVE_FLOAT, {p_ax, {"replication", reps, 16}, s_ax, a_ax, type_ax}, true,
             "public belief over time that each actor is of each type", "1");
    for (const char* name : {"troops", "rung_series", "tension", "belief"})
      set_string_attribute(dataset(name), "coordinates", "day");  // CF: day labels the step axis
  }

  // Root attributes: enough to re-run this file to the same bits.
  set_string_attribute(file_, "title", fmt::format("brink run of scenario '{}'", sc.name));
  set_string_attribute(file_, "engine", "brink");
  set_string_attribute(file_, "engine_version", std::string(engine_version()));
  set_string_attribute(file_, "target_isa", std::string(target_isa()));
  set_string_attribute(file_, "scenario_name", sc.name);
  set_string_attribute(file_, "scenario_source", metadata.scenario_label);
  set_string_attribute(file_, "scenario", metadata.scenario_text);
  set_string_attribute(file_, "overrides", metadata.overrides);
  set_string_attribute(file_, "command_line", metadata.command_line);
  set_numeric_attribute<std::uint64_t>(file_, "seed", H5T_NATIVE_UINT64, {plan.options.seed});
  set_numeric_attribute<std::int64_t>(file_, "replications", H5T_NATIVE_INT64, {plan.replications});
  set_numeric_attribute<double>(file_, "dt_days", H5T_NATIVE_DOUBLE, {sc.run.dt_days});
  set_numeric_attribute<double>(file_, "horizon_days", H5T_NATIVE_DOUBLE, {sc.run.horizon_days});
  set_numeric_attribute<std::int32_t>(file_, "block_lanes", H5T_NATIVE_INT32, {kBlockLanes});
  set_numeric_attribute<std::int32_t>(file_, "step_every", H5T_NATIVE_INT32, {step_every_});
  set_string_attribute(file_, "random_numbers", plan.options.common_random ? "common" : "independent");
  set_string_attribute(file_, "design", plan.design.empty() ? "single point" : plan.design);
  set_numeric_attribute<std::int64_t>(file_, "samples", H5T_NATIVE_INT64, {plan.samples});
  set_numeric_attribute<std::int32_t>(file_, "sensitivity", H5T_NATIVE_INT32, {plan.sensitivity ? 1 : 0});
  // Created now (SWMR forbids new attributes later) and set to 1 by close().
  set_numeric_attribute<std::int32_t>(file_, "complete", H5T_NATIVE_INT32, {0});
  start_swmr();
}

void Hdf5Writer::start_swmr() {
  // Every dataset exists and every scale is attached: from here on only raw
  // data changes, which is what a single-writer/multiple-reader file allows.
  // A point is complete for a reader once replications[point] > 0, which is
  // written after all of the point's data.
  check(H5Fstart_swmr_write(file_), "switch " + path_ + " to single-writer/multiple-reader mode");
}

Hdf5Writer::~Hdf5Writer() {
  // After a failed write the file is left as its last complete flush made it:
  // closing would write a mix of old and new data.
  if (file_ >= 0 && is_space_errno(last_io_errno())) return;
  try {
    if (file_ >= 0) flush_finished();
  } catch (const OutputError&) {
    return;
  }
  for (auto& [name, id] : datasets_) H5Dclose(id);
  datasets_.clear();
  if (file_ >= 0) H5Fclose(file_);
}

namespace {
// The part [point, first:first+count, ...] of a (point, replication-or-block, ...)
// dataset, as file and memory dataspaces.
struct Slab {
  Slab(hid_t ds, std::int64_t point, std::int64_t first, std::int64_t count) : dataset(ds) {
    file = H5Dget_space(ds);
    const int rank = H5Sget_simple_extent_ndims(file);
    std::vector<hsize_t> start(rank, 0), extent(rank);
    H5Sget_simple_extent_dims(file, extent.data(), nullptr);
    start[0] = static_cast<hsize_t>(point);
    extent[0] = 1;
    if (rank > 1) {
      start[1] = static_cast<hsize_t>(first);
      extent[1] = static_cast<hsize_t>(count);
    }
    H5Sselect_hyperslab(file, H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr);
    memory = H5Screate_simple(rank, extent.data(), nullptr);
  }
  ~Slab() {
    H5Sclose(memory);
    H5Sclose(file);
  }
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;
  hid_t dataset, file = -1, memory = -1;
};
}  // namespace

void Hdf5Writer::write_slab(const std::string& name, hid_t type, const void* data, std::int64_t point,
                            std::int64_t first, std::int64_t count) {
  const Slab slab(dataset(name), point, first, count);
  check(H5Dwrite(slab.dataset, type, slab.memory, slab.file, H5P_DEFAULT, data), "write " + name + " to " + path_);
}

void Hdf5Writer::write_block(const BlockResult& b) {
  const std::int64_t p = b.spec.point, f = b.spec.first_replication, n = b.spec.count;
  // The block's data goes first, its "done" mark last: a partial file never
  // claims a block it does not fully hold.
  if (!write_runs_) return;
  write_slab("outcome_code", H5T_NATIVE_INT8, b.outcome.data(), p, f, n);
  write_slab("end_step", H5T_NATIVE_INT32, b.end_step.data(), p, f, n);
  write_slab("war_start_step", H5T_NATIVE_INT32, b.war_start_step.data(), p, f, n);
  write_slab("war_end_step", H5T_NATIVE_INT32, b.war_end_step.data(), p, f, n);
  write_slab("first_incident_step", H5T_NATIVE_INT32, b.first_incident_step.data(), p, f, n);
  write_slab("incidents", H5T_NATIVE_INT32, b.incidents.data(), p, f, n);
  write_slab("peak_rung", H5T_NATIVE_INT8, b.peak_rung.data(), p, f, n);
  write_slab("casualties", H5T_NATIVE_DOUBLE, b.casualties.data(), p, f, n);
  write_slab("final_forces", H5T_NATIVE_DOUBLE, b.final_forces.data(), p, f, n);
  write_slab("action_count", H5T_NATIVE_INT32, b.action_count.data(), p, f, n);
  write_slab("troops_added", H5T_NATIVE_DOUBLE, b.troops_added.data(), p, f, n);
  write_slab("troops_removed", H5T_NATIVE_DOUBLE, b.troops_removed.data(), p, f, n);
  write_slab("alliance_war_cause", H5T_NATIVE_INT8, b.alliance_war_cause.data(), p, f, n);
  write_slab("resolve_type", H5T_NATIVE_INT8, b.resolve_type.data(), p, f, n);
  if (datasets_.count("agreed")) write_slab("agreed", H5T_NATIVE_INT8, b.agreed.data(), p, f, n);
  write_slab("block_rung_count", H5T_NATIVE_INT32, b.record_rung_count.data(), p, f / kBlockLanes, 1);
  write_slab("block_troops_sum", H5T_NATIVE_DOUBLE, b.record_troops_sum.data(), p, f / kBlockLanes, 1);
  write_slab("block_belief_sum", H5T_NATIVE_DOUBLE, b.record_belief_sum.data(), p, f / kBlockLanes, 1);
  write_slab("final_belief", H5T_NATIVE_FLOAT, b.final_belief.data(), p, f, n);
  if (records_ > 0) {
    write_slab("troops", H5T_NATIVE_FLOAT, b.ts_forces.data(), p, f, n);
    write_slab("rung_series", H5T_NATIVE_INT8, b.ts_rung.data(), p, f, n);
    write_slab("tension", H5T_NATIVE_FLOAT, b.ts_tension.data(), p, f, n);
    write_slab("belief", H5T_NATIVE_FLOAT, b.ts_belief.data(), p, f, n);
  }
  pending_done_.emplace_back(p, f / kBlockLanes);
  // Flush now and then so that a killed run leaves a resumable file.
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count()) /
                     1000.0;
  if (now - last_flush_ > 2.0) {
    flush_finished();
    last_flush_ = now;
  }
}

void Hdf5Writer::flush_finished() {
  check(H5Fflush(file_, H5F_SCOPE_LOCAL), "flush " + path_);
  if (pending_done_.empty()) return;
  const std::int8_t one = 1;
  for (const auto& [point, block] : pending_done_) write_slab("block_done", H5T_NATIVE_INT8, &one, point, block, 1);
  pending_done_.clear();
  check(H5Fflush(file_, H5F_SCOPE_LOCAL), "flush " + path_);
}

void Hdf5Writer::read_slab(const std::string& name, hid_t type, void* data, std::int64_t point, std::int64_t first,
                           std::int64_t count) const {
  const Slab slab(dataset(name), point, first, count);
  check(H5Dread(slab.dataset, type, slab.memory, slab.file, H5P_DEFAULT, data), "read " + name + " from " + path_);
}

std::vector<std::uint8_t> Hdf5Writer::finished_blocks() const {
  std::vector<std::uint8_t> done(static_cast<std::size_t>(points_ * blocks_per_point_));
  for (std::int64_t p = 0; p < points_; ++p)
    read_slab("block_done", H5T_NATIVE_UINT8, done.data() + p * blocks_per_point_, p, 0, blocks_per_point_);
  return done;
}

BlockResult Hdf5Writer::read_block(const BlockSpec& spec) const {
  BlockResult b;
  b.spec = spec;
  b.outcome.resize(spec.count);
  b.end_step.resize(spec.count);
  b.war_start_step.resize(spec.count);
  b.casualties.resize(static_cast<std::size_t>(spec.count) * actors_);
  read_slab("outcome_code", H5T_NATIVE_INT8, b.outcome.data(), spec.point, spec.first_replication, spec.count);
  read_slab("end_step", H5T_NATIVE_INT32, b.end_step.data(), spec.point, spec.first_replication, spec.count);
  read_slab("war_start_step", H5T_NATIVE_INT32, b.war_start_step.data(), spec.point, spec.first_replication,
            spec.count);
  if (datasets_.count("agreed")) {
    const hid_t space = H5Dget_space(dataset("agreed"));
    hsize_t dims[3];
    H5Sget_simple_extent_dims(space, dims, nullptr);
    H5Sclose(space);
    b.agreed.resize(static_cast<std::size_t>(spec.count) * dims[2]);
    read_slab("agreed", H5T_NATIVE_INT8, b.agreed.data(), spec.point, spec.first_replication, spec.count);
  }
  auto block_sums = [&](const char* name, hid_t type, auto* out) {
    const hid_t space = H5Dget_space(dataset(name));
    const hssize_t total = H5Sget_simple_extent_npoints(space);
    std::vector<hsize_t> dims(H5Sget_simple_extent_ndims(space));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);  // the first two axes: point, block
    H5Sclose(space);
    out->resize(static_cast<std::size_t>(total / static_cast<hssize_t>(dims[0] * dims[1])));
    read_slab(name, type, out->data(), spec.point, spec.first_replication / kBlockLanes, 1);
  };
  block_sums("block_rung_count", H5T_NATIVE_INT32, &b.record_rung_count);
  block_sums("block_troops_sum", H5T_NATIVE_DOUBLE, &b.record_troops_sum);
  block_sums("block_belief_sum", H5T_NATIVE_DOUBLE, &b.record_belief_sum);
  read_slab("casualties", H5T_NATIVE_DOUBLE, b.casualties.data(), spec.point, spec.first_replication, spec.count);
  return b;
}

namespace {
std::string read_string_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return {};
  const hid_t attr = H5Aopen(object, name, H5P_DEFAULT);
  const hid_t type = H5Aget_type(attr);
  std::string text;
  if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type)) {
    std::string buffer(H5Tget_size(type), '\0');
    H5Aread(attr, type, buffer.data());
    text = buffer.c_str();
  }
  H5Tclose(type);
  H5Aclose(attr);
  return text;
}

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* data) {
  auto* datasets = static_cast<std::map<std::string, hid_t>*>(data);
  H5O_info_t info;
  if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET) {
    const hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 12421, kRunChunkCache, 1.0);  // as when the file was created
    (*datasets)[name] = H5Dopen2(group, name, dapl);
    H5Pclose(dapl);
  }
  return 0;
}
}  // namespace

void Hdf5Writer::open_existing(const SweepPlan& plan, const OutputMetadata& metadata) {
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  set_clear_status_flags(fapl);  // the caller holds the output lock: no writer is alive
  file_ = H5Fopen(path_.c_str(), H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (file_ < 0)
    throw OutputError(fmt::format("cannot reopen '{}' to resume it ({}); start over with --overwrite", path_,
                                  hdf5_failure_message("open it")));
  std::uint64_t seed = 0;
  if (H5Aexists(file_, "seed") > 0) {
    const hid_t attr = H5Aopen(file_, "seed", H5P_DEFAULT);
    H5Aread(attr, H5T_NATIVE_UINT64, &seed);
    H5Aclose(attr);
  }
  auto mismatch = [&](const std::string& what) {
    throw ResumeMismatch(
        fmt::format("'{}' was written by a different run ({} differs); start over with --overwrite instead of "
                    "--resume",
                    path_, what));
  };
  if (read_string_attribute(file_, "engine_version") != engine_version()) mismatch("the engine version");
  if (read_string_attribute(file_, "target_isa") != target_isa()) mismatch("the instruction set of the build");
  if (read_string_attribute(file_, "scenario") != metadata.scenario_text) mismatch("the scenario text");
  if (seed != plan.options.seed) mismatch("the seed");
  if (read_string_attribute(file_, "overrides") != metadata.overrides) mismatch("the --set or run options");
  H5Literate(file_, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset, &datasets_);
  if (!datasets_.count("block_done")) mismatch("layout");
  if (plan.sensitivity) sensitivity_outputs_ = sensitivity_output_names(plan.model(0).scenario());
  parameter_count_ = plan.parameters.size();
  start_swmr();
}

void Hdf5Writer::write_summary(const PointSummary& s) {
  // `replications` goes last (see start_swmr), then a flush publishes the point.
  std::array<double, kOutcomeCount> lower{}, upper{};
  for (int o = 0; o < kOutcomeCount; ++o) {
    lower[o] = s.interval[o].lower;
    upper[o] = s.interval[o].upper;
  }
  // Summary variables are (point, ...): a "slab" of one point covering the whole second axis.
  auto row = [&](const std::string& name, hid_t type, const void* data, std::int64_t width) {
    write_slab(name, type, data, s.point, 0, width);
  };
  row("outcome_count", H5T_NATIVE_INT64, s.count.data(), kOutcomeCount);
  row("outcome_probability", H5T_NATIVE_DOUBLE, s.probability.data(), kOutcomeCount);
  row("outcome_probability_lower", H5T_NATIVE_DOUBLE, lower.data(), kOutcomeCount);
  row("outcome_probability_upper", H5T_NATIVE_DOUBLE, upper.data(), kOutcomeCount);
  row("mean_casualties", H5T_NATIVE_DOUBLE, s.mean_casualties.data(), actors_);
  write_slab("mean_end_day", H5T_NATIVE_DOUBLE, &s.mean_end_day, s.point, 0, 1);
  std::vector<double> quantiles;
  for (const auto& q : s.casualty_quantiles) quantiles.insert(quantiles.end(), q.begin(), q.end());
  row("casualty_quantile", H5T_NATIVE_DOUBLE, quantiles.data(), actors_);
  row("end_day_quantile", H5T_NATIVE_DOUBLE, s.end_day_quantiles.data(), static_cast<std::int64_t>(kQuantiles.size()));
  row("survival", H5T_NATIVE_DOUBLE, s.survival.data(), static_cast<std::int64_t>(s.survival.size()));
  std::vector<double> survival_lower, survival_upper;
  for (const Interval& i : s.survival_interval) {
    survival_lower.push_back(i.lower);
    survival_upper.push_back(i.upper);
  }
  row("survival_lower", H5T_NATIVE_DOUBLE, survival_lower.data(), static_cast<std::int64_t>(survival_lower.size()));
  row("survival_upper", H5T_NATIVE_DOUBLE, survival_upper.data(), static_cast<std::int64_t>(survival_upper.size()));
  row("rung_share", H5T_NATIVE_DOUBLE, s.rung_share.data(), steps_grid_);
  row("mean_troops", H5T_NATIVE_DOUBLE, s.mean_troops.data(), steps_grid_);
  row("mean_belief", H5T_NATIVE_DOUBLE, s.mean_belief.data(), steps_grid_);
  if (!s.agreement.empty())
    row("agreement_probability", H5T_NATIVE_DOUBLE, s.agreement.data(), static_cast<std::int64_t>(s.agreement.size()));
  check(H5Fflush(file_, H5F_SCOPE_LOCAL), "flush " + path_);
  write_slab("replications", H5T_NATIVE_INT64, &s.replications, s.point, 0, 1);
  check(H5Fflush(file_, H5F_SCOPE_LOCAL), "flush " + path_);
}

void Hdf5Writer::write_sensitivity(const std::vector<SobolIndex>& indices, int swept) {
  // indices: output-major over the swept parameters; fixed (--set) parameters get NaN.
  const std::size_t outputs = sensitivity_outputs_.size();
  const std::size_t parameters = parameter_count_;
  const std::size_t n = outputs * parameters;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> first(n, nan), first_lower(n, nan), first_upper(n, nan), total(n, nan), total_lower(n, nan),
      total_upper(n, nan);
  for (std::size_t o = 0; o < outputs; ++o)
    for (int j = 0; j < swept; ++j) {
      const SobolIndex& x = indices[o * swept + j];
      const std::size_t k = o * parameters + j;
      first[k] = x.first;
      first_lower[k] = x.first_low;
      first_upper[k] = x.first_high;
      total[k] = x.total;
      total_lower[k] = x.total_low;
      total_upper[k] = x.total_high;
    }
  const std::pair<const char*, const std::vector<double>*> columns[] = {{"sensitivity_first", &first},
                                                                        {"sensitivity_first_lower", &first_lower},
                                                                        {"sensitivity_first_upper", &first_upper},
                                                                        {"sensitivity_total", &total},
                                                                        {"sensitivity_total_lower", &total_lower},
                                                                        {"sensitivity_total_upper", &total_upper}};
  for (const auto& [name, values] : columns)
    check(H5Dwrite(dataset(name), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values->data()),
          std::string("write ") + name);
}

void Hdf5Writer::close() {
  if (file_ < 0) return;
  flush_finished();
  const std::int32_t complete = 1;
  const hid_t attr = check_id(H5Aopen(file_, "complete", H5P_DEFAULT), "open the complete attribute of " + path_);
  const herr_t written = H5Awrite(attr, H5T_NATIVE_INT32, &complete);
  H5Aclose(attr);
  check(written, "mark " + path_ + " complete");
  for (auto& [name, id] : datasets_) H5Dclose(id);
  datasets_.clear();
  const herr_t status = H5Fclose(file_);
  file_ = -1;
  check(status, "close " + path_);
}

}  // namespace brink
