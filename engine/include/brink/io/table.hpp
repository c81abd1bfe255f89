// The tables printed by `brink run` and `brink inspect`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "brink/sweep/morris.hpp"
#include "brink/sweep/plan.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

// The rows a table of points shows, chosen as the points' summaries arrive,
// in any order: every point while there are at most kFullRows; beyond, the
// kEnds lowest and highest point numbers and, for each outcome, the point of
// lowest probability (the lowest-numbered of equals) and of highest (the
// highest-numbered of equals). It keeps no other summary, so a sweep's
// table costs the same memory for any number of points.
class TableRows {
 public:
  static constexpr std::size_t kFullRows = 20;
  static constexpr std::size_t kEnds = 3;
  void offer(const PointSummary& summary);
  // The rows to print, ascending by point.
  std::vector<PointSummary> rows() const;
  std::int64_t points() const { return offered_; }  // how many were offered
  // Whether a point offered lies strictly between points a and b (rows of
  // rows()), i.e. the table leaves rows out there. Shards and partial files
  // offer points with gaps in their numbers that are not left out.
  bool left_out_between(std::int64_t a, std::int64_t b) const;
  // Keep every point offered as well, in offer order (a posterior file's
  // draws, at most 1000, which its pooled table needs): every().
  void keep_every_point() { keep_every_ = true; }
  const std::vector<PointSummary>& every() const { return every_; }

 private:
  bool could_show(const PointSummary& s) const;
  void prune();
  std::vector<PointSummary> kept_;    // ascending by point
  std::vector<bool> offered_points_;  // a bit per point number up to the highest offered
  std::int64_t offered_ = 0;
  bool keep_every_ = false;
  std::vector<PointSummary> every_;
};

// A point's parameter values (looked up for the rows shown only: a plan's
// points are not copied); empty if unknown.
using ParameterValues = std::function<std::vector<double>(std::int64_t point)>;
// Those of a plan's points.
ParameterValues values_of(const PointTable& points);

// One point: each outcome's probability with its 95% Wilson interval and
// count, casualty and timing quantiles, and survival at a few days. Several
// points: one row per point with its parameter values and each outcome's
// probability with the bounds of its 95% Wilson interval. Days are shown
// with the decimals the step length `dt_days` [days] and the values need
// (whole days when both are whole; 0: unknown, the values' own decimals).
std::string format_outcome_table(const TableRows& rows, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters, const ParameterValues& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices = {},
                                 double dt_days = 0.0);
// The same of every point's summary, parameter_values[point] each point's values.
std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices = {},
                                 double dt_days = 0.0);
// One summary of `points` points pooled (a posterior run's draws), detailed as
// a single point is, under a heading that says it is pooled.
std::string format_pooled_table(const PointSummary& pooled, std::int64_t points, const std::vector<std::string>& actors,
                                double dt_days);

// Below this many base rows N the Sobol intervals miss in either direction too
// often to report (docs/sweeps.md, "Known problems"); the table says so.
inline constexpr std::int64_t kReportableSobolRows = 256;

// First-order and total Sobol indices with 95% bootstrap intervals, one row
// per (output, parameter); `indices` output-major over the first
// indices.size() / outputs.size() parameters, from `base_rows` rows (N).
std::string format_sensitivity_table(const std::vector<SobolIndex>& indices, const std::vector<std::string>& outputs,
                                     const std::vector<std::string>& parameters, std::int64_t base_rows);
// Morris screening measures (output-major over the swept parameters), one row
// per output and parameter: mu* with its bootstrap interval, mu and sigma.
std::string format_morris_table(const std::vector<MorrisIndex>& indices, const std::vector<std::string>& outputs,
                                const std::vector<std::string>& parameters);

}  // namespace brink
