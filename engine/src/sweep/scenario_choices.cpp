// Sweeps over scenario choices: whole scenario files as the values of one
// axis. The files must describe the same crisis (actors, rungs, issues and
// types) run the same way (run and output settings), so that every point's
// results line up in one file; anything else is refused, naming the
// difference.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "brink/scenario/fields.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

// The first structural or run-setting difference between two scenarios, or "".
std::string difference(const Scenario& a, const Scenario& b) {
  auto ids = [](const Scenario& s) {
    std::vector<std::string> out;
    for (const Actor& x : s.actors) out.push_back(x.id);
    return out;
  };
  if (ids(a) != ids(b)) return fmt::format("actors [{}] and [{}]", fmt::join(ids(a), ", "), fmt::join(ids(b), ", "));
  if (a.escalation.rungs != b.escalation.rungs)
    return fmt::format("rungs [{}] and [{}]", fmt::join(a.escalation.rungs, ", "), fmt::join(b.escalation.rungs, ", "));
  auto issues = [](const Scenario& s) {
    std::vector<std::string> out;
    for (const Issue& i : s.negotiation.issues) out.push_back(i.id);
    return out;
  };
  if (issues(a) != issues(b))
    return fmt::format("issues [{}] and [{}]", fmt::join(issues(a), ", "), fmt::join(issues(b), ", "));
  for (std::size_t k = 0; k < a.actors.size(); ++k) {
    auto types = [](const Actor& x) {
      std::vector<std::string> out;
      for (const ResolveType& t : x.types) out.push_back(t.name);
      return out;
    };
    if (types(a.actors[k]) != types(b.actors[k]))
      return fmt::format("{}'s types [{}] and [{}]", a.actors[k].id, fmt::join(types(a.actors[k]), ", "),
                         fmt::join(types(b.actors[k]), ", "));
  }
  const RunSettings &ra = a.run, &rb = b.run;
  if (ra.horizon_days != rb.horizon_days)
    return fmt::format("run.horizon_days {} and {}", ra.horizon_days, rb.horizon_days);
  if (ra.dt_days != rb.dt_days) return fmt::format("run.dt_days {} and {}", ra.dt_days, rb.dt_days);
  if (ra.seed != rb.seed) return fmt::format("run.seed {} and {}", ra.seed, rb.seed);
  if (ra.rule.adaptive != rb.rule.adaptive || ra.rule.min != rb.rule.min || ra.rule.max != rb.rule.max ||
      (ra.rule.adaptive && ra.rule.ci_halfwidth != rb.rule.ci_halfwidth))
    return "run.replications";
  if (ra.decisions != rb.decisions) return "run.decisions";
  if (ra.common_random != rb.common_random) return "run.random_numbers";
  // The file's one calendar (its `time` coordinate) is the base's: every choice must have it.
  if (ra.start_date != rb.start_date) {
    auto date = [](const std::string& d) { return d.empty() ? std::string("(none)") : d; };
    return fmt::format("run.start_date {} and {}", date(ra.start_date), date(rb.start_date));
  }
  const bool information_swept = std::any_of(a.sweep.axes.begin(), a.sweep.axes.end(),
                                             [](const SweepAxis& x) { return x.path == "run.information"; });
  if (!information_swept && ra.revealed_types != rb.revealed_types) {
    auto information = [](bool revealed) { return revealed ? "revealed" : "private"; };
    return fmt::format("run.information {} and {}", information(ra.revealed_types), information(rb.revealed_types));
  }
  if (a.output.timeseries_every != b.output.timeseries_every)
    return fmt::format("output.timeseries_every {} and {}", a.output.timeseries_every, b.output.timeseries_every);
  if (a.output.runs != b.output.runs) return fmt::format("output.runs {} and {}", a.output.runs, b.output.runs);
  return {};
}

// The first constraint term that reads a field, not swept, which `choice`
// sets otherwise than `base`: the design's bounds are computed once, with
// the base's values, so that choice's points would break its own rule.
// Returns the constraint's index and the message, or -1.
std::pair<int, std::string> constraint_reading_a_difference(const SweepSpec& spec, const Scenario& base,
                                                            const Scenario& choice, const std::string& file) {
  const FieldRegistry base_fields(base), choice_fields(choice);
  for (std::size_t k = 0; k < spec.constraints.size(); ++k)
    for (const auto& term : spec.constraints[k].terms) {
      const std::string& path = term.first;
      if (std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == path; })) continue;
      const FieldRef *a = base_fields.find(path), *b = choice_fields.find(path);
      if (!a) continue;  // constraint_problem has named an unknown path
      if (!b)
        return {static_cast<int>(k),
                fmt::format("constraint '{}' reads '{}', which is {} here and which scenario choice '{}' does not "
                            "have: a constraint bounds every choice's points by the same numbers, so it may read "
                            "only fields every choice has",
                            spec.constraints[k].rule, path, a->get(base), file)};
      const double in_base = a->get(base), in_choice = b->get(choice);
      if (in_base == in_choice) continue;
      return {static_cast<int>(k),
              fmt::format("constraint '{}' reads '{}', which is {} here and {} in scenario choice '{}': a "
                          "constraint bounds every choice's points by the same numbers, so write the bound as a "
                          "number or sweep each file by itself",
                          spec.constraints[k].rule, path, in_base, in_choice, file)};
    }
  return {-1, {}};
}

}  // namespace

std::vector<ScenarioChoice> load_scenario_choices(LoadedScenario& loaded, const std::string& base_label,
                                                  const std::vector<Override>& settings,
                                                  const std::vector<std::string>& recorded) {
  SweepSpec& spec = loaded.scenario.sweep;
  std::vector<ScenarioChoice> choices;
  if (spec.scenarios.empty()) return choices;
  if (!recorded.empty() && recorded.size() != spec.scenarios.size())
    throw ScenarioError({{base_label, -1, -1,
                          fmt::format("the file records {} scenario choices for a sweep over {}", recorded.size(),
                                      spec.scenarios.size())}});
  // Files named in the scenario's own sweep block are relative to it; those of --sweep, to the working directory.
  const bool from_file = !loaded.sweep_arguments.contains(std::string(kScenarioAxis));
  const std::filesystem::path folder = std::filesystem::path(base_label).parent_path();
  // A choice's problem, at the sweep block's line when the file names the choices.
  auto refuse = [&](const std::string& message) -> ScenarioError {
    return ScenarioError({from_file ? loaded.source.at("sweep.scenarios", message)
                                    : Diagnostic{"--sweep scenario=...", -1, -1, message}});
  };
  for (const std::string& file : spec.scenarios) {
    // The file records the choices one per line (root attribute scenario_choices).
    if (file.find_first_of("\r\n") != std::string::npos) {
      std::string shown;  // on one line, as a shell would quote it
      for (char c : file) shown += c == '\n' ? "\\n" : c == '\r' ? "\\r" : std::string(1, c);
      throw refuse(
          fmt::format("scenario choice '{}' has a line break in its name, which the output's list of "
                      "choices (one per line) cannot hold; rename the file",
                      shown));
    }
    // Printed by inspect and stored in the file's attributes, as scenario text
    // is, so held to the same characters (a file's own sweep.scenarios already is).
    if (const std::optional<TextUnit> unit = first_unsafe_unit(file))
      throw refuse(fmt::format("scenario choice '{}' contains {}, which scenario text may not hold; rename the file",
                               escaped(file), unsafe_unit_text(*unit)));
    const std::string path = from_file && std::filesystem::path(file).is_relative() ? (folder / file).string() : file;
    // The same file twice would run its points twice and count them double in every summary.
    for (const ScenarioChoice& earlier : choices)
      if (std::error_code ec; std::filesystem::equivalent(earlier.path, path, ec))
        throw refuse(
            fmt::format("scenario choice '{}' is the file '{}' again; give each scenario once", file, earlier.label));
    ScenarioSource source;
    try {
      source = recorded.empty() ? read_scenario_file(path) : ScenarioSource{path, recorded[choices.size()]};
    } catch (const ScenarioError& e) {
      // A choice that cannot be read at all (missing, a directory) is named where the sweep names it.
      const std::vector<Diagnostic>& d = e.diagnostics();
      if (d.size() != 1 || d.front().line >= 0) throw;
      const std::string named = path == file ? fmt::format("'{}'", file) : fmt::format("'{}' ({})", file, path);
      const std::string message = fmt::format("scenario choice {}: {}", named, d.front().message);
      throw refuse(message);
    }
    std::vector<std::string> swept;  // checked over their range below, not at the choice's base values
    for (const SweepAxis& axis : spec.axes) swept.push_back(axis.path);
    LoadedScenario choice;
    try {
      choice = load_scenario(source, settings, swept);
    } catch (const ScenarioError& e) {
      // A --set that this choice cannot take (a path it lacks) is named with the choice.
      std::vector<Diagnostic> named;
      for (Diagnostic d : e.diagnostics()) {
        if (d.line < 0) d.message = fmt::format("in scenario choice '{}': {}", file, d.message);
        named.push_back(std::move(d));
      }
      throw ScenarioError(std::move(named));
    }
    if (const std::string d = difference(loaded.scenario, choice.scenario); !d.empty())
      throw refuse(
          fmt::format("scenario choice '{}' does not match the scenario '{}' in {}: a sweep over scenarios "
                      "needs the same actors, rungs, issues, types and run settings",
                      file, base_label, d));
    choice.scenario.sweep = spec;
    choice.scenario.sweep.scenarios.clear();
    for (const SweepAxis& axis : spec.axes)
      if (const std::string problem =
              sweep_axis_problem(axis, axis.lever ? SweepDesign::kGrid : spec.design, choice.parameters);
          !problem.empty())
        throw refuse(fmt::format("in scenario choice '{}': {}", file, problem));
    if (const auto [k, problem] = constraint_reading_a_difference(spec, loaded.scenario, choice.scenario, file); k >= 0)
      throw ScenarioError({loaded.source.at(fmt::format("sweep.constraints.{}.rule", k), problem)});
    check_sweep_range(choice);  // each choice over the whole declared range
    choice.scenario.sweep = {};
    choices.push_back({file, source.text, std::make_shared<const Scenario>(std::move(choice.scenario)), path,
                       from_file && std::filesystem::path(file).is_relative()});
  }
  SweepAxis axis{.path = std::string(kScenarioAxis), .values = {}, .lever = spec.design != SweepDesign::kGrid};
  for (std::size_t k = 0; k < choices.size(); ++k) axis.values.push_back(static_cast<double>(k));
  spec.axes.insert(spec.axes.begin(), axis);
  return choices;
}

void set_rerun_recipe(SweepPlan* plan, const std::string& scenario_label, const std::vector<Override>& settings,
                      std::int64_t replications) {
  plan->scenario_label = scenario_label;
  plan->rerun_options = {"--seed", std::to_string(plan->run().seed)};
  if (!plan->rule.adaptive) plan->rerun_options.insert(plan->rerun_options.end(), {"-n", std::to_string(replications)});
  // Every --set the point's parameters do not already give (run and output
  // settings, fields that cannot be swept), each once, its last value.
  for (auto o = settings.begin(); o != settings.end(); ++o) {
    const bool parameter =
        std::find(plan->parameters.begin(), plan->parameters.end(), o->path) != plan->parameters.end();
    const bool set_again =
        std::any_of(std::next(o), settings.end(), [&](const Override& later) { return later.path == o->path; });
    if (parameter || set_again || o->path == "run.seed" || o->path == "run.replications") continue;
    plan->rerun_options.insert(plan->rerun_options.end(), {"--set", o->path + "=" + o->value});
  }
}

}  // namespace brink
