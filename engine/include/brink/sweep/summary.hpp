// Per-point summaries, computed once all of a point's replications are in,
// from arrays in replication order, so they are the same bits whatever order
// the blocks arrived in.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "brink/model/kernel.hpp"

namespace brink {

struct Interval {
  double lower = 0.0;
  double upper = 0.0;
};

// Wilson score interval for k successes in n trials at normal quantile z.
Interval wilson_interval(std::int64_t k, std::int64_t n, double z = 1.959963984540054);

struct PointSummary {
  std::int64_t point = 0;
  std::int64_t replications = 0;
  std::array<std::int64_t, kOutcomeCount> count{};
  std::array<double, kOutcomeCount> probability{};
  std::array<Interval, kOutcomeCount> interval{};  // 95% Wilson
  std::vector<double> mean_casualties;             // per actor [troops]
  double mean_end_day = 0.0;                       // mean day the outcome was decided [days]
};

// Collects a point's blocks; hands back its summary when the last one lands.
class PointAccumulator {
 public:
  PointAccumulator(std::int64_t replications, int actors, double dt_days);
  // Returns true and fills `summary` when this block completes its point.
  bool add(const BlockResult& block, PointSummary* summary);

 private:
  struct Pending {
    std::vector<std::int8_t> outcome;
    std::vector<std::int32_t> end_step;
    std::vector<double> casualties;
    std::int64_t received = 0;
  };
  std::int64_t replications_;
  int actors_;
  double dt_days_;
  std::map<std::int64_t, Pending> pending_;
};

}  // namespace brink
