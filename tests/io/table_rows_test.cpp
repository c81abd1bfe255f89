// TableRows against the rule it streams, applied to every summary at once:
// the points in ascending order, the first and last kEnds, and per outcome
// std::minmax_element's lowest (first of equals) and highest (last of equals).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "brink/io/table.hpp"

namespace brink {
namespace {

std::set<std::int64_t> rows_of_the_whole(const std::vector<PointSummary>& ascending) {
  const std::size_t n = ascending.size();
  std::set<std::int64_t> rows;
  if (n <= TableRows::kFullRows) {
    for (const PointSummary& s : ascending) rows.insert(s.point);
    return rows;
  }
  for (std::size_t i = 0; i < TableRows::kEnds; ++i) {
    rows.insert(ascending[i].point);
    rows.insert(ascending[n - 1 - i].point);
  }
  for (int o = 0; o < kOutcomeCount; ++o) {
    const auto [low, high] = std::minmax_element(
        ascending.begin(), ascending.end(),
        [o](const PointSummary& a, const PointSummary& b) { return a.probability[o] < b.probability[o]; });
    rows.insert(low->point);
    rows.insert(high->point);
  }
  return rows;
}

TEST(TableRowsTest, ShowsWhatTheWholeTableWouldWhateverTheOrderPointsArriveIn) {
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + random() % 300;
    // Probabilities on a coarse grid, so that ties are common; point numbers with gaps.
    std::vector<PointSummary> ascending(n);
    std::int64_t point = 0;
    for (PointSummary& s : ascending) {
      point += 1 + static_cast<std::int64_t>(random() % 3);
      s.point = point;
      for (int o = 0; o < kOutcomeCount; ++o) s.probability[o] = static_cast<double>(random() % 5) / 4.0;
    }
    std::vector<PointSummary> arrival = ascending;
    std::shuffle(arrival.begin(), arrival.end(), random);
    TableRows table;
    for (const PointSummary& s : arrival) table.offer(s);
    std::set<std::int64_t> shown;
    std::int64_t previous = -1;
    for (const PointSummary& s : table.rows()) {
      EXPECT_GT(s.point, previous);  // ascending, each once
      previous = s.point;
      shown.insert(s.point);
    }
    EXPECT_EQ(shown, rows_of_the_whole(ascending)) << "trial " << trial << ", " << n << " points";
    EXPECT_EQ(table.points(), static_cast<std::int64_t>(n));
    // Rows are left out between two shown rows exactly where an offered point lies between them
    // (point numbers have gaps, as a shard's do, which are not left-out rows).
    const std::vector<PointSummary> rows = table.rows();
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const bool between = std::any_of(ascending.begin(), ascending.end(), [&](const PointSummary& s) {
        return s.point > rows[i - 1].point && s.point < rows[i].point;
      });
      EXPECT_EQ(table.left_out_between(rows[i - 1].point, rows[i].point), between) << "trial " << trial;
    }
  }
}

}  // namespace
}  // namespace brink
