// Text from a scenario as a one-line message shows it: nothing in it may
// drive the terminal the message is printed on. Private to the scenario
// module (the YAML reader and the validation rules).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace brink {

// The code point that starts at text[i] if it could change how a terminal
// shows what follows, or hide text from a reader: C0 controls but tab,
// newline and carriage return, DEL, C1 controls (U+0080-U+009F; U+009B is
// an escape-sequence introducer), the line and paragraph separators, the
// bidirectional marks, embeddings, overrides and isolates, and the byte
// order mark.
// Else 0. *length is the code point's bytes (1 where UTF-8 is malformed).
inline char32_t unsafe_code_point(std::string_view text, std::size_t i, std::size_t* length) {
  const auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  const unsigned b0 = byte(0);
  *length = 1;
  if (b0 < 0x80) return (b0 < 0x20 && b0 != '\t' && b0 != '\n' && b0 != '\r') || b0 == 0x7f ? b0 : 0;
  const auto continuation = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  if (b0 >= 0xC2 && b0 <= 0xDF && continuation(1)) {
    *length = 2;
    const char32_t cp = ((b0 & 0x1Fu) << 6) | (byte(1) & 0x3Fu);
    return cp <= 0x9F || cp == 0x061C ? cp : 0;  // C1, the Arabic letter mark
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && continuation(1) && continuation(2)) {
    *length = 3;
    const char32_t cp = ((b0 & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu);
    const bool unsafe = (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
                        (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
    return unsafe ? cp : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && continuation(1) && continuation(2) && continuation(3)) *length = 4;
  return 0;
}

// How a message names an unsafe code point: \x1b for a byte, U+009B beyond.
inline std::string code_point_name(char32_t cp) {
  return cp < 0x80 ? fmt::format("\\x{:02x}", static_cast<unsigned>(cp))
                   : fmt::format("U+{:04X}", static_cast<unsigned>(cp));
}

// Text from the file as it appears in a one-line message: whitespace runs
// (newlines of a multi-line scalar) become one space, and it is cut at 60.
// Other control characters are shown escaped (\x1b), so that a message
// cannot drive the terminal it is printed on.
inline std::string shown(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    std::size_t length = 1;
    const char32_t unsafe = space ? 0 : unsafe_code_point(text, i, &length);
    if (space && (out.empty() || out.back() == ' ')) {
      ++i;
      continue;
    }
    if (unsafe != 0)
      out += code_point_name(unsafe);
    else if (space)
      out += ' ';
    else
      out.append(text, i, length);
    i += length;
    if (out.size() > 60) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.size() > 60 ? out.substr(0, 57) + "..." : out;
}

}  // namespace brink
