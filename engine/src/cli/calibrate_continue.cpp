// Carrying on an earlier calibration (docs/calibration.md, "Determinism and
// resume"): --resume of an interrupted one, --continue FILE of a finished
// one, each refused unless this build, scenario text and settings wrote the
// generations it would take. Private to the cli module.
#include "calibrate_continue.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "brink/cli/output_target.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/parse.hpp"
#include "commands.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// A record's settings ("name=value" lines, new_record) as (name, value) in order.
std::vector<std::pair<std::string, std::string>> setting_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    out.emplace_back(line.substr(0, eq), eq == std::string::npos ? std::string() : line.substr(eq + 1));
  }
  return out;
}

// The first setting that differs between a partial file's record and this
// run's, as "--particles 1000 then, 500 now"; "" if none does.
std::string settings_difference(const std::string& before, const std::string& now) {
  const auto old_lines = setting_lines(before), new_lines = setting_lines(now);
  const auto value_in = [](const auto& lines, const std::string& name) -> std::string {
    for (const auto& [n, v] : lines)
      if (n == name) return v;
    return "not given";
  };
  const auto option = [](const std::string& name) -> std::string {
    if (name == "common_random") return "--common-random";
    if (name == "distance") return "the distance (the fit's target)";
    if (name == "particles" || name == "replications" || name == "quantile") return "--" + name;
    return name == "run.seed" ? "--seed (run.seed)" : "--set " + name;
  };
  for (const auto* lines : {&new_lines, &old_lines})
    for (const auto& [name, ignored] : *lines)
      if (const std::string was = value_in(old_lines, name), is = value_in(new_lines, name); was != is)
        return fmt::format("{} {} then, {} now", option(name), was, is);
  return {};
}

// A record's settings as the calibration ran them from `base` (the scenario
// text both records share): one line per overridden field, the last value
// given, and none where it is the field's own value in the text, so that
// `--seed 7` over `run.seed: 7`, or a --set given twice, resumes the run it
// matches. Lines that are no field (particles=...) stay, in order.
std::string settings_as_run(const std::string& settings, const Scenario& base) {
  const FieldRegistry registry(base);
  std::map<std::string, std::string> fields;
  std::string others;
  for (const auto& [name, value] : setting_lines(settings)) {
    if (const FieldRef* ref = registry.find(name)) {
      double v = 0.0;
      if (field_value_from_text(*ref->spec, value, &v).empty() && v == ref->get(base))
        fields.erase(name);
      else
        fields[name] = value;
    } else {
      others += name + "=" + value + "\n";
    }
  }
  std::string out;
  for (const auto& [name, value] : fields) out += name + "=" + value + "\n";
  return out + others;
}

// Why a partial file cannot be resumed by this run: the scenario text (its
// first differing line) or the first setting that differs, as run from `base`.
std::string resume_mismatch(const CalibrationRecord& previous, const CalibrationRecord& now, const Scenario& base) {
  if (previous.scenario_text != now.scenario_text) {
    const std::string &a = previous.scenario_text, &b = now.scenario_text;
    const auto at = std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first;
    return fmt::format("another scenario text than '{}' (the first difference on line {})", now.scenario_label,
                       1 + std::count(a.begin(), at, '\n'));
  }
  return fmt::format("other settings ({})", settings_difference(settings_as_run(previous.settings, base),
                                                                settings_as_run(now.settings, base)));
}

// The calibration in `file`, refused (po::error, with `build_advice` or
// `settings_advice`) unless this build and these settings wrote it: the
// generations that --resume or --continue carry on from.
CalibrationRecord kept_generations(const fs::path& file, std::string_view unreadable_advice,
                                   std::string_view build_advice, std::string_view settings_advice,
                                   const CalibrationRecord& record) {
  CalibrationRecord previous = read_calibration_input(file.string(), unreadable_advice);
  if (previous.engine_fingerprint != record.engine_fingerprint)
    throw po::error(fmt::format(
        "{} was written by another brink build (engine sources {}, this one's {}; brink --version shows them), "
        "whose model may differ; {}",
        file.string(), previous.engine_fingerprint.empty() ? "not recorded" : previous.engine_fingerprint,
        record.engine_fingerprint, build_advice));
  const Scenario base = load_scenario(ScenarioSource{record.scenario_label, record.scenario_text}).scenario;
  if (previous.scenario_text != record.scenario_text ||
      settings_as_run(previous.settings, base) != settings_as_run(record.settings, base))
    throw po::error(fmt::format("{} was written with {}; {}", file.string(), resume_mismatch(previous, record, base),
                                settings_advice));
  return previous;
}

}  // namespace

// Takes the complete generations of an interrupted calibration (--resume) or
// of the calibration in `from` (--continue FILE, when no partial is resumed),
// or refuses to start over an interrupted one unless --overwrite.
// `target_exists`: a file is at the calibration's target now.
void continue_partial(const fs::path& partial, const fs::path* from, const po::variables_map& vm,
                      CalibrationRecord& record, bool target_exists) {
  if (vm.count("resume") && fs::exists(partial)) {
    CalibrationRecord previous =
        kept_generations(partial, "; discard it with --overwrite and start over",
                         "resume it with that build, or discard it with --overwrite",
                         "resume with what it was written with, or discard it with --overwrite", record);
    if (previous.generations.size() > static_cast<std::size_t>(record.planned_generations))
      throw po::error(fmt::format(
          "{} already holds {} complete generations, more than --generations {}; resume with "
          "--generations {} or more (the generations run are kept), or discard it with "
          "--overwrite",
          partial.string(), previous.generations.size(), record.planned_generations, previous.generations.size()));
    // A finished calibration still in its partial was refused its target
    // because a file appeared there: resuming would put it over that file.
    if (target_exists && previous.generations.size() == static_cast<std::size_t>(record.planned_generations))
      throw OutputRefused(fmt::format(
          "{} holds a finished calibration, left there because a file appeared at its target; move '{}' (the file "
          "that appeared) away and resume to put it in place, or discard it with --overwrite",
          partial.string(), (partial.parent_path() / partial.stem()).string()));
    record.generations = std::move(previous.generations);
    record.lane_steps = previous.lane_steps;
    record.seconds = previous.seconds;
  } else if (fs::exists(partial) && !vm.count("overwrite")) {
    throw OutputRefused(
        fmt::format("{} holds an interrupted calibration; continue it with --resume or discard it "
                    "with --overwrite",
                    partial.string()));
  } else if (from != nullptr) {
    CalibrationRecord previous =
        kept_generations(*from, "", "continue it with that build", "continue it with what it was written with", record);
    if (previous.generations.size() >= static_cast<std::size_t>(record.planned_generations))
      throw po::error(fmt::format("{} already holds {} complete generations; --continue it with --generations above {}",
                                  from->string(), previous.generations.size(), previous.generations.size()));
    record.generations = std::move(previous.generations);
    record.lane_steps = previous.lane_steps;
    record.seconds = previous.seconds;
  }
}

}  // namespace brink
