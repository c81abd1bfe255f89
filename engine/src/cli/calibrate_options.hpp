// The command line of `brink calibrate`: its options, parsed and checked
// (calibrate_options.cpp), and the scenario's calibrate: block with them
// applied. Private to the cli module.
#pragma once

#include <boost/program_options.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "brink/scenario/parse.hpp"

namespace brink {

// The values of the options, as the command line gives them.
struct CalibrateOptions {
  std::string output, particles, generations, replications, threads, seed, quantile, isa, continue_from;
  std::vector<std::string> sets;
};

// The command line of `brink calibrate`, parsed. CalibrateOptions stays where
// calibrate_options bound its values.
struct CalibrateArgs {
  CalibrateOptions o;
  boost::program_options::variables_map vm;
  std::vector<std::string> operands;
  std::vector<Override> settings;
  int threads = 1;
  bool quiet = false;
};

// Fills `a` from the arguments; false after --help (printed to `out`).
// Throws po::error and UsageError.
bool parse_calibrate_args(const std::vector<std::string>& args, std::ostream& out, CalibrateArgs& a);

// The scenario's calibrate: block with the command line's options applied.
CalibrateSpec calibrate_spec(const LoadedScenario& loaded, const ScenarioSource& source,
                             const boost::program_options::variables_map& vm, const CalibrateOptions& o);

}  // namespace brink
