#include "brink/io/hdf5_reader.hpp"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recovery.hpp"
#include "brink/io/variables.hpp"
#include "brink/scenario/scenario.hpp"
#include "hdf5_recovery.hpp"
#include "hdf5_util.hpp"

namespace brink {
namespace {

std::string attribute_text(hid_t attr) {
  const Handle type = type_handle(H5Aget_type(attr), "read an attribute's type");
  const Handle space = space_handle(H5Aget_space(attr), "read an attribute's dataspace");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::string text;
  if (H5Tget_class(type.get()) == H5T_STRING && !H5Tis_variable_str(type.get())) {
    std::string buffer(H5Tget_size(type.get()) * static_cast<std::size_t>(n), '\0');
    h5::check(H5Aread(attr, type.get(), buffer.data()), "read an attribute");
    text = buffer.c_str();
  } else if (H5Tget_class(type.get()) == H5T_INTEGER) {
    std::vector<long long> values(n);
    h5::check(H5Aread(attr, H5T_NATIVE_LLONG, values.data()), "read an attribute");
    for (hssize_t i = 0; i < n; ++i) text += fmt::format("{}{}", i ? " " : "", values[i]);
  } else if (H5Tget_class(type.get()) == H5T_FLOAT) {
    std::vector<double> values(n);
    h5::check(H5Aread(attr, H5T_NATIVE_DOUBLE, values.data()), "read an attribute");
    for (hssize_t i = 0; i < n; ++i) text += fmt::format("{}{:g}", i ? " " : "", values[i]);
  } else {
    text = "(unprintable)";
  }
  return text;
}

std::string dataset_attribute(hid_t ds, const char* name) {
  if (!h5::has_attribute(ds, name)) return {};
  const Handle attr = attribute_handle(H5Aopen(ds, name, H5P_DEFAULT), std::string("open attribute ") + name);
  return attribute_text(attr.get());
}

// The variable `name`, or nothing if the file does not hold it.
Values read_variable(hid_t file, std::string_view name, Dtype dtype) {
  const std::string n(name);
  if (!h5::has_variable(file, n)) return std::vector<double>{};
  const Handle ds = dataset_handle(H5Dopen2(file, n.c_str(), H5P_DEFAULT), "open " + n);
  return h5::read_values(ds.get(), dtype);
}

std::vector<std::string> read_strings(hid_t file, Dim dim) {
  Values v = read_variable(file, dimension_name(dim), Dtype::kString);
  auto* strings = std::get_if<std::vector<std::string>>(&v);
  return strings ? std::move(*strings) : std::vector<std::string>{};
}

herr_t visit_link(hid_t group, const char* name, const H5L_info_t*, void* data) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET)
    return 0;
  const Handle ds = dataset_handle(H5Dopen2(group, name, H5P_DEFAULT), std::string("open ") + name);
  VariableInfo v;
  v.name = name;
  const Handle space = space_handle(H5Dget_space(ds.get()), "read a dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  const bool scale = H5DSis_scale(ds.get()) > 0;
  for (int i = 0; i < rank; ++i) {
    v.shape.push_back(dims[i]);
    std::string dim = scale ? name : "?";
    if (!scale)
      H5DSiterate_scales(
          ds.get(), static_cast<unsigned>(i), nullptr,
          [](hid_t, unsigned, hid_t scale_id, void* out) -> herr_t {
            // The dataset's name, not its scale name: a bare netCDF dimension's
            // scale name is netCDF's "This is a netCDF dimension but not ..." text.
            char buffer[256] = {0};
            H5Iget_name(scale_id, buffer, sizeof buffer);
            *static_cast<std::string*>(out) = buffer[0] == '/' ? buffer + 1 : buffer;
            return 1;
          },
          &dim);
    v.dimensions.push_back(dim);
  }
  v.long_name = dataset_attribute(ds.get(), "long_name");
  v.units = dataset_attribute(ds.get(), "units");
  static_cast<FileReport*>(data)->variables.push_back(std::move(v));
  return 0;
}

// The length of the dimension `replication`, which no point's replications
// exceed, or -1 if the file has none.
std::int64_t replication_slots(hid_t file) {
  const std::string name(dimension_name(Dim::kReplication));
  if (!h5::has_variable(file, name)) return -1;
  const Handle ds = dataset_handle(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open " + name);
  const Handle space = space_handle(H5Dget_space(ds.get()), "read the shape of " + name);
  return H5Sget_simple_extent_npoints(space.get());
}

// Rebuilds each point's summary from the per-point variables of the table.
// The points' summaries, kSlab points at a time, into report.table (and,
// where `list_not_run`, the points that did not run into report.not_run):
// per-point curves of a million points would not fit in memory at once.
void read_summaries(hid_t file, FileReport& report, bool list_not_run) {
  constexpr std::int64_t kSlab = 4096;
  const std::string point_name(dimension_name(Dim::kPoint));
  if (!h5::has_variable(file, point_name)) return;
  {
    const Handle ds = dataset_handle(H5Dopen2(file, point_name.c_str(), H5P_DEFAULT), "open " + point_name);
    const Handle space = space_handle(H5Dget_space(ds.get()), "read the shape of " + point_name);
    report.points = H5Sget_simple_extent_npoints(space.get());
  }
  const std::int64_t slots = replication_slots(file);
  std::vector<std::pair<const VariableSpec*, Handle>> along_point;
  std::vector<std::pair<const VariableSpec*, Values>> shared;  // shared by every point (`day`)
  for (const VariableSpec& v : variable_table()) {
    const std::string name(v.name);
    if (!v.to_summary || !h5::has_variable(file, name)) continue;
    if (!v.dims.has(Dim::kPoint))
      shared.emplace_back(&v, read_variable(file, v.name, v.dtype));
    else
      along_point.emplace_back(&v, dataset_handle(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "open " + name));
  }
  for (std::int64_t first = 0; first < report.points; first += kSlab) {
    const std::int64_t count = std::min(kSlab, report.points - first);
    std::vector<PointSummary> slab(static_cast<std::size_t>(count));
    for (std::int64_t p = 0; p < count; ++p) slab[static_cast<std::size_t>(p)].point = first + p;
    for (const auto& [v, values] : shared)
      for (PointSummary& s : slab) v->to_summary(s, values);
    for (const auto& [v, ds] : along_point) {
      const Values rows = h5::read_rows(ds.get(), v->dtype, first, count);
      std::visit(
          [&](const auto& values) {
            using Vector = std::decay_t<decltype(values)>;
            const std::size_t width = values.size() / static_cast<std::size_t>(count);
            for (std::size_t p = 0; p < slab.size(); ++p)
              v->to_summary(slab[p], Vector(values.begin() + p * width, values.begin() + (p + 1) * width));
          },
          rows);
    }
    for (const PointSummary& s : slab) {
      if (const std::string problem = h5::summary_problem(s, slots); !problem.empty())
        throw OutputError(fmt::format("point {}'s summary {}", s.point, problem));
      if (!list_not_run && s.replications == 0)  // a finished file ran every point
        throw OutputError(fmt::format("point {} of a finished file counts no replication", s.point));
      if (list_not_run && s.replications <= 0) {
        if (report.first_not_run.size() < FileReport::kNotRunListed) report.first_not_run.push_back(s.point);
        ++report.not_run;
      } else {
        report.table.offer(s);
        report.shortfall.offer(s);
      }
    }
  }
}

// Sobol indices: keep the swept parameters' columns (the others are NaN).
void read_sensitivity(hid_t file, FileReport& report) {
  const std::size_t outputs = report.sensitivity_outputs.size();
  const std::size_t parameters = report.parameters.size();
  if (outputs == 0 || parameters == 0) return;
  std::vector<std::pair<double SobolIndex::*, std::vector<double>>> columns;
  for (const VariableSpec& v : variable_table()) {
    if (v.kind != Kind::kSensitivity) continue;
    Values values = read_variable(file, v.name, v.dtype);
    auto& doubles = std::get<std::vector<double>>(values);
    if (doubles.size() != outputs * parameters) return;
    columns.emplace_back(v.sobol, std::move(doubles));
  }
  if (columns.empty()) return;  // a Morris file: the `output` axis without Sobol indices
  // Swept parameters come first; a column is swept if any output has a value.
  const std::vector<double>& first = columns.front().second;
  auto swept_column = [&](std::size_t j) {
    for (std::size_t o = 0; o < outputs; ++o)
      if (!std::isnan(first[o * parameters + j])) return true;
    return false;
  };
  std::size_t swept = 0;
  while (swept < parameters && swept_column(swept)) ++swept;
  for (std::size_t o = 0; o < outputs; ++o)
    for (std::size_t j = 0; j < swept; ++j) {
      SobolIndex index;
      for (const auto& [field, values] : columns) index.*field = values[o * parameters + j];
      report.sensitivity.push_back(index);
    }
}

// Morris measures (a --design morris file), like read_sensitivity.
void read_morris(hid_t file, FileReport& report) {
  const std::size_t outputs = report.sensitivity_outputs.size();
  const std::size_t parameters = report.parameters.size();
  if (outputs == 0 || parameters == 0 || !h5::has_variable(file, "morris_mu_star")) return;
  std::vector<std::pair<double MorrisIndex::*, std::vector<double>>> columns;
  for (const VariableSpec& v : variable_table()) {
    if (v.kind != Kind::kMorris) continue;
    Values values = read_variable(file, v.name, v.dtype);
    auto& doubles = std::get<std::vector<double>>(values);
    if (doubles.size() != outputs * parameters) return;
    columns.emplace_back(v.morris, std::move(doubles));
  }
  const std::vector<double>& first = columns.front().second;
  std::size_t swept = 0;  // swept parameters come first and have values
  while (swept < parameters && !std::isnan(first[swept])) ++swept;
  for (std::size_t o = 0; o < outputs; ++o)
    for (std::size_t j = 0; j < swept; ++j) {
      MorrisIndex index;
      for (const auto& [field, values] : columns) index.*field = values[o * parameters + j];
      report.morris.push_back(index);
    }
}

// A categorical parameter's names, from its coordinate's CF flag_meanings.
void read_parameter_choices(hid_t file, FileReport& report) {
  const std::vector<std::string> names = parameter_coordinate_names(report.parameters);
  report.parameter_choices.assign(names.size(), {});
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (!h5::has_variable(file, names[k])) continue;
    const Handle ds = dataset_handle(H5Dopen2(file, names[k].c_str(), H5P_DEFAULT), "open " + names[k]);
    if (!h5::has_attribute(ds.get(), "flag_meanings")) continue;
    std::stringstream words(h5::read_string_attribute(ds.get(), "flag_meanings"));
    for (std::string word; words >> word;) report.parameter_choices[k].push_back(word);
  }
}

// The layout a file's own variables show: a group of variables (When) is
// there if any of its variables is, since the writer creates each group
// whole at once.
FileLayout layout_shown(const FileReport& report) {
  auto any = [&](When when) {
    return std::any_of(report.variables.begin(), report.variables.end(), [&](const VariableInfo& info) {
      const auto spec = std::find_if(variable_table().begin(), variable_table().end(),
                                     [&](const VariableSpec& v) { return v.name == info.name; });
      return spec != variable_table().end() && spec->when == when;
    });
  };
  FileLayout layout;
  layout.runs = any(When::kRuns) || any(When::kRunsIssues) || any(When::kRunsBargaining);
  layout.issues = any(When::kRunsIssues);
  layout.bargaining = any(When::kRunsBargaining);
  layout.resume_sums = any(When::kRunsResumeSums);
  layout.series = any(When::kSeries);
  layout.sensitivity = any(When::kSensitivity);
  layout.morris = any(When::kMorris);
  return layout;
}

// What of the file disagrees with the format's table of variables: one its
// layout holds that is missing, dimensions that are not the table's (a
// blank name: a dimension-scale reference that no longer resolves), a
// swept parameter without a name or its coordinate. HDF5 keeps no checksum
// of object headers or its global heap, where names and those references
// live, so a flipped bit there reads without an error; "" if none.
std::string schema_problem(const FileReport& report) {
  auto held = [&](std::string_view name) {
    return std::find_if(report.variables.begin(), report.variables.end(),
                        [&](const VariableInfo& v) { return v.name == name; });
  };
  const FileLayout layout = layout_shown(report);
  for (const VariableSpec& spec : variable_table()) {
    const auto info = held(spec.name);
    if (info == report.variables.end()) {
      if (layout.present(spec))
        return fmt::format("it has no variable {}, which a file of its layout holds", spec.name);
      continue;
    }
    std::vector<std::string> dims;
    for (Dim d : spec.dims) dims.emplace_back(dimension_name(d));
    if (info->dimensions != dims)
      return fmt::format("its variable {} has the dimensions ({}), not ({})", spec.name,
                         fmt::join(info->dimensions, ", "), fmt::join(dims, ", "));
  }
  const std::vector<std::string> coordinates = parameter_coordinate_names(report.parameters);
  for (std::size_t k = 0; k < report.parameters.size(); ++k) {
    if (report.parameters[k].empty()) return fmt::format("its swept parameter {} has no name", k + 1);
    if (held(coordinates[k]) == report.variables.end())
      return fmt::format("it has no variable {}, the coordinate of its swept parameter '{}'", coordinates[k],
                         report.parameters[k]);
  }
  return {};
}

// A parameter without a value (NaN in parameter_value) where every point has
// one: a sweep axis at a finished point, any parameter at every point (a
// field only some scenario choices have is NaN at the others' points). The
// rule of brink_analysis's _value_problem, which refused such a file that
// inspect printed; "" if none.
std::string parameter_value_problem(hid_t file, const FileReport& report) {
  const std::size_t d = report.parameters.size();
  if (d == 0 || report.parameter_values.empty()) return {};
  const Values replications = read_variable(file, var::kReplications, Dtype::kInt64);
  const Values swept = read_variable(file, "parameter_swept", Dtype::kInt8);
  const auto* runs = std::get_if<std::vector<std::int64_t>>(&replications);
  const auto* axis = std::get_if<std::vector<std::int8_t>>(&swept);
  for (std::size_t j = 0; j < d; ++j) {
    std::int64_t missing = 0, finished_missing = -1;
    for (std::int64_t p = 0; p < report.points; ++p) {
      if (!std::isnan(report.parameter_values[static_cast<std::size_t>(p) * d + j])) continue;
      ++missing;
      if (finished_missing < 0 && runs && static_cast<std::size_t>(p) < runs->size() &&
          (*runs)[static_cast<std::size_t>(p)] > 0)
        finished_missing = p;
    }
    const bool is_axis = axis && j < axis->size() && (*axis)[j] == 1;
    if (report.points > 0 && missing == report.points)
      return fmt::format("the parameter {} has no value (NaN in 'parameter_value') at every point",
                         report.parameters[j]);
    if (is_axis && finished_missing >= 0)
      return fmt::format("the parameter {} has no value (NaN in 'parameter_value') at point {}, which finished",
                         report.parameters[j], finished_missing);
  }
  return {};
}

}  // namespace

FileReport read_report(const std::string& path) {
  if (!is_hdf5_file(path)) throw OutputError(fmt::format("'{}' is not an HDF5 file (or cannot be read)", path));
  const hid_t id = open_read_only(path);  // SWMR-read where a writer has it marked open
  if (id < 0) throw OutputError(fmt::format("cannot open '{}'", path));
  const Handle file = file_handle(id, "open " + path);
  if (h5::read_string_attribute(id, "engine") != "brink")
    throw OutputError(fmt::format(
        "'{}' is an HDF5 file but not one written by brink (its root attribute 'engine' is not 'brink')", path));
  FileReport report;
  H5O_info_t info;
  H5Oget_info2(id, &info, H5O_INFO_NUM_ATTRS);
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const Handle attr = attribute_handle(
        H5Aopen_by_idx(id, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT), "open an attribute");
    char name[256] = {0};
    H5Aget_name(attr.get(), sizeof name, name);
    report.attributes.emplace_back(name, attribute_text(attr.get()));
    if (std::string(name) == "complete") report.complete = report.attributes.back().second == "1";
    // As a double: the attribute's text keeps 6 digits. False if it is not one float.
    auto read_double = [&](double* value) {
      const Handle type = type_handle(H5Aget_type(attr.get()), "read an attribute's type");
      const Handle space = space_handle(H5Aget_space(attr.get()), "read an attribute's dataspace");
      return H5Tget_class(type.get()) == H5T_FLOAT && H5Sget_simple_extent_npoints(space.get()) == 1 &&
             H5Aread(attr.get(), H5T_NATIVE_DOUBLE, value) >= 0;
    };
    if (std::string(name) == "dt_days" && (!read_double(&report.dt_days) || !(report.dt_days > 0)))
      report.dt_days = 0.0;
    if (double h = 0.0; std::string(name) == "ci_halfwidth" && read_double(&h) && h > 0) report.shortfall.target = h;
  }
  // A posterior run's table pools its draws (at most 1000 points): every one is kept for it.
  if (h5::read_string_attribute(id, "design") == "posterior") report.table.keep_every_point();
  H5Literate(id, H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr, visit_link, &report);
  // The summaries below read only some chunks; a damaged index page of the
  // others (a kill -9 during a flush) would make the file look sound.
  for (const VariableInfo& v : report.variables) {
    const Handle ds = dataset_handle(H5Dopen2(id, v.name.c_str(), H5P_DEFAULT), "open " + v.name);
    if (!h5::chunk_shape(ds.get()).empty() && !h5::chunk_index_readable(ds.get()))
      throw OutputError(fmt::format("the chunk index of {} fails its checksum", v.name));
  }

  report.actors = read_strings(id, Dim::kActor);
  report.parameters = read_strings(id, Dim::kParameter);
  report.sensitivity_outputs = read_strings(id, Dim::kOutput);
  // A shard holds its own points only; the others are in the other shards' files.
  const bool shard = std::any_of(report.attributes.begin(), report.attributes.end(),
                                 [](const auto& a) { return a.first == kShardCountAttribute; });
  read_summaries(id, report, !report.complete || shard);
  Values values = read_variable(id, var::kParameterValue, Dtype::kFloat64);
  auto& flat = std::get<std::vector<double>>(values);
  if (!report.parameters.empty() && flat.size() == static_cast<std::size_t>(report.points) * report.parameters.size())
    report.parameter_values = std::move(flat);
  read_sensitivity(id, report);
  read_morris(id, report);
  read_parameter_choices(id, report);
  std::string problem = schema_problem(report);
  if (problem.empty()) problem = h5::recorded_text_problem(id);
  if (problem.empty()) problem = parameter_value_problem(id, report);
  // The root attribute is the plan's replications per point, the dimension's length.
  if (const std::optional<std::int64_t> planned = h5::read_int64_attribute(id, "replications"); problem.empty()) {
    const std::int64_t slots = replication_slots(id);
    if (planned && slots >= 0 && *planned != slots)
      problem = fmt::format(
          "its root attribute 'replications' is {}, where a run writes the length of its "
          "dimension 'replication', {}",
          *planned, slots);
  }
  if (!problem.empty()) throw DamagedInput(fmt::format("'{}' is damaged: {}", path, problem));
  return report;
}

bool is_finished_result(const std::string& path) {
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) return false;
  const Handle file(id, H5Fclose, "open " + path);
  return h5::read_int64_attribute(id, "complete").value_or(0) == 1;
}

std::string read_root_text(const std::string& path, const char* name) {
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) return "";
  const Handle file(id, H5Fclose, "open " + path);
  return h5::read_string_attribute(file.get(), name);
}

}  // namespace brink
