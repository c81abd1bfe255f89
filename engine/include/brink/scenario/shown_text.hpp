// Text from a scenario or the command line as a one-line message shows it:
// nothing in it may drive the terminal the message is printed on, or break
// the message's one line. Used by the scenario module (the file checks, the
// YAML reader, the rules, --set and --sweep) and by the CLI's options.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace brink {

// The length of the UTF-8 sequence that starts at text[i], or 0 where none
// does: a continuation byte, an overlong form, a UTF-16 surrogate, a code
// point above U+10FFFF, or a sequence cut short.
inline std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}

// One unit of text: a code point, or a byte that starts no UTF-8 sequence.
struct TextUnit {
  char32_t value = 0;      // the code point, or the byte
  std::size_t length = 1;  // its bytes
  bool byte = false;       // not UTF-8: `value` is a byte
};

// The unit that starts at text[i] (i < text.size()).
inline TextUnit text_unit(std::string_view text, std::size_t i) {
  const std::size_t length = utf8_length(text, i);
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (length == 0) return {byte(0), 1, true};
  char32_t cp = length == 1 ? byte(0) : byte(0) & (0x7Fu >> length);  // the lead's payload bits
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(k) & 0x3Fu);
  return {cp, length, false};
}

enum class Unsafe { kNone, kControl, kNoncharacter, kNotUtf8 };

// Whether a unit could change how a terminal shows what follows, hide text
// from a reader, or be cut at (a NUL ends a C string): C0 controls but tab,
// newline and carriage return, DEL, C1 controls (U+0080-U+009F; U+009B is
// an escape-sequence introducer), the Arabic letter mark, the line and
// paragraph separators, the bidirectional marks, embeddings, overrides and
// isolates, and the byte order mark. Noncharacters (U+FDD0-U+FDEF and the
// last two code points of every plane) are for a program's internal use,
// never for text that is exchanged; and a byte that is not UTF-8 is no text.
inline Unsafe unsafe_kind(const TextUnit& u) {
  if (u.byte) return Unsafe::kNotUtf8;
  const char32_t cp = u.value;
  if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
      (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
      cp == 0xFEFF)
    return Unsafe::kControl;
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFEu) == 0xFFFEu) return Unsafe::kNoncharacter;
  return Unsafe::kNone;
}

// The first unit of `text` that unsafe_kind refuses, or nothing.
inline std::optional<TextUnit> first_unsafe_unit(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const TextUnit unit = text_unit(text, i);
    if (unsafe_kind(unit) != Unsafe::kNone) return unit;
    i += unit.length;
  }
  return std::nullopt;
}

// How a message names a unit: \x1b for an ASCII control or a byte that is
// not UTF-8, U+009B beyond.
inline std::string unit_name(const TextUnit& u) {
  return u.byte || u.value < 0x80 ? fmt::format("\\x{:02x}", static_cast<unsigned>(u.value))
                                  : fmt::format("U+{:04X}", static_cast<unsigned>(u.value));
}

// What a message calls an unsafe unit: "the control character \x1b".
inline std::string unsafe_unit_text(const TextUnit& u) {
  switch (unsafe_kind(u)) {
    case Unsafe::kNoncharacter:
      return "the noncharacter " + unit_name(u);
    case Unsafe::kNotUtf8:
      return fmt::format("the byte {}, which is not UTF-8", unit_name(u));
    default:
      return "the control character " + unit_name(u);
  }
}

// Text from the file as it appears in a one-line message: whitespace runs
// (newlines of a multi-line scalar) become one space, and it is cut at 60.
// Other units that unsafe_kind refuses are shown escaped (\x1b, U+202E), so
// that a message cannot drive the terminal it is printed on.
inline std::string shown(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) {
      ++i;
      continue;
    }
    const TextUnit unit = space ? TextUnit{} : text_unit(text, i);
    if (space)
      out += ' ';
    else if (unsafe_kind(unit) != Unsafe::kNone)
      out += unit_name(unit);
    else
      out.append(text, i, unit.length);
    i += space ? 1 : unit.length;
    if (out.size() > 60) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() <= 60) return out;
  std::size_t cut = 57;  // not inside a character
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0u) == 0x80u) --cut;
  return out.substr(0, cut) + "...";
}

// A whole message as printed: each unit unsafe_kind refuses shown as
// unit_name gives it, and a newline, carriage return or tab as \n, \r, \t,
// nothing cut. For messages that quote text they did not pass through
// shown() (Boost.Program_options' own), and for labels (a file's path).
inline std::string escaped(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const TextUnit unit = text_unit(text, i);
    if (unit.value == '\n' || unit.value == '\r' || unit.value == '\t')
      out += unit.value == '\n' ? "\\n" : unit.value == '\r' ? "\\r" : "\\t";
    else if (unsafe_kind(unit) != Unsafe::kNone)
      out += unit_name(unit);
    else
      out.append(text, i, unit.length);
    i += unit.length;
  }
  return out;
}

// Whether a character prints as nothing or as a plain space although it is
// not one, so that a quoted value looks right and is not: the Unicode spaces
// other than U+0020 (U+00A0, U+2000-U+200A, U+202F, U+205F, U+3000), the
// soft hyphen, the zero-width and invisible format characters (U+180E,
// U+200B-U+200D, U+2060-U+2064) and the variation selectors. A message
// quoting a value shows them escaped; they are not refused as text.
inline bool invisible(const TextUnit& u) {
  if (u.byte) return false;
  const char32_t cp = u.value;
  return cp == 0x00A0 || cp == 0x00AD || cp == 0x034F || cp == 0x180E || (cp >= 0x2000 && cp <= 0x200D) ||
         cp == 0x202F || (cp >= 0x205F && cp <= 0x2064) || cp == 0x3000 || cp == 0x3164 ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0000 && cp <= 0xE01EF);
}

// `text` with every invisible() character shown as unit_name gives it (U+200B).
inline std::string invisible_escaped(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const TextUnit unit = text_unit(text, i);
    if (invisible(unit))
      out += unit_name(unit);
    else
      out.append(text, i, unit.length);
    i += unit.length;
  }
  return out;
}

// A value a message quotes because it is wrong (--set PATH=VALUE, a date):
// as shown() shows it, but with the blanks before and after it kept (a tab or
// newline escaped, at most 8 each side), since they can be what is wrong
// with it: shown() would quote ' 5' as '5'; and invisible characters escaped
// (a zero-width space shows as U+200B).
inline std::string shown_value(std::string_view value) {
  constexpr std::string_view kBlanks = " \t\n\r\v\f";
  const std::size_t first = value.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return escaped(value.substr(0, 8));
  const std::size_t last = value.find_last_not_of(kBlanks);
  return escaped(value.substr(0, std::min<std::size_t>(first, 8))) +
         invisible_escaped(shown(std::string(value.substr(first, last + 1 - first)))) +
         escaped(value.substr(last + 1, std::min<std::size_t>(value.size() - last - 1, 8)));
}
// " (whitespace around the value)" when `value` starts or ends with a blank, else "".
inline std::string blank_edges_note(std::string_view value) {
  constexpr std::string_view kBlanks = " \t\n\r\v\f";
  const bool edges = !value.empty() && (kBlanks.find(value.front()) != std::string_view::npos ||
                                        kBlanks.find(value.back()) != std::string_view::npos);
  return edges ? " (whitespace around the value)" : "";
}

}  // namespace brink
