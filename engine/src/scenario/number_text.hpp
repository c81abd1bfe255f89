// Number text as scenario files and --set write it, shared by the readers of
// fields, YAML scalars and constraint rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

}  // namespace brink
