// What `brink calibrate` and `brink inspect` say of a calibration's
// posterior: the table of means and spreads against the priors, the marks
// and their caveats, the pairs of parameters the posterior ties together, the
// posterior scenario's header, and the warnings (docs/calibration.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brink/calibrate/calibration_file.hpp"
#include "brink/scenario/observations.hpp"
#include "brink/scenario/parse.hpp"

namespace brink {

// The weighted posterior mean of each parameter in the last generation.
std::vector<double> posterior_means(const Population& p, std::size_t d);

// A parameter of the last generation against its prior: posterior mean and
// sd, the prior's sd (NaN for a prior text brink does not write) and their
// ratio; and the same comparison on the prior's probability scale, where each
// particle is taken through the prior's distribution function and the prior
// is uniform on [0, 1]: the posterior's sd there over the prior's 1/√12, and
// how far its mean lies from the prior's 1/2, in prior sds (NaN as above).
// The observations did not inform a parameter whose posterior there keeps 0.9
// of the prior's spread and its centre. Both on that scale: a posterior moved
// to the top of a skewed prior (a log-uniform's) can be wider in the
// parameter's own units than the prior, and yet be far from it.
inline constexpr double kUninformedSpread = 0.9, kUninformedShift = 0.25;
struct Spread {
  double mean = 0, sd = 0, prior_sd = 0, ratio = 0;
  double scale_ratio = 0, scale_shift = 0;
  bool informed() const { return !(scale_ratio >= kUninformedSpread && std::abs(scale_shift) <= kUninformedShift); }
};
inline constexpr std::string_view kNotInformed =
    "not informed (on the prior's probability scale, posterior sd ≥ 0.9 × and mean within 0.25 sd of the prior's)";
std::vector<Spread> posterior_spread(const CalibrationRecord& r);
// Each parameter's mark in the table and the posterior header: kNotInformed,
// or, for a parameter in a strongly rank-correlated pair (a ridge: the
// observations pin a combination), "informed only jointly with" its partner,
// since fixing it would make the partner falsely precise; "" if informed.
std::vector<std::string> informed_marks(const CalibrationRecord& r);

// The posterior forecast's command for the calibration file `file` and its
// posterior scenario `posterior`: brink run POSTERIOR --posterior FILE.
std::string posterior_forecast(const std::string& posterior, const std::string& file);

// The last generation's posterior table with its caveats (the prior draw,
// few effective particles, a tolerance still loose) and the rank-correlated
// pairs; `forecast` as posterior_forecast gives it.
std::string posterior_table(const CalibrationRecord& r, const std::string& forecast);

// One sentence per pair of parameters whose weighted Spearman correlation in
// the last generation is at least kStrongRankCorrelation in size.
std::vector<std::string> correlation_sentences(const CalibrationRecord& r, const std::string& forecast);

// When the last tolerance is above kConflictSd·√m, or above kLooseTolerance
// while it still fell by more than kStillFalling in the last generation
// (whatever the marks): the sentence that says the posterior is still wider
// than the data imply, and qualifies any 'not informed' mark; "" otherwise.
// An outside tester's five readings of one troop level (sd 1,500, exact
// posterior sd 671) gave sds of 2,297 at a tolerance of 6.3 and 1,339 at 3.6
// (falling from 6.3), below 3·√5 = 6.7; 710 at 1.23.
inline constexpr double kLooseTolerance = 2.5, kStillFalling = 0.8;
// A tolerance this many times the closest particle's distance has not come down yet (conflict_warning).
inline constexpr double kFarAboveClosest = 4.0;
std::string loose_tolerance_sentence(const CalibrationRecord& r);

// Importance weights too uneven for the ESS to describe the summaries'
// error (docs/calibration.md, "Uneven weights"): the last generation's
// largest normalized weight above kHeavyWeight/N, or its ESS below kEssFall
// of the generation before (from generation 2 on). A proposal beyond the
// previous particles near a bounded prior's edge, or a lucky world, can get
// a weight tens of times the average. One sentence naming that particle's
// share and what to do; "" otherwise.
inline constexpr double kHeavyWeight = 20, kEssFall = 0.5;
std::string heavy_weight_sentence(const CalibrationRecord& r);

// The posterior scenario's header of comment lines (each ending in '\n'):
// what the file is and is not, the values set and their marks. `unreached`:
// per calibrated path, why it reaches no replication (unreached_reason), or "".
std::string posterior_header(const CalibrationRecord& r, const std::string& file, const std::string& posterior,
                             const std::string& scenario_label, const std::vector<Override>& settings,
                             const std::vector<std::string>& unreached);

// One generation's progress; `seconds` < 0 leaves the time out (a generation read back from a file).
std::string generation_line(const Population& p, int planned, double seconds);

// The data–prior conflict of the last generation as one sentence, or "".
std::string conflict_warning(const CalibrationRecord& r);

// Replications per particle below which a quantile observation's statistic,
// the empirical quantile of R worlds, is biased by more than about a fifth
// of a posterior sd (docs/calibration.md, "What R does to the posterior").
inline constexpr std::int64_t kQuantileReplications = 64;

// The warning for quantile observations at fewer than kQuantileReplications
// replications, or "".
std::string quantile_replications_warning(const std::vector<Observation>& observations, std::int64_t replications);

// What a stalled generation means, and the way on: after the prior, the
// priors' reach is at fault, or a --quantile below kLowQuantile (whose
// tolerance few candidates meet however well the observations fit); later,
// the tolerance fell faster than candidates could follow, and the complete
// generations in `partial` ("" when this rank writes none) are a posterior at
// their tolerance.
inline constexpr double kLowQuantile = 0.1;
std::string stalled_advice(const GenerationStalled& e, std::size_t complete, const std::string& partial,
                           double quantile);

}  // namespace brink
