#include "brink/cli/run_request.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "brink/calibrate/cli_calibrate.hpp"
#include "brink/io/variables.hpp"
#include "brink/scenario/shown_text.hpp"
#include "commands.hpp"

namespace brink {

namespace {

// Test hook: every sweep point in a block of its own, the reference that
// shared blocks (SweepPlan::points_per_block) must match bit for bit.
bool one_block_per_point() { return std::getenv("BRINK_TEST_ONE_BLOCK_PER_POINT") != nullptr; }

// A file's bytes, for its digest; one that cannot be read is bad input.
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (!(in && bytes << in.rdbuf()))
    throw UsageError(fmt::format("cannot read '{}' to record what the run read from it", path));
  return std::move(bytes).str();
}

}  // namespace

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string recorded_options(const RunRequest& request) {
  std::string text;
  for (const auto& o : request.settings) text += o.path + "=" + o.value + "\n";
  for (const auto& axis : request.sweeps) text += "sweep " + axis + "\n";
  for (const auto& axis : request.levers) text += "lever " + axis + "\n";
  if (!request.design.empty()) text += "design " + request.design + "\n";
  if (request.samples > 0) text += fmt::format("samples {}\n", request.samples);
  if (request.sensitivity) text += "sensitivity\n";
  if (request.file_sweep_off) text += "no_file_sweep\n";
  if (!request.posterior.empty()) text += "posterior " + request.posterior + "\n";
  if (request.posterior_draws > 0) text += fmt::format("posterior_draws {}\n", request.posterior_draws);
  return text;
}

RunRequest parse_recorded_options(std::string_view text, const std::string& file) {
  RunRequest request;
  const auto count = [&](const std::string& line, std::size_t skip) {
    const std::optional<std::int64_t> n = whole_number(std::string_view(line).substr(skip));
    if (!n || *n < 1)
      throw UsageError(fmt::format("'{}' records an unreadable option '{}' in its overrides", file, line));
    return *n;
  };
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string line(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    if (line.rfind("sweep ", 0) == 0)
      request.sweeps.push_back(line.substr(6));
    else if (line.rfind("lever ", 0) == 0)
      request.levers.push_back(line.substr(6));
    else if (line.rfind("design ", 0) == 0)
      request.design = line.substr(7);
    else if (line.rfind("samples ", 0) == 0)
      request.samples = count(line, 8);
    else if (line == "sensitivity")
      request.sensitivity = true;
    else if (line == "no_file_sweep")
      request.file_sweep_off = true;
    else if (line.rfind("posterior_draws ", 0) == 0)
      request.posterior_draws = count(line, 16);
    else if (line.rfind("posterior ", 0) == 0)
      request.posterior = line.substr(10);
    else
      request.settings.push_back(parse_override(line));
  }
  return request;
}

// HDF5 would fail to create the variable only once the file is made.
void check_chunk_sizes(const SweepPlan& plan) {
  if (const std::string problem = oversized_chunk_problem(file_layout(plan)); !problem.empty())
    throw UsageError(
        fmt::format("the run's file cannot be written: {}; record fewer steps (a larger K in "
                    "output.timeseries_every or --timeseries every=K) or shorten run.horizon_days",
                    problem));
}

namespace {

SweepPlan checked_for_chunks(SweepPlan plan) {
  check_chunk_sizes(plan);
  return plan;
}

}  // namespace

SweepPlan build_run_plan(const ScenarioSource& source, const RunRequest& request, LoadedScenario* loaded) {
  if (!request.posterior.empty() && request.sweep_options())
    throw UsageError(
        "--posterior draws the parameter sets itself; it cannot be combined with --sweep, --lever, --design, "
        "--samples or --sensitivity");
  // The paths the command line sweeps: the rules that read them are checked
  // over the swept range once the axes are merged, not at the base values.
  std::vector<std::string> swept_later;
  for (const std::vector<std::string>* arguments : {&request.sweeps, &request.levers})
    for (const std::string& argument : *arguments)
      if (const auto eq = argument.find('='); eq != std::string::npos) swept_later.push_back(argument.substr(0, eq));
  *loaded = load_scenario(source, request.settings, swept_later, !request.design.empty() || request.samples > 0,
                          request.file_sweep_off);
  if (request.sensitivity) loaded->scenario.sweep.sensitivity = true;
  if (request.sweep_options())
    apply_sweep_options(*loaded, request.sweeps, request.design, request.samples, request.levers);
  const SweepSpec& sweep = loaded->scenario.sweep;
  // A --set of a swept path would be silently replaced at every point.
  for (const Override& o : request.settings)
    if (std::any_of(sweep.axes.begin(), sweep.axes.end(), [&](const SweepAxis& a) { return a.path == o.path; }))
      throw UsageError(
          fmt::format("--set {}={} fixes a parameter the sweep varies; give it once, as a --set or as "
                      "a sweep axis",
                      o.path, shown_value(o.value)));
  if (!request.posterior.empty()) {
    SweepPlan plan = posterior_plan(*loaded, request.posterior, request.posterior_draws);
    const std::vector<std::string>& drawn = plan.draws ? plan.draws->parameters : plan.parameters;
    for (const Override& o : request.settings)
      if (std::find(drawn.begin(), drawn.end(), o.path) != drawn.end())
        throw UsageError(
            fmt::format("--set {}={} fixes a parameter the posterior in '{}' draws; drop the --set, "
                        "or run without --posterior",
                        o.path, shown_value(o.value), shown(request.posterior)));
    plan.share_blocks = !one_block_per_point();
    set_rerun_recipe(&plan, source.label, request.settings, loaded->scenario.run.rule.max);
    // After the recipe: a posterior run's recipe is the whole run's, --set options included.
    append_fixed_parameters(*loaded, request.settings, &plan);
    plan.inputs = fmt::format("posterior {} {}\n", request.posterior, content_digest(file_bytes(request.posterior)));
    plan.rerun_options.insert(plan.rerun_options.end(), {"--posterior", request.posterior});
    if (request.posterior_draws > 0)
      plan.rerun_options.insert(plan.rerun_options.end(),
                                {"--posterior-draws", std::to_string(request.posterior_draws)});
    return checked_for_chunks(std::move(plan));
  }
  std::vector<ScenarioChoice> choices =
      load_scenario_choices(*loaded, source.label, request.settings, request.recorded_choices);
  // The run settings among `settings` are not sweepable, so make_plan takes
  // the same parameters from them as from the --set overrides alone.
  SweepPlan plan = make_plan(*loaded, request.settings, std::move(choices));
  plan.share_blocks = !one_block_per_point();
  set_rerun_recipe(&plan, source.label, request.settings, plan.rule.max);
  for (const ScenarioChoice& c : plan.choices)
    plan.inputs += fmt::format("choice {} {}\n", c.label, content_digest(c.text));
  return checked_for_chunks(std::move(plan));
}

SweepPlan plan_of_job(const RunJob& job) {
  LoadedScenario loaded;
  return build_run_plan(job.source, parse_recorded_options(job.options, "the job sent by rank 0"), &loaded);
}

}  // namespace brink
