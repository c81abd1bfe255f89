// The text of a scenario file before the reader walks it: its one YAML
// document (read_document), and the checks on the raw text that say what
// yaml-cpp would drop silently (a second document, text after a flow root)
// or report without a reason (a tab in the indentation, an over-long key), so
// that each becomes a located diagnostic. Also refuses aliases that would
// expand beyond kMaxAliasNodes before anything expands them.
#include <yaml-cpp/depthguard.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "yaml_reader.hpp"
#include "yaml_text.hpp"

namespace brink::yaml_reader {
namespace {

// Where the top level is a flow collection ({...} or [...]), yaml-cpp ends
// the document at its closing bracket and takes what follows for a second
// one, which Load drops: the line and column of the first such content, or
// line 0. Brackets
// are counted outside quotes and comments (in flow style a plain scalar
// cannot hold one).
std::pair<int, int> after_flow_root(const std::string& text) {
  int line = 1, depth = 0;
  std::size_t line_start = 0;
  bool started = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool comment =
        c == '#' && (i == 0 || std::string_view(" \t\r\n").find(text[i - 1]) != std::string_view::npos);
    const bool marker = text.compare(i, 3, "---") == 0 || text.compare(i, 3, "...") == 0;  // checked before
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    } else if (comment || (!started && c == '%')) {  // a comment, or a directive line
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      continue;
    } else if (depth == 0 && marker) {
      i += 2;
    } else if (!started && c != '{' && c != '[') {
      return {0, 0};  // block style
    } else if (started && depth == 0) {
      return {line, static_cast<int>(i - line_start) + 1};
    } else if (c == '"' || c == '\'') {  // a quoted scalar: \" escapes in double quotes, '' in single
      for (++i; i < text.size(); ++i) {
        if (text[i] == '\n') line_start = i + 1, ++line;
        if (c == '"' && text[i] == '\\' && i + 1 < text.size()) {
          if (text[++i] == '\n') line_start = i + 1, ++line;
        } else if (text[i] == c) {
          if (c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
            ++i;
            continue;
          }
          break;
        }
      }
    } else {
      started = true;
      depth += c == '{' || c == '[' ? 1 : c == '}' || c == ']' ? -1 : 0;
    }
  }
  return {0, 0};
}

// The file's one document. yaml-cpp's Load reads the first and silently drops
// the rest, so a scenario pasted twice or a second document after `---` would
// go unnoticed. The check is on the text: a `---` (or `...`) at the start of a
// line is a document boundary wherever it stands (YAML forbids it inside
// scalars), and one followed by more than comments starts a second document.
// (yaml-cpp's LoadAll is not used: it loops for minutes on some malformed
// flow collections that Load rejects at once; found by the fuzz target.)
YAML::Node single_document(const ScenarioSource& source) {
  const std::string& text = source.text;
  auto is_boundary = [&](std::size_t at) {
    const bool marker = text.compare(at, 3, "---") == 0 || text.compare(at, 3, "...") == 0;
    return marker &&
           (at + 3 == text.size() || std::string_view(" \t\r\n").find(text[at + 3]) != std::string_view::npos);
  };
  auto holds_content = [&](std::size_t at, std::size_t end) {  // more than blanks and comments
    for (std::size_t i = at; i < end; ++i) {
      if (text[i] == '#') return false;
      if (std::string_view(" \t\r").find(text[i]) == std::string_view::npos) return true;
    }
    return false;
  };
  bool content_seen = false;
  int boundary_line = -1, line = 1;
  std::string marker;  // the boundary's own '---' or '...'
  auto second_document = [&] {
    return ScenarioError({{source.label, boundary_line, 1,
                           fmt::format("a second YAML document starts here; a scenario file holds one document "
                                       "(remove this '{}' and what follows, or put it in its own file)",
                                       marker)}});
  };
  for (std::size_t at = 0; at < text.size(); ++line) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (is_boundary(at)) {
      // A boundary after content ends the first document; content after it starts a second.
      if (content_seen && boundary_line < 0) {
        boundary_line = line;
        marker = text.substr(at, 3);
      }
      if (holds_content(at + 3, end) && boundary_line >= 0) throw second_document();
    } else if (holds_content(at, end) && text[at] != '%') {
      if (boundary_line >= 0) throw second_document();
      content_seen = true;
    }
    at = end + 1;
  }
  if (const auto [line, column] = after_flow_root(text); line > 0)
    throw ScenarioError({{source.label, line, column,
                          "text after the end of the top-level flow mapping starts a second YAML document here; a "
                          "scenario file holds one document (put every key inside the braces, or write the file "
                          "in block style)"}});
  return YAML::Load(text);
}

// YAML reads "key: value" as a key only when the key is at most 1024
// characters long; a longer one is yaml-cpp's "illegal map value", which
// does not say why.
std::string long_key_hint(const std::string& text, const YAML::Exception& e) {
  constexpr std::size_t kLongestKey = 1024;
  if (e.msg != YAML::ErrorMsg::MAP_VALUE || e.mark.pos < 0) return {};
  const auto at = static_cast<std::size_t>(e.mark.pos);
  const std::size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  const std::size_t from = line_start == std::string::npos ? 0 : line_start + 1;
  if (at - from <= kLongestKey) return {};
  return fmt::format(" (a key, the text before ':', may be at most {} characters long in YAML; this one is longer)",
                     kLongestKey);
}

// yaml-cpp reports a tab in a line's indentation as another error ("illegal
// map value", "end of map not found"), at that line. YAML indents with
// spaces only: the line and column (1-based) of the tab in the indentation
// of `error_line` (1-based), or of the line before it (where yaml-cpp reports
// the error of a line at the next one's first token), or {0, 0}. Blank and
// comment lines are skipped; a tab inside a value stays legal, and so does
// one in the indentation of a line inside a flow collection ({a: 1,\n\tb: 2}),
// which an error elsewhere does not name.
std::pair<int, int> tab_in_indentation(const std::string& text, int error_line) {
  std::pair<int, int> found{0, 0};
  int line = 1;
  for (std::size_t at = 0; at < text.size() && line <= error_line; ++line) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::size_t content = text.find_first_not_of(" \t", at);
    if (line + 1 >= error_line && content < end && text[content] != '#' && text[content] != '\r')
      if (const std::size_t tab = std::string_view(text).substr(at, content - at).find('\t');
          tab != std::string_view::npos)
        found = {line, static_cast<int>(tab) + 1};
    at = end + 1;
  }
  return found;
}

}  // namespace

YAML::Node read_document(const ScenarioSource& source) {
  YAML::Node root;
  try {
    root = single_document(source);
  } catch (const YAML::DeepRecursion& e) {
    throw ScenarioError(
        {{source.label, e.mark.line >= 0 ? e.mark.line + 1 : 1, e.mark.column >= 0 ? e.mark.column + 1 : 1,
          "YAML nesting too deep: yaml-cpp's parser stopped here at its recursion limit "
          "(DeepRecursion); no scenario nests more than a few levels"}});
  } catch (const YAML::Exception& e) {
    if (const auto [line, column] = tab_in_indentation(source.text, e.mark.line + 1); line > 0)
      throw ScenarioError({{source.label, line, column,
                            fmt::format("line {}: a tab in the indentation; YAML indents with spaces", line)}});
    throw ScenarioError(
        {{source.label, e.mark.line >= 0 ? e.mark.line + 1 : -1, e.mark.column >= 0 ? e.mark.column + 1 : -1,
          "YAML syntax error: " + e.msg + long_key_hint(source.text, e)}});
  }
  // Aliases repeat nodes without copying them; a walk that expands them
  // (a deep copy, an emitter) would take memory exponential in the text.
  if (const yaml_text::AliasProblem aliases = yaml_text::alias_problem(source.text); aliases.line > 0)
    throw ScenarioError({{source.label, aliases.line, aliases.column, aliases.message}});
  return root;
}

}  // namespace brink::yaml_reader
