// `brink run --shard I/N` parsing and `brink merge OUT SHARD...`.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <utility>

#include <fmt/format.h>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/cli/cli.hpp"
#include "brink/cli/output_target.hpp"
#include "brink/cli/run_request.hpp"
#include "brink/io/hdf5_reader.hpp"
#include "brink/io/merge.hpp"
#include "brink/io/recovery.hpp"
#include "brink/io/table.hpp"
#include "brink/model/kernel_dispatch.hpp"
#include "brink/scenario/parse.hpp"
#include "brink/scenario/shown_text.hpp"
#include "brink/sweep/plan.hpp"
#include "commands.hpp"
#include "interrupt.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using MergeProgress = std::function<void(std::int64_t, std::int64_t)>;

// A line at each tenth of the points merged and at least every 10 s, as
// `brink run`'s lines (a merge of many gigabytes takes minutes), and one
// when every point is merged, all after the merge's first second.
MergeProgress merge_progress(std::ostream& err) {
  const auto start = std::chrono::steady_clock::now();
  // Tests shorten the first second (as calibrate's heartbeat interval) to see a small merge's lines.
  const char* hook = std::getenv("BRINK_TEST_PROGRESS_EVERY_MS");
  const std::chrono::milliseconds silent(hook ? std::atoll(hook) : 1000);
  auto last = std::make_shared<std::pair<int, std::chrono::steady_clock::time_point>>(-1, start);
  return [&err, start, last, silent](std::int64_t done, std::int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int tenth = static_cast<int>(fraction * 10.0);
    // Nothing in the first second (a small merge's refusal stays one sentence, a small merge says
    // nothing), then the tenths and the end.
    if (now - start < silent) return;
    if (done < total && tenth <= last->first && now - last->second < std::chrono::seconds(10)) return;
    *last = {tenth, now};
    const double elapsed = std::chrono::duration<double>(now - start).count();
    err << fmt::format("brink merge: progress: {:5.1f}% of points, {} of {} merged, elapsed {:.0f} s, ETA {:.0f} s\n",
                       100.0 * fraction, done, total, elapsed, done > 0 ? elapsed * (total - done) / done : 0.0)
        << std::flush;
  };
}

constexpr std::int64_t kMaxShards = 1'000'000;

// Lines joined with "; ", for a one-sentence message.
std::string single_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

// The whole plan of the run the shards split: the scenario and the recorded
// options (the `overrides` attribute, which `brink run` writes from its
// --set, run and sweep options) loaded as `brink run` loads them.
SweepPlan plan_of(const ShardInfo& shard) {
  LoadedScenario loaded;
  SweepPlan plan;
  try {
    // The scenario choices as the shards recorded them; a --posterior calibration is read where they found it.
    RunRequest request = parse_recorded_options(shard.overrides, shard.path);
    request.recorded_choices = shard.choice_texts;
    plan = build_run_plan({shard.scenario_label, shard.scenario_text}, request, &loaded);
  } catch (const std::exception& e) {
    throw UsageError(fmt::format("cannot rebuild the plan the shards ran from '{}' in this directory: {}", shard.path,
                                 single_line(e.what())));
  }
  if (plan.inputs != shard.inputs)
    throw UsageError(fmt::format(
        "'{}' ran on another --posterior calibration than is here now ({}recorded: {}); merge where the "
        "calibration the shards read is as it was",
        shard.path, plan.inputs.empty() ? "" : "found: " + single_line(plan.inputs) + "; ", single_line(shard.inputs)));
  if (plan.point_count() != shard.plan_points)
    throw UsageError(fmt::format("'{}' records a plan of {} points, but its scenario and options give {}", shard.path,
                                 shard.plan_points, plan.point_count()));
  return plan;
}

// Continues on the path that wrote the shards, so that the merged file names
// the same kernel as a single run on that path.
void choose_recorded_kernel(const ShardInfo& shard) {
  try {
    select_kernel(shard.target_isa);
  } catch (const IsaUnavailable& e) {
    throw IsaUnavailable(fmt::format("the shards were written by the {} path: {}", shard.target_isa, e.what()));
  }
}

// Where the merge writes: as `brink run` writes, never over an input, through
// OUT.partial and a rename, in a directory that exists.
void check_target(const fs::path& target, const std::vector<std::string>& shard_paths) {
  std::vector<fs::path> inputs{"/proc/self/exe"};
  for (const auto& p : shard_paths) inputs.emplace_back(p);
  check_output_path(target, inputs);
  prepare_output_directory(target, false);
}

// Under the lock (a run writing OUT holds it, and is named by it): an existing
// OUT is replaced only with --overwrite, and so is an OUT.partial that may
// hold a run's finished blocks. A merge's own partial (one killed outright:
// an interrupted merge removes it) holds nothing the shards cannot give
// again, and the lock proves its merge dead, so a new merge replaces it; so
// it does one stopped before its first flush, which holds nothing at all.
void refuse_existing(const fs::path& target, bool overwrite, std::ostream& err) {
  std::error_code ec;
  refuse_existing_result(target, overwrite, false, "merge");
  const fs::path partial = target.string() + ".partial";
  if (overwrite || !fs::exists(partial, ec)) return;
  const PartialState state = partial_state(partial.string());
  if (state == PartialState::kNeverSaved ||
      (state == PartialState::kRunOutput && written_by_merge(partial.string()) && !is_finished_result(partial))) {
    // Said even with --quiet, like every warning: a file is replaced without --overwrite.
    err << fmt::format("brink merge: replacing '{}', left by a merge that did not finish\n", partial.string());
    return;  // merge_shards creates the file anew
  }
  throw UsageError(
      fmt::format("'{}' exists (an interrupted run, or a file another program left); discard it with "
                  "--overwrite",
                  partial.string()));
}

}  // namespace

std::pair<std::int64_t, std::int64_t> parse_shard(std::string_view text) {
  const std::size_t slash = text.find('/');
  for (const std::string_view part : {text.substr(0, slash), slash == text.npos ? "" : text.substr(slash + 1)})
    if (const std::string zero = leading_zero_refusal("--shard", part); !zero.empty()) throw UsageError(zero);
  const std::optional<std::int64_t> index = whole_number(text.substr(0, slash));
  const std::optional<std::int64_t> count =
      slash == std::string_view::npos ? std::nullopt : whole_number(text.substr(slash + 1));
  if (!index || !count || *count < 1 || *count > kMaxShards || *index < 0 || *index >= *count)
    // The blanks around the value stay in the quote: they can be all that is wrong with it.
    throw UsageError(fmt::format("--shard takes I/N, shard I of N with 0 <= I < N <= {}, got '{}'{}", kMaxShards,
                                 shown_value(text), blank_edges_note(text)));
  return {*index, *count};
}

int command_merge(const std::vector<std::string>& args, const std::string& command_line, std::ostream& out,
                  std::ostream& err) {
  po::options_description options(
      "brink merge OUT SHARD...\n\n"
      "Joins the files of 'brink run --shard I/N' (all N of them, in any order) into OUT, the file one run\n"
      "of the whole plan writes: the same datasets, bit for bit, with the summaries and Sobol indices\n"
      "computed as that run computes them.\n\noptions");
  options.add_options()("help,h", "show this help")("overwrite", "replace an existing OUT (and OUT.partial)")(
      "quiet,q", "print nothing but errors")("no-table", "print no outcome table");
  po::variables_map vm;
  std::vector<std::string> operands;
  if (!parse_command(args, options, "file", out, &vm, &operands)) return kExitOk;
  if (operands.size() < 2) throw UsageError("merge takes OUT and at least one SHARD file");
  const fs::path target = operands.front();
  if (target.empty()) throw UsageError("merge needs an OUT file name, got an empty one");
  const std::vector<std::string> paths(operands.begin() + 1, operands.end());
  const bool overwrite = vm.count("overwrite") > 0, quiet = vm.count("quiet") > 0;

  std::vector<ShardInfo> shards;
  try {
    for (const auto& p : paths) {
      try {
        shards.push_back(read_shard_info(p));
      } catch (const MergeRefused&) {
        if (is_calibration_file(p))  // named as what it is, not as "no brink result"
          throw MergeRefused(
              fmt::format("'{}' is a calibration file ('brink calibrate'), not a shard of 'brink run "
                          "--shard I/N'; merge the shards of one run",
                          p));
        throw;
      }
    }
    check_shard_set(shards);
  } catch (const MergeRefused& e) {
    throw UsageError(e.what());
  } catch (const DamagedInput& e) {  // an attribute HDF5 cannot read: the shard is damaged
    throw UsageError(fmt::format("{}; run that shard again", e.what()));
  }
  std::sort(shards.begin(), shards.end(), [](const ShardInfo& a, const ShardInfo& b) { return a.index < b.index; });
  check_target(target, paths);
  // Held until the result is in place.
  const OutputLock lock(target.string() + ".lock", "merge into another OUT", "merge");
  refuse_existing(target, overwrite, err);
  const FileIdentity target_before = identity_of(target);
  const fs::path partial = target.string() + ".partial";
  choose_recorded_kernel(shards.front());
  SweepPlan plan = plan_of(shards.front());
  plan.chunk_groups = false;  // the shards' chunks are per point, and are copied as they are
  const OutputMetadata metadata{shards.front().scenario_label, shards.front().scenario_text, shards.front().overrides,
                                command_line};
  MergeResult result;
  std::array<std::uint64_t, 2> created{};
  const auto written = [&] { return created == std::array<std::uint64_t, 2>{} ? FileIdentity{} : held_file(created); };
  catch_interruptions();
  try {
    result = merge_shards(plan, metadata, shards, partial.string(), &interruption_flag(),
                          quiet ? MergeProgress{} : merge_progress(err), &created);
  } catch (const MergeInterrupted&) {
    remove_own_file(partial, written());  // a merge is redone, not continued
    throw std::runtime_error(fmt::format(
        "interrupted; nothing was written to '{}' and the shards are untouched: run the merge again", target.string()));
  } catch (const MergeRefused& e) {
    remove_own_file(partial, written());
    throw UsageError(e.what());
  } catch (...) {
    remove_own_file(partial, written());
    throw;
  }
  lock.vouch_for(partial, written());
  if (const std::string warning = publish_output(partial, target, target_before, held_file(result.file_identity));
      !warning.empty())
    err << "brink merge: " << warning << "\n";
  if (quiet) return kExitOk;
  if (vm.count("no-table") == 0) {
    std::vector<std::string> actors;
    for (const auto& a : plan.model(0).scenario().actors) actors.push_back(a.id);
    out << format_outcome_table(result.table, actors, plan.parameters, values_of(plan.points), plan.parameter_choices,
                                plan.run().dt_days);
    const Screening& s = result.screening;
    if (!s.sobol.empty()) out << format_sensitivity_table(s.sobol, s.outputs, plan.parameters, plan.base_samples);
    if (!s.morris.empty()) out << format_morris_table(s.morris, s.outputs, plan.parameters);
  }
  auto counted = [](std::int64_t n, const char* noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); };
  out << fmt::format("merged {} ({}, {}) into {}\n", counted(static_cast<std::int64_t>(shards.size()), "shard"),
                     counted(plan.point_count(), "point"), counted(result.blocks, "block"), target.string());
  return kExitOk;
}

}  // namespace brink
