// `brink calibrate SCENARIO`: ABC-SMC against the scenario's observations,
// and `brink inspect` of its file. The posterior plans of `brink run
// --posterior` are in posterior_plan.cpp.
#include "brink/calibrate/cli_calibrate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/evaluator.hpp"
#include "brink/calibrate/prior.hpp"
#include "brink/cli/cli.hpp"
#include "brink/cli/output_target.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/mpi/distributed.hpp"
#include "brink/mpi/rank_shared_evaluator.hpp"
#include "brink/scenario/shipped.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/version.hpp"
#include "calibrate_continue.hpp"
#include "calibrate_heartbeat.hpp"
#include "calibrate_summary.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "machine_memory.hpp"
#include "posterior_check.hpp"
#include "read_check.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

// A calibration file given as input, read whole; a damaged or truncated one
// is bad input (exit 2) named with what failed, not a runtime failure. The
// same read runs in a child process first (read_check.hpp): the file's
// strings lie in HDF5's global heap, without a checksum.
CalibrationRecord read_calibration_input(const std::string& path, std::string_view advice) {
  read_in_child(path, kCheckCalibration, {path, std::string(advice)}, advice, false);
  try {
    return read_calibration(path);
  } catch (const UsageError&) {
    throw;
  } catch (const DamagedInput& e) {  // names the file as damaged already
    throw UsageError(fmt::format("{}{}", e.what(), advice));
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("'{}' cannot be read as a brink calibration file ({}){}", path, e.what(), advice));
  }
}

namespace {

struct Options {
  std::string output, particles, generations, replications, threads, seed, quantile, isa, continue_from;
  std::vector<std::string> sets;
};

// Writes `path` (a file of brink's own, published by a rename), removed
// again if the write fails. Never through a link, which would write the file
// it points to. Returns the identity of the file written.
FileIdentity write_text_file(const std::string& path, const std::string& text) {
  // A stale file's name goes, not its bytes (another hard link keeps them);
  // O_EXCL refuses what appears meanwhile, a link included.
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("cannot write '{}': {}", path, errno == ELOOP ? "it is a symbolic link" : std::strerror(errno)));
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const int error = written == text.size() ? 0 : errno;
  struct stat st {};
  const int stat_error = ::fstat(fd, &st) == 0 ? 0 : errno;
  ::close(fd);
  if (written != text.size() || stat_error != 0) {
    ::unlink(path.c_str());
    throw std::runtime_error(
        fmt::format("cannot write '{}': {}", path, std::strerror(written != text.size() ? error : stat_error)));
  }
  return {true, st.st_dev, st.st_ino};
}

}  // namespace

void check_calibration_observations(const LoadedScenario& loaded) {
  if (loaded.scenario.observations.empty()) {
    if (loaded.source.where.contains("observations"))
      throw ScenarioError(
          {loaded.source.at("observations", "its 'observations:' block is empty; a calibration needs observations")});
    throw ScenarioError(
        {{loaded.source.label, -1, -1, "has no 'observations:' block; a calibration needs observations"}});
  }
  if (std::vector<Diagnostic> found = locate(loaded, observation_day_problems(loaded.scenario)); !found.empty())
    throw ScenarioError(std::move(found));
}

namespace {

// The least memory a calibration of `spec` holds at once, in bytes: a
// generation evaluates at least `particles` candidates in a batch, whose
// every world's value the evaluator returns (particles x replications x
// observations doubles, evaluator.cpp) and whose every world's distance the
// calibrator keeps (particles x replications, smc.cpp evaluate_batch); and
// every complete generation stays in the record (parameters, statistics,
// weight and distance per particle).
double calibration_bytes_at_least(const CalibrateSpec& spec, std::size_t observations) {
  const auto n = static_cast<double>(spec.particles), reps = static_cast<double>(spec.replications);
  const auto m = static_cast<double>(observations), d = static_cast<double>(spec.priors.size());
  return sizeof(double) * n * (reps * (m + 1) + spec.generations * (d + m + 2));
}

}  // namespace

void check_calibration_size(const LoadedScenario& loaded, const CalibrateSpec& spec,
                            const std::vector<std::string>& options) {
  const std::optional<double> memory = machine_memory_bytes();
  if (!memory) return;  // unknown: the allocation itself will say
  const double machine = *memory;
  const std::size_t m = loaded.scenario.observations.size();
  const double needed = calibration_bytes_at_least(spec, m);
  if (needed <= machine) return;
  const std::string message = fmt::format(
      "a calibration of {} particles x {} replications x {} observation{} over {} generations needs at least {:.3g} "
      "GB of memory for its worlds' values and particles, more than this machine's {:.3g} GB; ask for fewer "
      "particles, replications or generations",
      spec.particles, spec.replications, m, m == 1 ? "" : "s", spec.generations, needed / 1e9, machine / 1e9);
  // Sizes the command line set are not the scenario's to answer for.
  if (!options.empty()) {
    std::string named;
    for (std::size_t k = 0; k < options.size(); ++k)
      named += (k == 0 ? "" : k + 1 == options.size() ? " and " : ", ") + options[k];
    throw UsageError(fmt::format("{} (set by {})", message, named));
  }
  throw ScenarioError({loaded.source.at(
      loaded.source.where.contains("calibrate.particles") ? "calibrate.particles" : "calibrate", message)});
}

// Every cross-field rule at every corner of the priors' supports, as for a
// sweep's declared ranges (sweep_range.cpp), reported at the prior's line.
void check_prior_corners(const LoadedScenario& loaded) {
  Scenario box = loaded.scenario;
  box.sweep = {};
  box.sweep.design = SweepDesign::kRandom;
  for (const PriorSpec& p : loaded.scenario.calibrate.priors)
    box.sweep.axes.push_back({.path = p.path, .values = {}, .min = p.lower, .max = p.upper, .log = false});
  std::vector<Diagnostic> diagnostics;
  for (Problem& problem : sweep_range_problems(box)) {
    std::string message = problem.message;
    if (message.rfind("sweep axis", 0) == 0) message = "calibrated parameter" + message.substr(10);
    if (const auto at = message.find("(random range "); at != std::string::npos)
      message.replace(at, 14, "(prior support ");
    const std::string path = "calibrate.parameters." + problem.paths.front().substr(17);
    diagnostics.push_back(loaded.source.at(path, message + " (the support is checked at its corners)"));
  }
  if (!diagnostics.empty()) throw ScenarioError(std::move(diagnostics));
}

namespace {

po::options_description calibrate_options(Options& o) {
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

// The scenario's calibrate: block with the command line's options applied.
CalibrateSpec calibrate_spec(const LoadedScenario& loaded, const ScenarioSource& source, const po::variables_map& vm,
                             const Options& o) {
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

// Everything a calibration file records besides its generations.
CalibrationRecord new_record(const LoadedScenario& loaded, const ScenarioSource& source, const CalibrateSpec& spec,
                             const std::vector<Override>& settings, int argc, const char* const* argv) {
  CalibrationRecord record;
  const FieldRegistry registry(loaded.scenario);
  for (const PriorSpec& p : spec.priors) {
    record.parameters.push_back(p.path);
    record.units.emplace_back(registry.find(p.path)->spec->unit);
    record.priors.push_back(prior_text(p));
  }
  for (const Observation& ob : loaded.scenario.observations) {
    record.observation_names.push_back(ob.id);
    record.observed.push_back(ob.value);
    record.observed_sd.push_back(ob.sd);
    record.observed_day.push_back(ob.day);
  }
  record.planned_generations = spec.generations;
  record.scenario_label = source.label;
  record.scenario_text = source.text;
  record.seed = loaded.scenario.run.seed;
  record.engine_version = std::string(engine_version());
  record.engine_fingerprint = engine_fingerprint();
  record.target_isa = kernel().isa;  // chosen before any file is written (choose_kernel)
  // What must match for --resume: --generations may grow.
  for (const auto& s : settings) record.settings += s.path + "=" + s.value + "\n";
  record.settings += fmt::format("particles={}\nreplications={}\nquantile={}\ncommon_random={}\n", spec.particles,
                                 spec.replications, spec.quantile, spec.common_random);
  // The target: every world with its measurement error (docs/calibration.md, "Distance"). A partial file of the
  // earlier target (the mean of R worlds, noise only when R > 1) has no such line and is not resumed under this one.
  record.settings += "distance=worlds\n";
  record.command_line = argv[0] ? std::string(argv[0]) : "brink";
  for (int i = 1; i < argc; ++i) record.command_line += std::string(" ") + argv[i];
  return record;
}

// What the heartbeat within a generation needs (calibrate_heartbeat.hpp):
// style kNone with --quiet or on a rank that does not write.
struct Heartbeat {
  bool quiet = false;  // --quiet: no generation lines either
  ProgressStyle style = ProgressStyle::kNone;
  std::function<std::int64_t()> candidates;
  std::int64_t particles = 0;
  std::chrono::milliseconds lines_every{10'000};
};

// The heartbeat's style, as `brink run` chooses its progress's; the lines'
// interval is 10 s (BRINK_TEST_PROGRESS_EVERY_MS shortens it for tests).
Heartbeat make_heartbeat(bool quiet, bool writer, std::function<std::int64_t()> candidates, std::int64_t particles) {
  Heartbeat h{.quiet = quiet,
              .style = quiet || !writer        ? ProgressStyle::kNone
                       : isatty(STDERR_FILENO) ? ProgressStyle::kBar
                                               : ProgressStyle::kLines,
              .candidates = std::move(candidates),
              .particles = particles};
  if (const char* every = std::getenv("BRINK_TEST_PROGRESS_EVERY_MS"))
    h.lines_every = std::chrono::milliseconds(std::max(1, std::atoi(every)));
  return h;
}

// Runs the generations still missing, saving each to `partial` (if given:
// rank 0 of an MPI job, or a plain run) before reporting it.
// *saved is the identity of the partial file last saved.
void run_generations(AbcSmc& smc, const std::function<double()>& lane_steps, const fs::path* partial,
                     const Heartbeat& heartbeat, std::ostream& err, CalibrationRecord& record, FileIdentity* saved) {
  const bool quiet = heartbeat.quiet;
  // Written beside and renamed, so that a kill mid-write leaves the last complete generation.
  auto save = [&] {
    record.warning = conflict_warning(record);
    if (partial == nullptr) return;
    const std::string staging = partial->string() + ".tmp";
    try {
      write_calibration(staging, record);
      *saved = entry_identity_of(staging);  // a file of this run's own: the staging path is under its lock
      fs::rename(staging, *partial);
    } catch (const std::exception& e) {
      std::error_code ignored;
      fs::remove(staging, ignored);
      const std::size_t kept = record.generations.size() - 1;
      throw std::runtime_error(
          kept == 0 ? fmt::format("{}; nothing is kept, run it again", e.what())
                    : fmt::format("{}; {} keeps {} complete generation{}, continue with --resume once that is mended",
                                  e.what(), partial->string(), kept, kept == 1 ? "" : "s"));
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = record.seconds, lane_steps_before = record.lane_steps;
  for (const Population& p : record.generations)
    if (!quiet) err << "(resumed) " << generation_line(p, record.planned_generations, -1.0);
  while (static_cast<int>(record.generations.size()) < record.planned_generations) {
    std::optional<Population> simulated;
    {
      const GenerationHeartbeat beat(err, heartbeat.style, heartbeat.candidates,
                                     static_cast<int>(record.generations.size()), record.planned_generations,
                                     heartbeat.particles, heartbeat.lines_every);
      simulated = record.generations.empty() ? smc.first() : smc.next(record.generations.back());
    }
    Population next = std::move(*simulated);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string line = generation_line(next, record.planned_generations, seconds);
    record.generations.push_back(std::move(next));
    record.seconds = seconds_before + seconds;
    record.lane_steps = lane_steps_before + lane_steps();
    save();
    if (!quiet) err << line << std::flush;
  }
  save();
}

// What every rank reads before a calibration starts.
struct Setup {
  ScenarioSource source;
  LoadedScenario loaded;
  CalibrateSpec spec;
  fs::path target, partial;
  std::optional<fs::path> from;       // --continue FILE
  std::optional<fs::path> kept_from;  // where the generations kept come from: OUT.partial (--resume) or FILE
  CalibrationRecord record;
};

// What a rank read to set up: the scenario with its settings and any
// generations resumed from the partial file. Ranks that read different ones
// would simulate different candidates and sum them.
std::string setup_digest(const CalibrationRecord& r) {
  std::string text = r.engine_fingerprint + '\0' + r.target_isa + '\0' + r.scenario_text + '\0' + r.settings + '\0' +
                     std::to_string(r.planned_generations) + '\0' + std::to_string(r.seed) + '\0' +
                     std::to_string(r.generations.size());
  std::uint64_t hash = fnv1a(text.data(), text.size());
  for (const Population& p : r.generations)
    for (const std::vector<double>* v : {&p.theta, &p.weight, &p.distance})
      hash = fnv1a(v->data(), v->size() * sizeof(double), hash);
  // The build and path first, readable: a rank that differs there is named for it.
  return fmt::format("{} {} {:016x}", r.engine_fingerprint, r.target_isa, hash);
}

// The part of setup_digest that names the build and the kernel path.
std::string build_of(const std::string& digest) { return digest.substr(0, digest.rfind(' ')); }

// How far a rank of a lockstep job got before the agreement to start.
enum class Reached { kNoOptions, kHelp, kSetUp };

// Every rank of a lockstep job says whether it could set up, and whether it
// read what rank 0 read; one that could not, or read other files, stops them
// all before the first collective sum. Rank 0 names such a rank (whose own
// message is not printed). Ranks may be given different command lines (an
// MPMD launch, a script that builds each node's): one that could not take its
// options, or asked for --help, must still join, or the others wait here for
// ever. True when rank 0 asked for --help: it printed it, and every rank ends.
bool agree_to_start(RankGroup& group, const std::string& digest, Reached reached, std::exception_ptr& failed) {
  const std::string rank0 = group.broadcast(digest);
  constexpr double kCouldNotSetUp = 1.0, kReadOtherFiles = 2.0, kOtherOptions = 3.0, kHelp = 4.0, kOtherBuild = 5.0;
  std::vector<double> problems(static_cast<std::size_t>(group.size()), 0.0);
  problems[static_cast<std::size_t>(group.rank())] = reached == Reached::kHelp        ? kHelp
                                                     : reached == Reached::kNoOptions ? kOtherOptions
                                                     : failed                         ? kCouldNotSetUp
                                                     : !rank0.empty() && build_of(digest) != build_of(rank0)
                                                         ? kOtherBuild
                                                     : !rank0.empty() && digest != rank0 ? kReadOtherFiles
                                                                                         : 0.0;
  group.sum(problems);
  if (problems[0] == kHelp) return true;
  if (failed) return false;
  for (std::size_t r = 0; r < problems.size(); ++r) {
    if (problems[r] == 0.0) continue;
    // Input that is not where every rank can read it alike: a usage error (exit 2).
    failed = std::make_exception_ptr(po::error(
        problems[r] == kCouldNotSetUp
            ? fmt::format("MPI rank {} could not set up the calibration (every rank reads the scenario, any "
                          "partial file and the output's directory: put them where every node sees them)",
                          r)
        : problems[r] == kOtherBuild
            ? fmt::format("MPI rank {} runs another brink build or kernel path than rank 0's ({}; brink --version "
                          "on each node shows both): run one brink binary, on one path (--isa), on every rank",
                          r, build_of(rank0))
        : problems[r] == kReadOtherFiles
            ? fmt::format("MPI rank {} read another scenario, other settings or another partial file than rank 0 "
                          "(every rank reads them: put the same files where every node sees them)",
                          r)
            : fmt::format("MPI rank {} was started with options it cannot take, or with --help (every rank runs "
                          "the calibration: start every rank with the same options)",
                          r)));
    return false;
  }
  return false;
}

// Where the posterior scenario goes: OUT with .posterior.yaml.
fs::path posterior_scenario_path(const fs::path& target) {
  return fs::path(target).replace_extension(".posterior.yaml");
}

// The scenario with the posterior means set, written to its .partial (the
// caller publishes it). Returns the posterior scenario's path; *written is the
// identity of the .partial written.
fs::path write_posterior_scenario(const fs::path& target, const ScenarioSource& source, const Scenario& calibrated,
                                  const std::vector<Override>& settings, const CalibrationRecord& record,
                                  FileIdentity* written) {
  const std::vector<double> mean = posterior_means(record.generations.back(), record.parameters.size());
  const fs::path posterior = posterior_scenario_path(target);
  const FieldRegistry registry(calibrated);
  std::vector<std::string> unreached;  // why a calibrated path reaches no replication, or ""
  for (const std::string& path : record.parameters)
    unreached.push_back(unreached_reason(calibrated, *registry.find(path)));
  const std::string header =
      posterior_header(record, target.string(), posterior.string(), source.label, settings, unreached);
  // The calibration's own --set (and --seed) first: the model the particles were fitted to.
  std::vector<std::string> paths, values;
  for (const Override& s : settings) {
    paths.push_back(s.path);
    values.push_back(s.value);
  }
  for (std::size_t a = 0; a < mean.size(); ++a) {
    paths.push_back(record.parameters[a]);
    values.push_back(fmt::format("{:.17g}", mean[a]));
  }
  // Fields a calibrated value moves with it (FieldSpec::vary: the actor's
  // other type priors) are written too, or the file's would break its rules.
  Scenario at_means = calibrated;
  for (std::size_t a = 0; a < mean.size(); ++a) registry.find(record.parameters[a])->set(at_means, mean[a]);
  for (std::size_t f = 0; f < registry.size(); ++f) {
    const FieldRef& ref = registry.ref(f);
    const std::string& path = registry.parameters()[f].path;
    if (ref.get(at_means) != ref.get(calibrated) && std::find(paths.begin(), paths.end(), path) == paths.end()) {
      paths.push_back(path);
      values.push_back(fmt::format("{:.17g}", ref.get(at_means)));
    }
  }
  *written =
      write_text_file(posterior.string() + ".partial", header + scenario_with_values(source.text, paths, values));
  return posterior;
}

// The output path, its directory created when it is the default one. Neither
// it nor the posterior scenario beside it may be the scenario file read.
fs::path calibration_target(const LoadedScenario& loaded, const std::string& scenario_arg, const po::variables_map& vm,
                            const Options& o) {
  if (vm.count("output") && o.output.empty()) throw po::error("--output needs a file name, got an empty one");
  const fs::path target =
      vm.count("output") ? fs::path(o.output) : default_output_path(loaded.scenario.name + "-calibration");
  const std::vector<fs::path> inputs{"/proc/self/exe", scenario_arg};  // a shipped name stats as no file
  check_output_path(target, inputs);
  const fs::path posterior = posterior_scenario_path(target);
  if (const FileIdentity scenario = identity_of(scenario_arg); scenario.exists && identity_of(posterior) == scenario)
    throw OutputRefused(
        fmt::format("-o '{}' writes its posterior scenario to '{}', which is the input scenario; give "
                    "another -o",
                    target.string(), posterior.string()));
  check_output_path(posterior, inputs);
  check_own_file(target.string() + ".partial.tmp", target, inputs);  // where each generation is staged
  prepare_output_directory(target, !vm.count("output"));
  return target;
}

// What this run did: a resumed or continued calibration kept `kept`
// generations of its partial or of the file it continues (`kept_from`),
// simulated before with `seconds_before` and `lane_steps_before`.
struct ThisRun {
  std::size_t kept = 0;
  std::string kept_from;
  double seconds_before = 0, lane_steps_before = 0;
  double steps_per_candidate = 0;  // replications x steps of one candidate
  std::chrono::steady_clock::time_point start;
};

// The closing lines: the files, this run's time and replication-steps (not
// those of the run a --resume continued, which the file's attributes sum),
// and what the posterior scenario is and is not. Replication-steps are the
// candidates' (each generation's `proposed`, for its replications and
// steps); the kernel's lane-steps, padding included, are named beside them
// when a block holds fewer replications than lanes (one particle per block).
std::string closing_lines(const fs::path& target, const fs::path& posterior, const CalibrationRecord& record,
                          const ThisRun& run, int threads) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
  const double simulating = record.seconds - run.seconds_before, lanes = record.lane_steps - run.lane_steps_before;
  const std::size_t simulated = record.generations.size() - run.kept;
  double candidates = 0;
  for (std::size_t g = run.kept; g < record.generations.size(); ++g)
    candidates += static_cast<double>(record.generations[g].proposed);
  const double steps = candidates * run.steps_per_candidate;
  const std::string padded =
      lanes > 1.5 * steps ? fmt::format("; {:.4g} lane-steps with the blocks' padding", lanes) : std::string();
  const std::string kept = run.kept == 0 ? std::string()
                                         : fmt::format("; {} generation{} simulated, {} kept from {}", simulated,
                                                       simulated == 1 ? "" : "s", run.kept, run.kept_from);
  return fmt::format(
      "wrote {} and {} in {:.2f} s ({:.4g} replication-steps, {:.3g} per second on {}{}{})\n"
      "{} holds the posterior means, one parameter set, not the posterior: run alone it is not the posterior "
      "forecast, which is {}\n",
      target.string(), posterior.string(), seconds, steps, simulating > 0 ? steps / simulating : 0.0,
      describe_workers(threads), padded, kept, posterior.string(),
      posterior_forecast(posterior.string(), target.string()));
}

// The command line of `brink calibrate`, parsed. Options stays where
// calibrate_options bound its values.
struct CalibrateArgs {
  Options o;
  po::variables_map vm;
  std::vector<std::string> operands;
  std::vector<Override> settings;
  int threads = 1;
  bool quiet = false;
};

// Fills `a` from the arguments; false after --help (printed to `out`).
// Throws po::error and UsageError.
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

}  // namespace

int command_calibrate(const std::vector<std::string>& args, int argc, const char* const* argv, std::ostream& out,
                      std::ostream& err) {
  CalibrateArgs a;
  // Under an MPI launcher every rank runs this command; rank 0 alone writes.
  RankGroup* group = lockstep_group();
  const bool writer = group == nullptr || group->rank() == 0;

  // Every rank parses its own command line and reads the scenario, its
  // output's directory and any partial file: all of it inside the try, so
  // that a rank that cannot (or prints --help) still joins the agreement to
  // start (it would leave the others waiting in it).
  std::optional<Setup> setup;
  std::optional<OutputLock> lock;
  std::optional<FileIdentity> before, posterior_before;
  std::exception_ptr failed;
  Reached reached = Reached::kNoOptions;
  try {
    reached = parse_calibrate_args(args, out, a) ? Reached::kSetUp : Reached::kHelp;
    if (reached == Reached::kSetUp) {
      const Options& o = a.o;
      const po::variables_map& vm = a.vm;
      const std::vector<std::string>& operands = a.operands;
      const std::vector<Override>& settings = a.settings;
      Setup& set = setup.emplace();
      set.source = resolve_scenario(operands.front());
      set.loaded = load_scenario(set.source, settings);
      // Calibration runs the scenario itself, not its sweep block: the rules that
      // load_scenario leaves to the sweep's range hold at the file's values too.
      if (std::vector<Diagnostic> found = locate(set.loaded, validate(set.loaded.scenario)); !found.empty())
        throw ScenarioError(std::move(found));
      check_calibration_observations(set.loaded);
      set.spec = calibrate_spec(set.loaded, set.source, vm, o);
      std::vector<std::string> sized;
      for (const char* name : {"particles", "replications", "generations"})
        if (vm.count(name)) sized.push_back(fmt::format("--{} {}", name, vm[name].as<std::string>()));
      check_calibration_size(set.loaded, set.spec, sized);
      for (const Override& s : settings)
        for (const PriorSpec& p : set.spec.priors)
          if (p.path == s.path)
            throw po::error(
                fmt::format("--set {}={} fixes a parameter the calibration draws from its prior; drop "
                            "the --set, or the parameter from 'calibrate.parameters'",
                            s.path, shown(s.value)));
      check_prior_corners(set.loaded);
      check_posterior_scenario(set.source, set.loaded, settings, set.spec);  // fails now, not at the end
      set.target = calibration_target(set.loaded, operands.front(), vm, o);
      set.partial = set.target.string() + ".partial";
      if (vm.count("continue")) {
        set.from = o.continue_from;
        std::error_code ec;
        if (fs::equivalent(*set.from, set.target, ec) || fs::equivalent(*set.from, set.partial, ec))
          throw po::error(fmt::format(
              "--continue {} names this calibration's own OUT or OUT.partial; give another -o (FILE is kept as "
              "it is), or --resume to continue OUT.partial",
              o.continue_from));
      }
      set.kept_from = vm.count("resume") && fs::exists(set.partial) ? std::optional(set.partial) : set.from;
      // The kernel paths may differ in a belief's last bits, which can tip a
      // decision: generations to come run on the path of those kept.
      choose_kernel(vm.count("isa") ? std::optional(o.isa) : std::nullopt, set.kept_from);
      set.record = new_record(set.loaded, set.source, set.spec, settings, argc, argv);
      const fs::path& target = set.target;
      const fs::path& partial = set.partial;
      bool continued = false;  // the partial read once, not again below
      if (writer) {
        lock.emplace(target.string() + ".lock", "give another -o", "calibrate");
        before = identity_of(target);
        posterior_before = identity_of(posterior_scenario_path(target));
        const bool overwrite = vm.count("overwrite") > 0, resume = vm.count("resume") > 0;
        // A finished calibration left in its partial beside the file that
        // appeared: continue_partial's sentence says so, before the general one.
        if (resume && before->exists && fs::exists(partial)) {
          continue_partial(partial, nullptr, vm, set.record, true);
          continued = true;
        }
        refuse_existing_result(target, overwrite, resume, "write the calibration");
        // The posterior scenario goes with the target (past the check above, one
        // that exists may be replaced); a resumed calibration may replace it
        // only if it was started with --overwrite, like the target.
        if (!before->exists)
          refuse_existing_result(posterior_scenario_path(target), overwrite, resume && fs::exists(partial),
                                 "write the calibration", partial);
      }
      if (!continued)
        continue_partial(partial, set.from ? &*set.from : nullptr, vm, set.record, writer && before->exists);
    }
  } catch (...) {
    failed = std::current_exception();
  }
  const std::string digest = reached == Reached::kSetUp && !failed ? setup_digest(setup->record) : std::string();
  if (group && agree_to_start(*group, digest, reached, failed)) return kExitOk;
  if (failed) std::rethrow_exception(failed);
  if (reached == Reached::kHelp) return kExitOk;
  const std::vector<Override>& settings = a.settings;
  const bool quiet = a.quiet;
  const int threads = a.threads;
  const ScenarioSource& source = setup->source;
  const LoadedScenario& loaded = setup->loaded;
  const CalibrateSpec& spec = setup->spec;
  const fs::path& target = setup->target;
  const fs::path& partial = setup->partial;
  CalibrationRecord& record = setup->record;

  Scenario simulated = calibration_scenario(loaded.scenario, spec.replications);
  simulated.run.common_random = spec.common_random;
  catch_interruptions();
  SweepEvaluator local(simulated, record.parameters, threads, &interruption_flag());
  // Every rank simulates on the kernel path rank 0 chose.
  if (group) select_kernel(group->broadcast(std::string(kernel().isa)));
  std::optional<RankSharedEvaluator> shared;
  if (group) shared.emplace(local, *group);
  ParticleEvaluator& evaluator = shared ? static_cast<ParticleEvaluator&>(*shared) : local;
  std::vector<Prior> priors(spec.priors.begin(), spec.priors.end());
  AbcSmc smc(priors, loaded.scenario.observations,
             {.particles = spec.particles,
              .quantile = spec.quantile,
              .seed = loaded.scenario.run.seed,
              .common_random = spec.common_random},
             evaluator);
  if (!quiet)
    out << fmt::format(
               "calibrating {} ({}): {} parameters, {} observations, {} particles x {} replications, {} "
               "generations, {} steps per replication, {}\n",
               loaded.scenario.name, source.label, priors.size(), record.observed.size(), spec.particles,
               spec.replications, spec.generations, simulated.step_count(),
               // A block packs particles of one slice (their streams): at most kEvaluatorSlice.
               local.packs() ? fmt::format("{} particles per block",
                                           std::min<std::int64_t>(kBlockLanes / spec.replications,
                                                                  static_cast<std::int64_t>(kEvaluatorSlice)))
                             : std::string("one particle per block"))
        << std::flush;
  // Printed even with --quiet, like every warning; by rank 0 alone.
  if (const std::string warning = quantile_replications_warning(loaded.scenario.observations, spec.replications);
      writer && !warning.empty())
    err << "brink calibrate: " << warning << "\n" << std::flush;
  const FieldRegistry registry(loaded.scenario);
  for (const PriorSpec& p : spec.priors)
    if (const std::string why = unreached_reason(loaded.scenario, *registry.find(p.path)); writer && !why.empty())
      err << "brink calibrate: warning: calibrated parameter '" << p.path << "' " << why
          << "; its posterior can only be its prior\n";
  auto lane_steps = [&] { return shared ? shared->lane_steps() : local.lane_steps(); };
  const ThisRun this_run{.kept = record.generations.size(),
                         .kept_from = setup->kept_from && *setup->kept_from != partial ? setup->kept_from->string()
                                                                                       : std::string("the partial"),
                         .seconds_before = record.seconds,
                         .lane_steps_before = record.lane_steps,
                         .steps_per_candidate = static_cast<double>(spec.replications) * simulated.step_count(),
                         .start = std::chrono::steady_clock::now()};
  FileIdentity saved;  // the partial file as this run last saved it
  try {
    run_generations(smc, lane_steps, writer ? &partial : nullptr,
                    make_heartbeat(
                        quiet, writer, [&local] { return local.points(); }, spec.particles),
                    err, record, &saved);
  } catch (const NoFiniteDistance& e) {
    // Bad input (exit 2) at the observation's line; every rank computes the same distances and refuses alike.
    throw ScenarioError(
        {loaded.source.at("observations." + loaded.scenario.observations[e.observation()].id, e.what())});
  } catch (const std::exception& e) {
    const auto* stalled = dynamic_cast<const GenerationStalled*>(&e);
    // Under MPI every rank stops at the same sum (RankSharedEvaluator), whichever got the signal.
    const bool stopped = interrupted() || dynamic_cast<const EvaluationInterrupted*>(&e) != nullptr;
    const std::string why =
        stalled    ? stalled_advice(*stalled, record.generations.size(), writer ? partial.string() : std::string(),
                                    spec.quantile)
        : !stopped ? std::string(e.what())
        : record.generations.empty() ? std::string(
                                           "interrupted before the first generation was complete; nothing is "
                                           "kept, run it again")
        : !writer ? fmt::format("interrupted; {} keeps the generations rank 0 completed, continue with --resume",
                                partial.string())
                  : fmt::format("interrupted; {} keeps {} complete generation{}, continue with --resume",
                                partial.string(), record.generations.size(), record.generations.size() == 1 ? "" : "s");
    // Another rank may wait in a collective sum that this one will never join;
    // a stop was learnt in a sum every rank took part in, so every rank ends
    // alike and only rank 0's sentence is printed (the others' output is dropped).
    if (group && !(stopped && dynamic_cast<const EvaluationInterrupted*>(&e))) group->abort(kExitFailure, why);
    if (stopped || stalled) throw std::runtime_error(why);
    throw;
  }
  if (!writer) return kExitOk;
  // The posterior scenario is written first (once the calibration is in
  // place, a failure could not be resumed), and published after it, by the
  // same rule: never over a file that appeared meanwhile. It names OUT as its
  // particles' file, so it goes nowhere if OUT could not be published.
  FileIdentity posterior_written;
  const fs::path posterior =
      write_posterior_scenario(target, source, loaded.scenario, settings, record, &posterior_written);
  const fs::path posterior_partial = posterior.string() + ".partial";
  try {
    lock->vouch_for(partial, saved);
    if (const std::string warning = publish_output(partial, target, *before, saved); !warning.empty())
      err << "brink calibrate: " << warning << "\n";
  } catch (...) {
    remove_own_file(posterior_partial, posterior_written);
    throw;
  }
  if (const std::string warning = publish_output(posterior_partial, posterior, *posterior_before, posterior_written);
      !warning.empty())
    err << "brink calibrate: " << warning << "\n";
  // Printed even with --quiet, like every warning: the posterior is not what it seems.
  if (!record.warning.empty()) err << "brink calibrate: " << record.warning << "\n";
  if (!quiet)
    out << posterior_table(record, posterior_forecast(posterior.string(), target.string()))
        << closing_lines(target, posterior, record, this_run, threads);
  return kExitOk;
}

void inspect_calibration(const std::string& path, bool scenario_only, std::ostream& out) {
  const CalibrationRecord r = read_calibration_input(path, "");
  if (scenario_only) {
    out << r.scenario_text;
    return;
  }
  out << fmt::format("{}: brink calibration of {} (seed {}), {} of {} generations complete\n", path, r.scenario_label,
                     r.seed, r.generations.size(), r.planned_generations);
  for (const Population& p : r.generations) out << "  " << generation_line(p, r.planned_generations, -1.0);
  if (r.generations.empty()) return;
  // Judged from the particles (a file written before the check has no attribute).
  if (const std::string warning = conflict_warning(r); !warning.empty()) out << warning << "\n";
  out << posterior_table(r, posterior_forecast(posterior_scenario_path(path).string(), path));
  const Population& last = r.generations.back();
  const std::size_t m = r.observation_names.size();
  out << fmt::format("{:<44} {:>14} {:>14} {:>14}\n", "observation", "observed", "sd", "fitted (mean)");
  for (std::size_t o = 0; o < m; ++o) {
    double fitted = 0;
    for (std::size_t i = 0; i < last.size(); ++i) fitted += last.weight[i] * last.statistic[i * m + o];
    out << fmt::format("{:<44} {:>14.6g} {:>14.6g} {:>14.6g}\n", r.observation_names[o], r.observed[o],
                       r.observed_sd[o], fitted);
  }
}

}  // namespace brink
