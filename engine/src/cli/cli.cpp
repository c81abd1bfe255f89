#include "brink/cli/cli.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/calibrate/cli_calibrate.hpp"
#include "brink/cli/output_target.hpp"
#include "brink/cli/run_request.hpp"
#include "brink/io/hdf5_reader.hpp"
#include "brink/io/hdf5_writer.hpp"
#include "brink/io/recorder.hpp"
#include "brink/io/recovery.hpp"
#include "brink/io/resume_sums.hpp"
#include "brink/io/table.hpp"
#include "brink/io/variables.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/mpi/distributed.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/observations.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shipped.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/scenario/source_file.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/version.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "machine_memory.hpp"
#include "progress.hpp"
#include "read_check.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

// What ran out: the address-space limit when one is set ('ulimit -v'), else the machine's memory.
std::string out_of_memory_text() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    return fmt::format(
        "out of memory: this needs more than the process's address-space limit of {} MB allows "
        "(see 'ulimit -v')",
        limit.rlim_cur >> 20);
  return "out of memory: this needs more memory than the machine could give";
}

// What to do about a run that ran out of memory: sharding splits points
// only (docs/cluster.md), so a single point is told what shrinks it.
std::string memory_advice(const SweepPlan& plan) {
  if (plan.points_run() > 1)
    return "run fewer points or replications per process (e.g. --shard I/N per node), a sparser --timeseries "
           "every=K or fewer --threads";
  return "run fewer replications (-n), a sparser --timeseries every=K, a shorter horizon or fewer --threads";
}

// The least memory a run of `plan` on `threads` holds at once, in bytes
// (docs/sweeps.md "Memory and run time"): a point in flight keeps 9 + 8 x
// actors bytes per replication for its summary (adaptive: counted at min),
// and each block in flight its per-replication values and time series and
// its sums on the step axis, as the file stores them (the kernel's state and
// the queue come on top).
struct RunMemory {
  double summary = 0, blocks = 0;
  std::int64_t in_flight = 0;
};
RunMemory run_memory_at_least(const SweepPlan& plan, int threads) {
  const FileLayout layout = file_layout(plan);
  const std::int64_t replications = plan.rule.adaptive ? plan.rule.min : plan.replications;
  RunMemory m;
  m.summary = (9.0 + 8.0 * static_cast<double>(layout.length(Dim::kActor))) * static_cast<double>(replications);
  const double points = static_cast<double>(std::max<std::uint64_t>(1, layout.length(Dim::kPoint)));
  const double lanes = static_cast<double>(std::min<std::int64_t>(kBlockLanes, plan.replications));
  double block = 0;
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v) || layout.dtype(v) == Dtype::kString) continue;
    double elements = 1;
    for (std::uint64_t extent : layout.shape(v)) elements *= static_cast<double>(extent);
    const double size = static_cast<double>(dtype_size(layout.dtype(v)));
    if (v.kind == Kind::kPerRun || v.kind == Kind::kSeries)
      block += elements / points / static_cast<double>(layout.length(Dim::kReplication)) * lanes * size;
    else if (v.kind == Kind::kPerPoint && v.dims.has(Dim::kStep))
      block += elements / points * size;
  }
  const std::int64_t blocks = plan.points_run() * ((replications + kBlockLanes - 1) / kBlockLanes);
  m.in_flight = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, blocks));
  m.blocks = block * static_cast<double>(m.in_flight);
  return m;
}

// Refuses, before anything is written, a run whose memory cannot fit in
// this machine's, as `brink calibrate` does (check_calibration_size).
void check_run_memory(const SweepPlan& plan, int threads) {
  const std::optional<double> machine = machine_memory_bytes();
  if (!machine) return;  // unknown: the allocation itself will say
  const RunMemory m = run_memory_at_least(plan, threads);
  if (m.summary + m.blocks <= *machine) return;
  const std::int64_t replications = plan.rule.adaptive ? plan.rule.min : plan.replications;
  throw UsageError(fmt::format(
      "this run needs at least {:.3g} GB of memory ({:.3g} GB to summarize a point's {} replications, {:.3g} GB "
      "for {} block{} in flight of {} steps), more than this machine's {:.3g} GB; {}",
      (m.summary + m.blocks) / 1e9, m.summary / 1e9, replications, m.blocks / 1e9, m.in_flight,
      m.in_flight == 1 ? "" : "s", plan.model(0).steps(), *machine / 1e9, memory_advice(plan)));
}

constexpr const char* kTopUsage = R"(brink — Monte Carlo simulation of military-diplomatic crises

usage: brink <command> [options]

commands:
  run [SCENARIO]     simulate a scenario (default: the embedded jan-2022-standoff) and write HDF5
  validate SCENARIO  check a scenario file; errors as file:line:col: message
  inspect FILE       show what a brink HDF5 file holds and its outcome table
  scenarios          list the shipped scenarios
  params [SCENARIO]  list every settable path with its value, unit and range
  merge OUT SHARD... join the files of 'brink run --shard I/N' into the file one run writes
  calibrate SCENARIO fit the scenario's calibrate: priors to its observations: (ABC-SMC)

Run 'brink <command> --help' for a command's options, 'brink --version' for the
version and the kernel paths (instruction sets) built and usable on this CPU.
Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input.
)";

// A scenario argument is a file if one exists at that path, else a shipped name.

std::string command_line(int argc, const char* const* argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    const bool plain = arg.find_first_of(" \t'\"\\$") == std::string::npos && !arg.empty();
    if (!plain) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    line += (i ? " " : "") + arg;
  }
  return line;
}

int print_version(std::ostream& out) {
  std::vector<std::string> runnable;
  for (const auto& isa : built_isas())
    if (cpu_supports(isa)) runnable.push_back(isa);
  out << "brink " << engine_version() << "\n"
      << fmt::format("kernel paths built: {}\n", fmt::join(built_isas(), ", "))
      << "kernel paths this CPU runs: " << (runnable.empty() ? "none" : fmt::format("{}", fmt::join(runnable, ", ")))
      << "\n";
  try {
    const KernelTable& k = kernel();
    out << "kernel path used: " << k.isa << " (-march=" << k.march << ", engine sources " << k.fingerprint << ")\n";
  } catch (const std::exception& e) {
    out << "kernel path used: none (" << e.what() << ")\n";
  }
  out << "rest of the binary: -march=" << target_isa() << "\n"
      << "MPI: " << mpi_library() << "\n";
  return kExitOk;
}

// Printed before the simulation starts, so that a log shows what is running
// even if the run never finishes.
std::string run_header(const Scenario& scenario, const std::string& label, const SweepPlan& plan) {
  std::string text =
      fmt::format("scenario {} ({}), seed {}, {} steps of {} day{}\n", scenario.name, label, plan.run().seed,
                  plan.model(0).steps(), scenario.run.dt_days, scenario.run.dt_days == 1.0 ? "" : "s");
  const std::int64_t points = plan.point_count();
  text += fmt::format("{} point{} ({}), {} replications per point{}\n", points, points == 1 ? "" : "s",
                      plan.design.empty() ? "single point" : plan.design, plan.replications,
                      plan.rule.adaptive ? " at most (adaptive)" : "");
  if (!plan.why.empty()) text += plan.why + "\n";
  if (plan.sharded())
    text += fmt::format("shard {}/{}: {} of the {} points (p mod {} = {})\n", plan.shard_index, plan.shard_count,
                        plan.points_run(), points, plan.shard_count, plan.shard_index);
  if (!plan.base->sweep.constraints.empty())
    text += fmt::format("{} design point{} rejected by the sweep's constraints\n", plan.rejected_points,
                        plan.rejected_points == 1 ? "" : "s");
  return text;
}

// Replays what a partial file keeps, point by point in block order, so that
// the scheduler makes the same decisions and an adaptive sweep resumes
// exactly where it stopped. A published point's summary is read back; its
// blocks (their per-replication values; none for a point of one block) only
// complete the scheduler's rounds. A point not published is summarized from
// the first blocks its resume sums cover and those sums.
// The warning for the points of an adaptive run that stopped at max short of
// ci_halfwidth, or "" when every point reached it.
std::string precision_warning(const PrecisionShortfall& shortfall, const SweepPlan& plan, const std::string& file) {
  if (shortfall.points == 0) return {};
  const std::int64_t points = plan.points_run();
  return fmt::format(
      "warning: {} stopped at run.replications.max = {} replications with an outcome's 95% interval wider than "
      "ci_halfwidth = {} asked for: the widest half-width is {:.3g}{}; raise max for the precision asked, or read "
      "those intervals as they are ('brink inspect {}' lists the points)",
      points == 1 ? std::string("the point") : fmt::format("{} of {} points", shortfall.points, points), plan.rule.max,
      plan.rule.ci_halfwidth, shortfall.widest,
      points == 1 ? std::string() : fmt::format(" (point {})", shortfall.widest_point), file);
}

// The warning for screening (Saltelli or Morris) under independent random
// numbers, or "": each point's Monte Carlo noise then reads as an effect of
// the parameters, and more --samples do not remove it (docs/sweeps.md,
// "Monte Carlo noise").
std::string screening_noise_warning(const SweepPlan& plan) {
  if ((!plan.sensitivity && !plan.morris) || plan.run().common_random) return {};
  return fmt::format(
      "warning: {} under independent random numbers take each point's Monte Carlo noise for an effect of the "
      "parameters, so a parameter with no effect gets {}, however many --samples; add --set "
      "run.random_numbers=common (docs/sweeps.md, \"Monte Carlo noise\")",
      plan.sensitivity ? "Sobol' indices" : "Morris elementary effects",
      plan.sensitivity ? "a total index near noise / (variance + noise)" : "a mu* above 0");
}

void replay_partial(const SweepPlan& plan, Hdf5Writer& writer, Recorder& recorder, BlockScheduler& scheduler,
                    CountingSink& counting) {
  std::vector<std::uint8_t> done = writer.finished_blocks();
  std::vector<std::int64_t> published = writer.published_replications();
  plan.trust_consistent(done, published);
  // Test hook: a signal as the read-back starts, which takes seconds on a large file.
  if (std::getenv("BRINK_TEST_SIGNAL_AT_REPLAY") != nullptr) std::raise(SIGTERM);
  try {
    writer.drop_unreadable(plan, done, published);
  } catch (const OutputInterrupted&) {
    throw Interrupted();  // nothing was written yet: the partial is as it was
  }
  const std::vector<ResumeSums> sums = writer.resume_sums(published);
  const std::vector<std::int64_t> first_blocks = resume_blocks(plan, sums, done, published);
  const std::vector<std::uint8_t> kept = plan.kept_on_resume(std::move(done), published, first_blocks);
  const std::int64_t per_point = plan.blocks_per_point();
  for (std::int64_t p = 0; p < plan.point_count(); ++p) {
    if (interrupted()) throw Interrupted();
    const bool is_published = published[static_cast<std::size_t>(p)] > 0;
    bool finished = false, any = false;
    Hdf5Writer::OutcomeCounts counted{};  // the outcomes of the blocks read back, which its summary must count
    for (std::int64_t b = 0; b < per_point; ++b) {
      if (!kept[static_cast<std::size_t>(p * per_point + b)]) continue;
      any = true;
      BlockResult block;
      if (per_point > 1) {
        block = writer.read_block(plan.block(p, b));  // outcomes in range: read_block checks them
        for (const std::int8_t o : block.outcome) ++counted[static_cast<std::size_t>(o)];
      } else {
        block.spec = plan.block(p, b);
      }
      if (!is_published) {
        recorder.restore(block);
        if (b + 1 == first_blocks[static_cast<std::size_t>(p)])
          recorder.restore_sums(*std::find_if(sums.begin(), sums.end(),
                                              [&](const ResumeSums& s) { return s.point == p && s.blocks == b + 1; }));
      }
      finished = scheduler.complete(block);
    }
    if (!any) continue;
    if (is_published)
      recorder.record(writer.read_summary(p, per_point > 1 ? &counted : nullptr));
    else if (finished)
      recorder.point_finished(p, scheduler.replications(p));
    if (is_published || finished) counting.add_restored_point();
  }
}

int command_run(const std::vector<std::string>& args, int argc, const char* const* argv, std::ostream& out,
                std::ostream& err) {
  po::options_description options(
      "brink run [SCENARIO] [options]\n\n"
      "Simulates SCENARIO (a file, or a shipped name; default: jan-2022-standoff),\n"
      "prints outcome probabilities with 95% Wilson intervals and writes an HDF5 file.\n\n"
      "options");
  std::string output, replications, seed, threads, timeseries, design, samples, isa, shard, posterior, posterior_draws;
  std::vector<std::string> sets, sweeps, levers;
  options.add_options()("help,h", "show this help")("output,o", po::value(&output),
                                                    "HDF5 file to write (default: out/<scenario name>.h5)")(
      "replications,n", po::value(&replications), "replications per point (default: the scenario's run.replications)")(
      "seed,s", po::value(&seed), "random seed (default: the scenario's run.seed)")("threads,t", po::value(&threads),
                                                                                    kThreadsHelp)(
      "set", po::value(&sets)->composing(),
      "override a scenario field by its dotted path, e.g. --set actors.RUS.forces.deployed=150000 or "
      "--set combat.law=linear (repeatable)")(
      "timeseries", po::value(&timeseries),
      "record troops, rung and tension every K steps: --timeseries every=K (with --summary-only: no series, "
      "the summaries over time every K steps)")(
      "sweep", po::value(&sweeps)->composing(),
      "sweep a parameter: --sweep PATH=v1,v2,... (grid values; names for a text field) or PATH=min:max[:log] "
      "(range); --sweep scenario=a.yaml,b.yaml sweeps over scenario files; repeatable, adds to or replaces the "
      "scenario's sweep axes")("design", po::value(&design), "sweep design: grid, random, lhs, sobol or morris")(
      "lever", po::value(&levers)->composing(),
      "a policy lever of a mixed design: --lever PATH=v1,v2,...; every combination of the levers runs the same "
      "sampled points of the --sweep ranges (repeatable)")(
      "samples", po::value(&samples),
      "points of a random, lhs or sobol design, trajectories of a morris one (d+1 points each); with --sensitivity, "
      "Saltelli's base rows N, giving N·(d+2) points")(
      "sensitivity", "Sobol sensitivity indices of the outcome probabilities and mean casualties (Saltelli plan)")(
      "summary-only",
      "write per-point summaries only, no per-replication variables (--timeseries every=K thins their step axis)")(
      "quiet,q", "print nothing but errors")("no-table",
                                             "keep the header, progress and final line, but print no outcome table")(
      "resume", "continue an interrupted run from FILE.partial (same scenario, --set options and seed)")(
      "isa", po::value(&isa),
      "force the kernel's instruction-set path: avx2 or avx512 (default: the best this CPU runs; "
      "'brink --version' lists them)")("overwrite",
                                       "replace an existing FILE and discard an interrupted run's FILE.partial")(
      "shard", po::value(&shard),
      "run only shard I of N (the points p with p mod N = I) into its own file, for job arrays: --shard I/N; "
      "'brink merge' joins the N files into the file one run writes")(
      "posterior", po::value(&posterior),
      "draw the calibrated parameters from a 'brink calibrate' file's posterior: every replication its own "
      "parameter set where every calibrated field is per-lane, else one per 256 replications (the header says "
      "which)")("posterior-draws", po::value(&posterior_draws),
                "with --posterior: run K sweep points, one per drawn parameter set, instead of a draw per replication "
                "(at most 1000)");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "scenario", out, &vm, &operands)) return kExitOk;
  std::vector<Override> settings;                                    // --set, then run settings given as flags
  for (const auto& s : sets) settings.push_back(parse_override(s));  // UTF-8 already (run_command)
  // After the --set values: `--set PATH VALUE` leaves VALUE an operand, and the missing '=' is the mistake.
  std::optional<std::string> scenario_arg;
  if (operands.size() > 1) throw UsageError(fmt::format("run takes one SCENARIO, got {}", operands.size()));
  if (!operands.empty()) scenario_arg = operands.front();
  const bool quiet = vm.count("quiet") > 0;
  const bool table = !quiet && vm.count("no-table") == 0;

  if (vm.count("replications"))
    settings.push_back(
        {"run.replications", std::to_string(parse_setting("--replications", replications, "run.replications"))});
  if (vm.count("seed")) settings.push_back({"run.seed", std::to_string(parse_setting("--seed", seed, "run.seed"))});
  if (vm.count("timeseries")) {
    if (timeseries.rfind("every=", 0) != 0)
      throw UsageError(
          fmt::format("--timeseries takes every=K (K steps between records), got '{}'", shown(timeseries)));
    settings.push_back(
        {"output.timeseries_every",
         std::to_string(parse_setting("--timeseries every", timeseries.substr(6), "output.timeseries_every", 1))});
  }
  int thread_count =
      !vm.count("threads") ? usable_cpus() : static_cast<int>(parse_count("--threads", threads, 1, 1024));
  if (thread_count > max_threads()) {
    if (!quiet)
      err << fmt::format("brink run: --threads {} is more than {} (4 per usable CPU); using {}\n", thread_count,
                         max_threads(), max_threads());
    thread_count = max_threads();
  }

  // With --summary-only, --timeseries every=K writes no series: it thins the summaries' step axis alone.
  if (vm.count("summary-only")) settings.push_back({"output.runs", "false"});
  const ScenarioSource source = resolve_scenario(scenario_arg);
  if (vm.count("posterior-draws") && !vm.count("posterior"))
    throw UsageError("--posterior-draws needs --posterior FILE");
  if (vm.count("resume") && vm.count("overwrite"))
    throw UsageError("--resume continues FILE.partial and --overwrite discards it; give one of them");
  if (vm.count("design") && design.empty()) throw UsageError("--design needs a design name, got an empty one");
  RunRequest request{settings, sweeps, levers, design, 0, vm.count("sensitivity") > 0, posterior, 0, {}};
  if (vm.count("samples"))
    request.samples = static_cast<std::int64_t>(parse_count("--samples", samples, 1, 10'000'000));
  if (vm.count("posterior-draws"))
    request.posterior_draws = static_cast<std::int64_t>(parse_count("--posterior-draws", posterior_draws, 1, 1000));
  LoadedScenario loaded;
  SweepPlan plan = build_run_plan(source, request, &loaded);
  if (vm.count("shard")) std::tie(plan.shard_index, plan.shard_count) = parse_shard(shard);  // not in the overrides

  if (vm.count("output") && output.empty()) throw UsageError("--output needs a file name, got an empty one");
  const fs::path target = !vm.count("output") ? default_output_path(loaded.scenario.name) : fs::path(output);
  std::vector<fs::path> inputs{"/proc/self/exe"};
  if (std::error_code ec; scenario_arg && fs::exists(*scenario_arg, ec)) inputs.emplace_back(*scenario_arg);
  for (const ScenarioChoice& choice : plan.choices) inputs.emplace_back(choice.path);
  if (!posterior.empty()) inputs.emplace_back(posterior);
  check_output_path(target, inputs);
  prepare_output_directory(target, !vm.count("output"));
  check_run_memory(plan, thread_count);
  const std::string space_warning =
      check_disk_space(target, output_bytes(plan),
                       bytes_reused(target.string() + ".partial", vm.count("resume") > 0, vm.count("overwrite") > 0));
  // The run writes beside the target and renames at the end, so a failed or
  // interrupted run never replaces existing results. The partial file is kept
  // and records which blocks it holds, so that --resume can continue it.
  const fs::path partial = target.string() + ".partial";
  const OutputLock lock(target.string() + ".lock");  // held until the result is in place
  refuse_partial_in_use(partial, target.string() + ".lock", vm.count("resume") > 0);
  const FileIdentity target_before = identity_of(target);
  refuse_existing_result(target, vm.count("overwrite") > 0, vm.count("resume") > 0, "write the result");
  // The finished blocks of the partial file that --resume would keep
  // (SweepPlan::kept_on_resume), or -1 if it cannot tell.
  auto resumable_blocks = [&]() -> std::int64_t {
    std::optional<FinishedWork> work = finished_work(partial.string());
    if (!work || work->blocks.size() != static_cast<std::size_t>(plan.total_blocks()) ||
        work->published.size() != static_cast<std::size_t>(plan.point_count()))
      return -1;
    plan.trust_consistent(work->blocks, work->published);
    const std::vector<std::uint8_t> kept = plan.kept_on_resume(
        work->blocks, work->published, resume_blocks(plan, work->resume_sums, work->blocks, work->published));
    return std::count(kept.begin(), kept.end(), std::uint8_t{1});
  };
  // The partial to resume: every object's metadata read back first, in a
  // child (damage there can crash HDF5). The writer reads only what it names,
  // so damage elsewhere passed and was published; damage it does read was
  // told as another run's file or another format.
  if (std::error_code ec; vm.count("resume") && fs::exists(partial, ec)) {
    const std::string advice = "; start over with --overwrite instead of --resume";
    read_in_child(partial.string(), kCheckMetadata, {partial.string(), advice}, advice, false);
  }
  const bool resuming =
      decide_resume(partial, vm.count("resume") > 0, vm.count("overwrite") > 0, quiet, err, resumable_blocks);

  if (resuming && !plan.write_runs)
    throw UsageError(
        "--summary-only cannot be combined with --resume, because a summary-only output keeps no per-replication "
        "data to continue from; resume without --summary-only, or start over with --overwrite");
  choose_kernel(vm.count("isa") ? std::optional(isa) : std::nullopt, resuming ? std::optional(partial) : std::nullopt);
  // A resumed file describes the run it completes (it keeps its command_line
  // and scenario_source): its rerun commands name the scenario as that run
  // spelled it, whichever path reached the same file now.
  if (resuming)
    if (std::string recorded = read_root_text(partial.string(), "scenario_source"); !recorded.empty())
      plan.scenario_label = std::move(recorded);
  OutputMetadata metadata{source.label, source.text, recorded_options(request), command_line(argc, argv)};

  catch_interruptions();
  const Model& model = plan.model(0);
  if (!quiet && !model.scenario().run.start_date.empty() && !calendar_is_decodable(model.scenario()))
    err << fmt::format(
        "brink run: note: the run's dates, {} and {} days on, leave 1677-09-22 to 2262-04-11 (numpy's "
        "datetime64, which xarray decodes dates into), so the file has no 'time' coordinate, only 'day'\n",
        model.scenario().run.start_date, model.scenario().step_count() * model.scenario().run.dt_days);
  if (!quiet)
    for (const std::string& note : scenario_notes(model.scenario())) err << "brink run: note: " << note << "\n";
  if (!space_warning.empty()) err << "brink run: " << space_warning << "\n";
  // Printed even with --quiet, like every warning: the indices are biased, not just noisy.
  if (const std::string warning = screening_noise_warning(plan); !warning.empty())
    err << "brink run: " << warning << "\n";
  if (!quiet) out << run_header(loaded.scenario, source.label, plan) << std::flush;
  // Test hooks: dies like kill -9, or fails as a run can for reasons of its
  // own (an I/O error, memory), once this many blocks are recorded.
  const char* kill_hook = std::getenv("BRINK_TEST_KILL_AFTER_BLOCKS");
  const std::int64_t kill_after = kill_hook ? std::atoll(kill_hook) : 0;
  const char* fail_hook = std::getenv("BRINK_TEST_FAIL_AFTER_BLOCKS");
  const std::int64_t fail_after = fail_hook ? std::atoll(fail_hook) : 0;
  std::vector<PointSummary> summaries;  // every point's, where the plan keeps them (Recorder::summaries)
  TableRows table_rows;
  std::int64_t replications_run = 0, replications_kept = 0;
  PrecisionShortfall shortfall;
  Screening screening;
  FileIdentity written;  // the partial this run holds open, once it is open
  // A file this run started that holds nothing to resume from (no finished
  // block it would keep, or --summary-only) is no result: after a failure it
  // goes. True if it went.
  auto discard_if_nothing_to_resume = [&] {
    if (resuming || (plan.write_runs && resumable_blocks() > 0)) return false;
    remove_own_file(partial, written);
    return true;
  };
  // After a failure: what the partial file keeps for --resume, or "" when it went.
  auto kept_for_resume = [&]() -> std::string {
    if (discard_if_nothing_to_resume()) return {};
    const std::int64_t kept = std::max<std::int64_t>(0, resumable_blocks());
    return fmt::format("{} finished block{} kept in {}", kept, kept == 1 ? "" : "s", partial.string());
  };
  std::optional<Progress> progress;
  try {
    std::optional<Hdf5Writer> created;
    try {
      created.emplace(partial.string(), plan, metadata,
                      resuming ? Hdf5Writer::Mode::kResume : Hdf5Writer::Mode::kCreate, &interruption_flag());
    } catch (const OutputInterrupted&) {
      throw Interrupted();  // the file is incomplete and holds no block: handled as any interruption
    }
    Hdf5Writer& writer = *created;
    written = held_file(writer.file_identity());
    const PartialHold hold(partial);
    Recorder recorder(plan, &writer);
    CountingSink counting(recorder);
    const ProgressStyle style = quiet                   ? ProgressStyle::kNone
                                : isatty(STDERR_FILENO) ? ProgressStyle::kBar
                                                        : ProgressStyle::kLines;
    // Lines at least every 10 s (BRINK_TEST_PROGRESS_EVERY_MS shortens it for tests, as for calibrate).
    const char* every = std::getenv("BRINK_TEST_PROGRESS_EVERY_MS");
    progress.emplace(err, style, counting, plan.points_run(), model.steps(),
                     every ? std::chrono::milliseconds(std::max(1, std::atoi(every))) : std::chrono::seconds(10),
                     plan.rule.adaptive);
    // The heartbeat reads `counting`: it stops before `counting` goes, however this block is left.
    struct HeartbeatStop {
      std::optional<Progress>& progress;
      ~HeartbeatStop() { progress->stop_heartbeat(); }
    } heartbeat_stop{progress};
    BlockScheduler scheduler(plan);
    if (resuming) replay_partial(plan, writer, recorder, scheduler, counting);
    progress->begin(scheduler.blocks_completed(), scheduler.blocks_planned());
    const RunJob job{source, recorded_options(request), vm.count("threads") ? thread_count : 0};
    execute_run(
        plan, thread_count, counting,
        [&](std::int64_t done, std::int64_t total) {
          if (kill_after > 0 && done >= kill_after) std::raise(SIGKILL);
          if (fail_after > 0 && done >= fail_after)
            throw std::runtime_error("the failure BRINK_TEST_FAIL_AFTER_BLOCKS asks for");
          if (interrupted()) {
            progress->interrupted();
            throw Interrupted();
          }
          progress->update(done, total);
        },
        &scheduler, &interruption_flag(), job);
    if (interrupted()) throw Interrupted();
    summaries = recorder.summaries();
    table_rows = recorder.table();
    replications_run = counting.replications();  // simulated now: a resume's kept blocks are no speed
    replications_kept = recorder.replications() - replications_run;
    shortfall = recorder.shortfall();
    screening = recorder.finish();
  } catch (const ResumeMismatch& e) {
    throw UsageError(e.what());
  } catch (const Interrupted&) {
    if (!plan.write_runs) {
      remove_own_file(partial, written);  // holds no per-replication data to resume from
      throw std::runtime_error("interrupted; a --summary-only run cannot be resumed, run it again");
    }
    const std::string kept = kept_for_resume();
    if (kept.empty()) throw std::runtime_error("interrupted before a block finished; nothing was kept, run it again");
    throw std::runtime_error(fmt::format("interrupted; {}; continue with --resume", kept));
  } catch (const OutputError& e) {
    const std::string kept = kept_for_resume();
    if (!is_space_errno(last_io_errno())) {
      if (kept.empty()) throw;
      throw std::runtime_error(fmt::format("{}; {}; continue with --resume", e.what(), kept));
    }
    const char* remedy = last_io_errno() == EFBIG ? "raise the file size limit ('ulimit -f')" : "free space";
    if (kept.empty())
      throw std::runtime_error(fmt::format("{}; nothing could be kept; {} and run again", e.what(), remedy));
    throw std::runtime_error(fmt::format("{}; {}; {} and run again with --resume", e.what(), kept, remedy));
  } catch (const std::bad_alloc&) {
    const std::string kept = kept_for_resume();
    if (kept.empty()) throw std::runtime_error(fmt::format("{}; {}", out_of_memory_text(), memory_advice(plan)));
    throw std::runtime_error(
        fmt::format("{}; {}; continue with --resume where more memory is free", out_of_memory_text(), kept));
  } catch (const std::exception& e) {  // a worker thread that cannot start, ...
    const std::string kept = kept_for_resume();
    if (kept.empty()) throw;
    throw std::runtime_error(fmt::format("{}; {}; continue with --resume", e.what(), kept));
  }
  lock.vouch_for(partial, written);
  if (const std::string warning = publish_output(partial, target, target_before, written); !warning.empty())
    err << "brink run: " << warning << "\n";
  // Printed even with --quiet, like every warning: the intervals are wider than the run asked for.
  if (const std::string warning = precision_warning(shortfall, plan, target.string()); !warning.empty())
    err << "brink run: " << warning << "\n";
  const double seconds = progress ? progress->elapsed() : 0.0;
  if (table) {
    std::vector<std::string> actors;
    for (const auto& a : loaded.scenario.actors) actors.push_back(a.id);
    if (vm.count("posterior"))  // integrated over the posterior draws
      out << format_pooled_table(pooled_summary(summaries), static_cast<std::int64_t>(summaries.size()), actors,
                                 plan.run().dt_days);
    else
      out << format_outcome_table(table_rows, actors, plan.parameters, values_of(plan.points), plan.parameter_choices,
                                  plan.run().dt_days);
    if (!screening.sobol.empty())
      out << format_sensitivity_table(screening.sobol, screening.outputs, plan.parameters, plan.base_samples);
    if (!screening.morris.empty()) out << format_morris_table(screening.morris, screening.outputs, plan.parameters);
  }
  if (!quiet) {
    const double rep_steps = static_cast<double>(replications_run) * model.steps();
    const double simulating = progress ? progress->simulating() : 0.0;
    const std::string kept =
        replications_kept > 0
            ? fmt::format("; {} replications simulated, {} kept from the partial", replications_run, replications_kept)
            : "";
    out << fmt::format("wrote {} in {:.2f} s ({:.3g} replication-steps/s on {}, {} kernel{})\n", target.string(),
                       seconds, simulating > 0 ? rep_steps / simulating : 0.0, describe_workers(thread_count),
                       kernel().isa, kept);
  }
  return kExitOk;
}

}  // namespace

void choose_kernel(const std::optional<std::string>& requested, const std::optional<fs::path>& resumed) {
  if (resumed) {
    // "" when the file cannot be read: the reader of the partial then says why it cannot be resumed.
    const std::string recorded = read_root_text(resumed->string(), "target_isa");
    if (recorded.empty()) return;
    if (requested && *requested != recorded)
      throw UsageError(
          fmt::format("--isa {} differs from the {} path that wrote {}; a resumed file continues on "
                      "its recorded path, so drop --isa",
                      *requested, recorded, resumed->string()));
    try {
      select_kernel(recorded);
    } catch (const IsaUnavailable& e) {
      throw IsaUnavailable(fmt::format("{} was written by the {} path: {}", resumed->string(), recorded, e.what()));
    }
    return;
  }
  // Loaded now, before any file is written: a kernel that cannot load stops the run with nothing left behind.
  select_kernel(requested ? *requested : default_isa());
}

bool parse_command(const std::vector<std::string>& args, const po::options_description& options, const char* operand,
                   std::ostream& out, po::variables_map* vm, std::vector<std::string>* operands) {
  po::options_description hidden;
  hidden.add_options()(operand, po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add(operand, -1);
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), *vm);
  po::notify(*vm);
  if (vm->count("help")) {
    out << options << "\n";
    return false;
  }
  if (vm->count(operand)) *operands = (*vm)[operand].as<std::vector<std::string>>();
  return true;
}

std::string shown_argument(const std::string& text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  auto name = [](char c) {
    return c == '\t' ? std::string("\\t") : c == '\n' ? std::string("\\n") : c == '\r' ? "\\r" : std::string(1, c);
  };
  if (std::all_of(text.begin(), text.end(), blank)) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && out.size() < 60; ++i) out += name(text[i]);
    return out;
  }
  std::string out = shown(text);
  if (blank(text.front())) out.insert(0, name(text.front()));
  if (blank(text.back()) && out.size() <= 60) out += name(text.back());
  return out;
}

std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t min, std::uint64_t max) {
  // Written as a scenario file writes counts (1e5, 100_000), so `-n 1e5` is
  // `replications: 1e5`. Every max is at most 2^53 - 1, where doubles hold
  // every whole number exactly.
  if (const std::string zero = leading_zero_refusal(flag, text); !zero.empty()) throw UsageError(zero);
  double value = 0;
  if (!parse_scenario_number(text, &value) || value != std::floor(value) || value < static_cast<double>(min) ||
      value > static_cast<double>(max))
    throw UsageError(
        fmt::format("{} must be a whole number in [{}, {}], got '{}'", flag, min, max, shown_argument(text)));
  return static_cast<std::uint64_t>(value);
}

std::uint64_t parse_setting(const std::string& flag, const std::string& text, std::string_view pattern,
                            std::uint64_t least) {
  const FieldSpec& field = field_row(pattern);
  return parse_count(flag, text, std::max(least, static_cast<std::uint64_t>(field.min)),
                     static_cast<std::uint64_t>(field.max));
}

ScenarioSource resolve_scenario(const std::optional<std::string>& argument) {
  if (!argument) {
    const ShippedScenario* flagship = find_shipped(kFlagshipScenario);
    return {std::string(flagship->path), std::string(flagship->text)};
  }
  // A path that cannot even be checked (too long, no permission) is read, so the reader names the reason.
  if (std::error_code ec; fs::exists(*argument, ec) || (ec && ec != std::errc::no_such_file_or_directory))
    return read_scenario_file(*argument);
  if (const ShippedScenario* shipped = find_shipped(*argument))
    return {std::string(shipped->path), std::string(shipped->text)};
  std::string names;
  for (const auto& s : shipped_scenarios()) names += (names.empty() ? "" : ", ") + std::string(s.name);
  throw UsageError(fmt::format("no scenario file '{}' exists and no shipped scenario has that name (shipped: {})",
                               escaped(*argument), names));
}

namespace {

int run_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace

std::string without_mpi_refusal(std::string_view command, int processes, bool built_with_mpi) {
  if (built_with_mpi || processes <= 1 || (command != "run" && command != "calibrate")) return {};
  return fmt::format(
      "brink {}: started as {} processes by an MPI launcher, but this brink was built without MPI "
      "('brink --version' says 'MPI: no'); run it without mpirun, or build it with MPI "
      "(docs/cluster.md)",
      command, processes);
}

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  // The child that reads an input file first (read_check.hpp): one process,
  // outside any MPI job its parent belongs to.
  if (argc >= 2 && std::string_view(argv[1]) == kReadCheckCommand)
    return command_read_check(std::vector<std::string>(argv + 2, argv + argc), out, err);
  arm_read_checks();
  if (argc >= 2 && launched_by_mpi()) {
    if (const std::string refusal = without_mpi_refusal(argv[1], launcher_size(), mpi_library() != "no");
        !refusal.empty()) {
      if (launcher_rank() == 0) err << refusal << "\n";  // one rank says so; all stop
      return kExitUsage;
    }
  }
  // Under mpirun or srun, rank 0 runs `brink run` and the other ranks serve it (src/mpi).
  if (argc >= 2 && std::string_view(argv[1]) == "run" && launched_by_mpi())
    return run_as_mpi_rank(argc, argv, out, err, &run_command, &plan_of_job);
  // A calibration's ranks run in lockstep and share each batch of candidates.
  if (argc >= 2 && std::string_view(argv[1]) == "calibrate" && launched_by_mpi())
    return run_in_lockstep(argc, argv, out, err, &run_command);
  if (launched_by_mpi()) return run_alone_under_mpi(argc, argv, out, err, &run_command);
  return run_command(argc, argv, out, err);
}

namespace {

// A command that writes a result records its command line, scenario path and
// output path as UTF-8 text attributes, which netCDF readers (xarray) decode:
// raw bytes that are not UTF-8 would make the file unreadable to them.
void refuse_text_that_is_not_utf8(const std::vector<std::string>& args) {
  for (const std::string& arg : args)
    if (first_invalid_utf8(arg) != std::string_view::npos)
      throw UsageError(fmt::format(
          "the argument '{}' is not valid UTF-8, and the result file records its command line and paths as UTF-8 "
          "text that netCDF readers decode; rename the file or directory to a UTF-8 name",
          escaped(arg)));
}

int run_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  // After a failed write (disk full) H5Fclose fails and HDF5 1.10.8's exit
  // handler then crashes on the half-closed file; every file is closed explicitly.
  // Failures are reported as sentences, not HDF5 stacks.
  quiet_hdf5_errors();
  // Past `ulimit -f`, write() then fails with EFBIG, which is reported, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // A reader that stops early (`brink params | head -1`) makes a write fail
  // with EPIPE, which main() takes as the reader's choice (exit 0), instead
  // of killing the process (exit 141).
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    err << kTopUsage;
    return kExitUsage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      out << kTopUsage;
      return kExitOk;
    }
    if (command == "--version" && !args.empty())
      throw UsageError(fmt::format("--version takes no operand, got '{}'", shown(args.front())));
    if (command == "--version") return print_version(out);
    if (command == "run" || command == "calibrate" || command == "merge") refuse_text_that_is_not_utf8(args);
    if (command == "run") return command_run(args, argc, argv, out, err);
    if (command == "validate") return command_validate(args, out, err);
    if (command == "inspect") return command_inspect(args, out);
    if (command == "scenarios") return command_scenarios(args, out);
    if (command == "params") return command_params(args, out);
    if (command == "merge") return command_merge(args, command_line(argc, argv), out, err);
    if (command == "calibrate") return command_calibrate(args, argc, argv, out, err);
    err << fmt::format(
        "brink: unknown command '{}'; commands are run, validate, inspect, scenarios, params, merge, "
        "calibrate\n",
        shown(command));
    return kExitUsage;
  } catch (const ScenarioError& e) {
    // A file's diagnostic reads as a compiler's (file:line:column: ...); one
    // about an option (--set, --sweep, ...) names the command, as other usage errors do.
    // So does one about the sweep as the command line and the file leave it together (source "sweep").
    for (const auto& d : e.diagnostics())
      err << (d.source.starts_with("-") || d.source == "sweep" ? "brink " + command + ": " : "") << d.format() << "\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    // Messages quote the command line (Boost's own do, unescaped): one line, nothing that drives the terminal.
    err << "brink " << command << ": " << escaped(e.what()) << "\n";
    return kExitUsage;
  } catch (const IsaUnavailable& e) {
    err << "brink " << command << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const OutputRefused& e) {
    err << "brink " << command << ": " << escaped(e.what()) << "\n";
    return kExitUsage;
  } catch (const DamagedInput& e) {  // an input file, named in the message: bad input
    err << "brink " << command << ": " << escaped(e.what()) << "\n";
    return kExitUsage;
  } catch (const po::error& e) {
    err << "brink " << command << ": " << escaped(e.what()) << " (see 'brink " << command << " --help')\n";
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    // Only a run has points to spread over processes; inspect, merge and
    // calibrate are told only what the limit is.
    err << "brink " << command << ": " << out_of_memory_text()
        << (command == "run" ? "; run fewer points or replications per process (e.g. --shard I/N per node)" : "")
        << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    err << "brink " << command << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace

}  // namespace brink
