// Reading a scenario file without trusting it: the file is opened without
// blocking, must be a regular file of at most kMaxScenarioBytes, and its text
// must be non-empty UTF-8 without NUL bytes. Every problem is a ScenarioError
// whose Diagnostic names the file (and the line and column when the fault is
// in the text), so that `validate` reports it like any other bad input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "brink/scenario/parse.hpp"

namespace brink {

// Far above any real scenario (the shipped ones are under 20 KB), far below
// what makes parsing slow: a larger file is refused before it is parsed.
inline constexpr std::size_t kMaxScenarioBytes = 4 * 1024 * 1024;

// Reads `path` as described above. Throws ScenarioError.
ScenarioSource read_scenario_source(const std::string& path);

// The text checks alone (UTF-8, NUL, empty or comment-only), for text that did
// not come from a file. `label` names the source in the diagnostic.
void check_scenario_text(const std::string& label, std::string_view text);

// The 1-based line and column (in characters) of byte `offset` of `text`.
struct TextPosition {
  int line = 1;
  int column = 1;
};
TextPosition position_of(std::string_view text, std::size_t offset);

// What a file of st_mode `mode` is, in words, for a file that is not regular
// ("a directory", "a FIFO (named pipe)", ...): also used for output paths.
std::string file_kind_name(unsigned mode);

// Offset of the first byte that is not part of valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or npos.
std::size_t first_invalid_utf8(std::string_view text);

}  // namespace brink
