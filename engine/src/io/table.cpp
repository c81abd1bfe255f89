#include "brink/io/table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "brink/scenario/scenario.hpp"

namespace brink {
namespace {

std::string point_detail(const PointSummary& s, const std::vector<std::string>& actors) {
  std::string out;
  out += fmt::format("  {:<14} {:>11}  {:>23}  {:>9}\n", "outcome", "probability", "95% interval (Wilson)", "count");
  for (int o = 0; o < kOutcomeCount; ++o)
    out += fmt::format("  {:<14} {:>11.4f}  [{:>9.4f}, {:>9.4f}]  {:>9}\n", outcome_names()[o], s.probability[o],
                       s.interval[o].lower, s.interval[o].upper, s.count[o]);
  if (!s.mean_casualties.empty()) {
    out += "  casualties, mean (5% / 50% / 95%):";
    for (std::size_t a = 0; a < s.mean_casualties.size() && a < actors.size(); ++a) {
      out += fmt::format("\n    {:<6} {:>9.0f}", actors[a], s.mean_casualties[a]);
      if (a < s.casualty_quantiles.size())
        out += fmt::format("  ({:.0f} / {:.0f} / {:.0f})", s.casualty_quantiles[a][0], s.casualty_quantiles[a][1],
                           s.casualty_quantiles[a][2]);
    }
    out += "\n";
  }
  if (std::isnan(s.end_day_quantiles[1]))  // pooled over posterior draws: no quantiles
    out += fmt::format("  day the outcome was decided, mean {:.1f}\n", s.mean_end_day);
  else
    out += fmt::format("  day the outcome was decided, mean {:.1f} (5% / 50% / 95%: {:.0f} / {:.0f} / {:.0f})\n",
                       s.mean_end_day, s.end_day_quantiles[0], s.end_day_quantiles[1], s.end_day_quantiles[2]);
  if (!s.survival.empty()) {
    out += "  P(no fighting by day):";
    const std::size_t n = s.survival.size();
    for (std::size_t q : {(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4, n - 1})
      if (q > 0 && q < s.record_day.size()) out += fmt::format("  {:g}: {:.3f}", s.record_day[q], s.survival[q]);
    out += "\n";
  }
  return out;
}

// Beyond this many points the table shows a selection of rows.
constexpr std::size_t kFullTableRows = 20;
constexpr std::size_t kEnds = 3;

// Indices of the rows to print, ascending: every row of a small table; of a
// large one the first and last kEnds rows and, for each outcome, the rows
// with its lowest and highest probability.
std::vector<std::size_t> rows_shown(const std::vector<PointSummary>& summaries) {
  const std::size_t n = summaries.size();
  std::vector<std::size_t> rows;
  rows.reserve(2 * kEnds + 2 * kOutcomeCount + n * (n <= kFullTableRows));
  if (n <= kFullTableRows) {
    for (std::size_t i = 0; i < n; ++i) rows.push_back(i);
    return rows;
  }
  for (std::size_t i = 0; i < kEnds; ++i) {
    rows.push_back(i);
    rows.push_back(n - 1 - i);
  }
  for (int o = 0; o < kOutcomeCount; ++o) {
    auto by_probability = [o](const PointSummary& a, const PointSummary& b) {
      return a.probability[o] < b.probability[o];
    };
    const auto [low, high] = std::minmax_element(summaries.begin(), summaries.end(), by_probability);
    rows.push_back(static_cast<std::size_t>(low - summaries.begin()));
    rows.push_back(static_cast<std::size_t>(high - summaries.begin()));
  }
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace

std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices) {
  // A categorical parameter holds an index: show its name.
  auto value_text = [&](std::size_t k, double v) -> std::string {
    const bool named = k < parameter_choices.size() && v >= 0 && v < static_cast<double>(parameter_choices[k].size());
    return named ? parameter_choices[k][static_cast<std::size_t>(v)] : fmt::format("{:.6g}", v);
  };
  std::string out;
  if (summaries.size() == 1) {
    const PointSummary& s = summaries.front();
    out += fmt::format("point {} ({} replications)", s.point, s.replications);
    if (!parameters.empty() && s.point < static_cast<std::int64_t>(parameter_values.size())) {
      out += ":";
      for (std::size_t k = 0; k < parameters.size(); ++k)
        out += fmt::format(" {}={}", parameters[k], value_text(k, parameter_values[s.point][k]));
    }
    return out + "\n" + point_detail(s, actors);
  }
  // Several points: one row each, probabilities with their Wilson half-widths,
  // parameters under their full paths (a column as wide as its path).
  std::vector<std::size_t> width;
  out += fmt::format("{:>6}", "point");
  for (const auto& p : parameters) {
    width.push_back(std::max<std::size_t>(p.size(), 10));
    out += fmt::format(" {:>{}}", p, width.back());
  }
  for (auto o : outcome_names()) out += fmt::format(" {:>15}", o);
  out += fmt::format(" {:>8}\n", "reps");
  const std::vector<std::size_t> shown = rows_shown(summaries);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i > 0 && shown[i] > shown[i - 1] + 1) out += fmt::format("{:>6}\n", "...");
    const PointSummary& s = summaries[shown[i]];
    out += fmt::format("{:>6}", s.point);
    for (std::size_t k = 0; k < parameters.size(); ++k)
      out += fmt::format(
          " {:>{}}",
          value_text(k, s.point < static_cast<std::int64_t>(parameter_values.size()) ? parameter_values[s.point][k]
                                                                                     : std::nan("")),
          width[k]);
    for (int o = 0; o < kOutcomeCount; ++o)
      out += fmt::format(" {:>7.4f}±{:<7.4f}", s.probability[o], (s.interval[o].upper - s.interval[o].lower) / 2);
    out += fmt::format(" {:>8}\n", s.replications);
  }
  out += "(± is half the 95% Wilson interval)\n";
  if (shown.size() < summaries.size())
    out += fmt::format(
        "({} of {} points shown: the first and last {}, and those with the lowest and highest probability of each "
        "outcome; {} left out — all are in the file)\n",
        shown.size(), summaries.size(), kEnds, summaries.size() - shown.size());
  return out;
}

std::string format_sensitivity_table(const std::vector<SobolIndex>& indices, const std::vector<std::string>& outputs,
                                     const std::vector<std::string>& parameters) {
  if (outputs.empty() || indices.empty()) return {};
  const std::size_t swept = indices.size() / outputs.size();
  std::string out = "Sobol sensitivity indices (95% bootstrap intervals):\n";
  std::size_t width = 36;
  for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) width = std::max(width, parameters[j].size());
  out += fmt::format("  {:<28} {:<{}} {:>26} {:>26}\n", "output", "parameter", width, "first-order", "total");
  for (std::size_t o = 0; o < outputs.size(); ++o)
    for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) {
      const SobolIndex& x = indices[o * swept + j];
      out += fmt::format("  {:<28} {:<{}} {:>7.3f} [{:>6.3f}, {:>6.3f}] {:>7.3f} [{:>6.3f}, {:>6.3f}]\n", outputs[o],
                         parameters[j], width, x.first, x.first_low, x.first_high, x.total, x.total_low, x.total_high);
    }
  return out;
}

std::string format_morris_table(const std::vector<MorrisIndex>& indices, const std::vector<std::string>& outputs,
                                const std::vector<std::string>& parameters) {
  if (outputs.empty() || indices.empty()) return {};
  const std::size_t swept = indices.size() / outputs.size();
  std::string out =
      "Morris elementary effects (change of the output over each parameter's whole range; 95% bootstrap "
      "interval of mu*):\n";
  std::size_t width = 36;
  for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) width = std::max(width, parameters[j].size());
  out += fmt::format("  {:<28} {:<{}} {:>30} {:>11} {:>11}\n", "output", "parameter", width, "mu*", "mu", "sigma");
  for (std::size_t o = 0; o < outputs.size(); ++o)
    for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) {
      const MorrisIndex& x = indices[o * swept + j];
      out += fmt::format("  {:<28} {:<{}} {:>10.4g} [{:>8.4g}, {:>8.4g}] {:>11.4g} {:>11.4g}\n", outputs[o],
                         parameters[j], width, x.mu_star, x.mu_star_low, x.mu_star_high, x.mu, x.sigma);
    }
  return out;
}

}  // namespace brink
