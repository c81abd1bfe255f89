#include "brink/io/table.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "brink/scenario/scenario.hpp"

namespace brink {
namespace {

// The fewest decimals, at most kMaxDayDecimals, that show dt and every one
// of `days` exactly: days are multiples of dt, and their quantiles
// interpolate between them (type 7), so 0.25-day steps give 11.5 or 11.25.
// Whole days when dt and the values are whole. dt 0 (unknown): the values' own.
constexpr int kMaxDayDecimals = 4;
int day_decimals(double dt_days, std::span<const double> days) {
  auto shows = [](double x, int decimals) {
    if (!std::isfinite(x)) return true;
    const double scaled = x * std::pow(10.0, decimals);
    return std::abs(scaled - std::round(scaled)) <= 1e-9 * std::max(1.0, std::abs(scaled));
  };
  for (int d = 0; d < kMaxDayDecimals; ++d)
    if (shows(dt_days, d) && std::all_of(days.begin(), days.end(), [&](double x) { return shows(x, d); })) return d;
  return kMaxDayDecimals;
}

std::string point_detail(const PointSummary& s, const std::vector<std::string>& actors, double dt_days) {
  std::string out;
  out += fmt::format("  {:<14} {:>11}  {:>23}  {:>9}\n", "outcome", "probability",
                     s.pooled_over_draws ? "95% interval (by draw)" : "95% interval (Wilson)", "count");
  for (int o = 0; o < kOutcomeCount; ++o)
    out += fmt::format("  {:<14} {:>11.4f}  [{:>9.4f}, {:>9.4f}]  {:>9}\n", outcome_names()[o], s.probability[o],
                       s.interval[o].lower, s.interval[o].upper, s.count[o]);
  if (s.pooled_over_draws)
    out +=
        "  (each draw's replications share its parameters: the intervals count the draws, not the replications, "
        "as independent)\n";
  if (!s.mean_casualties.empty()) {
    // Quantiles do not pool over points (--posterior-draws): then the means alone, said so.
    out += s.casualty_quantiles.empty() ? "  casualties, mean:" : "  casualties, mean (5% / 50% / 95%):";
    for (std::size_t a = 0; a < s.mean_casualties.size() && a < actors.size(); ++a) {
      out += fmt::format("\n    {:<6} {:>9.0f}", actors[a], s.mean_casualties[a]);
      if (a < s.casualty_quantiles.size())
        out += fmt::format("  ({:.0f} / {:.0f} / {:.0f})", s.casualty_quantiles[a][0], s.casualty_quantiles[a][1],
                           s.casualty_quantiles[a][2]);
    }
    out += "\n";
  }
  // Days with the decimals dt and the quantiles need; the mean with at least one.
  const int decimals = day_decimals(dt_days, s.end_day_quantiles);
  const int mean_decimals = std::max(decimals, 1);
  if (std::isnan(s.end_day_quantiles[1]))  // pooled over posterior draws: no quantiles
    out += fmt::format("  day the outcome was decided, mean {:.{}f}\n", s.mean_end_day, mean_decimals);
  else
    out += fmt::format("  day the outcome was decided, mean {:.{}f} (5% / 50% / 95%: {:.{}f} / {:.{}f} / {:.{}f})\n",
                       s.mean_end_day, mean_decimals, s.end_day_quantiles[0], decimals, s.end_day_quantiles[1],
                       decimals, s.end_day_quantiles[2], decimals);
  if (!s.survival.empty()) {
    // survival[q] is the share in which no fighting has begun before the record's day (not on it).
    out += "  P(no fighting before day):";
    const std::size_t n = s.survival.size();
    std::vector<std::size_t> shown;
    for (std::size_t q : {(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4, n - 1})
      if (q > 0 && q < s.record_day.size() && (shown.empty() || shown.back() != q)) shown.push_back(q);
    std::vector<double> days;
    for (std::size_t q : shown) days.push_back(s.record_day[q]);
    const int day_places = day_decimals(dt_days, days);
    for (std::size_t q : shown) out += fmt::format("  {:.{}f}: {:.3f}", s.record_day[q], day_places, s.survival[q]);
    out += "\n";
  }
  return out;
}

}  // namespace

namespace {

// Orders of the extremes format_outcome_table shows, as std::minmax_element
// over points in ascending order picks them: the first of the lowest, the
// last of the highest.
bool lower(const PointSummary& a, const PointSummary& b, int o) {
  return a.probability[o] < b.probability[o] || (a.probability[o] == b.probability[o] && a.point < b.point);
}
bool higher(const PointSummary& a, const PointSummary& b, int o) {
  return a.probability[o] > b.probability[o] || (a.probability[o] == b.probability[o] && a.point > b.point);
}

}  // namespace

// Whether `s` shows in a table of more than kFullRows points: kept_ holds
// the rows of those before it, and it shows if it beats one of them.
bool TableRows::could_show(const PointSummary& s) const {
  if (s.point < kept_[kEnds - 1].point || s.point > kept_[kept_.size() - kEnds].point) return true;
  for (int o = 0; o < kOutcomeCount; ++o) {
    const auto [low, high] = std::minmax_element(
        kept_.begin(), kept_.end(), [o](const auto& a, const auto& b) { return a.probability[o] < b.probability[o]; });
    if (lower(s, *low, o) || higher(s, *high, o)) return true;
  }
  return false;
}

// Keeps only the rows a table of the points offered so far shows.
void TableRows::prune() {
  std::vector<bool> shown(kept_.size(), false);
  for (std::size_t i = 0; i < kEnds; ++i) shown[i] = shown[kept_.size() - 1 - i] = true;
  for (int o = 0; o < kOutcomeCount; ++o) {
    std::size_t low = 0, high = 0;
    for (std::size_t i = 1; i < kept_.size(); ++i) {
      if (lower(kept_[i], kept_[low], o)) low = i;
      if (higher(kept_[i], kept_[high], o)) high = i;
    }
    shown[low] = shown[high] = true;
  }
  std::vector<PointSummary> rows;
  for (std::size_t i = 0; i < kept_.size(); ++i)
    if (shown[i]) rows.push_back(std::move(kept_[i]));
  kept_ = std::move(rows);
}

bool TableRows::left_out_between(std::int64_t a, std::int64_t b) const {
  const auto end = static_cast<std::int64_t>(offered_points_.size());
  for (std::int64_t p = std::max<std::int64_t>(a + 1, 0); p < std::min(b, end); ++p)
    if (offered_points_[static_cast<std::size_t>(p)]) return true;
  return false;
}

ParameterValues values_of(const PointTable& points) {
  return [&points](std::int64_t point) {
    const std::span<const double> v = points[static_cast<std::size_t>(point)].values;
    return std::vector<double>(v.begin(), v.end());
  };
}

void TableRows::offer(const PointSummary& summary) {
  const auto bit = static_cast<std::size_t>(summary.point);
  if (bit >= offered_points_.size()) offered_points_.resize(bit + 1);
  offered_points_[bit] = true;
  if (keep_every_) every_.push_back(summary);
  const bool beyond_full = ++offered_ > static_cast<std::int64_t>(kFullRows);
  const bool shows = !beyond_full || could_show(summary);
  if (shows) {
    const auto at = std::upper_bound(kept_.begin(), kept_.end(), summary.point,
                                     [](std::int64_t p, const PointSummary& s) { return p < s.point; });
    kept_.insert(at, summary);
  }
  // The first point past a full table, and any that shows after it, leave rows out.
  if (beyond_full && (shows || offered_ == static_cast<std::int64_t>(kFullRows) + 1)) prune();
}

std::vector<PointSummary> TableRows::rows() const { return kept_; }

std::string format_pooled_table(const PointSummary& pooled, std::int64_t points, const std::vector<std::string>& actors,
                                double dt_days) {
  if (points == 1) return format_outcome_table({pooled}, actors, {}, {}, {}, dt_days);
  return fmt::format("{} points pooled ({} replications)\n", points, pooled.replications) +
         point_detail(pooled, actors, dt_days);
}

std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices, double dt_days) {
  TableRows rows;
  for (const PointSummary& s : summaries) rows.offer(s);
  auto values_of = [&](std::int64_t point) {
    return point < static_cast<std::int64_t>(parameter_values.size()) ? parameter_values[point] : std::vector<double>{};
  };
  return format_outcome_table(rows, actors, parameters, values_of, parameter_choices, dt_days);
}

std::string format_outcome_table(const TableRows& table, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters, const ParameterValues& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices, double dt_days) {
  // A categorical parameter holds an index: show its name.
  auto value_text = [&](std::size_t k, double v) -> std::string {
    const bool named = k < parameter_choices.size() && v >= 0 && v < static_cast<double>(parameter_choices[k].size());
    return named ? parameter_choices[k][static_cast<std::size_t>(v)] : fmt::format("{:.6g}", v);
  };
  // Point p's value of parameter k, NaN if unknown.
  auto value_of = [&](std::int64_t p, std::size_t k) {
    const std::vector<double> values = parameter_values ? parameter_values(p) : std::vector<double>{};
    return k < values.size() ? values[k] : std::nan("");
  };
  const std::vector<PointSummary> shown = table.rows();
  std::string out;
  if (table.points() == 1) {
    const PointSummary& s = shown.front();
    out += fmt::format("point {} ({} replications)", s.point, s.replications);
    if (!parameters.empty() && parameter_values && !parameter_values(s.point).empty()) {
      out += ":";
      for (std::size_t k = 0; k < parameters.size(); ++k)
        out += fmt::format(" {}={}", parameters[k], value_text(k, value_of(s.point, k)));
    }
    return out + "\n" + point_detail(s, actors, dt_days);
  }
  // Several points: one row each, each probability with its Wilson interval's
  // bounds (the interval is not symmetric about p: a half-width would misstate
  // it), parameters under their full paths (a column as wide as its path).
  std::vector<std::size_t> width;
  out += fmt::format("{:>6}", "point");
  for (const auto& p : parameters) {
    width.push_back(std::max<std::size_t>(p.size(), 10));
    out += fmt::format(" {:>{}}", p, width.back());
  }
  for (auto o : outcome_names()) out += fmt::format(" {:>21}", o);
  out += fmt::format(" {:>8}\n", "reps");
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i > 0 && table.left_out_between(shown[i - 1].point, shown[i].point)) out += fmt::format("{:>6}\n", "...");
    const PointSummary& s = shown[i];
    out += fmt::format("{:>6}", s.point);
    for (std::size_t k = 0; k < parameters.size(); ++k)
      out += fmt::format(" {:>{}}", value_text(k, value_of(s.point, k)), width[k]);
    for (int o = 0; o < kOutcomeCount; ++o)
      out += fmt::format("  {:.3f} [{:.3f}, {:.3f}]", s.probability[o], s.interval[o].lower, s.interval[o].upper);
    out += fmt::format(" {:>8}\n", s.replications);
  }
  out += "(each outcome: probability [95% Wilson interval])\n";
  const auto points = static_cast<std::size_t>(table.points());
  if (shown.size() < points)
    out += fmt::format(
        "({} of {} points shown: the first and last {}, and those with the lowest and highest probability of each "
        "outcome; {} left out — all are in the file)\n",
        shown.size(), points, TableRows::kEnds, points - shown.size());
  return out;
}

std::string format_sensitivity_table(const std::vector<SobolIndex>& indices, const std::vector<std::string>& outputs,
                                     const std::vector<std::string>& parameters, std::int64_t base_rows) {
  if (outputs.empty() || indices.empty()) return {};
  const std::size_t swept = indices.size() / outputs.size();
  std::string out = "Sobol sensitivity indices (95% bootstrap intervals):\n";
  std::size_t width = 36;
  for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) width = std::max(width, parameters[j].size());
  out += fmt::format("  {:<28} {:<{}} {:>26} {:>26}\n", "output", "parameter", width, "first-order", "total");
  bool unbounded = false;
  for (std::size_t o = 0; o < outputs.size(); ++o)
    for (std::size_t j = 0; j < swept && j < parameters.size(); ++j) {
      const SobolIndex& x = indices[o * swept + j];
      out += fmt::format("  {:<28} {:<{}} {:>7.3f} [{:>6.3f}, {:>6.3f}] {:>7.3f} [{:>6.3f}, {:>6.3f}]\n", outputs[o],
                         parameters[j], width, x.first, x.first_low, x.first_high, x.total, x.total_low, x.total_high);
      unbounded = unbounded || (std::isfinite(x.first) && std::isnan(x.first_low));
    }
  // sobol_indices' rule (docs/sweeps.md, "Intervals"): say why a finite index has none.
  if (unbounded)
    out +=
        "(an interval of nan beside a finite index: the output varies in so few of the base rows that more than "
        "2.5% of the bootstrap resamples hold none of them and have no index; raise --samples)\n";
  if (base_rows < kReportableSobolRows)
    out += fmt::format(
        "(from N = {} base rows: below {} the intervals miss the index too often, above a large one and below a "
        "small one, so a small index with a narrow interval does not show that a parameter can be fixed; raise "
        "--samples to report them)\n",
        base_rows, kReportableSobolRows);
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
