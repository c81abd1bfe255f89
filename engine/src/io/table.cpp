#include "brink/io/table.hpp"

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

}  // namespace

std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values) {
  std::string out;
  if (summaries.size() == 1) {
    const PointSummary& s = summaries.front();
    out += fmt::format("point {} ({} replications)", s.point, s.replications);
    if (!parameters.empty() && s.point < static_cast<std::int64_t>(parameter_values.size())) {
      out += ":";
      for (std::size_t k = 0; k < parameters.size(); ++k)
        out += fmt::format(" {}={:g}", parameters[k], parameter_values[s.point][k]);
    }
    return out + "\n" + point_detail(s, actors);
  }
  // Several points: one row each, probabilities with their Wilson half-widths.
  out += fmt::format("{:>6}", "point");
  for (const auto& p : parameters) out += fmt::format(" {:>14}", p.size() > 14 ? "…" + p.substr(p.size() - 13) : p);
  for (auto o : outcome_names()) out += fmt::format(" {:>15}", o);
  out += fmt::format(" {:>8}\n", "reps");
  for (const PointSummary& s : summaries) {
    out += fmt::format("{:>6}", s.point);
    for (std::size_t k = 0; k < parameters.size(); ++k)
      out += fmt::format(" {:>14.6g}", s.point < static_cast<std::int64_t>(parameter_values.size())
                                           ? parameter_values[s.point][k]
                                           : std::nan(""));
    for (int o = 0; o < kOutcomeCount; ++o)
      out += fmt::format(" {:>7.4f}±{:<7.4f}", s.probability[o], (s.interval[o].upper - s.interval[o].lower) / 2);
    out += fmt::format(" {:>8}\n", s.replications);
  }
  out += "(± is half the 95% Wilson interval)\n";
  return out;
}

std::string format_sensitivity_table(const std::vector<SobolIndex>& indices, const std::vector<std::string>& outputs,
                                     const std::vector<std::string>& parameters) {
  if (outputs.empty() || indices.empty()) return {};
  const std::size_t swept = indices.size() / outputs.size();
  std::string out = "Sobol sensitivity indices (95% bootstrap intervals):\n";
  out += fmt::format("  {:<28} {:<36} {:>26} {:>26}\n", "output", "parameter", "first-order", "total");
  for (std::size_t o = 0; o < outputs.size(); ++o)
    for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) {
      const SobolIndex& x = indices[o * swept + j];
      out += fmt::format("  {:<28} {:<36} {:>7.3f} [{:>6.3f}, {:>6.3f}] {:>7.3f} [{:>6.3f}, {:>6.3f}]\n", outputs[o],
                         parameters[j], x.first, x.first_low, x.first_high, x.total, x.total_low, x.total_high);
    }
  return out;
}

}  // namespace brink
