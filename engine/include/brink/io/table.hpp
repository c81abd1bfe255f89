// The tables printed by `brink run` and `brink inspect`.
#pragma once

#include <string>
#include <vector>

#include "brink/sweep/morris.hpp"
#include "brink/sweep/sensitivity.hpp"
#include "brink/sweep/summary.hpp"

namespace brink {

// One point: each outcome's probability with its 95% Wilson interval and
// count, casualty and timing quantiles, and survival at a few days. Several
// points: one row per point with its parameter values and probabilities.
std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values,
                                 const std::vector<std::vector<std::string>>& parameter_choices = {});

// First-order and total Sobol indices with 95% bootstrap intervals, one row
// per (output, parameter); `indices` output-major over the first
// indices.size() / outputs.size() parameters.
std::string format_sensitivity_table(const std::vector<SobolIndex>& indices, const std::vector<std::string>& outputs,
                                     const std::vector<std::string>& parameters);
// Morris screening measures (output-major over the swept parameters), one row
// per output and parameter: mu* with its bootstrap interval, mu and sigma.
std::string format_morris_table(const std::vector<MorrisIndex>& indices, const std::vector<std::string>& outputs,
                                const std::vector<std::string>& parameters);

}  // namespace brink
