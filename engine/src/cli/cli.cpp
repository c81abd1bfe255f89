#include "brink/cli/cli.hpp"

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
#include "run_memory.hpp"

namespace brink {
namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

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

}  // namespace

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
