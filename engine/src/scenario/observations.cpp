#include "brink/scenario/observations.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "brink/scenario/scenario.hpp"

namespace brink {

std::string_view to_string(ObservedQuantity quantity) {
  static constexpr std::array<std::string_view, 4> kNames = {"forces", "rung", "war_started", "incidents"};
  return kNames[static_cast<int>(quantity)];
}

std::string_view to_string(PriorKind kind) {
  static constexpr std::array<std::string_view, 5> kNames = {"uniform", "log_uniform", "normal", "truncated_normal",
                                                             "exponential"};
  return kNames[static_cast<int>(kind)];
}

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool parse_iso_date(std::string_view text, std::int64_t* days) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int y = 0, m = 0, d = 0;
  auto digits = [&](std::size_t at, std::size_t n, int* out) {
    const char* first = text.data() + at;
    auto [ptr, ec] = std::from_chars(first, first + n, *out);
    return ec == std::errc() && ptr == first + n && (*first >= '0' && *first <= '9');
  };
  if (!digits(0, 4, &y) || !digits(5, 2, &m) || !digits(8, 2, &d)) return false;
  static constexpr std::array<int, 12> kLength = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > kLength[m - 1] + (m == 2 && leap(y) ? 1 : 0)) return false;
  *days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

bool calendar_is_decodable(const Scenario& s) {
  std::int64_t start = 0;
  if (s.run.start_date.empty() || !parse_iso_date(s.run.start_date, &start)) return false;
  constexpr std::int64_t kFirst = -106'751;  // 1677-09-22, days since 1970-01-01
  constexpr std::int64_t kLast = 106'751;    // 2262-04-11
  const double end = static_cast<double>(start) + static_cast<double>(s.step_count()) * s.run.dt_days;
  return start >= kFirst && end <= static_cast<double>(kLast);
}

std::string iso_date(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04d}-{:02d}-{:02d}", y + (m <= 2), m, d);
}

}  // namespace brink
