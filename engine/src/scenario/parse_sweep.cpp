// The `sweep:` block of a scenario file.
#include <algorithm>
#include <cctype>

#include "brink/scenario/sweep_constraints.hpp"
#include "yaml_reader.hpp"

namespace brink::yaml_reader {
namespace {

bool parse_design(std::string_view name, SweepDesign* design) {
  for (SweepDesign d :
       {SweepDesign::kGrid, SweepDesign::kRandom, SweepDesign::kLhs, SweepDesign::kSobol, SweepDesign::kMorris})
    if (to_string(d) == name) {
      *design = d;
      return true;
    }
  return false;
}

// " (names are lower case: 'lhs')" when `name` is a design in another case, else "".
std::string case_hint(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  SweepDesign unused{};
  return lower != name && parse_design(lower, &unused) ? fmt::format(" (names are lower case: '{}')", lower) : "";
}

// One axis of the file's sweep block; false if it could not be read.
bool parse_axis(Parser& p, const YAML::Node& v, const std::string& ap, const std::vector<ParameterInfo>& parameters,
                SweepAxis& axis) {
  if (v.IsSequence()) {
    const ParameterInfo* info = parameter_info(parameters, axis.path);
    if (v.size() == 0) {  // not a range: sweep_axis_problem takes a grid axis without values for one
      p.error(v, info && info->numeric && info->choices.empty()
                     ? fmt::format("'{}' lists no values; a grid axis needs at least one, e.g. [{}, {}]", ap, info->min,
                                   info->max)
                     : fmt::format("'{}' lists no values; a grid axis needs at least one", ap));
      return false;
    }
    const bool numeric = !info || info->choices.empty();  // a number is never written in quotes
    bool zero_refused = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
      double value = 0;
      // Refused by safe_scalars (100,000 is [100, 000]): the values left would only be judged as a wrong list.
      if (plain_number_node(v[i]) && leading_zero_integer(v[i].Scalar())) {
        zero_refused = true;
        continue;
      }
      // A true/false may carry !!bool; a name no tag but !!str.
      const bool tag_read =
          v[i].IsScalar() && (numeric ? plain_number_node(v[i])
                                      : plain_text_node(v[i], v[i].Scalar() == "true" || v[i].Scalar() == "false"));
      if (!tag_read || !sweep_value_from_text(parameters, axis.path, v[i].Scalar(), &value)) {
        std::string problem;
        if (info && !info->choices.empty())
          problem = fmt::format("'{}' values must be one of {}, got '{}'{}", ap, choice_list(info->choices),
                                as_text_written(v[i], !tag_read),
                                v[i].IsScalar() && !tag_read ? "; write it without the tag" : "");
        else if (v[i].IsScalar() && underflows_a_double(v[i].Scalar()))
          problem = fmt::format("'{}' value '{}' {}", ap, v[i].Scalar(), kCloserToZeroThanADouble);
        else
          problem = fmt::format("'{}' values must be finite numbers, got '{}'", ap, scalar_text(v[i]));
        p.error(v[i], problem);
        continue;
      }
      axis.values.push_back(value);
    }
    return !zero_refused && !axis.values.empty();  // values all refused: no axis to judge further
  }
  if (v.IsMap()) {
    if (!p.check_map(v, ap, {"min", "max", "log"})) return false;
    bool bounded = true;  // an unreadable bound is reported once, not again as a range
    for (const char* bound : {"min", "max"}) {
      const YAML::Node b = get(v, bound);
      double value = 0;
      if (!b.IsDefined() || b.IsNull()) {  // as a missing field is reported (Parser::field)
        p.error(v, fmt::format("missing required key '{}' in '{}' (a range needs both min and max)", bound, ap));
        bounded = false;
        continue;
      }
      if (!parse_number(b, &value)) {
        p.error(b, b.IsScalar() && underflows_a_double(b.Scalar())
                       ? fmt::format("'{}.{}' is {}, which {}", ap, bound, b.Scalar(), kCloserToZeroThanADouble)
                       : fmt::format("'{}.{}' must be a finite number", ap, bound));
        bounded = false;
        continue;
      }
      (std::string_view(bound) == "min" ? axis.min : axis.max) = value;
    }
    axis.log = p.boolean(v, "log", ap, false);
    return bounded;
  }
  p.error(v, fmt::format("'{}' must be a list of values or {{min, max}}, got {}", ap, scalar_text(v)));
  return false;
}

// The axes of one mapping (`parameters`, `levers` or `uncertainties`).
// `known_design` false: 'sweep.design' was refused, so an axis is checked only
// for what holds whatever the design (a list as a grid's, a range as a
// sampled design's), not against the grid the unread design fell back to.
void parse_axes(Parser& p, const YAML::Node& map, const std::string& key, bool lever, bool known_design,
                const FieldRegistry& registry, SweepSpec& spec) {
  p.no_duplicates(map, "sweep." + key);
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    SweepAxis axis;
    axis.path = entry.first.Scalar();
    axis.lever = lever;
    const std::string ap = "sweep." + key + "." + axis.path;
    p.place(ap, entry.first);
    // Range problems are reported at "sweep.parameters.PATH" whatever the key.
    if (key != "parameters") p.place("sweep.parameters." + axis.path, entry.first);
    if (!parse_axis(p, entry.second, ap, registry.parameters(), axis)) continue;
    const auto earlier =
        std::find_if(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == axis.path; });
    if (earlier != spec.axes.end()) {
      // The same key twice in one mapping was reported by no_duplicates.
      if (earlier->lever != lever)
        p.error(entry.first, fmt::format("'{}' is both a lever and an uncertainty; give it once", axis.path));
      continue;
    }
    // A design the command line will set is unknown here: the axis is checked as its form
    // (values or a range) reads, and against the design once merged (apply_sweep_options).
    const bool design_here = known_design && !p.design_later;
    const SweepDesign as = lever || (!design_here && !axis.values.empty()) ? SweepDesign::kGrid
                           : design_here                                   ? spec.design
                                                                           : SweepDesign::kLhs;
    if (const std::string problem = sweep_axis_problem(axis, as, registry.parameters()); !problem.empty())
      p.error(entry.first, problem);
    spec.axes.push_back(std::move(axis));
  }
}

void parse_constraints(Parser& p, const YAML::Node& list, bool known_design, const FieldRegistry& registry,
                       SweepSpec& spec) {
  if (!list.IsSequence()) {
    p.error(list, "'sweep.constraints' must be a list of {rule: \"A <= B\", action: clip|reject}");
    return;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    const std::string ap = fmt::format("sweep.constraints.{}", i);
    if (!item.IsMap()) {
      p.error(item, fmt::format("'{}' must be {{rule: \"A <= B\", action: clip|reject}}", ap));
      continue;
    }
    if (!p.check_map(item, ap, {"rule", "action"})) continue;
    const std::string rule = p.text(item, "rule", ap, "");
    const std::string action = p.text(item, "action", ap, "clip");
    if (action != "clip" && action != "reject") {
      p.error(get(item, "action"), fmt::format("'{}.action' must be clip or reject, got '{}'", ap, action));
      continue;
    }
    SweepConstraint c;
    std::string problem = rule.empty() ? std::string("needs a rule, e.g. \"A <= B\"")
                                       : parse_constraint(rule, action == "reject", &c, registry.parameters());
    // Without a design (refused) every constraint would be refused again as on a grid.
    if (problem.empty() && known_design) problem = constraint_problem(c, spec, registry.parameters());
    if (problem.empty()) problem = constraint_order_problem(spec.constraints, c);
    if (!problem.empty()) {
      p.error(get(item, "rule").IsDefined() ? get(item, "rule") : item, fmt::format("'{}.rule': {}", ap, problem));
      continue;
    }
    spec.constraints.push_back(std::move(c));
  }
}

// design, sensitivity, samples and levels: how the block's axes become
// points. Returns whether the design was read.
bool parse_design_keys(Parser& p, const YAML::Node& sweep, SweepSpec& spec) {
  const std::string design = p.text(sweep, "design", "sweep", "grid");
  const bool known_design = parse_design(design, &spec.design);
  if (!known_design)
    p.error(get(sweep, "design"), fmt::format("'sweep.design' must be grid, random, lhs, sobol or morris, got '{}'{}",
                                              design, case_hint(design)));
  spec.sensitivity = p.boolean(sweep, "sensitivity", "sweep", false);
  const YAML::Node samples = get(sweep, "samples");
  if (samples.IsDefined()) {
    double value = 0;
    if (!parse_number(samples, &value) || value < 1 || value > 1e7 || value != std::floor(value))
      p.error(samples,
              fmt::format("'sweep.samples' must be a whole number in [1, 10000000], got '{}'", scalar_text(samples)));
    else if (known_design && spec.design == SweepDesign::kGrid && !p.design_later)
      p.error(samples, fmt::format("'sweep.samples' ({}) sets the points of a sampled design, and this sweep is a grid "
                                   "(every combination of its values): set 'sweep.design' to random, lhs, sobol or "
                                   "morris, or drop 'sweep.samples'",
                                   scalar_text(samples)));
    else
      spec.samples = static_cast<std::int64_t>(value);
  }
  const YAML::Node levels = get(sweep, "levels");
  if (levels.IsDefined()) {
    double value = 0;
    if (!parse_number(levels, &value) || value < 2 || value > 1000 || value != std::floor(value) ||
        static_cast<int>(value) % 2 != 0)
      p.error(levels, fmt::format("'sweep.levels' (Morris grid levels) must be an even whole number in [2, 1000], got "
                                  "'{}'",
                                  scalar_text(levels)));
    else if (known_design && spec.design != SweepDesign::kMorris && !p.design_later)
      p.error(levels, fmt::format("'sweep.levels' (Morris grid levels) applies to the morris design only; this "
                                  "sweep's design is {}",
                                  design));
    else
      spec.morris_levels = static_cast<int>(value);
  }
  if (spec.design != SweepDesign::kGrid && spec.samples == 0 && !samples.IsDefined() && !p.design_later)
    p.error(sweep, fmt::format("a {} design needs 'sweep.samples' (the number of points)", design));
  return known_design;
}

}  // namespace

void parse_sweep(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node sweep = get(root, "sweep");
  if (!sweep.IsDefined() || sweep.IsNull()) return;
  if (!p.check_map(sweep, "sweep", p.section_keys("sweep", s))) return;
  SweepSpec& spec = s.sweep;
  const bool known_design = parse_design_keys(p, sweep, spec);
  const std::string rn = p.text(sweep, "random_numbers", "sweep", s.run.common_random ? "common" : "independent");
  if (rn != "independent" && rn != "common")
    p.error(get(sweep, "random_numbers"),
            fmt::format("'sweep.random_numbers' must be 'common' or 'independent', got '{}'", rn));
  s.run.common_random = rn == "common";
  const FieldRegistry registry(s);  // every other section is read: its paths are known
  const YAML::Node parameters = get(sweep, "parameters");
  const YAML::Node levers = get(sweep, "levers");
  const YAML::Node uncertainties = get(sweep, "uncertainties");
  const bool mixed = levers.IsDefined() || uncertainties.IsDefined();
  if (const YAML::Node scenarios = get(sweep, "scenarios"); scenarios.IsDefined()) {
    if (!scenarios.IsSequence() || scenarios.size() < 2)
      p.error(scenarios, "'sweep.scenarios' must list at least two scenario files (paths relative to this file)");
    else
      for (std::size_t i = 0; i < scenarios.size(); ++i) {
        if (!plain_text_node(scenarios[i]) || scenarios[i].Scalar().empty()) {
          const bool tagged = scenarios[i].IsScalar() && !plain_text_node(scenarios[i]);
          p.error(scenarios[i],
                  fmt::format("'sweep.scenarios' entries must be file paths, got {}{}",
                              as_text_written(scenarios[i], tagged), tagged ? "; write it without the tag" : ""));
          continue;
        }
        spec.scenarios.push_back(scenarios[i].Scalar());
      }
  }
  if (mixed && parameters.IsDefined()) {
    p.error(parameters,
            "'sweep.parameters' cannot be given with 'sweep.levers'/'sweep.uncertainties': a mixed design "
            "lists its axes under those two keys");
    return;
  }
  if (mixed) {
    for (const auto& [node, key] : {std::pair{levers, "levers"}, std::pair{uncertainties, "uncertainties"}})
      if (!node.IsDefined() || !node.IsMap() || node.size() == 0)
        p.error(node.IsDefined() ? node : sweep,
                fmt::format("a mixed design needs 'sweep.{}', a mapping of parameter paths to {}", key,
                            std::string(key) == "levers" ? "value lists" : "{min, max} ranges"));
    if (known_design && spec.design == SweepDesign::kGrid)
      p.error(get(sweep, "design").IsDefined() ? get(sweep, "design") : sweep,
              "a mixed design (levers × uncertainties) samples its uncertainties: set 'sweep.design' to random, lhs "
              "or sobol");
    if (levers.IsMap()) parse_axes(p, levers, "levers", true, known_design, registry, spec);
    if (uncertainties.IsMap()) parse_axes(p, uncertainties, "uncertainties", false, known_design, registry, spec);
  } else if (!parameters.IsDefined() && !spec.scenarios.empty()) {
    // Scenario choices alone: one point per scenario.
  } else if (!parameters.IsDefined() || !parameters.IsMap() || parameters.size() == 0) {
    p.error(parameters.IsDefined() ? parameters : sweep,
            "'sweep.parameters' must map parameter paths to value lists or {min, max} ranges");
    return;
  } else {
    parse_axes(p, parameters, "parameters", false, known_design, registry, spec);
  }
  if (std::string problem = known_design ? sweep_design_problem(spec) : std::string(); !problem.empty())
    p.error(get(sweep, "sensitivity").IsDefined() ? get(sweep, "sensitivity") : sweep, "'sweep': " + problem);
  if (const YAML::Node constraints = get(sweep, "constraints"); constraints.IsDefined())
    parse_constraints(p, constraints, known_design, registry, spec);
}

}  // namespace brink::yaml_reader
