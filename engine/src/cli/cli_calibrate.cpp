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
#include "calibrate_generations.hpp"
#include "calibrate_options.hpp"
#include "calibrate_summary.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "machine_memory.hpp"
#include "posterior_check.hpp"
#include "read_check.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

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

// Where the posterior scenario goes: OUT with .posterior.yaml.
fs::path posterior_scenario_path(const fs::path& target) {
  return fs::path(target).replace_extension(".posterior.yaml");
}

namespace {

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
                            const CalibrateOptions& o) {
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
      const CalibrateOptions& o = a.o;
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

}  // namespace brink
