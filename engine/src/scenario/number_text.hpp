// Number text as scenario files and --set write it, shared by the readers of
// fields, YAML scalars and constraint rules.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace brink {

// YAML 1.1 digit separators (100_000): the text without them, or nullopt
// where a '_' does not stand between two digits (_60, 60_, 6__0 are no
// number in any YAML schema).
inline std::optional<std::string> without_digit_separators(std::string_view text) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '_') {
      out += text[i];
      continue;
    }
    if (i == 0 || i + 1 == text.size() || !digit(text[i - 1]) || !digit(text[i + 1])) return std::nullopt;
  }
  return out;
}

// Number text too close to 0 for a double (1e-400): refused with this
// reason wherever a number is read (a scenario's field, --set, --sweep),
// rather than read as 0 or called "not finite".
inline constexpr std::string_view kCloserToZeroThanADouble =
    "is closer to 0 than a double can hold (below about 2.2e-308: write 0 or a larger number)";

// Whether `text` is a decimal number that underflows a double (1e-400, -2e-999).
inline bool underflows_a_double(std::string_view text) {
  const std::string cleaned = without_digit_separators(text).value_or("");
  const char* first = cleaned.data();
  const char* last = cleaned.data() + cleaned.size();
  if (first != last && *first == '+') ++first;
  double value = 0.0;
  const auto [end, ec] = std::from_chars(first, last, value);
  return ec == std::errc::result_out_of_range && end == last && std::abs(std::strtod(cleaned.c_str(), nullptr)) < 1.0;
}

}  // namespace brink
