// What brink never writes into a point's summary or a kept block, as its
// readers check it: `brink inspect` (hdf5_reader.cpp), `brink merge`
// (merge.cpp) and `--resume` (Hdf5Writer::read_summary, read_block). A file
// edited with its checksums rewritten, or written by another program, is
// refused as damaged rather than printed, merged or finished with confident
// numbers. Each check is of a point's own row against its own invariants,
// so it costs nothing next to reading the row.
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "hdf5_util.hpp"

namespace brink::h5 {

namespace {

constexpr double kSlack = 1e-9;  // rounding in a mean of shares, or in a sum of them

std::string counts_problem(const PointSummary& s) {
  std::int64_t total = 0;
  for (std::size_t k = 0; k < kOutcomeCount; ++k) {
    if (s.count[k] < 0 || s.count[k] > s.replications)
      return fmt::format("counts {} of {} replications in one outcome", s.count[k], s.replications);
    if (!(s.probability[k] >= 0.0 && s.probability[k] <= 1.0))
      return fmt::format("gives an outcome the probability {}", s.probability[k]);
    total += s.count[k];
  }
  if (total != s.replications) return fmt::format("counts {} outcomes for {} replications", total, s.replications);
  for (std::size_t k = 0; k < kOutcomeCount; ++k) {
    // Written as count / replications, and its interval around it (Wilson's, or the clustered one).
    const double share = static_cast<double>(s.count[k]) / static_cast<double>(s.replications);
    if (std::abs(s.probability[k] - share) > 1e-12)
      return fmt::format("gives an outcome the probability {} where its count says {} of {}", s.probability[k],
                         s.count[k], s.replications);
    const Interval& ci = s.interval[k];
    if (!(ci.lower >= 0.0 && ci.lower <= s.probability[k] && s.probability[k] <= ci.upper && ci.upper <= 1.0))
      return fmt::format("gives an outcome the probability {} with the interval [{}, {}]", s.probability[k], ci.lower,
                         ci.upper);
  }
  return {};
}

// The first value of `values` that `valid` refuses, as "holds V in 'NAME' (entry I)".
template <class Row, class Valid>
std::string first_invalid(const Row& values, const char* name, Valid valid, const char* written) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!valid(values[i]))
      return fmt::format("holds {} in '{}' (entry {} of the point's row), where brink writes {}", values[i], name, i,
                         written);
  return {};
}

bool troops(double v) { return v >= 0.0 && std::isfinite(v); }
bool share(double v) { return v >= 0.0 && v <= 1.0 + kSlack; }

// Quantiles at kQuantiles: ordered, of a quantity at least 0.
std::string quantiles_problem(const std::array<double, 3>& q, const char* name, std::size_t row) {
  if (!(troops(q[0]) && q[0] <= q[1] && q[1] <= q[2] && std::isfinite(q[2])))
    return fmt::format(
        "holds the quantiles ({} / {} / {}) in '{}' (row {}), where brink writes ordered ones of a "
        "quantity at least 0",
        q[0], q[1], q[2], name, row);
  return {};
}

std::string means_problem(const PointSummary& s) {
  std::string p = first_invalid(s.mean_casualties, "mean_casualties", troops, "a mean of troops lost, at least 0");
  for (std::size_t a = 0; p.empty() && a < s.casualty_quantiles.size(); ++a)
    p = quantiles_problem(s.casualty_quantiles[a], "casualty_quantile", a);
  if (p.empty() && !troops(s.mean_end_day))
    p = fmt::format("holds {} in 'mean_end_day', where brink writes a mean day, at least 0", s.mean_end_day);
  if (p.empty()) p = quantiles_problem(s.end_day_quantiles, "end_day_quantile", 0);
  if (p.empty()) p = first_invalid(s.mean_troops, "mean_troops", troops, "a mean of troops, at least 0");
  if (p.empty()) p = first_invalid(s.mean_belief, "mean_belief", share, "a mean probability, in [0, 1]");
  if (p.empty()) p = first_invalid(s.agreement, "agreement_probability", share, "a share of replications, in [0, 1]");
  return p;
}

// Survival and rung shares, on the record grid: each record's shares of the
// rungs add up to 1.
std::string records_problem(const PointSummary& s) {
  for (std::size_t q = 0; q < s.survival.size(); ++q)
    if (!(s.survival[q] >= 0.0 && s.survival[q] <= 1.0))
      return fmt::format(
          "holds the survival probability {} in 'survival' (record {}), where brink writes one in [0, 1]",
          s.survival[q], q);
  if (std::string p = first_invalid(s.rung_share, "rung_share", share, "a share of replications, in [0, 1]");
      !p.empty())
    return p;
  const std::size_t records = !s.record_day.empty() ? s.record_day.size() : s.survival.size();
  if (records == 0 || s.rung_share.empty() || s.rung_share.size() % records != 0) return {};
  const std::size_t rungs = s.rung_share.size() / records;
  for (std::size_t q = 0; q < records; ++q) {
    double total = 0;
    for (std::size_t r = 0; r < rungs; ++r) total += s.rung_share[q * rungs + r];
    if (std::abs(total - 1.0) > kSlack)
      return fmt::format(
          "holds shares in 'rung_share' that add up to {} at record {}, where brink writes shares "
          "of the replications adding up to 1",
          total, q);
  }
  return {};
}

}  // namespace

std::string summary_problem(const PointSummary& s, std::int64_t slots) {
  if (s.replications < 0) return fmt::format("counts {} replications", s.replications);
  if (s.replications == 0) return {};  // not run: its outcome variables hold fill values
  // A point runs at most as many replications as the file has slots: a
  // forged count with its intervals made consistent read as a result 1,600
  // times more precise than the run.
  if (slots >= 0 && s.replications > slots)
    return fmt::format("counts {} replications in 'replications', more than the {} of its dimension 'replication'",
                       s.replications, slots);
  std::string p = counts_problem(s);
  if (p.empty()) p = records_problem(s);
  if (p.empty()) p = means_problem(s);
  return p;
}

std::string block_problem(const BlockResult& b, std::int64_t steps) {
  const auto at = [&](std::size_t r) { return b.spec.first_replication + static_cast<std::int64_t>(r); };
  for (std::size_t r = 0; r < b.outcome.size(); ++r)
    if (b.outcome[r] < 0 || b.outcome[r] >= static_cast<int>(kOutcomeCount))
      return fmt::format("'outcome_code' holds {} for replication {}, where brink writes an outcome from 0 to {}",
                         b.outcome[r], at(r), kOutcomeCount - 1);
  for (std::size_t r = 0; r < b.end_step.size(); ++r)
    if (b.end_step[r] < 0 || b.end_step[r] > steps)
      return fmt::format("'end_step' holds {} for replication {}, where brink writes a step from 0 to {}",
                         b.end_step[r], at(r), steps);
  for (std::size_t r = 0; r < b.war_start_step.size(); ++r)
    if (b.war_start_step[r] < -1 || b.war_start_step[r] > steps)
      return fmt::format("'war_start_step' holds {} for replication {}, where brink writes -1 or a step up to {}",
                         b.war_start_step[r], at(r), steps);
  const std::size_t actors = b.outcome.empty() ? 1 : std::max<std::size_t>(1, b.casualties.size() / b.outcome.size());
  for (std::size_t i = 0; i < b.casualties.size(); ++i)
    if (!troops(b.casualties[i]))
      return fmt::format("'casualties' holds {} for replication {}, where brink writes troops lost, at least 0",
                         b.casualties[i], at(i / actors));
  for (std::size_t i = 0; i < b.agreed.size(); ++i)
    if (b.agreed[i] != 0 && b.agreed[i] != 1)
      return fmt::format("'agreed' holds {} for a replication, where brink writes 0 or 1", b.agreed[i]);
  return {};
}

}  // namespace brink::h5
