// Number text as scenario files and --set write it, shared by the readers of
// fields, YAML scalars and constraint rules.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

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

// A number written with thousands separators (10,000, -1,000,000.5: one to
// three digits, then groups of a comma and three digits, then an optional
// fraction): the text without the commas, or "" for any other text.
inline std::string without_thousands_separators(std::string_view text) {
  auto digit = [&](std::size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  std::size_t i = !text.empty() && text.front() == '-' ? 1 : 0;
  const std::size_t start = i;
  while (digit(i)) ++i;
  if (i == start || i - start > 3) return {};
  int groups = 0;
  for (; i < text.size() && text[i] == ','; i += 4, ++groups)
    if (!digit(i + 1) || !digit(i + 2) || !digit(i + 3)) return {};
  if (groups == 0) return {};
  if (i < text.size()) {
    if (text[i] != '.' || !digit(i + 1)) return {};
    for (++i; digit(i);) ++i;
    if (i != text.size()) return {};
  }
  std::string out(text);
  std::erase(out, ',');
  return out;
}

// An integer of more than one digit that starts with 0 (017, -0_17, 08, 00,
// 0_000): YAML 1.1 readers such as PyYAML read 017 as the octal 15 and 08 as
// text, YAML 1.2 readers as 17 and 8; and 000 after a number in a list
// ([100,000] in YAML, --sweep P=100,000) is the rest of a number written
// with a thousands separator, which a list reads as two values. Refused
// wherever a number is read, in a scenario file and in a --sweep list alike.
// 0 itself, and a fraction or an exponent (0.5, 017.5, 0e3), read the same
// in every YAML and are numbers.
inline bool leading_zero_integer(std::string_view text) {
  std::string digits = without_digit_separators(text).value_or("");
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.erase(0, 1);
  return digits.size() > 1 && digits.front() == '0' && digits.find_first_not_of("0123456789") == std::string::npos;
}

// Why `text` (leading_zero_integer), the value at `path`, is refused: what
// each YAML reads, and how to write it.
inline std::string leading_zero_problem(std::string_view path, std::string_view text) {
  const std::string digits = without_digit_separators(text).value_or(std::string(text));
  const std::size_t first = digits.find_first_not_of("+-0");
  if (first == std::string::npos)
    return fmt::format("'{}' is {}, an integer with a leading zero; write zero as 0", path, text);
  const std::string sign = digits.front() == '-' ? "-" : "";
  const std::string decimal = sign + digits.substr(first);
  std::string octal = "text";  // 08, 09: no octal number
  if (digits.find_first_of("89") == std::string::npos) {
    std::uint64_t value = 0;
    for (std::size_t i = first; i < digits.size() && value < (std::uint64_t{1} << 60); ++i)
      value = value * 8 + static_cast<std::uint64_t>(digits[i] - '0');
    octal = value < (std::uint64_t{1} << 60) ? fmt::format("the octal number {}{}", sign, value) : "an octal number";
  }
  return fmt::format(
      "'{}' is {}, an integer with a leading zero, which YAML 1.1 readers such as PyYAML read as {} "
      "and YAML 1.2 readers as {}; write it without the leading zero",
      path, text, octal, decimal);
}

// Whether `text` is digits alone, `low` to `high` of them.
inline bool digit_run(std::string_view text, std::size_t low, std::size_t high) {
  return text.size() >= low && text.size() <= high && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// The values of a list, a YAML sequence's or a --sweep PATH=v1,v2,...'s,
// that leading_zero_integer refuses: (index, message). `values` holds each
// element's number text ("" where it is no number); `path` names the list,
// and `element_path(i)` its element i. Three digits right after a number of
// one to three ("000" in 100,000) are named as the rest of a number written
// with a thousands separator, with the groups with a leading zero that
// follow (1,000,000: write 1000000), once for all of them.
template <typename ElementPath>
std::vector<std::pair<std::size_t, std::string>> leading_zero_values(std::string_view path,
                                                                     std::span<const std::string> values,
                                                                     ElementPath element_path) {
  std::vector<std::pair<std::size_t, std::string>> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!leading_zero_integer(values[i])) continue;
    if (i == 0 || !digit_run(values[i], 3, 3) || !digit_run(values[i - 1], 1, 3)) {
      out.emplace_back(i, leading_zero_problem(element_path(i), values[i]));
      continue;
    }
    std::string number = values[i - 1] + values[i];
    const std::size_t first = i;
    while (i + 1 < values.size() && digit_run(values[i + 1], 3, 3) && values[i + 1].front() == '0')
      number += values[++i];
    out.emplace_back(first, fmt::format("'{}' lists {} right after {}: a number with a thousands separator? write {} "
                                        "(a comma separates the values of a list)",
                                        path, values[first], values[first - 1], number));
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
