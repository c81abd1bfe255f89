// The `sweep:` block of a scenario file.
#include "yaml_reader.hpp"

namespace brink::yaml_reader {
namespace {

bool parse_design(std::string_view name, SweepDesign* design) {
  for (SweepDesign d : {SweepDesign::kGrid, SweepDesign::kRandom, SweepDesign::kLhs, SweepDesign::kSobol})
    if (to_string(d) == name) {
      *design = d;
      return true;
    }
  return false;
}

// One axis of the file's sweep block; false if it could not be read.
bool parse_axis(Parser& p, const YAML::Node& v, const std::string& ap, SweepAxis& axis) {
  if (v.IsSequence()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      double value = 0;
      if (!v[i].IsScalar() || !parse_number(v[i].Scalar(), &value)) {
        p.error(v[i], fmt::format("'{}' values must be finite numbers, got '{}'", ap, scalar_text(v[i])));
        continue;
      }
      axis.values.push_back(value);
    }
    return true;
  }
  if (v.IsMap()) {
    if (!p.check_map(v, ap, {"min", "max", "log"})) return false;
    for (const char* bound : {"min", "max"}) {
      const YAML::Node b = get(v, bound);
      double value = 0;
      if (!b.IsDefined() || !b.IsScalar() || !parse_number(b.Scalar(), &value)) {
        p.error(b.IsDefined() ? b : v, fmt::format("'{}.{}' must be a finite number", ap, bound));
        continue;
      }
      (std::string_view(bound) == "min" ? axis.min : axis.max) = value;
    }
    axis.log = p.boolean(v, "log", ap, false);
    return true;
  }
  p.error(v, fmt::format("'{}' must be a list of values or {{min, max}}, got {}", ap, scalar_text(v)));
  return false;
}

}  // namespace

void parse_sweep(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node sweep = get(root, "sweep");
  if (!sweep.IsDefined() || sweep.IsNull()) return;
  if (!p.check_map(sweep, "sweep", {"design", "samples", "sensitivity", "random_numbers", "parameters"})) return;
  SweepSpec& spec = s.sweep;
  const std::string design = p.text(sweep, "design", "sweep", "grid");
  if (!parse_design(design, &spec.design))
    p.error(get(sweep, "design"), fmt::format("'sweep.design' must be grid, random, lhs or sobol, got '{}'", design));
  spec.sensitivity = p.boolean(sweep, "sensitivity", "sweep", false);
  const YAML::Node samples = get(sweep, "samples");
  if (samples.IsDefined()) {
    double value = 0;
    if (!samples.IsScalar() || !parse_number(samples.Scalar(), &value) || value < 1 || value > 1e7 ||
        value != std::floor(value))
      p.error(samples,
              fmt::format("'sweep.samples' must be a whole number in [1, 10000000], got '{}'", scalar_text(samples)));
    else
      spec.samples = static_cast<std::int64_t>(value);
  }
  if (spec.design != SweepDesign::kGrid && spec.samples == 0)
    p.error(sweep, fmt::format("a {} design needs 'sweep.samples' (the number of points)", design));
  if (spec.sensitivity && spec.design == SweepDesign::kGrid)
    p.error(get(sweep, "sensitivity"), "'sweep.sensitivity' needs a random, lhs or sobol design, not a grid");
  const std::string rn = p.text(sweep, "random_numbers", "sweep", s.run.common_random ? "common" : "independent");
  if (rn != "independent" && rn != "common")
    p.error(get(sweep, "random_numbers"),
            fmt::format("'sweep.random_numbers' must be 'common' or 'independent', got '{}'", rn));
  s.run.common_random = rn == "common";
  const YAML::Node parameters = get(sweep, "parameters");
  if (!parameters.IsDefined() || !parameters.IsMap() || parameters.size() == 0) {
    p.error(parameters.IsDefined() ? parameters : sweep,
            "'sweep.parameters' must map parameter paths to value lists or {min, max} ranges");
    return;
  }
  p.no_duplicates(parameters, "sweep.parameters");
  const FieldRegistry registry(s);  // every other section is read: its paths are known
  for (const auto& entry : parameters) {
    SweepAxis axis;
    axis.path = entry.first.Scalar();
    p.place("sweep.parameters." + axis.path, entry.first);
    if (!parse_axis(p, entry.second, "sweep.parameters." + axis.path, axis)) continue;
    if (const std::string problem = sweep_axis_problem(axis, spec.design, registry.parameters()); !problem.empty())
      p.error(entry.first, problem);
    spec.axes.push_back(std::move(axis));
  }
}

}  // namespace brink::yaml_reader
