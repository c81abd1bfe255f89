// What the commands defined outside cli.cpp share with it. Private to the cli
// module.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

// Bad usage: printed as one sentence, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a command's options and its positional operands (all of them under
// `operand`). Returns false when --help was asked for, after printing it.
// Defined in cli.cpp.
bool parse_command(const std::vector<std::string>& args, const boost::program_options::options_description& options,
                   const char* operand, std::ostream& out, boost::program_options::variables_map* vm,
                   std::vector<std::string>* operands);

// The whole decimal number `text` is, or nothing. Defined in run_request.cpp.
std::optional<std::int64_t> whole_number(std::string_view text);

// `text` as a whole number in [min, max]; throws UsageError naming `flag`.
// Defined in cli.cpp.
std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t min, std::uint64_t max);

// A command-line value as a one-line message quotes it: shown(), but with a
// blank at either end kept (as ' ', or \t, \n, \r), since a number refused
// for a blank around it would otherwise be quoted as a valid one.
std::string shown_argument(const std::string& text);
// A flag that sets a run setting (-n, --seed, --timeseries every=K) as
// parse_count does, in the range the field table gives `pattern`'s row
// (its minimum raised to `least` where the flag's form needs more).
// Defined in cli.cpp.
std::uint64_t parse_setting(const std::string& flag, const std::string& text, std::string_view pattern,
                            std::uint64_t least = 0);

// The scenario SCENARIO names: a file, a shipped name, or (none) the flagship.
// Throws UsageError listing the shipped names. Defined in cli.cpp.
ScenarioSource resolve_scenario(const std::optional<std::string>& argument);

// Every cross-field rule at every corner of the calibrated priors' supports,
// as for a sweep's ranges; throws ScenarioError at the priors' lines.
// Defined in calibrate_inputs.cpp.
void check_prior_corners(const LoadedScenario& loaded);

// A calibration's observations: present, and their days against the run
// (observation_day_problems), which only a calibration reads; throws
// ScenarioError at their lines or --set.
// Defined in calibrate_inputs.cpp.
void check_calibration_observations(const LoadedScenario& loaded);

// A calibration of `spec` (the file's, or with the command line's options)
// that needs more memory than the machine has; throws ScenarioError at
// calibrate.particles, or UsageError naming `options` (such as
// "--particles 5000000") when the command line set the sizes. Defined in
// calibrate_inputs.cpp.
void check_calibration_size(const LoadedScenario& loaded, const CalibrateSpec& spec,
                            const std::vector<std::string>& options = {});

// Where the posterior scenario of the calibration in `target` goes: OUT with
// .posterior.yaml. Defined in cli_calibrate.cpp.
std::filesystem::path posterior_scenario_path(const std::filesystem::path& target);

// A calibration file given as input, read whole; a damaged or truncated one
// is bad input (UsageError) naming what failed, followed by `advice`.
// Defined in calibrate_inputs.cpp.
CalibrationRecord read_calibration_input(const std::string& path, std::string_view advice);

// The help of -t/--threads, the same for run and calibrate: both default to usable_cpus().
inline constexpr const char* kThreadsHelp =
    "worker threads, per rank under MPI (default: the CPUs this process may use); never changes the results";

// The command line as a shell reads it back: each argument quoted where it
// is empty or holds a space, tab, quote, backslash or '$'. Recorded in result files. Defined in cli.cpp.
std::string command_line(int argc, const char* const* argv);

// `brink run` (cli_run.cpp); `argc` and `argv` are the whole command line, recorded in the output.
int command_run(const std::vector<std::string>& args, int argc, const char* const* argv, std::ostream& out,
                std::ostream& err);

// The read-and-report commands (cli_report.cpp).
int command_validate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int command_params(const std::vector<std::string>& args, std::ostream& out);
int command_inspect(const std::vector<std::string>& args, std::ostream& out);
int command_scenarios(const std::vector<std::string>& args, std::ostream& out);

// Picks the kernel before anything is written: a resumed file (`resumed`, a
// partial run or calibration) continues on the path that wrote it, else
// `requested` (--isa), else the best path for this CPU. Throws UsageError when
// --isa differs from the recorded path, IsaUnavailable when the path cannot run.
void choose_kernel(const std::optional<std::string>& requested, const std::optional<std::filesystem::path>& resumed);

// `--shard I/N` as (I, N), 0 <= I < N; throws UsageError quoting the value.
std::pair<std::int64_t, std::int64_t> parse_shard(std::string_view text);

// `brink merge OUT SHARD...`; `command_line` is recorded in the merged file.
int command_merge(const std::vector<std::string>& args, const std::string& command_line, std::ostream& out,
                  std::ostream& err);

}  // namespace brink
