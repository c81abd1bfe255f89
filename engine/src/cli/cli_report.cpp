// The commands that read and report: validate, params, inspect, scenarios.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/cli_calibrate.hpp"
#include "brink/cli/cli.hpp"
#include "brink/cli/run_request.hpp"
#include "brink/io/hdf5_reader.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recovery.hpp"
#include "brink/io/table.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "brink/scenario/source_file.hpp"
#include "brink/sweep/plan.hpp"
#include "commands.hpp"
#include "read_check.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

std::string field_text(const FieldSpec& spec, double value) {
  if (spec.kind == FieldKind::kBoolean) return value != 0.0 ? "true" : "false";
  if (spec.kind == FieldKind::kChoice) {
    const auto index = static_cast<std::size_t>(value);
    return index < spec.choices.size() ? std::string(spec.choices[index]) : fmt::format("{}", value);
  }
  return fmt::format("{}", value);
}

// What brink params marks 'unreached' (unreached_reason), as its help and validate's note say it.
constexpr std::string_view kUnreachedMeaning =
    "an actor's weight that every one of its types sets itself, which reaches no replication";

// One note a line for each number the file gives that changes nothing as it
// reads ('inert', inert_reason) and each commitment of a protector without
// troops (commitment_note), at the line the file gives it.
void print_inert_notes(const LoadedScenario& loaded, const FieldRegistry& registry, const std::string& label,
                       std::ostream& err) {
  for (std::size_t i = 0; i < registry.size(); ++i) {
    const std::string& path = registry.parameters()[i].path;
    const auto written = loaded.source.where.find(path);
    if (written == loaded.source.where.end()) continue;
    std::string why = inert_reason(loaded.scenario, registry.ref(i));
    if (std::string note = commitment_note(loaded.scenario, registry.ref(i)); why.empty() && !note.empty())
      why = "does this: " + note;
    if (!why.empty())
      err << fmt::format("brink validate: note: {}:{}:{}: '{}' {}\n", label, written->second.first,
                         written->second.second, path, why);
  }
}

}  // namespace

int command_validate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options(
      "brink validate SCENARIO\n\nChecks a scenario file and reports every problem as "
      "file:line:col: message.\n\noptions");
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "scenario", out, &vm, &operands)) return kExitOk;
  if (operands.size() != 1) throw UsageError("validate takes exactly one SCENARIO (a file or a shipped name)");
  const ScenarioSource source = resolve_scenario(operands.front());
  LoadedScenario loaded = load_scenario(source);
  // The choices a sweep block names must match it, and its design must leave points to run.
  const SweepPlan plan = make_plan(loaded, {}, load_scenario_choices(loaded, source.label, {}));
  check_chunk_sizes(plan);
  // What `brink calibrate` would refuse, where the scenario declares a calibration.
  check_prior_corners(loaded);
  if (!loaded.scenario.calibrate.empty()) {
    check_calibration_observations(loaded);
    check_calibration_size(loaded, loaded.scenario.calibrate);
  }
  // Notes, as `brink run` prints them: what the file says that the runs will not do as written.
  for (const std::string& note : scenario_notes(loaded.scenario)) err << "brink validate: note: " << note << "\n";
  const FieldRegistry registry(loaded.scenario);
  std::vector<std::string> unreached;  // the numbers the file gives (not defaults) that brink params marks so
  for (std::size_t i = 0; i < registry.size(); ++i) {
    const std::string& path = registry.parameters()[i].path;
    const auto written = loaded.source.where.find(path);
    if (written != loaded.source.where.end() && !unreached_reason(loaded.scenario, registry.ref(i)).empty())
      unreached.push_back(fmt::format("{} (line {})", path, written->second.first));
  }
  if (!unreached.empty())
    err << fmt::format("brink validate: note: {} gives numbers that are 'unreached' ({}): {}\n", source.label,
                       kUnreachedMeaning, fmt::join(unreached, ", "));
  print_inert_notes(loaded, registry, source.label, err);
  const std::int64_t points = plan.point_count();
  out << fmt::format("{}: ok — scenario '{}', {} actors, {} steps, {} settable parameters{}\n", source.label,
                     loaded.scenario.name, loaded.scenario.actor_count(), loaded.scenario.step_count(),
                     loaded.parameters.size(),
                     !loaded.scenario.sweep.empty()
                         ? fmt::format("; sweep: {} point{}, {}", points, points == 1 ? "" : "s", plan.design)
                         : std::string());
  return kExitOk;
}

// The value of a field as a scenario file would write it.

int command_params(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options(
      "brink params [SCENARIO]\n\nLists every settable path of a scenario (default: the flagship) with its "
      "current value, unit and valid range; the paths that --set accepts, and those marked 'sweep' can be "
      "swept ('unreached': " +
      std::string(kUnreachedMeaning) +
      "; 'inert': can be set and swept, but changes nothing as the file reads, e.g. a weight of a feature no "
      "action of the actor's menu has, which brink validate notes).\n\noptions");
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "scenario", out, &vm, &operands)) return kExitOk;
  if (operands.size() > 1) throw UsageError("params takes at most one SCENARIO (a file or a shipped name)");
  const ScenarioSource source = resolve_scenario(operands.empty() ? std::string(kFlagshipScenario) : operands.front());
  const LoadedScenario loaded = load_scenario(source);
  const FieldRegistry registry(loaded.scenario);
  std::size_t width = 4;
  for (const ParameterInfo& p : registry.parameters()) width = std::max(width, p.path.size());
  out << fmt::format("{:<{}}  {:>14}  {:<26}  {:<24}  {}\n", "path", width, "value", "unit", "range", "kind");
  for (std::size_t i = 0; i < registry.size(); ++i) {
    const ParameterInfo& p = registry.parameters()[i];
    const FieldRef& ref = registry.ref(i);
    const std::string range =
        ref.spec->kind == FieldKind::kChoice    ? fmt::format("one of: {}", fmt::join(ref.spec->choices, ", "))
        : ref.spec->kind == FieldKind::kBoolean ? "true or false"
                                                : fmt::format("[{}, {}]{}", p.min, p.max, p.integer ? " integer" : "");
    out << fmt::format("{:<{}}  {:>14}  {:<26}  {:<24}  {}\n", p.path, width,
                       field_text(*ref.spec, ref.get(loaded.scenario)), p.unit.empty() ? "-" : p.unit, range,
                       !unreached_reason(loaded.scenario, ref).empty()            ? "unreached"
                       : !inert_reason(loaded.scenario, ref).empty()              ? "inert"
                       : ref.spec->sweepable && (p.numeric || !p.choices.empty()) ? "sweep"
                                                                                  : "set");
  }
  out << fmt::format("{} settable paths in '{}'\n", registry.size(), loaded.scenario.name);
  return kExitOk;
}

namespace {

// A result file's root attributes, one a line (the scenario's YAML, and each
// scenario choice's, by size only: a few choices made the listing unreadable).
void print_attributes(const FileReport& report, const std::string& path, std::ostream& out) {
  out << "attributes:\n";
  for (const auto& [name, value] : report.attributes) {
    if (name == "scenario") {
      out << fmt::format("  {:<16} ({} bytes of YAML; brink inspect --scenario {} prints it)\n", name, value.size(),
                         path);
    } else if (name.starts_with("scenario_choice_")) {
      out << fmt::format("  {:<16} ({} bytes of YAML: the text of scenario choice {})\n", name, value.size(),
                         name.substr(std::string_view("scenario_choice_").size()));
    } else {
      std::string shown = value;
      while (!shown.empty() && shown.back() == '\n') shown.pop_back();
      for (auto& c : shown)
        if (c == '\n') c = ' ';
      out << fmt::format("  {:<16} {}\n", name, shown);
    }
  }
}

void print_variables(const FileReport& report, std::ostream& out) {
  out << "variables:\n";
  for (const auto& v : report.variables) {
    std::string dims;
    for (std::size_t i = 0; i < v.dimensions.size(); ++i)
      dims += fmt::format("{}{}={}", i ? ", " : "", v.dimensions[i], v.shape[i]);
    out << fmt::format("  {:<26} ({}){}{}\n", v.name, dims, v.units.empty() ? "" : " [" + v.units + "]",
                       v.long_name.empty() ? "" : "  " + v.long_name);
  }
}

// The outcome table of the finished points, the points not run, and the
// sensitivity and Morris tables.
void print_results(const FileReport& report, std::ostream& out) {
  // A point is finished once its `replications` is written; the rest of an
  // unfinished file's points have not run and are listed, not tabulated.
  const bool shard = std::any_of(report.attributes.begin(), report.attributes.end(),
                                 [](const auto& a) { return a.first == kShardCountAttribute; });
  const std::size_t k = report.parameters.size();
  const ParameterValues values = [&](std::int64_t point) {
    const auto at = static_cast<std::size_t>(point) * k;
    if (k == 0 || at + k > report.parameter_values.size()) return std::vector<double>{};
    return std::vector<double>(report.parameter_values.begin() + static_cast<std::ptrdiff_t>(at),
                               report.parameter_values.begin() + static_cast<std::ptrdiff_t>(at + k));
  };
  // A posterior run's draws, pooled as `brink run` printed them (per-draw intervals would not pool).
  if (const std::vector<PointSummary>& draws = report.table.every(); !draws.empty())
    out << "outcomes:\n"
        << format_pooled_table(pooled_summary(draws), static_cast<std::int64_t>(draws.size()), report.actors,
                               report.dt_days);
  else
    out << "outcomes:\n"
        << format_outcome_table(report.table, report.actors, report.parameters, values, report.parameter_choices,
                                report.dt_days);
  if (report.not_run > 0) {
    std::string list;
    for (std::size_t i = 0; i < report.first_not_run.size(); ++i)
      list += fmt::format("{}{}", i ? ", " : "", report.first_not_run[i]);
    if (report.not_run > static_cast<std::int64_t>(report.first_not_run.size())) list += ", ...";
    out << fmt::format("not run{}: {} of {} points (points {})\n",
                       shard ? " in this shard ('brink merge' joins it with the other shards)" : "", report.not_run,
                       report.points, list);
  }
  if (const PrecisionShortfall& short_of = report.shortfall; short_of.target > 0) {
    const std::int64_t finished = report.points - report.not_run;
    if (short_of.points == 0) {
      out << fmt::format("ci_halfwidth {}: reached at every finished point\n", short_of.target);
    } else {
      std::string list;
      for (std::size_t i = 0; i < short_of.first.size(); ++i)
        list += fmt::format("{}{}", i ? ", " : "", short_of.first[i]);
      if (short_of.points > static_cast<std::int64_t>(short_of.first.size())) list += ", ...";
      out << fmt::format(
          "ci_halfwidth {}: not reached at {} of {} finished points, which stopped at run.replications.max (points "
          "{}); the widest 95% half-width is {:.3g}, at point {}\n",
          short_of.target, short_of.points, finished, list, short_of.widest, short_of.widest_point);
    }
  }
  if (!report.sensitivity.empty() && !shard) {
    // A Saltelli plan of d parameters runs N·(d + 2) points.
    const auto swept = static_cast<std::int64_t>(report.sensitivity.size() / report.sensitivity_outputs.size());
    out << format_sensitivity_table(report.sensitivity, report.sensitivity_outputs, report.parameters,
                                    report.points / (swept + 2));
  }
  if (!report.morris.empty()) out << format_morris_table(report.morris, report.sensitivity_outputs, report.parameters);
}

// A result whose layout checked out but whose HDF5 metadata or checksummed
// data is damaged is bad input (exit 2) naming the file, not a runtime
// failure. A run in progress rewrites its summary chunks whole at each flush,
// and a read that meets one mid-write fails its checksum: a few more reads,
// 50 ms apart, tell that from damage. A finished file is read once.
FileReport read_result_input(const std::string& path) {
  constexpr int kReads = 5;
  for (int read = 1;; ++read) {
    try {
      return read_report(path);
    } catch (const DamagedInput&) {  // names the file as damaged already
      throw;
    } catch (const OutputError& e) {
      // HDF5 could not allocate memory for the read: a limit, not damage.
      if (last_io_errno() == ENOMEM) throw std::bad_alloc();
      if (read < kReads && !is_finished_result(path)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      throw UsageError(fmt::format("'{}' cannot be read as a brink result ({}); the file is damaged", path, e.what()));
    }
  }
}

}  // namespace

int command_inspect(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options(
      "brink inspect FILE\n\nShows a brink HDF5 file's metadata, variables and outcome "
      "table.\n\noptions");
  options.add_options()("help,h", "show this help")("scenario", "print the embedded scenario text and stop");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "file", out, &vm, &operands)) return kExitOk;
  if (operands.size() != 1) throw UsageError("inspect takes exactly one FILE");
  const std::string path = operands.front();
  if (std::error_code ec; !fs::exists(path, ec)) throw UsageError(fmt::format("no file '{}'", path));
  if (std::error_code ec; fs::is_directory(path, ec))
    throw UsageError(fmt::format("'{}' is a directory; give a result file (e.g. out/jan-2022-standoff.h5)", path));
  if (const int error = check_not_short_of_resources(path); error != 0)
    throw UsageError(fmt::format("cannot open '{}': {}", path, std::strerror(error)));
  if (!is_hdf5_file(path)) throw UsageError(fmt::format("'{}' is not an HDF5 file (or cannot be read)", path));
  // Everything below runs in a child process (read_check.hpp), whose output
  // this one prints: damage HDF5 does not detect crashes or hangs the child.
  if (const std::optional<std::string> shown = read_in_child(path, kCheckInspect, args, "", true)) {
    out << *shown;
    return kExitOk;
  }
  if (is_calibration_file(path)) {  // written by `brink calibrate`
    inspect_calibration(path, vm.count("scenario") > 0, out);
    return kExitOk;
  }
  if (const std::string problem = brink_layout_problem(path); !problem.empty())
    throw UsageError(fmt::format("'{}' is not a readable brink result: {}", path, problem));
  FileReport report = read_result_input(path);
  if (vm.count("scenario")) {
    const auto scenario = std::find_if(report.attributes.begin(), report.attributes.end(),
                                       [](const auto& attribute) { return attribute.first == "scenario"; });
    // Printing nothing with exit 0 would hand `> rerun.yaml` an empty scenario.
    if (scenario == report.attributes.end())
      throw UsageError(
          fmt::format("'{}' holds no scenario text (its root attribute 'scenario' is missing); every "
                      "file brink writes has one, so this one was edited or written by another program",
                      path));
    out << scenario->second;
    return kExitOk;
  }
  out << path << (report.complete ? "" : "  (INCOMPLETE: the run that wrote it did not finish)") << "\n";
  print_attributes(report, path, out);
  print_variables(report, out);
  print_results(std::move(report), out);
  return kExitOk;
}

int command_scenarios(const std::vector<std::string>& args, std::ostream& out) {
  po::options_description options(
      "brink scenarios\n\nLists the scenarios shipped in this binary; pass a name to "
      "'brink run'.\n\noptions");
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "operand", out, &vm, &operands)) return kExitOk;
  if (!operands.empty())
    throw UsageError(fmt::format("scenarios takes no operand, got '{}'; 'brink params {}' lists a scenario's fields",
                                 operands.front(), operands.front()));
  for (const auto& s : shipped_scenarios()) {
    std::string description;
    try {
      description = load_scenario({std::string(s.path), std::string(s.text)}).scenario.description;
    } catch (const ScenarioError& e) {
      description = "(invalid: " + std::string(e.what()) + ")";
    }
    const auto newline = description.find('\n');
    if (newline != std::string::npos) description = description.substr(0, newline);
    out << fmt::format("{:<36} {}\n", s.name, description);
  }
  return kExitOk;
}

}  // namespace brink
