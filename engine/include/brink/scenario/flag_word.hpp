// A name written into an output file as a CF flag meaning (flag_meanings is
// a blank-separated list of words of letters, digits and _ . + - @).
#pragma once

#include <string>
#include <string_view>

namespace brink {

inline bool is_flag_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_.+-@").find(c) != std::string_view::npos;
}

// The name with every other byte as '_' ("unnamed" if empty): how a name
// that is not a word (a scenario choice's path, a type name) is written.
inline std::string flag_word(std::string_view name) {
  std::string word(name);
  for (char& c : word)
    if (!is_flag_character(c)) c = '_';
  return word.empty() ? "unnamed" : word;
}

// Whether the name is written as it is. Names that the output's labels are
// checked against (rungs) must be: two names written alike could not be told apart.
inline bool is_flag_word(std::string_view name) { return !name.empty() && flag_word(name) == name; }

}  // namespace brink
