// Creating an output file: every variable with its chunks, filters, fill
// values and CF attributes, the coordinates of parameters and time, and the
// root attributes (docs/output.md).
#include <hdf5_hl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/scenario/flag_word.hpp"
#include "brink/scenario/observations.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/version.hpp"
#include "hdf5_util.hpp"
#include "hdf5_writer_impl.hpp"

namespace brink {

using h5::check;

void Hdf5Writer::Impl::create(const SweepPlan& plan, const OutputMetadata& metadata) {
  // netCDF-C needs tracked (and indexed) creation order to reopen a file.
  const Handle fcpl = plist_handle(H5Pcreate(H5P_FILE_CREATE), "create a file property list");
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
  // The 1.10 format: attributes over 64 KiB (the scenario text) and SWMR, so
  // that a reader can follow the run (netCDF-C 4.9 and h5py read it).
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  // A new file, never the old one truncated: the caller has decided that a
  // stale file at the path goes, and its name is unlinked, not its bytes
  // rewritten (another hard link to them keeps them). EXCL then refuses
  // whatever appears at the path meanwhile, a symbolic link included (O_EXCL
  // never follows one), so no other file is ever written through it.
  ::unlink(path.c_str());
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get());
  if (id < 0) throw OutputError(hdf5_failure_message(fmt::format("create output file '{}'", path)));
  file = file_handle(id, "create " + path);
  name_coordinates(plan);
  for (const VariableSpec& v : variable_table())
    if (layout.present(v)) {
      check_stop();
      create_variable(v, plan);
    }
  create_parameter_coordinates(plan);
  if (!replication_coordinates.empty()) create_replication_coordinates(plan);
  create_time_coordinate(plan);
  check_stop();
  write_root_attributes(plan, metadata);
}

namespace {

Handle creation_properties(const VariableSpec& v, const FileLayout& layout, hid_t type) {
  Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
  H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const std::vector<std::uint64_t> chunk64 = layout.chunk(v);
  if (!chunk64.empty()) {
    const std::vector<hsize_t> chunk(chunk64.begin(), chunk64.end());
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()),
          "set chunks of " + std::string(v.name));
  }
  if (checksummed(v)) check(H5Pset_fletcher32(dcpl.get()), "add checksums to " + std::string(v.name));
  if (v.storage == Storage::kBlockChunks) {
    // Must match encode_chunk: shuffle, then deflate at level 1.
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), 1);
  }
  if (v.fill == Fill::kMissing) {
    const long long int_fill = missing_integer(H5Tget_size(type));
    const double float_fill = std::numeric_limits<double>::quiet_NaN();
    if (H5Tget_class(type) == H5T_INTEGER)
      H5Pset_fill_value(dcpl.get(), H5T_NATIVE_LLONG, &int_fill);
    else
      H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &float_fill);
  }
  return dcpl;
}

// The names behind an index variable's values 0, 1, ...
std::vector<std::string> flag_names(Flags flags, const SweepPlan& plan) {
  std::vector<std::string> names;
  const Scenario& sc = plan.model(0).scenario();
  switch (flags) {
    case Flags::kNone:
      break;
    case Flags::kOutcome:
      for (auto n : outcome_names()) names.emplace_back(n);
      break;
    case Flags::kAllianceWarCause:
      for (auto n : alliance_war_cause_names()) names.emplace_back(n);
      break;
    case Flags::kRung:
      names = sc.escalation.rungs;
      break;
    case Flags::kResolveType:
      // Actors name their types differently: a shared name where every actor
      // with that many types agrees, else type_K (names in type_name).
      for (std::size_t k = 0;; ++k) {
        std::string name;
        bool any = false, agree = true;
        for (const auto& a : sc.actors) {
          if (k >= a.types.size()) continue;
          if (any && a.types[k].name != name) agree = false;
          name = a.types[k].name;
          any = true;
        }
        if (!any) break;
        names.push_back(agree ? name : fmt::format("type_{}", k));
      }
      break;
  }
  return names;
}

// What a design adds to the root: Morris levels, adaptive replications'
// target half-width, constraints and rejected points, a mixed design's levers
// and uncertainties (for the robustness tools).
template <class Text, class Number>
void design_attributes(const SweepPlan& plan, Text text, Number number) {
  if (plan.morris) number("morris_levels", H5T_NATIVE_INT32, std::int32_t{plan.morris_levels});
  // Adaptive replications: the target half-width, against which a point's
  // outcome_probability_lower/upper tell whether it got there or stopped at max.
  if (plan.rule.adaptive) number("ci_halfwidth", H5T_NATIVE_DOUBLE, double{plan.rule.ci_halfwidth});
  const SweepSpec& spec = plan.base->sweep;
  if (!spec.constraints.empty()) {
    std::string rules;
    for (const SweepConstraint& c : spec.constraints)
      rules += fmt::format("{}{} ({})", rules.empty() ? "" : "; ", c.rule, c.reject ? "reject" : "clip");
    text("constraints", rules);
    number("rejected_points", H5T_NATIVE_INT64, std::int64_t{plan.rejected_points});
  }
  if (!plan.choices.empty()) {
    // Each choice's text, so that every point can be run again from the file alone.
    std::string labels;
    for (std::size_t k = 0; k < plan.choices.size(); ++k) {
      if (k > 0) labels += '\n';
      labels += plan.choices[k].label;
      text(fmt::format("scenario_choice_{}", k), plan.choices[k].text);
    }
    text("scenario_choices", labels);
  }
  std::string levers, uncertainties;
  for (std::size_t k = 0; k < plan.axis_roles.size(); ++k) {
    std::string& list = plan.axis_roles[k] == "lever" ? levers : uncertainties;
    if (plan.axis_roles[k].empty()) continue;
    if (!list.empty()) list += ' ';
    list += plan.parameters[k];
  }
  if (!levers.empty()) {
    text("levers", levers);
    text("uncertainties", uncertainties);
  }
}

void set_flags(hid_t dataset, Flags flags, const SweepPlan& plan) {
  const std::vector<std::string> names = flag_names(flags, plan);
  if (names.empty()) return;
  std::vector<std::int8_t> values(names.size());
  std::string meanings;
  for (std::size_t i = 0; i < names.size(); ++i) {
    values[i] = static_cast<std::int8_t>(i);
    if (i > 0) meanings += ' ';
    meanings += flag_word(names[i]);
  }
  h5::set_int_attribute(dataset, "flag_values", H5T_NATIVE_INT8, values.data(), values.size());
  h5::set_string_attribute(dataset, "flag_meanings", meanings);
}

// `_FillValue`, of the dataset's own type (netCDF and xarray require it).
void set_fill_attribute(hid_t dataset, hid_t type) {
  if (H5Tget_class(type) == H5T_INTEGER) {
    const long long fill = missing_integer(H5Tget_size(type));
    const hsize_t one = 1;
    const Handle space = space_handle(H5Screate_simple(1, &one, nullptr), "create a dataspace");
    const Handle attr = attribute_handle(H5Acreate2(dataset, "_FillValue", type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                                         "create _FillValue");
    check(H5Awrite(attr.get(), H5T_NATIVE_LLONG, &fill), "write _FillValue");
    return;
  }
  const double fill = std::numeric_limits<double>::quiet_NaN();
  const hsize_t one = 1;
  const Handle space = space_handle(H5Screate_simple(1, &one, nullptr), "create a dataspace");
  const Handle attr = attribute_handle(H5Acreate2(dataset, "_FillValue", type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                                       "create _FillValue");
  check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &fill), "write _FillValue");
}

}  // namespace

void Hdf5Writer::Impl::write_constant(const VariableSpec& v, hid_t ds, const SweepPlan& plan) {
  const std::string name(v.name);
  if (v.constant) h5::write_values(ds, H5S_ALL, H5S_ALL, v.constant(plan), "write " + name);
  if (!v.constant_rows) return;
  // Slices small enough that a stop is honoured within a fraction of a second
  // (a row of rerun_command costs a few microseconds per parameter).
  constexpr std::int64_t kSlice = 4096;
  const auto rows = static_cast<std::int64_t>(layout.shape(v)[0]);
  const Handle file_space = space_handle(H5Dget_space(ds), "get the dataspace of " + name);
  for (std::int64_t first = 0; first < rows; first += kSlice) {
    check_stop();
    const hsize_t start = static_cast<hsize_t>(first), count = static_cast<hsize_t>(std::min(kSlice, rows - first));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
          "select rows of " + name);
    const Handle memory = space_handle(H5Screate_simple(1, &count, nullptr), "create a memory dataspace");
    h5::write_values(ds, memory.get(), file_space.get(), v.constant_rows(plan, first, static_cast<std::int64_t>(count)),
                     "write " + name);
  }
}

void Hdf5Writer::Impl::create_variable(const VariableSpec& v, const SweepPlan& plan) {
  const std::string name(v.name);
  Handle string_type;
  const hid_t type = h5::file_type(layout.dtype(v), string_type);
  const std::vector<std::uint64_t> shape64 = layout.shape(v);
  const std::vector<hsize_t> shape(shape64.begin(), shape64.end());
  const Handle space =
      space_handle(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), "create " + name);
  const Handle dcpl = creation_properties(v, layout, type);
  const Handle dapl = h5::dataset_access(layout.cache_bytes(v));
  Handle ds =
      dataset_handle(H5Dcreate2(file.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), dapl.get()),
                     "create dataset " + name);
  write_constant(v, ds.get(), plan);
  if (v.kind == Kind::kDimension) {
    // A dimension without values is netCDF's "dimension but not a variable".
    const std::string scale =
        v.bare ? fmt::format("This is a netCDF dimension but not a netCDF variable.{:10d}", shape[0]) : name;
    check(H5DSset_scale(ds.get(), scale.c_str()), "make " + name + " a dimension scale");
  } else {
    for (int i = 0; i < v.dims.rank; ++i) {
      const std::string_view axis = dimension_name(v.dims.axis[i]);
      check(H5DSattach_scale(ds.get(), dataset(axis), static_cast<unsigned>(i)),
            fmt::format("attach dimension {} to {}", axis, name));
    }
  }
  if (!v.bare) h5::set_string_attribute(ds.get(), "long_name", std::string(v.long_name));
  if (!v.units.empty()) h5::set_string_attribute(ds.get(), "units", std::string(v.units));
  set_flags(ds.get(), v.flags, plan);
  if (v.fill == Fill::kMissing) set_fill_attribute(ds.get(), type);
  std::string coordinates = v.day_coordinate ? std::string(var::kDay) : "";
  if (v.day_coordinate && calendar_is_decodable(plan.model(0).scenario())) coordinates += " time";
  if (v.kind != Kind::kDimension && v.dims.has(Dim::kPoint))
    for (const std::string& c : parameter_coordinates) coordinates += (coordinates.empty() ? "" : " ") + c;
  if (v.kind != Kind::kDimension && v.dims.has(Dim::kPoint) && v.dims.has(Dim::kReplication))
    for (const std::string& c : replication_coordinates) coordinates += (coordinates.empty() ? "" : " ") + c;
  if (!coordinates.empty()) h5::set_string_attribute(ds.get(), "coordinates", coordinates);
  datasets.emplace(v.name, std::move(ds));
}

namespace {

// Parameter k's value at each point.
std::vector<double> parameter_column(const SweepPlan& plan, std::size_t k) {
  std::vector<double> values;
  values.reserve(plan.points.size());
  for (const auto& pt : plan.points) values.push_back(pt.values[k]);
  return values;
}

// A posterior run's drawn parameter k on (point, replication): the same draws at every point.
std::vector<double> replication_column(const SweepPlan& plan, std::size_t k) {
  const std::vector<double> column = plan.draws->column(k);
  std::vector<double> values;
  for (std::size_t p = 0; p < plan.points.size(); ++p) values.insert(values.end(), column.begin(), column.end());
  return values;
}

// The day of each entry of the step axis.
std::vector<double> step_days(const SweepPlan& plan) {
  const Model& m = plan.model(0);
  std::vector<double> days(static_cast<std::size_t>(m.records()));
  for (int q = 0; q < m.records(); ++q) days[q] = m.record_step(q) * m.scenario().run.dt_days;
  return days;
}

}  // namespace

void Hdf5Writer::Impl::name_coordinates(const SweepPlan& plan) {
  std::vector<std::string> paths = plan.parameters;
  const bool draws = plan.draws && layout.runs;  // the replication dimension exists with per-replication data
  if (draws) paths.insert(paths.end(), plan.draws->parameters.begin(), plan.draws->parameters.end());
  parameter_coordinates = parameter_coordinate_names(paths);  // distinct names over both kinds
  replication_coordinates.assign(parameter_coordinates.begin() + static_cast<long>(plan.parameters.size()),
                                 parameter_coordinates.end());
  parameter_coordinates.resize(plan.parameters.size());
}

void Hdf5Writer::Impl::rewrite_coordinates(const SweepPlan& plan) {
  name_coordinates(plan);
  auto rewrite = [&](const std::string& name, const std::vector<double>& values) {
    if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0)
      throw ResumeMismatch(fmt::format(
          "'{}' was written by a different run (the layout (no variable {}) changed); start over with --overwrite "
          "instead of --resume",
          path, name));
    const Handle ds = dataset_handle(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT), "open " + name);
    const Handle space = space_handle(H5Dget_space(ds.get()), "get the dataspace of " + name);
    if (H5Sget_simple_extent_npoints(space.get()) != static_cast<hssize_t>(values.size()))
      throw ResumeMismatch(fmt::format(
          "'{}' was written by a different run (the layout (the shape of {}) changed); start over with --overwrite "
          "instead of --resume",
          path, name));
    if (!values.empty()) h5::write_values(ds.get(), H5S_ALL, H5S_ALL, values, "write " + name);
  };
  for (std::size_t k = 0; k < parameter_coordinates.size(); ++k)
    rewrite(parameter_coordinates[k], parameter_column(plan, k));
  for (std::size_t k = 0; k < replication_coordinates.size(); ++k)
    rewrite(replication_coordinates[k], replication_column(plan, k));
  if (calendar_is_decodable(plan.model(0).scenario())) rewrite("time", step_days(plan));
}

// One float64 variable along `point` per parameter, so that xarray makes each
// a coordinate of every variable on `point` (select, group and plot by value).
void Hdf5Writer::Impl::create_parameter_coordinates(const SweepPlan& plan) {
  const std::size_t width = plan.parameters.size();
  for (std::size_t k = 0; k < width; ++k) {
    check_stop();
    const std::vector<double> values = parameter_column(plan, k);
    const bool swept = static_cast<int>(k) < plan.swept;
    const bool by_choice = k + static_cast<std::size_t>(plan.choice_columns) >= width;
    const std::string scenario_units = k < plan.parameter_units.size() ? plan.parameter_units[k] : "";
    const Handle ds = create_parameter_variable(
        parameter_coordinates[k], {plan.points.size()}, values, plan.parameters[k], scenario_units,
        fmt::format("{} ({})", plan.parameters[k],
                    swept       ? "swept"
                    : by_choice ? "set by the scenario choice; NaN where that scenario has no such field"
                                : "fixed with --set"));
    const std::int8_t swept_flag = swept ? 1 : 0;
    h5::set_int_attribute(ds.get(), "swept", H5T_NATIVE_INT8, &swept_flag, 1);
    if (k < plan.axis_roles.size() && !plan.axis_roles[k].empty())
      h5::set_string_attribute(ds.get(), "role", plan.axis_roles[k]);
    if (k < plan.parameter_choices.size() && !plan.parameter_choices[k].empty()) {
      // A categorical axis holds the index of its value: CF flags name them
      // (flag_values of the variable's own type, as CF requires).
      const auto& choices = plan.parameter_choices[k];
      std::vector<double> flags(choices.size());
      std::string meanings;
      for (std::size_t i = 0; i < choices.size(); ++i) {
        flags[i] = static_cast<double>(i);
        if (i > 0) meanings += ' ';
        meanings += flag_word(choices[i]);
      }
      h5::set_int_attribute(ds.get(), "flag_values", H5T_NATIVE_DOUBLE, flags.data(), flags.size());
      h5::set_string_attribute(ds.get(), "flag_meanings", meanings);
    }
  }
}

// A posterior run's parameter values, one float64 variable on (point,
// replication) per parameter: xarray makes each a coordinate of the
// per-replication variables (group or bin the outcomes by a drawn value).
void Hdf5Writer::Impl::create_replication_coordinates(const SweepPlan& plan) {
  const ReplicationDraws& draws = *plan.draws;
  for (std::size_t k = 0; k < draws.parameters.size(); ++k) {
    const std::vector<double> values = replication_column(plan, k);
    create_parameter_variable(replication_coordinates[k], {plan.points.size(), draws.column(k).size()}, values,
                              draws.parameters[k], draws.units[k],
                              fmt::format("{} (drawn from the posterior for each replication)", draws.parameters[k]));
  }
}

// A float64 coordinate variable of a parameter on `point` (and, with a second
// length, `replication`) holding `values`, with its path and units.
Handle Hdf5Writer::Impl::create_parameter_variable(const std::string& name, const std::vector<hsize_t>& shape,
                                                   const std::vector<double>& values, const std::string& path,
                                                   const std::string& scenario_units, const std::string& long_name) {
  const Handle space =
      space_handle(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), "create " + name);
  const Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
  H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  Handle ds = dataset_handle(
      H5Dcreate2(file.get(), name.c_str(), H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset " + name);
  if (!values.empty()) h5::write_values(ds.get(), H5S_ALL, H5S_ALL, values, "write " + name);
  const Dim dims[2] = {Dim::kPoint, Dim::kReplication};
  for (std::size_t i = 0; i < shape.size(); ++i)
    check(H5DSattach_scale(ds.get(), dataset(dimension_name(dims[i])), static_cast<unsigned>(i)),
          fmt::format("attach dimension {} to {}", dimension_name(dims[i]), name));
  h5::set_string_attribute(ds.get(), "long_name", long_name);
  if (const std::string units = udunits_of(scenario_units); !units.empty())
    h5::set_string_attribute(ds.get(), "units", units);
  h5::set_string_attribute(ds.get(), "parameter_path", path);
  if (!scenario_units.empty()) h5::set_string_attribute(ds.get(), "scenario_units", scenario_units);
  if (shape.size() == 2) set_fill_attribute(ds.get(), H5T_NATIVE_DOUBLE);  // like every variable on `replication`
  return ds;
}

// With run.start_date, a CF time coordinate along `step` beside the numeric
// `day` (which tests and notebooks select on): xarray decodes it to dates.
void Hdf5Writer::Impl::create_time_coordinate(const SweepPlan& plan) {
  if (!calendar_is_decodable(plan.model(0).scenario())) return;
  const std::vector<double> days = step_days(plan);
  const hsize_t n = days.size();
  const Handle space = space_handle(H5Screate_simple(1, &n, nullptr), "create time");
  const Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
  H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const Handle ds = dataset_handle(
      H5Dcreate2(file.get(), "time", H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset time");
  h5::write_values(ds.get(), H5S_ALL, H5S_ALL, days, "write time");
  check(H5DSattach_scale(ds.get(), dataset(dimension_name(Dim::kStep)), 0), "attach dimension step to time");
  h5::set_string_attribute(ds.get(), "long_name", "calendar date at the start of the step");
  h5::set_string_attribute(ds.get(), "standard_name", "time");
  h5::set_string_attribute(ds.get(), "units", "days since " + plan.run().start_date);
  h5::set_string_attribute(ds.get(), "calendar", "proleptic_gregorian");
}

namespace {

// Every root attribute of a run's file (docs/output.md), each given to
// text(name, value) or number(name, HDF5 type, value): one definition for
// writing them and for checking a partial's on --resume. Enough to re-run
// the file to the same bits.
template <class Text, class Number>
void root_attributes(const SweepPlan& plan, const OutputMetadata& metadata, Text text, Number number) {
  const Model& model = plan.model(0);
  const Scenario& sc = model.scenario();
  // CF and ACDD discovery attributes first: what a netCDF tool looks for.
  text("Conventions", "CF-1.10");
  number("format_version", H5T_NATIVE_INT32, kFormatVersion);
  text("title", fmt::format("brink run of scenario '{}'", sc.name));
  text("source", fmt::format("brink {} Monte Carlo crisis simulation, {} kernel", engine_version(), kernel().isa));
  // No clock time and no command line (it names --threads and the output):
  // re-runs write the same bytes; the command is in `command_line`.
  text("history", fmt::format("created by brink {} run (command in the attribute command_line)", engine_version()));
  text("references", "docs/output.md (this file's layout) and docs/model.md (the model) in the brink sources");
  text("engine", "brink");
  text("engine_version", std::string(engine_version()));
  text("target_isa", kernel().isa);                  // the path that runs, not the build's baseline
  text("engine_fingerprint", engine_fingerprint());  // the build: engine_version is the same across builds
  text("scenario_name", sc.name);
  text("scenario_source", metadata.scenario_label);
  text("scenario", metadata.scenario_text);
  text("overrides", metadata.overrides);
  // Small, so kept in checksummed metadata, unlike the texts (hdf5_util.hpp, recorded_text_problem).
  text("scenario_digest", content_digest(metadata.scenario_text));
  text("overrides_digest", content_digest(metadata.overrides));
  text("inputs", plan.inputs);
  text("command_line", metadata.command_line);
  number("seed", H5T_NATIVE_UINT64, std::uint64_t{plan.run().seed});
  number("replications", H5T_NATIVE_INT64, std::int64_t{plan.replications});
  number("dt_days", H5T_NATIVE_DOUBLE, sc.run.dt_days);
  number("horizon_days", H5T_NATIVE_DOUBLE, sc.run.horizon_days);
  number("block_lanes", H5T_NATIVE_INT32, std::int32_t{kBlockLanes});
  number("step_every", H5T_NATIVE_INT32, std::int32_t{model.record_every()});
  text("random_numbers", plan.run().common_random ? "common" : "independent");
  text("design", plan.design.empty() ? "single point" : plan.design);
  number("samples", H5T_NATIVE_INT64, std::int64_t{plan.samples});
  number("sensitivity", H5T_NATIVE_INT32, std::int32_t{plan.sensitivity ? 1 : 0});
  if (plan.sharded()) {
    // Only in shard files, which `brink merge` checks for completeness; a
    // merged file is written without them, as a single run is.
    number(kShardIndexAttribute, H5T_NATIVE_INT64, std::int64_t{plan.shard_index});
    number(kShardCountAttribute, H5T_NATIVE_INT64, std::int64_t{plan.shard_count});
    number(kShardPlanPointsAttribute, H5T_NATIVE_INT64, std::int64_t{plan.point_count()});
  }
  design_attributes(plan, text, number);
  // Created now (SWMR forbids new attributes later) and set to 1 by close().
  number("complete", H5T_NATIVE_INT32, std::int32_t{0});
}

}  // namespace

void Hdf5Writer::Impl::write_root_attributes(const SweepPlan& plan, const OutputMetadata& metadata) {
  const hid_t f = file.get();
  root_attributes(
      plan, metadata,
      [&](const std::string& name, const std::string& value) { h5::set_string_attribute(f, name, value); },
      [&](const std::string& name, hid_t type, const auto& value) { h5::set_int_attribute(f, name, type, &value, 1); });
}

std::string Hdf5Writer::Impl::changed_root_attribute(const SweepPlan& plan, const OutputMetadata& metadata) const {
  const hid_t f = file.get();
  // Those a run sets as it goes, or that name how this run was started.
  auto kept = [](const std::string& name) {
    return name == "complete" || name == "command_line" || name == "scenario_source";
  };
  std::string changed;
  root_attributes(
      plan, metadata,
      [&](const std::string& name, const std::string& value) {
        if (changed.empty() && !kept(name) && !h5::attribute_holds(f, name, value)) changed = name;
      },
      [&](const std::string& name, hid_t type, const auto& value) {
        if (changed.empty() && !kept(name) && !h5::attribute_holds(f, name, type, &value, sizeof value)) changed = name;
      });
  return changed;
}

}  // namespace brink
