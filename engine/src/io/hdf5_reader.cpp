#include "brink/io/hdf5_reader.hpp"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <cmath>

#include <fmt/format.h>

#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recovery.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink {
namespace {

std::string attribute_text(hid_t attr) {
  const hid_t type = H5Aget_type(attr);
  const hid_t space = H5Aget_space(attr);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  std::string text;
  if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type)) {
    std::string buffer(H5Tget_size(type) * static_cast<std::size_t>(n), '\0');
    H5Aread(attr, type, buffer.data());
    text = buffer.c_str();
  } else if (H5Tget_class(type) == H5T_INTEGER) {
    std::vector<long long> values(n);
    H5Aread(attr, H5T_NATIVE_LLONG, values.data());
    for (hssize_t i = 0; i < n; ++i) text += fmt::format("{}{}", i ? " " : "", values[i]);
  } else if (H5Tget_class(type) == H5T_FLOAT) {
    std::vector<double> values(n);
    H5Aread(attr, H5T_NATIVE_DOUBLE, values.data());
    for (hssize_t i = 0; i < n; ++i) text += fmt::format("{}{:g}", i ? " " : "", values[i]);
  } else {
    text = "(unprintable)";
  }
  H5Sclose(space);
  H5Tclose(type);
  return text;
}

std::string dataset_string_attribute(hid_t ds, const char* name) {
  if (H5Aexists(ds, name) <= 0) return {};
  const hid_t attr = H5Aopen(ds, name, H5P_DEFAULT);
  std::string text = attribute_text(attr);
  H5Aclose(attr);
  return text;
}

std::vector<std::string> read_strings(hid_t file, const char* name) {
  std::vector<std::string> out;
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return out;
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t space = H5Dget_space(ds);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  std::vector<char*> pointers(n, nullptr);
  if (n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) >= 0) {
    for (char* p : pointers) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data());
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  return out;
}

template <typename T>
std::vector<T> read_all(hid_t file, const char* name, hid_t type) {
  std::vector<T> out;
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return out;
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t space = H5Dget_space(ds);
  out.resize(H5Sget_simple_extent_npoints(space));
  if (!out.empty()) H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
  H5Sclose(space);
  H5Dclose(ds);
  return out;
}

struct Visit {
  hid_t file;
  FileReport* report;
};

herr_t visit_link(hid_t group, const char* name, const H5L_info_t*, void* data) {
  auto* visit = static_cast<Visit*>(data);
  H5O_info_t info;
  if (H5Oget_info_by_name2(group, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 || info.type != H5O_TYPE_DATASET)
    return 0;
  const hid_t ds = H5Dopen2(group, name, H5P_DEFAULT);
  VariableInfo v;
  v.name = name;
  const hid_t space = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(space);
  v.shape.resize(rank);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  for (int i = 0; i < rank; ++i) {
    v.shape[i] = dims[i];
    char scale[256] = {0};
    if (H5DSis_scale(ds) > 0) {
      v.dimensions.push_back(name);
      continue;
    }
    std::string dim = "?";
    H5DSiterate_scales(
        ds, static_cast<unsigned>(i), nullptr,
        [](hid_t, unsigned, hid_t scale_id, void* out) -> herr_t {
          char buffer[256] = {0};
          H5DSget_scale_name(scale_id, buffer, sizeof buffer);
          *static_cast<std::string*>(out) = buffer;
          return 1;
        },
        &dim);
    (void)scale;
    v.dimensions.push_back(dim);
  }
  v.long_name = dataset_string_attribute(ds, "long_name");
  v.units = dataset_string_attribute(ds, "units");
  H5Sclose(space);
  H5Dclose(ds);
  visit->report->variables.push_back(std::move(v));
  return 0;
}

}  // namespace

FileReport read_report(const std::string& path) {
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw OutputError(fmt::format("'{}' is not an HDF5 file (or cannot be read)", path));
  const hid_t file = open_read_only(path);  // SWMR-read: a file being written, or whose writer was killed
  if (file < 0) throw OutputError(fmt::format("cannot open '{}'", path));
  FileReport report;
  if (H5Aexists(file, "engine") <= 0) {
    H5Fclose(file);
    throw OutputError(fmt::format("'{}' is an HDF5 file but not one written by brink (no 'engine' attribute)", path));
  }
  H5O_info_t info;
  H5Oget_info2(file, &info, H5O_INFO_NUM_ATTRS);
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const hid_t attr = H5Aopen_by_idx(file, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
    char name[256] = {0};
    H5Aget_name(attr, sizeof name, name);
    report.attributes.emplace_back(name, attribute_text(attr));
    if (std::string(name) == "complete") report.complete = attribute_text(attr) == "1";
    H5Aclose(attr);
  }
  Visit visit{file, &report};
  H5Literate(file, H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr, visit_link, &visit);

  report.actors = read_strings(file, "actor");
  report.parameters = read_strings(file, "parameter");
  const auto counts = read_all<std::int64_t>(file, "outcome_count", H5T_NATIVE_INT64);
  const auto probability = read_all<double>(file, "outcome_probability", H5T_NATIVE_DOUBLE);
  const auto lower = read_all<double>(file, "outcome_probability_lower", H5T_NATIVE_DOUBLE);
  const auto upper = read_all<double>(file, "outcome_probability_upper", H5T_NATIVE_DOUBLE);
  const auto casualties = read_all<double>(file, "mean_casualties", H5T_NATIVE_DOUBLE);
  const auto values = read_all<double>(file, "parameter_value", H5T_NATIVE_DOUBLE);
  const auto replications = read_all<std::int64_t>(file, "replications", H5T_NATIVE_INT64);
  const auto mean_end_day = read_all<double>(file, "mean_end_day", H5T_NATIVE_DOUBLE);
  const auto casualty_quantiles = read_all<double>(file, "casualty_quantile", H5T_NATIVE_DOUBLE);
  const auto end_day_quantiles = read_all<double>(file, "end_day_quantile", H5T_NATIVE_DOUBLE);
  const auto survival = read_all<double>(file, "survival", H5T_NATIVE_DOUBLE);
  const auto days = read_all<double>(file, "day", H5T_NATIVE_DOUBLE);
  report.sensitivity_outputs = read_strings(file, "output");
  std::vector<std::vector<double>> sobol;
  for (const char* name : {"sensitivity_first", "sensitivity_first_lower", "sensitivity_first_upper",
                           "sensitivity_total", "sensitivity_total_lower", "sensitivity_total_upper"})
    sobol.push_back(read_all<double>(file, name, H5T_NATIVE_DOUBLE));
  H5Fclose(file);

  const std::size_t points = counts.size() / kOutcomeCount;
  const std::size_t actors = report.actors.size();
  for (std::size_t p = 0; p < points; ++p) {
    PointSummary s;
    s.point = static_cast<std::int64_t>(p);
    for (int o = 0; o < kOutcomeCount; ++o) {
      const std::size_t at = p * kOutcomeCount + o;
      s.count[o] = counts[at];
      s.replications += counts[at];
      s.probability[o] = probability.at(at);
      s.interval[o] = {lower.at(at), upper.at(at)};
    }
    if (casualties.size() == points * actors)
      s.mean_casualties.assign(casualties.begin() + p * actors, casualties.begin() + (p + 1) * actors);
    if (replications.size() == points) s.replications = replications[p];
    s.record_day = days;
    if (mean_end_day.size() == points) s.mean_end_day = mean_end_day[p];
    constexpr std::size_t kq = kQuantiles.size();
    if (casualty_quantiles.size() == points * actors * kq) {
      s.casualty_quantiles.resize(actors);
      for (std::size_t a = 0; a < actors; ++a)
        for (std::size_t q = 0; q < kq; ++q) s.casualty_quantiles[a][q] = casualty_quantiles[(p * actors + a) * kq + q];
    }
    if (end_day_quantiles.size() == points * kq)
      for (std::size_t q = 0; q < kq; ++q) s.end_day_quantiles[q] = end_day_quantiles[p * kq + q];
    if (points > 0 && survival.size() % points == 0) {
      const std::size_t steps = survival.size() / points;
      s.survival.assign(survival.begin() + p * steps, survival.begin() + (p + 1) * steps);
    }
    report.summaries.push_back(std::move(s));
    const std::size_t k = report.parameters.size();
    if (k > 0 && values.size() == points * k)
      report.parameter_values.emplace_back(values.begin() + p * k, values.begin() + (p + 1) * k);
  }
  // Sobol indices: keep the swept parameters' columns (the others are NaN).
  const std::size_t outputs = report.sensitivity_outputs.size();
  const std::size_t parameters = report.parameters.size();
  if (outputs > 0 && parameters > 0 && sobol[0].size() == outputs * parameters) {
    // Swept parameters come first; a column is swept if any output has a value.
    auto swept_column = [&](std::size_t j) {
      for (std::size_t o = 0; o < outputs; ++o)
        if (!std::isnan(sobol[0][o * parameters + j])) return true;
      return false;
    };
    std::size_t swept = 0;
    while (swept < parameters && swept_column(swept)) ++swept;
    for (std::size_t o = 0; o < outputs; ++o)
      for (std::size_t j = 0; j < swept; ++j) {
        const std::size_t k = o * parameters + j;
        report.sensitivity.push_back({sobol[0][k], sobol[1][k], sobol[2][k], sobol[3][k], sobol[4][k], sobol[5][k]});
      }
  }
  return report;
}

}  // namespace brink
