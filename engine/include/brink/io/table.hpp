// The outcome table printed by `brink run` and `brink inspect`.
#pragma once

#include <string>
#include <vector>

#include "brink/sweep/summary.hpp"

namespace brink {

// One block per point: each outcome's probability with its 95% Wilson
// interval and count, then mean casualties per actor.
std::string format_outcome_table(const std::vector<PointSummary>& summaries, const std::vector<std::string>& actors,
                                 const std::vector<std::string>& parameters,
                                 const std::vector<std::vector<double>>& parameter_values);

}  // namespace brink
