#include "brink/calibrate/calibration_file.hpp"

#include <hdf5_hl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <span>

#include <fmt/format.h>

#include "brink/io/recovery.hpp"
#include "brink/io/variables.hpp"
#include "brink/sweep/plan.hpp"
#include "calibration_checks.hpp"

#include "../io/handle.hpp"
#include "../io/hdf5_util.hpp"

namespace brink {

namespace {

using h5::check;
using namespace calibration_checks;

constexpr const char* kKind = "brink calibration";

class Writer {
 public:
  explicit Writer(const std::string& path) {
    const Handle fcpl = plist_handle(H5Pcreate(H5P_FILE_CREATE), "create a file property list");
    H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    // The 1.10 format: the scenario text attribute may exceed 64 KiB.
    const Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS), "create a file access property list");
    H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    // Unlinked and created anew, as a run's partial (hdf5_create.cpp): a stale
    // staging file's other hard links keep their bytes, and nothing that
    // appears at the path meanwhile is written through.
    ::unlink(path.c_str());
    file_ = file_handle(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get()), "create " + path);
  }
  hid_t file() const { return file_.get(); }

  // A dimension with index or name values; later variables attach to it by name.
  void dimension(const std::string& name, const Values& values, hsize_t length, const std::string& long_name,
                 const std::string& units = "") {
    Handle ds = create(name, values, {length});
    check(H5DSset_scale(ds.get(), name.c_str()), "make " + name + " a dimension scale");
    h5::set_string_attribute(ds.get(), "long_name", long_name);
    if (!units.empty()) h5::set_string_attribute(ds.get(), "units", units);
    dims_.emplace_back(name, std::move(ds));
  }
  void variable(const std::string& name, const Values& values, const std::vector<std::string>& dims,
                const std::string& units, const std::string& long_name) {
    std::vector<hsize_t> shape;
    for (const auto& d : dims) shape.push_back(length(d));
    Handle ds = create(name, values, shape);
    for (std::size_t i = 0; i < dims.size(); ++i)
      check(H5DSattach_scale(ds.get(), scale(dims[i]), static_cast<unsigned>(i)), "attach " + dims[i]);
    h5::set_string_attribute(ds.get(), "long_name", long_name);
    if (!units.empty()) h5::set_string_attribute(ds.get(), "units", units);
    // Closing writes the chunk: a failed write (an I/O error) is reported here or nowhere, and the
    // file would hold fill values (zeros) where the values were.
    check(ds.close(), "close " + name);
  }
  // The dimension scales first: HDF5 closes a file only when its last open
  // object closes, and writes what it holds then, so an error there (a full
  // disk, a file size limit) would otherwise go unseen in a destructor.
  void close() {
    for (auto& [name, ds] : dims_) check(ds.close(), "close " + name);
    check(file_.close(), "close the calibration file");
  }

 private:
  Handle create(const std::string& name, const Values& values, const std::vector<hsize_t>& shape) {
    Handle string_type;
    const Dtype dtype = std::holds_alternative<std::vector<std::string>>(values)    ? Dtype::kString
                        : std::holds_alternative<std::vector<std::int64_t>>(values) ? Dtype::kInt64
                                                                                    : Dtype::kFloat64;
    const hid_t type = h5::file_type(dtype, string_type);
    const Handle space = space_handle(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr),
                                      "create a dataspace for " + name);
    const Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE), "create a dataset property list");
    H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hsize_t total = 1;
    for (hsize_t s : shape) total *= s;
    if (dtype != Dtype::kString && total > 0) {
      // One chunk with a Fletcher-32 checksum, as in result files (docs/output.md): a damaged byte
      // fails the read instead of becoming a posterior draw.
      check(H5Pset_chunk(dcpl.get(), static_cast<int>(shape.size()), shape.data()), "set chunks of " + name);
      check(H5Pset_fletcher32(dcpl.get()), "add checksums to " + name);
    }
    Handle ds =
        dataset_handle(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                       "create dataset " + name);
    if (total > 0) h5::write_values(ds.get(), H5S_ALL, H5S_ALL, values, "write " + name);
    return ds;
  }
  hid_t scale(const std::string& name) const {
    for (const auto& [n, h] : dims_)
      if (n == name) return h.get();
    throw OutputError("no dimension " + name);
  }
  hsize_t length(const std::string& name) const {
    const Handle space = space_handle(H5Dget_space(scale(name)), "get a dataspace");
    return static_cast<hsize_t>(H5Sget_simple_extent_npoints(space.get()));
  }
  Handle file_;
  std::vector<std::pair<std::string, Handle>> dims_;
};

std::vector<std::int64_t> indices(std::size_t n) {
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int64_t>(i);
  return v;
}

// The UDUNITS-2 unit of every parameter's values when they share one (as
// result files' parameter coordinates: days → day, counts and shares → 1),
// else "": `particles` then has no units, each column's unit is in
// parameter_units (as a result file's parameter_value).
std::string common_units(const std::vector<std::string>& scenario_units) {
  std::string common;
  for (std::size_t i = 0; i < scenario_units.size(); ++i) {
    const std::string u = udunits_of(scenario_units[i]);
    if (u.empty() || (i > 0 && u != common)) return {};
    common = u;
  }
  return common;
}

}  // namespace

// The digest of every text a calibration file keeps where HDF5 checks no
// checksum (variable-length strings, in the global heap): the scenario and its
// settings, and the names that say which field each column of the particles
// sets. Kept in checksummed metadata, as result files keep their texts'.
std::string text_digest(const CalibrationRecord& r) {
  std::string all = r.scenario_text + '\0' + r.settings + '\0';
  for (const std::vector<std::string>* names : {&r.parameters, &r.units, &r.priors, &r.observation_names}) {
    for (const std::string& name : *names) all += name + '\0';
    all += '\1';
  }
  return content_digest(all);
}

void write_calibration(const std::string& path, const CalibrationRecord& r) {
  Writer w(path);
  const std::size_t g = r.generations.size(), d = r.parameters.size(), m = r.observation_names.size();
  const std::size_t n = g ? r.generations.front().size() : 0;
  w.dimension("generation", indices(g), g, "SMC generation (0: the prior)", "1");
  w.dimension("particle", indices(n), n, "particle index within a generation", "1");
  w.dimension("parameter", r.parameters, d, "calibrated parameter (dotted path)");
  w.dimension("observation", r.observation_names, m, "observation name");
  std::vector<double> theta, weight, distance, statistic, tolerance, acceptance, ess;
  std::vector<std::int64_t> proposed;
  for (const Population& p : r.generations) {
    theta.insert(theta.end(), p.theta.begin(), p.theta.end());
    weight.insert(weight.end(), p.weight.begin(), p.weight.end());
    distance.insert(distance.end(), p.distance.begin(), p.distance.end());
    statistic.insert(statistic.end(), p.statistic.begin(), p.statistic.end());
    tolerance.push_back(p.tolerance);
    acceptance.push_back(p.acceptance());
    ess.push_back(effective_sample_size(p.weight));
    proposed.push_back(p.proposed);
  }
  w.variable("particles", theta, {"generation", "particle", "parameter"}, common_units(r.units),
             "parameter values of each accepted particle (units in parameter_units)");
  w.variable("weights", weight, {"generation", "particle"}, "1", "normalized importance weight");
  w.variable("distances", distance, {"generation", "particle"}, "1",
             "distance to the observations (norm of the sd-standardized differences)");
  // Every observed quantity is a count or a share (troops, incidents, a
  // probability: scenario-format.md, "Observations"), so its unit is 1.
  w.variable("statistics", statistic, {"generation", "particle", "observation"}, "1",
             "each observation's statistic over the particle's replications (troops, incidents or a probability)");
  w.variable("tolerances", tolerance, {"generation"}, "1", "tolerance of the generation (inf: the prior)");
  w.variable("acceptance", acceptance, {"generation"}, "1", "accepted particles per candidate simulated");
  w.variable("ess", ess, {"generation"}, "1", "effective sample size of the weights");
  w.variable("proposed", proposed, {"generation"}, "1", "candidates simulated to accept the particles");
  w.variable("parameter_units", r.units, {"parameter"}, "", "unit of each parameter");
  w.variable("prior", r.priors, {"parameter"}, "", "prior of each parameter");
  w.variable("observed", r.observed, {"observation"}, "1", "observed value (troops, incidents or a probability)");
  w.variable("observed_sd", r.observed_sd, {"observation"}, "1", "standard deviation of the observed value");
  w.variable("observed_day", r.observed_day, {"observation"}, "day", "model day of the observation");
  const hid_t f = w.file();
  auto text = [&](const char* name, const std::string& value) { h5::set_string_attribute(f, name, value); };
  text("Conventions", "CF-1.10");
  text("title", "brink calibration (ABC-SMC)");
  text("brink_file_kind", kKind);
  text("engine_version", r.engine_version);
  text("engine_fingerprint", r.engine_fingerprint);
  text("target_isa", r.target_isa);
  text("scenario_label", r.scenario_label);
  text("scenario", r.scenario_text);
  text("settings", r.settings);
  text("command_line", r.command_line);
  text("text_digest", text_digest(r));
  // Numbers as numbers, as in result files (seeds are below 2^53 and exact either way).
  const std::uint64_t seed = r.seed;
  h5::set_int_attribute(f, "seed", H5T_NATIVE_UINT64, &seed, 1);
  const auto planned = static_cast<std::int64_t>(r.planned_generations);
  h5::set_int_attribute(f, "planned_generations", H5T_NATIVE_INT64, &planned, 1);
  h5::set_int_attribute(f, "lane_steps", H5T_NATIVE_DOUBLE, &r.lane_steps, 1);
  h5::set_int_attribute(f, "seconds", H5T_NATIVE_DOUBLE, &r.seconds, 1);
  if (!r.warning.empty()) text("warning", r.warning);
  w.close();
}

namespace {

Handle open_dataset(hid_t file, const char* name, const std::string& path) {
  if (!h5::has_variable(file, name))
    throw std::runtime_error(fmt::format("'{}' has no variable '{}'; is it a brink calibration file?", path, name));
  return dataset_handle(H5Dopen2(file, name, H5P_DEFAULT), std::string("open ") + name);
}

template <typename T>
std::vector<T> read(hid_t file, const char* name, Dtype dtype, const std::string& path) {
  const Handle ds = open_dataset(file, name, path);
  return std::get<std::vector<T>>(h5::read_values(ds.get(), dtype));
}

std::string root_text(hid_t file, const char* name) { return h5::read_string_attribute(file, name); }

// A numeric root attribute, or one written as text by earlier versions; 0 if
// absent or of another type. One HDF5 cannot read is damage (DamagedInput),
// never 0: a seed of 0 printed as fact.
double number_attribute(hid_t file, const char* name, const std::string& path) {
  if (h5::has_attribute(file, name)) {
    const Handle attr = attribute_handle(H5Aopen(file, name, H5P_DEFAULT), std::string("open attribute ") + name);
    const Handle type = type_handle(H5Aget_type(attr.get()), std::string("read the type of attribute ") + name);
    const Handle space = space_handle(H5Aget_space(attr.get()), std::string("read the shape of attribute ") + name);
    const H5T_class_t kind = H5Tget_class(type.get());
    if ((kind == H5T_INTEGER || kind == H5T_FLOAT) && H5Sget_simple_extent_npoints(space.get()) == 1) {
      double value = 0;
      if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0)
        throw DamagedInput(fmt::format("'{}' is damaged: HDF5 cannot read its root attribute '{}'", path, name));
      return value;
    }
  }
  const std::string text = root_text(file, name);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() ? value : 0.0;
}

// The seed, an integer (a double would round seeds above 2^53, which the
// options refuse, but keeps none of the exactness promised), or text in
// files of earlier versions.
std::uint64_t seed_attribute(hid_t file, const std::string& path) {
  if (const std::optional<std::int64_t> seed = h5::read_int64_attribute(file, "seed"); seed && *seed >= 0)
    return static_cast<std::uint64_t>(*seed);
  return static_cast<std::uint64_t>(number_attribute(file, "seed", path));
}

}  // namespace

CalibrationRecord read_calibration(const std::string& path) {
  if (!is_hdf5_file(path)) throw std::runtime_error(fmt::format("'{}' is not an HDF5 file", path));
  const Handle file = file_handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + path);
  const hid_t f = file.get();
  if (root_text(f, "brink_file_kind") != kKind)
    throw std::runtime_error(fmt::format("'{}' is not a brink calibration file (written by 'brink calibrate')", path));
  CalibrationRecord r;
  r.parameters = read<std::string>(f, "parameter", Dtype::kString, path);
  r.units = read<std::string>(f, "parameter_units", Dtype::kString, path);
  r.priors = read<std::string>(f, "prior", Dtype::kString, path);
  r.observation_names = read<std::string>(f, "observation", Dtype::kString, path);
  r.observed = read<double>(f, "observed", Dtype::kFloat64, path);
  r.observed_sd = read<double>(f, "observed_sd", Dtype::kFloat64, path);
  r.observed_day = read<double>(f, "observed_day", Dtype::kFloat64, path);
  const auto theta = read<double>(f, "particles", Dtype::kFloat64, path);
  const auto weight = read<double>(f, "weights", Dtype::kFloat64, path);
  const auto distance = read<double>(f, "distances", Dtype::kFloat64, path);
  const auto statistic = read<double>(f, "statistics", Dtype::kFloat64, path);
  const auto tolerance = read<double>(f, "tolerances", Dtype::kFloat64, path);
  const auto proposed = read<std::int64_t>(f, "proposed", Dtype::kInt64, path);
  const std::size_t g = tolerance.size(), d = r.parameters.size(), m = r.observation_names.size();
  const std::size_t n = g ? weight.size() / g : 0;
  check_shapes(path, {{"particles", theta.size(), g * n * d},
                      {"weights", weight.size(), g * n},
                      {"distances", distance.size(), g * n},
                      {"statistics", statistic.size(), g * n * m},
                      {"proposed", proposed.size(), g},
                      {"parameter_units", r.units.size(), d},
                      {"prior", r.priors.size(), d},
                      {"observed", r.observed.size(), m},
                      {"observed_sd", r.observed_sd.size(), m},
                      {"observed_day", r.observed_day.size(), m}});
  check_some_particles(path, g, n);
  for (std::size_t k = 0; k < g; ++k) check_weights(path, k, std::span(weight).subspan(k * n, n));
  for (std::size_t k = 0; k < g; ++k) {
    Population p;
    p.generation = static_cast<int>(k);
    p.tolerance = tolerance[k];
    p.proposed = proposed[k];
    p.theta.assign(theta.begin() + static_cast<long>(k * n * d), theta.begin() + static_cast<long>((k + 1) * n * d));
    p.weight.assign(weight.begin() + static_cast<long>(k * n), weight.begin() + static_cast<long>((k + 1) * n));
    p.distance.assign(distance.begin() + static_cast<long>(k * n), distance.begin() + static_cast<long>((k + 1) * n));
    p.statistic.assign(statistic.begin() + static_cast<long>(k * n * m),
                       statistic.begin() + static_cast<long>((k + 1) * n * m));
    r.generations.push_back(std::move(p));
  }
  check_draws(path, r);
  check_populations(path, r);
  r.scenario_label = root_text(f, "scenario_label");
  r.scenario_text = root_text(f, "scenario");
  r.settings = root_text(f, "settings");
  r.command_line = root_text(f, "command_line");
  r.engine_version = root_text(f, "engine_version");
  r.engine_fingerprint = root_text(f, "engine_fingerprint");
  r.target_isa = root_text(f, "target_isa");
  r.seed = seed_attribute(f, path);
  // Files from before it was kept plan the generations they hold.
  const std::optional<std::int64_t> planned = h5::read_int64_attribute(f, "planned_generations");
  check_plan_and_observations(path, r, planned);
  r.planned_generations = planned ? static_cast<int>(*planned) : static_cast<int>(r.generations.size());
  r.lane_steps = number_attribute(f, "lane_steps", path);
  r.seconds = number_attribute(f, "seconds", path);
  r.warning = root_text(f, "warning");
  // Files from before it was kept have no digest.
  if (const std::string digest = root_text(f, "text_digest"); !digest.empty() && digest != text_digest(r))
    throw DamagedInput(fmt::format(
        "'{}' is damaged: its texts (the scenario, the settings, or the names of its parameters, priors, units or "
        "observations) do not match their digest 'text_digest'",
        path));
  for (std::size_t a = 0; a < r.parameters.size(); ++a)
    if (std::count(r.parameters.begin(), r.parameters.begin() + static_cast<long>(a), r.parameters[a]) > 0)
      throw DamagedInput(fmt::format("'{}' is damaged: it names the parameter '{}' twice, which no calibration does",
                                     path, r.parameters[a]));
  check_particles_against_settings(path, r);
  return r;
}

bool is_calibration_file(const std::string& path) {
  if (!is_hdf5_file(path)) return false;
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) return false;
  const Handle file = file_handle(id, "open " + path);
  return root_text(file.get(), "brink_file_kind") == kKind;
}

}  // namespace brink
