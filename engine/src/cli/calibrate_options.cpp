// `brink calibrate`'s options: their help, their parsing into a
// CalibrateArgs, and the calibrate: block they override.
#include "calibrate_options.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "brink/scenario/shown_text.hpp"
#include "brink/sweep/executor.hpp"
#include "commands.hpp"

namespace brink {
namespace po = boost::program_options;
namespace {

po::options_description calibrate_options(CalibrateOptions& o) {
  po::options_description options(
      "brink calibrate SCENARIO [options]\n\n"
      "Approximate Bayesian computation (ABC-SMC) of the scenario's calibrate: priors against its\n"
      "observations:. Writes every generation to an HDF5 file and the posterior means as a scenario\n"
      "file beside it (OUT with .posterior.yaml).\n\noptions");
  options.add_options()("help,h", "show this help")("output,o", po::value(&o.output),
                                                    "HDF5 file (default: out/<scenario name>-calibration.h5)")(
      "particles", po::value(&o.particles), "particles per generation (default: calibrate.particles)")(
      "generations", po::value(&o.generations),
      "generations including the prior draw (default: calibrate.generations)")(
      "replications", po::value(&o.replications), "replications per particle (default: calibrate.replications)")(
      "quantile", po::value(&o.quantile),
      "next tolerance = this quantile of the distances (default: calibrate.quantile)")(
      "common-random", "every particle of a generation draws the same random streams")(
      "seed,s", po::value(&o.seed), "random seed (default: the scenario's run.seed)")(
      "threads,t", po::value(&o.threads), kThreadsHelp)("set", po::value(&o.sets)->composing(),
                                                        "override a scenario field, as for brink run (repeatable)")(
      "resume", "continue from the last complete generation in OUT.partial, on the kernel path that wrote it")(
      "continue", po::value(&o.continue_from)->value_name("FILE"),
      "start from the generations of the calibration in FILE (the same scenario, settings and build) and run "
      "more (--generations) into OUT, on the kernel path that wrote FILE; FILE is not changed")(
      "isa", po::value(&o.isa),
      "force the kernel's instruction-set path: avx2 or avx512 (default: the best this CPU runs; "
      "'brink --version' lists them)")("overwrite", "replace an existing OUT and discard OUT.partial")(
      "quiet,q", "print nothing but errors");
  return options;
}

}  // namespace

// The scenario's calibrate: block with the command line's options applied.
CalibrateSpec calibrate_spec(const LoadedScenario& loaded, const ScenarioSource& source, const po::variables_map& vm,
                             const CalibrateOptions& o) {
  CalibrateSpec spec = loaded.scenario.calibrate;
  if (spec.empty())
    throw ScenarioError({{source.label, -1, -1, "has no 'calibrate:' block with 'parameters:' and their priors"}});
  if (vm.count("particles"))
    spec.particles = static_cast<std::int64_t>(parse_count("--particles", o.particles, 2, 10'000'000));
  if (vm.count("generations"))
    spec.generations = static_cast<int>(parse_count("--generations", o.generations, 1, kMaxGenerations));
  if (vm.count("replications"))
    spec.replications = static_cast<std::int64_t>(parse_count("--replications", o.replications, 1, 1'000'000));
  if (vm.count("quantile")) {
    double q = 0;
    auto [ptr, ec] = std::from_chars(o.quantile.data(), o.quantile.data() + o.quantile.size(), q);
    if (ec != std::errc() || ptr != o.quantile.data() + o.quantile.size() || !(q > 0 && q < 1))
      throw po::error(fmt::format("--quantile must be a number in (0, 1), got '{}'", shown_argument(o.quantile)));
    spec.quantile = q;
  }
  if (vm.count("common-random")) spec.common_random = true;
  // From the file or the options alike: docs/calibration.md, "Common random numbers".
  if (spec.common_random && spec.replications == 1)
    throw po::error(
        "common random numbers (--common-random or calibrate.random_numbers: common) with 1 replication per particle "
        "condition every generation on one world, and the posterior collapses to a fraction of its width; give "
        "--replications 2 or more (16 or more to come near the model's posterior: docs/calibration.md), or "
        "independent random numbers");
  return spec;
}

bool parse_calibrate_args(const std::vector<std::string>& args, std::ostream& out, CalibrateArgs& a) {
  const po::options_description options = calibrate_options(a.o);
  if (!parse_command(args, options, "scenario", out, &a.vm, &a.operands)) return false;
  const po::variables_map& vm = a.vm;
  // Before the operands are counted: `--set PATH VALUE` leaves VALUE an operand, and the missing '=' is the mistake.
  for (const auto& s : a.o.sets) a.settings.push_back(parse_override(s));
  if (a.operands.size() != 1) throw po::error("calibrate takes exactly one SCENARIO (a file or a shipped name)");
  if (vm.count("resume") && vm.count("overwrite"))
    throw po::error("--resume continues OUT.partial and --overwrite discards it; give one of them");
  if (vm.count("resume") && vm.count("continue"))
    throw po::error("--resume continues OUT.partial and --continue FILE starts from FILE; give one of them");
  a.quiet = vm.count("quiet") > 0;
  if (vm.count("seed"))
    a.settings.push_back({"run.seed", std::to_string(parse_count("--seed", a.o.seed, 0, 9007199254740991ULL))});
  const int threads =
      !vm.count("threads") ? usable_cpus() : static_cast<int>(parse_count("--threads", a.o.threads, 1, 1024));
  a.threads = std::min(threads, max_threads());
  return true;
}

}  // namespace brink
