// Dated observations of model quantities and the priors of a calibration:
// the `observations:` and `calibrate:` blocks of a scenario file, and the
// calendar behind `run.start_date`. Plain data; read by the YAML reader
// (parse_observations.cpp), used by `brink calibrate` (brink/calibrate).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brink {

// What an observation measures, per replication, on its date.
enum class ObservedQuantity : std::uint8_t {
  kForces,      // an actor's troops in a pool (or all pools) on the date [troops]
  kRung,        // 1 if the ladder has reached at least `rung` by the date, else 0
  kWarStarted,  // 1 if fighting has begun by the date, else 0
  kIncidents,   // incidents up to the date (the date must be the last observed one) [incidents]
};
std::string_view to_string(ObservedQuantity quantity);

inline constexpr int kTotalPool = 3;  // Observation::pool: deployed + ready + reserve

struct Observation {
  std::string id;      // the key in the file's observations mapping
  std::string source;  // who published the figure (cited as given)
  ObservedQuantity quantity = ObservedQuantity::kForces;
  int actor = -1;          // kForces
  int pool = 0;            // kForces: Pool index, or kTotalPool
  int rung = -1;           // kRung
  double day = 0.0;        // model day of the observation (date - run.start_date)
  std::string date;        // ISO date as written, "" when given as a day
  double value = 0.0;      // the measured value (1/0 for reached/started)
  double sd = 0.0;         // its standard deviation (> 0); a range [lo, hi] is a 95% interval: sd = (hi - lo) / 3.92
  double quantile = -1.0;  // the statistic compared: a quantile in (0, 1) of the replications, or -1 for the mean
};

// A distance above kConflictSd·√m standardized units (3 sd per observation,
// root mean square, over m observations) is one no calibration fits: the
// data–prior conflict criterion (calibrate/smc.hpp) and the parser's refusal
// of observations that contradict each other (parse_observations.cpp).
inline constexpr double kConflictSd = 3.0;

enum class PriorKind : std::uint8_t { kUniform, kLogUniform, kNormal, kTruncatedNormal, kExponential };
std::string_view to_string(PriorKind kind);

// One calibrated parameter: a settable path and its prior. The prior's
// support is [lower, upper] (the field's range bounds whatever the prior
// leaves open: a normal prior is truncated there).
struct PriorSpec {
  std::string path;
  PriorKind kind = PriorKind::kUniform;
  double mean = 0.0, sd = 1.0;  // normal, truncated_normal
  double rate = 1.0;            // exponential [1/unit]
  double lower = 0.0, upper = 1.0;
};

// The most generations a calibration runs (calibrate.generations, --generations).
inline constexpr int kMaxGenerations = 1000;

struct CalibrateSpec {
  std::vector<PriorSpec> priors;
  std::int64_t particles = 1000;
  int generations = 5;
  std::int64_t replications = 16;  // per particle
  double quantile = 0.5;           // the next tolerance is this quantile of the accepted distances
  bool common_random = false;      // every particle of a generation draws the same random streams
  bool empty() const { return priors.empty(); }
};

// Days since 1970-01-01 of an ISO date "YYYY-MM-DD"; false if `text` is not a valid date.
bool parse_iso_date(std::string_view text, std::int64_t* days);
// The ISO date of days since 1970-01-01.
std::string iso_date(std::int64_t days);
// True when run.start_date is set and every day of the run, day 0 to the
// horizon, is a date numpy's datetime64[ns] holds (1677-09-22 to 2262-04-11):
// xarray decodes a CF time coordinate into it, so the output has one only then.
struct Scenario;
bool calendar_is_decodable(const Scenario& s);

// Scenario YAML `text` with each dotted path set to its value (as written
// in the file) and the `calibrate:` block commented out: a posterior scenario
// that `brink run` reads. The text is kept, comments and all: a value
// replaces its node's text; a path the file lacks is added as a key at the
// end of the deepest mapping it has; nothing is expanded, except that an
// alias on a set path, or of a node edited in place, is written out (one
// level, in flow style) so that a value set at one path changes that path
// alone. Defined in posterior_text.cpp; throws std::runtime_error if a value
// finds no place (the result is read back and checked).
std::string scenario_with_values(const std::string& text, const std::vector<std::string>& paths,
                                 const std::vector<std::string>& values);

}  // namespace brink
