#include "brink/io/table.hpp"

#include <fmt/format.h>

#include "brink/scenario/scenario.hpp"

namespace brink {

std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values) {
  std::string out;
  for (const PointSummary& s : summaries) {
    out += fmt::format("point {} ({} replications)", s.point, s.replications);
    if (!parameters.empty() && s.point < static_cast<std::int64_t>(parameter_values.size())) {
      out += ":";
      for (std::size_t k = 0; k < parameters.size(); ++k)
        out += fmt::format(" {}={:g}", parameters[k], parameter_values[s.point][k]);
    }
    out += "\n";
    out += fmt::format("  {:<14} {:>11}  {:>23}  {:>9}\n", "outcome", "probability", "95% interval (Wilson)",
                       "count");
    for (int o = 0; o < kOutcomeCount; ++o)
      out += fmt::format("  {:<14} {:>11.4f}  [{:>9.4f}, {:>9.4f}]  {:>9}\n", outcome_names()[o], s.probability[o],
                         s.interval[o].lower, s.interval[o].upper, s.count[o]);
    if (!s.mean_casualties.empty()) {
      out += "  mean casualties:";
      for (std::size_t a = 0; a < s.mean_casualties.size() && a < actors.size(); ++a)
        out += fmt::format(" {} {:.0f}", actors[a], s.mean_casualties[a]);
      out += "\n";
    }
  }
  return out;
}

}  // namespace brink
