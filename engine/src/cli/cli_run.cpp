// `brink run`: a scenario (or a sweep of it) simulated into an HDF5 file.
// The command reads its options into a run plan, prepares and locks the
// output, decides whether an interrupted run is resumed (replaying what its
// partial file keeps), simulates, publishes the file and prints the outcome
// table; a failure says what the partial keeps for --resume.
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "brink/calibrate/cli_calibrate.hpp"
#include "brink/cli/cli.hpp"
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
#include "brink/scenario/observations.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/sweep/executor.hpp"
#include "brink/sweep/plan.hpp"
#include "commands.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "read_check.hpp"
#include "run_memory.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

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

// Replays what a partial file keeps, point by point in block order, so that
// the scheduler makes the same decisions and an adaptive sweep resumes
// exactly where it stopped. A published point's summary is read back; its
// blocks (their per-replication values; none for a point of one block) only
// complete the scheduler's rounds. A point not published is summarized from
// the first blocks its resume sums cover and those sums.
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

// The values of `brink run`'s options as the command line gives them.
struct RunFlags {
  std::string output, replications, seed, threads, timeseries, design, samples, isa, shard, posterior, posterior_draws;
  std::vector<std::string> sets, sweeps, levers;
};

po::options_description run_options(RunFlags& f) {
  po::options_description options(
      "brink run [SCENARIO] [options]\n\n"
      "Simulates SCENARIO (a file, or a shipped name; default: jan-2022-standoff),\n"
      "prints outcome probabilities with 95% Wilson intervals and writes an HDF5 file.\n\n"
      "options");
  options.add_options()("help,h", "show this help")("output,o", po::value(&f.output),
                                                    "HDF5 file to write (default: out/<scenario name>.h5)")(
      "replications,n", po::value(&f.replications),
      "replications per point (default: the scenario's run.replications)")(
      "seed,s", po::value(&f.seed), "random seed (default: the scenario's run.seed)")(
      "threads,t", po::value(&f.threads), kThreadsHelp)(
      "set", po::value(&f.sets)->composing(),
      "override a scenario field by its dotted path, e.g. --set actors.RUS.forces.deployed=150000 or "
      "--set combat.law=linear (repeatable)")(
      "timeseries", po::value(&f.timeseries),
      "record troops, rung and tension every K steps: --timeseries every=K (with --summary-only: no series, "
      "the summaries over time every K steps)")(
      "sweep", po::value(&f.sweeps)->composing(),
      "sweep a parameter: --sweep PATH=v1,v2,... (grid values; names for a text field) or PATH=min:max[:log] "
      "(range); --sweep scenario=a.yaml,b.yaml sweeps over scenario files; repeatable, adds to or replaces the "
      "scenario's sweep axes")("design", po::value(&f.design), "sweep design: grid, random, lhs, sobol or morris")(
      "lever", po::value(&f.levers)->composing(),
      "a policy lever of a mixed design: --lever PATH=v1,v2,...; every combination of the levers runs the same "
      "sampled points of the --sweep ranges (repeatable)")(
      "samples", po::value(&f.samples),
      "points of a random, lhs or sobol design, trajectories of a morris one (d+1 points each); with --sensitivity, "
      "Saltelli's base rows N, giving N·(d+2) points")(
      "sensitivity", "Sobol sensitivity indices of the outcome probabilities and mean casualties (Saltelli plan)")(
      "no-file-sweep", "ignore the scenario file's own sweep: block (--sweep options still apply)")(
      "summary-only",
      "write per-point summaries only, no per-replication variables (--timeseries every=K thins their step axis)")(
      "quiet,q", "print nothing but errors")("no-table",
                                             "keep the header, progress and final line, but print no outcome table")(
      "resume", "continue an interrupted run from FILE.partial (same scenario, --set options and seed)")(
      "isa", po::value(&f.isa),
      "force the kernel's instruction-set path: avx2 or avx512 (default: the best this CPU runs; "
      "'brink --version' lists them)")("overwrite",
                                       "replace an existing FILE and discard an interrupted run's FILE.partial")(
      "shard", po::value(&f.shard),
      "run only shard I of N (the points p with p mod N = I) into its own file, for job arrays: --shard I/N; "
      "'brink merge' joins the N files into the file one run writes")(
      "posterior", po::value(&f.posterior),
      "draw the calibrated parameters from a 'brink calibrate' file's posterior: every replication its own "
      "parameter set where every calibrated field is per-lane, else one per 256 replications (the header says "
      "which)")("posterior-draws", po::value(&f.posterior_draws),
                "with --posterior: run K sweep points, one per drawn parameter set, instead of a draw per replication "
                "(at most 1000)");
  return options;
}

// The run settings given as flags (-n, --seed, --timeseries every=K,
// --summary-only), after the --set values already in `settings`.
void add_flag_settings(const po::variables_map& vm, const RunFlags& f, std::vector<Override>& settings) {
  if (vm.count("replications"))
    settings.push_back(
        {"run.replications", std::to_string(parse_setting("--replications", f.replications, "run.replications"))});
  if (vm.count("seed")) settings.push_back({"run.seed", std::to_string(parse_setting("--seed", f.seed, "run.seed"))});
  if (vm.count("timeseries")) {
    if (f.timeseries.rfind("every=", 0) != 0)
      throw UsageError(
          fmt::format("--timeseries takes every=K (K steps between records), got '{}'", shown(f.timeseries)));
    settings.push_back(
        {"output.timeseries_every",
         std::to_string(parse_setting("--timeseries every", f.timeseries.substr(6), "output.timeseries_every", 1))});
  }
  // With --summary-only, --timeseries every=K writes no series: it thins the summaries' step axis alone.
  if (vm.count("summary-only")) settings.push_back({"output.runs", "false"});
}

// -t/--threads (default: the usable CPUs), at most max_threads(); a larger
// count is lowered, and said so unless `quiet`.
int run_threads(const po::variables_map& vm, const RunFlags& f, bool quiet, std::ostream& err) {
  int thread_count =
      !vm.count("threads") ? usable_cpus() : static_cast<int>(parse_count("--threads", f.threads, 1, 1024));
  if (thread_count > max_threads()) {
    if (!quiet)
      err << fmt::format("brink run: --threads {} is more than {} (4 per usable CPU); using {}\n", thread_count,
                         max_threads(), max_threads());
    thread_count = max_threads();
  }
  return thread_count;
}

// Said before the run starts, on stderr but for the header: the notes on its
// dates and scenario, the disk-space warning, the screening-noise warning
// and the run's header.
void print_run_notes(const LoadedScenario& loaded, const ScenarioSource& source, const SweepPlan& plan,
                     const std::string& space_warning, bool quiet, std::ostream& out, std::ostream& err) {
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
}

// What a finished run reports.
struct RunResults {
  std::vector<PointSummary> summaries;  // every point's, where the plan keeps them (Recorder::summaries)
  TableRows table_rows;
  std::int64_t replications_run = 0, replications_kept = 0;
  PrecisionShortfall shortfall;
  Screening screening;
};

// What simulate_run writes, and how.
struct RunSetup {
  const ScenarioSource& source;
  const RunRequest& request;
  const OutputMetadata& metadata;
  const fs::path& partial;
  int threads = 0;
  bool threads_given = false;  // -t: the job records the count
  bool resuming = false, quiet = false;
};

// Simulates the plan into the partial file (created, or reopened to resume),
// with progress on `err`. `written` is the partial this run holds open, once
// it is open; `progress` outlives the call for the elapsed times.
RunResults simulate_run(const SweepPlan& plan, const RunSetup& setup, std::ostream& err, FileIdentity& written,
                        std::optional<Progress>& progress) {
  const Model& model = plan.model(0);
  const fs::path& partial = setup.partial;
  const bool resuming = setup.resuming, quiet = setup.quiet;
  const int thread_count = setup.threads;
  // Test hooks: dies like kill -9, or fails as a run can for reasons of its
  // own (an I/O error, memory), once this many blocks are recorded.
  const char* kill_hook = std::getenv("BRINK_TEST_KILL_AFTER_BLOCKS");
  const std::int64_t kill_after = kill_hook ? std::atoll(kill_hook) : 0;
  const char* fail_hook = std::getenv("BRINK_TEST_FAIL_AFTER_BLOCKS");
  const std::int64_t fail_after = fail_hook ? std::atoll(fail_hook) : 0;
  RunResults results;
  std::optional<Hdf5Writer> created;
  try {
    created.emplace(partial.string(), plan, setup.metadata,
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
  const RunJob job{setup.source, recorded_options(setup.request), setup.threads_given ? thread_count : 0};
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
  results.summaries = recorder.summaries();
  results.table_rows = recorder.table();
  results.replications_run = counting.replications();  // simulated now: a resume's kept blocks are no speed
  results.replications_kept = recorder.replications() - results.replications_run;
  results.shortfall = recorder.shortfall();
  results.screening = recorder.finish();
  return results;
}

// Rethrows the failure of a run in flight (called in a catch handler) as what
// the user is told: a usage error, or the failure with what the partial file
// keeps for --resume (`kept_for_resume`, "" when it went) and what to do.
template <typename KeptForResume>
[[noreturn]] void rethrow_run_failure(const SweepPlan& plan, const fs::path& partial, const FileIdentity& written,
                                      const KeptForResume& kept_for_resume) {
  try {
    throw;
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
}

// The outcome table, and the sensitivity or Morris table of a screening run;
// `pooled`: integrated over the posterior draws (--posterior).
void print_run_tables(const RunResults& results, const Scenario& scenario, const SweepPlan& plan, bool pooled,
                      std::ostream& out) {
  const std::vector<PointSummary>& summaries = results.summaries;
  const TableRows& table_rows = results.table_rows;
  const Screening& screening = results.screening;
  std::vector<std::string> actors;
  for (const auto& a : scenario.actors) actors.push_back(a.id);
  if (pooled)  // integrated over the posterior draws
    out << format_pooled_table(pooled_summary(summaries), static_cast<std::int64_t>(summaries.size()), actors,
                               plan.run().dt_days);
  else
    out << format_outcome_table(table_rows, actors, plan.parameters, values_of(plan.points), plan.parameter_choices,
                                plan.run().dt_days);
  if (!screening.sobol.empty())
    out << format_sensitivity_table(screening.sobol, screening.outputs, plan.parameters, plan.base_samples);
  if (!screening.morris.empty()) out << format_morris_table(screening.morris, screening.outputs, plan.parameters);
}

}  // namespace

int command_run(const std::vector<std::string>& args, int argc, const char* const* argv, std::ostream& out,
                std::ostream& err) {
  RunFlags f;
  const po::options_description options = run_options(f);
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "scenario", out, &vm, &operands)) return kExitOk;
  std::vector<Override> settings;                                      // --set, then run settings given as flags
  for (const auto& s : f.sets) settings.push_back(parse_override(s));  // UTF-8 already (run_command)
  // After the --set values: `--set PATH VALUE` leaves VALUE an operand, and the missing '=' is the mistake.
  std::optional<std::string> scenario_arg;
  if (operands.size() > 1) throw UsageError(fmt::format("run takes one SCENARIO, got {}", operands.size()));
  if (!operands.empty()) scenario_arg = operands.front();
  const bool quiet = vm.count("quiet") > 0;
  const bool table = !quiet && vm.count("no-table") == 0;

  add_flag_settings(vm, f, settings);
  const int thread_count = run_threads(vm, f, quiet, err);

  const ScenarioSource source = resolve_scenario(scenario_arg);
  if (vm.count("posterior-draws") && !vm.count("posterior"))
    throw UsageError("--posterior-draws needs --posterior FILE");
  if (vm.count("resume") && vm.count("overwrite"))
    throw UsageError("--resume continues FILE.partial and --overwrite discards it; give one of them");
  if (vm.count("design") && f.design.empty()) throw UsageError("--design needs a design name, got an empty one");
  RunRequest request{settings, f.sweeps, f.levers, f.design, 0, vm.count("sensitivity") > 0, f.posterior, 0, {}};
  request.file_sweep_off = vm.count("no-file-sweep") > 0;
  if (vm.count("samples"))
    request.samples = static_cast<std::int64_t>(parse_count("--samples", f.samples, 1, 10'000'000));
  if (vm.count("posterior-draws"))
    request.posterior_draws = static_cast<std::int64_t>(parse_count("--posterior-draws", f.posterior_draws, 1, 1000));
  LoadedScenario loaded;
  SweepPlan plan = build_run_plan(source, request, &loaded);
  if (vm.count("shard")) std::tie(plan.shard_index, plan.shard_count) = parse_shard(f.shard);  // not in the overrides

  if (vm.count("output") && f.output.empty()) throw UsageError("--output needs a file name, got an empty one");
  const fs::path target = !vm.count("output") ? default_output_path(loaded.scenario.name) : fs::path(f.output);
  std::vector<fs::path> inputs{"/proc/self/exe"};
  if (std::error_code ec; scenario_arg && fs::exists(*scenario_arg, ec)) inputs.emplace_back(*scenario_arg);
  for (const ScenarioChoice& choice : plan.choices) inputs.emplace_back(choice.path);
  if (!f.posterior.empty()) inputs.emplace_back(f.posterior);
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
  choose_kernel(vm.count("isa") ? std::optional(f.isa) : std::nullopt,
                resuming ? std::optional(partial) : std::nullopt);
  // A resumed file describes the run it completes (it keeps its command_line
  // and scenario_source): its rerun commands name the scenario as that run
  // spelled it, whichever path reached the same file now.
  if (resuming)
    if (std::string recorded = read_root_text(partial.string(), "scenario_source"); !recorded.empty())
      plan.scenario_label = std::move(recorded);
  OutputMetadata metadata{source.label, source.text, recorded_options(request), command_line(argc, argv)};

  catch_interruptions();
  const Model& model = plan.model(0);
  print_run_notes(loaded, source, plan, space_warning, quiet, out, err);
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
  RunResults results;
  try {
    const RunSetup setup{.source = source,
                         .request = request,
                         .metadata = metadata,
                         .partial = partial,
                         .threads = thread_count,
                         .threads_given = vm.count("threads") > 0,
                         .resuming = resuming,
                         .quiet = quiet};
    results = simulate_run(plan, setup, err, written, progress);
  } catch (...) {
    rethrow_run_failure(plan, partial, written, kept_for_resume);
  }
  lock.vouch_for(partial, written);
  if (const std::string warning = publish_output(partial, target, target_before, written); !warning.empty())
    err << "brink run: " << warning << "\n";
  // Printed even with --quiet, like every warning: the intervals are wider than the run asked for.
  if (const std::string warning = precision_warning(results.shortfall, plan, target.string()); !warning.empty())
    err << "brink run: " << warning << "\n";
  const double seconds = progress ? progress->elapsed() : 0.0;
  if (table) print_run_tables(results, loaded.scenario, plan, vm.count("posterior") > 0, out);
  if (!quiet) {
    const double rep_steps = static_cast<double>(results.replications_run) * model.steps();
    const double simulating = progress ? progress->simulating() : 0.0;
    const std::string kept = results.replications_kept > 0
                                 ? fmt::format("; {} replications simulated, {} kept from the partial",
                                               results.replications_run, results.replications_kept)
                                 : "";
    out << fmt::format("wrote {} in {:.2f} s ({:.3g} replication-steps/s on {}, {} kernel{})\n", target.string(),
                       seconds, simulating > 0 ? rep_steps / simulating : 0.0, describe_workers(thread_count),
                       kernel().isa, kept);
  }
  return kExitOk;
}

}  // namespace brink
