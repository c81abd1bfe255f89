// The text `brink calibrate` and `brink inspect` give of a calibration's
// posterior (calibrate_summary.hpp).
#include "calibrate_summary.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "brink/calibrate/prior.hpp"
#include "brink/calibrate/rank_correlation.hpp"
#include "brink/scenario/shown_text.hpp"

namespace brink {

std::vector<double> posterior_means(const Population& p, std::size_t d) {
  std::vector<double> mean(d, 0.0);
  for (std::size_t i = 0; i < p.size(); ++i)
    for (std::size_t a = 0; a < d; ++a) mean[a] += p.weight[i] * p.theta[i * d + a];
  return mean;
}

namespace {

// The weighted mean and sd of x[0], x[stride], ... (the population's weights).
std::pair<double, double> weighted_mean_sd(const std::vector<double>& weight, const double* x, std::size_t stride) {
  double mean = 0, var = 0;
  for (std::size_t i = 0; i < weight.size(); ++i) mean += weight[i] * x[i * stride];
  for (std::size_t i = 0; i < weight.size(); ++i) var += weight[i] * std::pow(x[i * stride] - mean, 2);
  return {mean, std::sqrt(var)};
}

}  // namespace

std::vector<Spread> posterior_spread(const CalibrationRecord& r) {
  const Population& last = r.generations.back();
  const std::size_t d = r.parameters.size();
  const double uniform_sd = 1 / std::sqrt(12.0);
  std::vector<Spread> out(d);
  std::vector<double> u(last.size());
  for (std::size_t a = 0; a < d; ++a) {
    const auto [mean, sd] = weighted_mean_sd(last.weight, last.theta.data() + a, d);
    out[a] = {.mean = mean, .sd = sd, .prior_sd = std::nan(""), .ratio = std::nan("")};
    out[a].scale_ratio = out[a].scale_shift = std::nan("");
    PriorSpec spec;
    if (!prior_from_text(r.priors[a], &spec)) continue;
    out[a].prior_sd = prior_sd(spec);
    out[a].ratio = sd / out[a].prior_sd;
    const Prior prior(spec);
    for (std::size_t i = 0; i < last.size(); ++i) u[i] = prior.cdf(last.theta[i * d + a]);
    const auto [u_mean, u_sd] = weighted_mean_sd(last.weight, u.data(), 1);
    out[a].scale_ratio = u_sd / uniform_sd;
    out[a].scale_shift = (u_mean - 0.5) / uniform_sd;
  }
  return out;
}

std::string posterior_forecast(const std::string& posterior, const std::string& file) {
  return fmt::format("brink run {} --posterior {}", posterior, file);
}

std::vector<std::string> correlation_sentences(const CalibrationRecord& r, const std::string& forecast) {
  std::vector<std::string> out;
  if (r.generations.empty() || r.generations.back().generation == 0) return out;  // the prior's, not the data's
  const Population& last = r.generations.back();
  for (const RankCorrelation& c : rank_correlations(last.theta, last.weight, r.parameters.size()))
    if (std::abs(c.rho) >= kStrongRankCorrelation)
      out.push_back(fmt::format(
          "{} and {} are rank-correlated in the posterior (rho = {:.2f}): the observations inform a combination of "
          "them, and their means together need not fit; forecast with {}",
          r.parameters[c.first], r.parameters[c.second], c.rho, forecast));
  return out;
}

std::vector<std::string> informed_marks(const CalibrationRecord& r) {
  const std::vector<Spread> spread = posterior_spread(r);
  std::vector<std::string> marks(spread.size());
  const Population& last = r.generations.back();
  std::vector<std::size_t> partner(spread.size(), spread.size());
  if (last.generation > 0)
    for (const RankCorrelation& c : rank_correlations(last.theta, last.weight, r.parameters.size()))
      if (std::abs(c.rho) >= kStrongRankCorrelation) {
        if (partner[c.first] == spread.size()) partner[c.first] = c.second;
        if (partner[c.second] == spread.size()) partner[c.second] = c.first;
      }
  for (std::size_t a = 0; a < spread.size(); ++a)
    if (!spread[a].informed())
      marks[a] = partner[a] < spread.size()
                     ? fmt::format(
                           "informed only jointly with {} (its marginal keeps the prior's spread; see the "
                           "correlation)",
                           r.parameters[partner[a]])
                     : std::string(kNotInformed);
  return marks;
}

namespace {

// The generation before the last, when the last tolerance still fell below
// kStillFalling of it (the schedule has not stopped); null otherwise.
const Population* still_falling_from(const CalibrationRecord& r) {
  if (r.generations.size() < 2) return nullptr;
  const Population& before = r.generations[r.generations.size() - 2];
  return r.generations.back().tolerance < kStillFalling * before.tolerance ? &before : nullptr;
}

}  // namespace

std::string loose_tolerance_sentence(const CalibrationRecord& r) {
  if (r.generations.empty()) return {};
  const Population& last = r.generations.back();
  const std::size_t m = r.observed.size();
  const double scale = kConflictSd * std::sqrt(static_cast<double>(m));
  if (last.generation == 0) return {};
  std::string why;
  if (last.tolerance > scale) {
    why = fmt::format("(above {:.3g}, {} sd per observation over {} observation{})", scale, kConflictSd, m,
                      m == 1 ? "" : "s");
  } else if (const Population* before = still_falling_from(r); before && last.tolerance > kLooseTolerance) {
    // The ball of radius tolerance leaves that much slack along the direction the observations
    // inform, whatever m: above a few sd the posterior is wider than the data imply, unless the
    // schedule has stopped falling (the model cannot come closer to the record).
    why = before->generation == 0 ? fmt::format("(above {:.3g} sd, after one generation)", kLooseTolerance)
                                  : fmt::format("(above {:.3g} sd and still falling: {:.3g} in the generation before)",
                                                kLooseTolerance, before->tolerance);
  } else {
    return {};
  }
  const std::vector<std::string> marks = informed_marks(r);
  const bool marked = std::any_of(marks.begin(), marks.end(), [](const std::string& m) { return !m.empty(); });
  return fmt::format(
      "at a last tolerance of {:.3g} {} the generations have not yet narrowed the posterior to the observations' "
      "noise: it is wider than the data imply{}; run more generations ('brink calibrate ... --continue FILE "
      "--generations N -o LONGER.h5' starts from these)",
      last.tolerance, why, marked ? ", and the 'not informed' marks are not yet meaningful" : "");
}

std::string heavy_weight_sentence(const CalibrationRecord& r) {
  if (r.generations.size() < 2 || r.generations.back().generation == 0 || r.generations.back().size() == 0) return {};
  const Population& last = r.generations.back();
  const Population& before = r.generations[r.generations.size() - 2];
  const auto n = static_cast<double>(last.size());
  const auto top = std::max_element(last.weight.begin(), last.weight.end());
  const double ess = effective_sample_size(last.weight), ess_before = effective_sample_size(before.weight);
  const bool heavy = *top * n > kHeavyWeight;
  const bool fell = before.generation > 0 && ess < kEssFall * ess_before;
  if (!heavy && !fell) return {};
  return fmt::format(
      "one particle (particle {}) carries {:.1f}% of the last generation's weight, {:.0f} times the average (ESS "
      "{:.0f}, {:.0f} in generation {}): with weights this uneven the means and sds are less certain than the ESS "
      "says; compare a run at another --seed, and give more --particles or --replications if they differ",
      top - last.weight.begin(), 100 * *top, *top * n, ess, ess_before, before.generation);
}

std::string posterior_table(const CalibrationRecord& r, const std::string& forecast) {
  const std::vector<Spread> spread = posterior_spread(r);
  const std::vector<std::string> marks = informed_marks(r);
  std::string text = fmt::format("{:<44} {:>14} {:>14} {:>14} {:>9}   prior\n", "posterior (last generation)", "mean",
                                 "sd", "prior sd", "sd ratio");
  for (std::size_t a = 0; a < spread.size(); ++a) {
    const Spread& s = spread[a];
    text += fmt::format("{:<44} {:>14.6g} {:>14.6g} {:>14.6g} {:>9.3f}   {}{}\n", r.parameters[a], s.mean, s.sd,
                        s.prior_sd, s.ratio, r.priors[a], marks[a].empty() ? "" : "; " + marks[a]);
  }
  if (r.generations.back().generation == 0)
    text +=
        "the last generation is generation 0, the draw from the prior: these are the prior's mean and sd, not a "
        "fit to the observations (ask for 2 or more generations)\n";
  // An sd from n effective particles is uncertain by about 1/sqrt(2n) of itself: from 50 down, as much as
  // the margin between the 0.9 mark and a ratio of 1.
  const double ess = effective_sample_size(r.generations.back().weight);
  if (ess < 50)
    text += fmt::format(
        "with {:.1f} effective particles each sd ratio is uncertain by about ±{:.2f}, so the 'not informed' marks are "
        "no more than a hint (ask for more particles)\n",
        ess, 1 / std::sqrt(2 * ess));
  if (const std::string loose = loose_tolerance_sentence(r); !loose.empty()) text += loose + "\n";
  if (const std::string heavy = heavy_weight_sentence(r); !heavy.empty()) text += heavy + "\n";
  for (const std::string& sentence : correlation_sentences(r, forecast)) text += sentence + "\n";
  return text;
}

std::string posterior_header(const CalibrationRecord& r, const std::string& file, const std::string& posterior,
                             const std::string& scenario_label, const std::vector<Override>& settings,
                             const std::vector<std::string>& unreached) {
  const Population& last = r.generations.back();
  const std::string forecast = posterior_forecast(posterior, file);
  std::string header = fmt::format(
      "# Posterior means of a brink calibration ({}, generation {}, tolerance {:.4g}),\n"
      "# applied to {}: one parameter set, not the posterior. Run alone, this file\n"
      "# is not the posterior forecast (the model at the parameters' means is not\n"
      "# the posterior's mean of the model). The weighted particles are in {};\n"
      "# the posterior forecast draws a parameter set from them for every replication:\n"
      "#   {}\n",
      // Paths as labels: a newline in a file name would end the comment and write YAML.
      escaped(file), last.generation, last.tolerance, escaped(scenario_label), escaped(file), escaped(forecast));
  if (!r.warning.empty()) header += "# " + r.warning + "\n";
  // The calibration's own --set (and --seed) first: the model the particles were fitted to.
  for (const Override& s : settings)
    header += fmt::format("#   --set {}={} (given to the calibration)\n", escaped(s.path), escaped(s.value));
  if (last.generation == 0)
    header += "# Generation 0 is the draw from the prior: these are the prior's means, not a fit.\n";
  if (const std::string loose = loose_tolerance_sentence(r); !loose.empty()) header += "# " + loose + ".\n";
  if (const std::string heavy = heavy_weight_sentence(r); !heavy.empty()) header += "# " + heavy + ".\n";
  for (const std::string& sentence : correlation_sentences(r, forecast)) header += "# " + sentence + "\n";
  const std::vector<Spread> spread = posterior_spread(r);
  const std::vector<std::string> marks = informed_marks(r);
  // A path that reaches no replication is no --set (which refuses it): its line says why instead.
  for (std::size_t a = 0; a < spread.size(); ++a)
    header += !unreached[a].empty()
                  ? fmt::format("#   {}={:.9g}  # {}: its posterior is its prior, and --set refuses it\n",
                                r.parameters[a], spread[a].mean, unreached[a])
                  : fmt::format("#   --set {}={:.9g}{}\n", r.parameters[a], spread[a].mean,
                                marks[a].empty() ? "" : "  # " + marks[a]);
  return header;
}

std::string generation_line(const Population& p, int planned, double seconds) {
  return fmt::format("generation {}/{}: tolerance {:.4g}, acceptance {:.3f} ({} candidates), ESS {:.1f}{}\n",
                     p.generation, planned - 1, p.tolerance, p.acceptance(), p.proposed,
                     effective_sample_size(p.weight), seconds < 0 ? "" : fmt::format(", {:.1f} s", seconds));
}

std::string conflict_warning(const CalibrationRecord& r) {
  if (r.generations.empty()) return {};
  const DataConflict c = data_conflict(r.generations.back(), r.observed, r.observed_sd);
  if (!c.found) return {};
  const std::size_t m = r.observed.size(), o = c.observation;
  // A tolerance still falling fast and still far above the closest particle
  // is a calibration not yet come down (an observation with a tiny sd takes
  // many generations), not yet evidence that the priors cannot reach the
  // record: in a conflict the tolerance closes in on the closest distance the
  // priors allow (26 against 16.5 in a test after two generations; 2.1e4
  // against 21.5 in an outside tester's unconverged calibration).
  const Population& last = r.generations.back();
  if (const Population* before = still_falling_from(r); before && last.tolerance > kFarAboveClosest * c.distance)
    return fmt::format(
        "warning: the posterior is not yet a fit to the observations: not one particle of generation {} has {} "
        "within {:.4g} of them (the closest, particle {}, is at {:.4g}; observation '{}' ({:.6g}, sd {:.4g}) lies "
        "{:.3g} sd from that particle's mean), but the tolerance is still falling ({:.4g} after {:.4g}), so the "
        "generations have not yet come down to the record; continue the calibration ('brink calibrate ... "
        "--continue FILE --generations N -o LONGER.h5'), and suspect a data-prior conflict only if the closest "
        "particle stays this far once the tolerance stops falling",
        last.generation, c.by_statistic ? "its worlds' statistics" : "a world", c.bound, c.particle, c.distance,
        r.observation_names[o], r.observed[o], r.observed_sd[o], std::abs(c.standardized), last.tolerance,
        before->tolerance);
  return fmt::format(
      "warning: the posterior is not a fit to the observations: not one particle of generation {} has {} "
      "within {:.4g} of them (3 sd per observation over {} observation{}, in the distance's standardized units; the "
      "closest, particle {}, is at {:.4g}), and observation '{}' ({:.6g}, sd {:.4g}) lies {:.3g} sd from that "
      "particle's mean; the priors cannot reach the record (a data-prior conflict), and the posterior piles up "
      "where they come closest: widen the priors if the record lies beyond them, or check that the model can "
      "produce the observation at all (an incidents count can be at most one per step), and the observations and "
      "their sd",
      r.generations.back().generation,
      c.by_statistic ? "its worlds' statistics (before measurement error, which ABC selects worlds by)" : "a world",
      c.bound, m, m == 1 ? "" : "s", c.particle, c.distance, r.observation_names[o], r.observed[o], r.observed_sd[o],
      std::abs(c.standardized));
}

std::string quantile_replications_warning(const std::vector<Observation>& observations, std::int64_t replications) {
  if (replications >= kQuantileReplications) return {};
  std::string named;
  std::size_t count = 0;
  for (const Observation& ob : observations)
    if (ob.quantile >= 0) {
      named += fmt::format("{}'{}' (the {:g} quantile)", count == 0 ? "" : ", ", ob.id, ob.quantile);
      ++count;
    }
  if (count == 0) return {};
  return fmt::format(
      "warning: {} {} compare{} a quantile of each particle's {} replication{} with the record; the quantile of so "
      "few worlds is a biased estimate of the model's, so the posterior depends on --replications (a 0.9 quantile's "
      "posterior mean lay 5 posterior sd off at 1 replication, 0.5 at 16, 0.2 at 64): give --replications {} or more "
      "(docs/calibration.md, \"What R does to the posterior\")",
      count == 1 ? "observation" : "observations", named, count == 1 ? "s" : "", replications,
      replications == 1 ? "" : "s", kQuantileReplications);
}

std::string stalled_advice(const GenerationStalled& e, std::size_t complete, const std::string& partial,
                           double quantile) {
  // A tolerance taken at a tiny quantile of the prior draw's distances is what
  // the candidates miss, whether or not the observations fit.
  if (complete <= 1 && quantile < kLowQuantile)
    return fmt::format(
        "{}; that tolerance is the {:g} quantile of generation 0's distances (--quantile, calibrate.quantile), a "
        "target few candidates from the prior can meet even when the observations fit: raise the quantile (0.5 by "
        "default); if the calibration still stalls there, the observations are too far from what the priors allow",
        e.what(), quantile);
  if (complete <= 1)
    return fmt::format(
        "{}; the observations are too far from what the priors allow (widen the priors, loosen the observations' "
        "sd, or raise calibrate.quantile)",
        e.what());
  const std::string kept = partial.empty() ? std::string("rank 0's partial file keeps the complete generations")
                                           : fmt::format("{} keeps {} complete generations", partial, complete);
  return fmt::format(
      "{}: fewer than 1 in {} candidates fell within it, as the tolerance shrank faster than the particles could "
      "follow; {}: end the calibration with them ('brink calibrate ... --resume --generations {}'), or ask for fewer "
      "generations or a higher calibrate.quantile",
      e.what(), SmcSettings{}.max_proposals_per_particle, kept, complete);
}

}  // namespace brink
