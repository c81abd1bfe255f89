// The YAML side of the scenario reader: a Parser that reads the sections of
// a scenario file into a Scenario through the field table, collecting every
// problem with its file, line and column. Internal to engine/src/scenario.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "brink/scenario/parse.hpp"
#include "brink/scenario/shown_text.hpp"
#include "number_text.hpp"

namespace brink::yaml_reader {

// Like map[key] but never a "zombie" node: yaml-cpp throws when a missing
// key's node is asked its type, which would turn bad input into a crash.
inline YAML::Node get(const YAML::Node& map, const std::string& key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = map[key];
  return child.IsDefined() ? child : YAML::Node(YAML::NodeType::Undefined);
}

// Like get, but a key with an empty (null) value is absent, as
// scenario-format.md says of every scalar key.
inline YAML::Node given(const YAML::Node& map, const std::string& key) {
  const YAML::Node child = get(map, key);
  return child.IsNull() ? YAML::Node(YAML::NodeType::Undefined) : child;
}

inline YAML::Mark mark_of(const YAML::Node& node) { return node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(); }

// The candidate nearest to `key`, as shown in a message.
inline std::string nearest_of(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return shown(best);
}

// Names listed in a message, each as shown().
inline std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += shown(items[i]);
  }
  return out;
}

// A key's dotted path as messages name it: the top-level keys (path "scenario") by themselves.
inline std::string dotted(const std::string& path, const std::string& key) {
  return path == "scenario" ? key : path + "." + key;
}

// A key in quotes as a message shows it; one whose difference from a known key
// would not show (a space at an end, a zero-width or no-break space, a byte
// order mark) is escaped, so "horizon_days " is seen for what it is.
inline std::string key_as_written(const std::string& key) {
  bool hidden = !key.empty() && (key.front() == ' ' || key.back() == ' ');
  for (const std::string_view mark : {"\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"})
    hidden = hidden || key.find(mark) != std::string::npos;
  return hidden ? fmt::format("{:?}", key.substr(0, 60)) : fmt::format("'{}'", shown(key));
}

// A number is written as one: in quotes ("127000") it is text, and under a
// custom tag (!foo 5) it names some other type; !!int and !!float say number.
inline bool plain_number_node(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return node.IsScalar() && (tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float");
}

// Text is written as text: plain, in quotes, or under !!str; any other tag
// (!weird linear, !!int square) names another type, which brink would ignore.
// A true/false may also carry !!bool.
inline bool plain_text_node(const YAML::Node& node, bool boolean = false) {
  if (!node.IsScalar()) return false;
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "!" || tag == "tag:yaml.org,2002:str" || (boolean && tag == "tag:yaml.org,2002:bool");
}

// A tag as the file writes it: YAML's core tags as !!name.
inline std::string tag_as_written(const std::string& tag) {
  constexpr std::string_view kCore = "tag:yaml.org,2002:";
  return tag.rfind(kCore, 0) == 0 ? "!!" + tag.substr(kCore.size()) : tag;
}

// A scalar with the tag that keeps it from being read as text: !weird linear, !!int square.
inline std::string tagged_as_written(const YAML::Node& node) {
  return fmt::format("{} {}", shown(tag_as_written(node.Tag())), shown(node.Scalar()));
}

// Whether a scalar of YAML's non-specific tag "!" is quoted ("60") rather
// than tagged as the file writes it (! 60): yaml-cpp gives both that tag.
// `text` is the file's (empty: taken as quoted); the node's mark is at its
// properties (&anchor !tag) or, without them, at its opening quote.
inline bool written_tagged(const YAML::Node& node, std::string_view text) {
  auto at = static_cast<std::size_t>(std::max(node.Mark().pos, 0));
  if (at < text.size() && text[at] == '&') {  // past the anchor's name
    at = text.find_first_of(" \t\r\n", at);
    at = at == std::string_view::npos ? text.size() : text.find_first_not_of(" \t\r\n", at);
  }
  return at < text.size() && text[at] == '!';
}

// A scalar as the file writes it where that is why it is not a number: "5", ! 5, !foo 5.
inline std::string scalar_as_written(const YAML::Node& node, std::string_view text = {}) {
  if (node.Tag() == "!")
    return written_tagged(node, text) ? fmt::format("! {}", shown(node.Scalar()))
                                      : fmt::format("\"{}\"", shown(node.Scalar()));
  if (!plain_number_node(node) && node.Tag() != "tag:yaml.org,2002:str")
    return fmt::format("{} {}", shown(tag_as_written(node.Tag())), shown(node.Scalar()));
  return shown(node.Scalar());
}

inline std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return scalar_as_written(node);
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// A value refused where text is read: with its tag when the tag is why (!!int square), else as scalar_text.
inline std::string as_text_written(const YAML::Node& node, bool tag_refused) {
  return node.IsScalar() && tag_refused ? tagged_as_written(node) : scalar_text(node);
}

// A strict number: the whole scalar must be a finite decimal number.
inline bool parse_number(const std::string& text, double* value) {
  const std::string cleaned = without_digit_separators(text).value_or("");
  if (cleaned.empty()) return false;
  const char* first = cleaned.data();
  if (*first == '+') ++first;
  const char* last = cleaned.data() + cleaned.size();
  auto [end, ec] = std::from_chars(first, last, *value);
  return ec == std::errc() && end == last && std::isfinite(*value);
}

inline bool parse_number(const YAML::Node& node, double* value) {
  return plain_number_node(node) && parse_number(node.Scalar(), value);
}

// The top level ("scenario") and the sections under it whose keys are
// fixed, each with the keys it takes besides its rows of the field table:
// those listed before the rows, and those after. Each section's reader
// checks its keys against this (Parser::section_keys), and a key unknown
// where it stands but known in another of them is named where it belongs
// (Parser::check_map).
struct SectionKeys {
  std::string_view path;
  std::vector<std::string_view> before, after;
};

inline const std::vector<SectionKeys>& section_key_table() {
  static const std::vector<SectionKeys> table = {
      {"scenario",
       {},
       {"brink", "name", "description", "run", "output", "actors", "relations", "escalation", "combat", "negotiation",
        "bargaining", "events", "sweep", "observations", "calibrate"}},
      {"run", {}, {"start_date"}},
      {"output", {}, {}},
      {"escalation", {}, {"rungs", "initial_rung", "limited_war", "full_war", "alliance_war", "tension", "incidents"}},
      {"relations", {}, {"adversaries", "allies", "commitments"}},
      {"combat", {}, {}},
      {"negotiation", {}, {"issues"}},
      {"bargaining", {"proposer", "receiver"}, {"note"}},
      {"sweep",
       {},
       {"design", "samples", "sensitivity", "random_numbers", "parameters", "levers", "uncertainties", "constraints",
        "levels", "scenarios"}},
      {"calibrate", {}, {"particles", "generations", "replications", "quantile", "random_numbers", "parameters"}},
  };
  return table;
}

inline const SectionKeys* section_keys_of(std::string_view path) {
  for (const SectionKeys& section : section_key_table())
    if (section.path == path) return &section;
  return nullptr;
}

// The sections of section_key_table other than `path` that take `key`,
// whichever of their table rows apply to a scenario, in table order.
// A note (Parser::note) documents whichever mapping holds it, so it belongs
// in none of them.
inline std::vector<std::string_view> sections_taking(std::string_view key, std::string_view path) {
  std::vector<std::string_view> out;
  if (key == "note") return out;
  for (const SectionKeys& section : section_key_table()) {
    if (section.path == path) continue;
    bool takes = std::find(section.before.begin(), section.before.end(), key) != section.before.end() ||
                 std::find(section.after.begin(), section.after.end(), key) != section.after.end();
    for (const FieldSpec* f : section_fields(section.path)) takes = takes || f->key == key;
    if (takes) out.push_back(section.path);
  }
  return out;
}

// "'timeseries_every' belongs in 'output', not 'run'": a key that `path` (a
// section of section_key_table) does not take and `homes` (sections_taking) do.
inline std::string belongs_elsewhere(const std::string& key, const std::string& path,
                                     const std::vector<std::string_view>& homes) {
  auto place = [](std::string_view section) {
    return section == "scenario" ? std::string("the top level") : fmt::format("'{}'", section);
  };
  std::string where = place(homes.front());
  for (std::size_t i = 1; i < homes.size(); ++i) where += (i + 1 == homes.size() ? " or " : ", ") + place(homes[i]);
  return fmt::format("{} belongs {} {}, not {}; move it {}", key, homes.front() == "scenario" ? "at" : "in", where,
                     place(path), homes.size() == 1 ? "there" : "to the one meant");
}

// A file of 80,000 unknown keys must not print 80,000 lines (nor build their
// hints): past this many problems the reader only counts them.
inline constexpr std::size_t kMaxDiagnostics = 100;

class Parser {
 public:
  // `text`: the file's, which must outlive the parser (to tell "60" from ! 60).
  explicit Parser(std::string label, std::string_view text = {}) : label_(std::move(label)), text_(text) {
    where_.label = label_;
  }

  // How many problems were found so far: a check that only repeats an earlier one can be skipped.
  std::size_t problem_count() const { return diagnostics_.size() + omitted_; }
  // The problems found, the last one saying how many more were only counted.
  std::vector<Diagnostic> diagnostics() {
    std::vector<Diagnostic> out = std::move(diagnostics_);
    if (omitted_ > 0)
      out.push_back({label_, first_omitted_.line >= 0 ? first_omitted_.line + 1 : -1,
                     first_omitted_.column >= 0 ? first_omitted_.column + 1 : -1,
                     fmt::format("{} more problems from here on are not shown (the first {} are above); fix those "
                                 "and validate again",
                                 omitted_, kMaxDiagnostics)});
    return out;
  }
  SourceMap& source_map() { return where_; }
  // The command line sets the sweep's design or samples (--design, --samples):
  // what must fit the design is checked once they are merged (apply_sweep_options).
  bool design_later = false;
  // True once further problems are only counted: callers skip building their messages.
  bool saturated() const { return diagnostics_.size() >= kMaxDiagnostics; }

  void error(const YAML::Node& node, std::string message) {
    YAML::Mark mark = mark_of(node);
    // yaml-cpp marks a null value ("actors:" and nothing) at the next token, often a later line.
    if (node.IsDefined() && node.IsNull())
      if (const auto key = null_keys_.find(mark.pos); key != null_keys_.end()) mark = key->second;
    if (saturated()) {
      if (omitted_++ == 0) first_omitted_ = mark;
      return;
    }
    diagnostics_.push_back(
        {label_, mark.line >= 0 ? mark.line + 1 : -1, mark.column >= 0 ? mark.column + 1 : -1, std::move(message)});
  }

  // Remembers where a path's value is, for problems found after reading.
  void place(const std::string& path, const YAML::Node& node) {
    const YAML::Mark mark = mark_of(node);
    if (mark.line >= 0) where_.where.emplace(path, std::make_pair(mark.line + 1, mark.column + 1));
  }

  // YAML parsers keep both entries of a repeated key; a scenario must not have
  // one. Nor a key that is no name: YAML's complex keys (`? [a, b]`) read as
  // the empty string. The loops over a mapping's entries skip such keys.
  // `skip`: keys reported otherwise (the groups of a number written with thousands separators).
  void no_duplicates(const YAML::Node& map, const std::string& path, const std::unordered_set<int>& skip = {}) {
    if (!map.IsMap()) return;
    std::unordered_set<std::string> seen;  // a set: a mapping may have 100,000 keys
    for (const auto& entry : map) {
      if (skip.contains(mark_of(entry.first).pos)) continue;
      if (!entry.first.IsScalar()) {
        error(entry.first,
              entry.first.IsNull()
                  ? fmt::format("a key in '{}' must be a name, got YAML's null ('null', '~' or nothing); quote a "
                                "name that reads as one",
                                path)
                  : fmt::format("a key in '{}' must be a name, got a {} (a YAML complex key)", path,
                                entry.first.IsSequence() ? "list" : "mapping"));
        continue;
      }
      if (!seen.insert(entry.first.Scalar()).second)
        error(entry.first, fmt::format("key '{}' appears twice in '{}'", shown(entry.first.Scalar()), path));
    }
  }

  // Every scalar of the document, keys too, as YAML decoded it: a quoted
  // scalar's escapes ("\0", "\e", "\u202e") write any character, and text is
  // printed (validate, inspect, the result file's attributes) or cut at a
  // NUL. Checked once, before any section is read: the walk visits what an
  // alias repeats again, but names each scalar once. The walk also notes the
  // key of each null value, where error() reports that value; and it refuses
  // what two YAML readers would read differently wherever it stands: an
  // integer with a leading zero (leading_zero_integer), and a mapping or a
  // list under a tag (!!seq over a mapping, !custom), which brink would
  // ignore. A scalar's tag is judged by the reader of its value (number,
  // text, name), which knows what the value must be.
  void safe_scalars(const YAML::Node& node, const std::string& path) {
    std::unordered_set<int> named;  // the marks of scalars reported
    safe_scalars(node, path, named);
  }

  // Reports keys of `map` not in `allowed`; returns false if `map` is not a mapping.
  bool check_map(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed) {
    if (!map.IsMap()) {
      error(map, fmt::format("'{}' must be a mapping, got {}", path, scalar_text(map)));
      return false;
    }
    const std::unordered_set<std::string_view> known(allowed.begin(), allowed.end());  // `allowed` may be every actor
    const std::vector<std::pair<YAML::Node, YAML::Node>> entries(map.begin(), map.end());
    // {deployed: 100,000} is {deployed: 100, 000: null}: the unknown keys of
    // three digits that follow a number, by the entry of that number.
    auto group = [&](std::size_t i) {
      return entries[i].first.IsScalar() && entries[i].second.IsNull() && !known.contains(entries[i].first.Scalar()) &&
             digit_run(entries[i].first.Scalar(), 3, 3);
    };
    std::unordered_map<std::size_t, std::size_t> number_of;  // a group's entry -> the entry of its number
    for (std::size_t i = 1; i < entries.size(); ++i)
      if (group(i)) {
        if (const auto earlier = number_of.find(i - 1); earlier != number_of.end())
          number_of.emplace(i, earlier->second);
        else if (plain_number_node(entries[i - 1].second) && digit_run(entries[i - 1].second.Scalar(), 1, 3))
          number_of.emplace(i, i - 1);
      }
    std::unordered_set<int> later_groups;  // reported with the first
    for (const auto& [i, number] : number_of)
      if (number != i - 1) later_groups.insert(mark_of(entries[i].first).pos);
    no_duplicates(map, path, later_groups);
    const std::string prefix = path == "scenario" ? "" : path + ".";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& [name, value] = entries[i];
      if (!name.IsScalar()) continue;  // reported by no_duplicates
      const std::string key = name.Scalar();
      place(prefix + key, value.IsNull() ? name : value);
      if (known.contains(key) || later_groups.contains(mark_of(name).pos)) continue;
      if (saturated()) {
        error(name, std::string());
        continue;
      }
      if (const auto number = number_of.find(i); number != number_of.end()) {
        std::string digits = entries[i - 1].second.Scalar();
        for (std::size_t k = i; k < entries.size() && number_of.contains(k) && number_of.at(k) == i - 1; ++k)
          digits += entries[k].first.Scalar();
        error(name,
              fmt::format("unknown key '{}' in '{}', right after '{}: {}': a number with a thousands "
                          "separator? write {} (in a flow mapping a comma ends the value)",
                          key, path, shown(entries[i - 1].first.Scalar()), entries[i - 1].second.Scalar(), digits));
      } else if (digit_run(key, 1, std::string::npos)) {
        error(name, fmt::format("unknown key '{}' in '{}' is a number: the rest of a number written with a thousands "
                                "separator? write the number without it (100000, or 100_000)",
                                key, path));
      } else if (const auto homes =
                     section_keys_of(path) ? sections_taking(key, path) : std::vector<std::string_view>{};
                 !homes.empty()) {
        error(name, belongs_elsewhere(key_as_written(key), path, homes));
      } else {
        error(name, fmt::format("unknown key {} in '{}'; did you mean '{}'? (allowed: {})", key_as_written(key), path,
                                nearest_of(key, allowed), join(allowed)));
      }
    }
    return true;
  }

  // The keys of a section of section_key_table: its table rows that apply, between its listed keys.
  std::vector<std::string> section_keys(std::string_view path, const Scenario& s) {
    const SectionKeys* section = section_keys_of(path);
    return keys_of(path, s, {-1, -1, -1}, {section->after.begin(), section->after.end()},
                   {section->before.begin(), section->before.end()});
  }

  // Reads one field of the table at `path`; the struct keeps its default when the key is absent.
  void field(const YAML::Node& map, const FieldSpec& f, const std::string& key, const std::string& path,
             FieldIndex index, Scenario& s) {
    const std::string full = path + "." + key;
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) {
      if (f.required) {
        error(map, fmt::format("missing required key '{}' in '{}'", key, path));
        // Its default was never written: a rule that reads it would report a
        // value the user did not give (max below a hidden min).
        unread_.insert(full);
      }
      return;
    }
    double value = 0.0;
    if (std::string problem = field_problem(f, full, node, &value); !problem.empty()) {
      error(node, std::move(problem));
      unread_.insert(full);
      return;
    }
    f.set(s, index, value);
  }

  // Fields whose value was refused or that are missing though required: rules
  // over them would judge the default in its place.
  const std::unordered_set<std::string>& unread_fields() const { return unread_; }
  // A value outside the field table refused at `path` (an observation's day):
  // the rules that read it are left out too.
  void unread(std::string path) { unread_.insert(std::move(path)); }

  // Reads every field of a section element (`pattern` from the table) found in `map`.
  // `given` names a field the caller has set from another key (an event's
  // `day` from its `date`): it is neither read nor missing.
  void fields(const YAML::Node& map, std::string_view pattern, const std::string& path, FieldIndex index, Scenario& s,
              std::string_view given = {}) {
    for (const FieldSpec* f : section_fields(pattern)) {
      if (f->applies && !f->applies(s, index)) continue;
      if (!given.empty() && f->key == given) continue;
      if (f->key != "*") {
        field(map, *f, std::string(f->key), path, index, s);
        continue;
      }
      const auto slot = static_cast<std::size_t>(std::find(index.begin(), index.end(), -1) - index.begin());
      FieldIndex at = index;
      const std::vector<std::string> keys = data_keys(pattern, s);
      for (std::size_t k = 0; k < keys.size(); ++k) {
        at[slot] = static_cast<int>(k);
        field(map, *f, keys[k], path, at, s);
      }
    }
  }

  // The keys a section accepts: its table fields (that apply) and `extra`, in table order.
  std::vector<std::string> keys_of(std::string_view pattern, const Scenario& s, FieldIndex index,
                                   std::vector<std::string> after = {}, std::vector<std::string> before = {}) {
    std::vector<std::string> keys = std::move(before);
    for (const FieldSpec* f : section_fields(pattern)) {
      if (f->key == "*") {  // keys named by data (an event's verb is checked by its reader)
        for (auto& k : data_keys(pattern, s)) keys.push_back(std::move(k));
      } else if (!f->applies || f->applies(s, index)) {
        keys.push_back(std::string(f->key));
      }
    }
    keys.insert(keys.end(), after.begin(), after.end());
    return keys;
  }

  // Resolves an actor id; reports an unknown one. Returns -1 on failure.
  int actor(const YAML::Node& node, const std::string& path, const std::vector<std::string>& ids) {
    if (!node.IsDefined() || !node.IsScalar()) {
      error(node, fmt::format("'{}' must name an actor, got {}", path, scalar_text(node)));
      return -1;
    }
    if (!plain_text_node(node)) {
      error(node,
            fmt::format("'{}' must name an actor, got {}; write it without the tag", path, tagged_as_written(node)));
      return -1;
    }
    const auto it = std::find(ids.begin(), ids.end(), node.Scalar());
    if (it == ids.end()) {
      error(node, fmt::format("unknown actor '{}' in '{}'; did you mean '{}'? (actors: {})", shown(node.Scalar()), path,
                              nearest_of(node.Scalar(), ids), join(ids)));
      return -1;
    }
    return static_cast<int>(it - ids.begin());
  }

  int rung(const YAML::Node& node, const std::string& path, const std::vector<std::string>& rungs) {
    if (!node.IsDefined() || !node.IsScalar()) {
      error(node, fmt::format("'{}' must name a rung of the escalation ladder, got {}", path, scalar_text(node)));
      return -1;
    }
    if (!plain_text_node(node)) {
      error(node, fmt::format("'{}' must name a rung of the escalation ladder, got {}; write it without the tag", path,
                              tagged_as_written(node)));
      return -1;
    }
    // No ladder: 'escalation.rungs' itself was refused, and every rung named would repeat that error.
    if (rungs.empty()) return -1;
    const auto it = std::find(rungs.begin(), rungs.end(), node.Scalar());
    if (it == rungs.end()) {
      error(node, fmt::format("unknown rung '{}' in '{}'; did you mean '{}'? (rungs: {})", shown(node.Scalar()), path,
                              nearest_of(node.Scalar(), rungs), join(rungs)));
      return -1;
    }
    return static_cast<int>(it - rungs.begin());
  }

  std::string text(const YAML::Node& map, const std::string& key, const std::string& path, std::string fallback,
                   bool required = false) {
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) {
      if (required) error(map, fmt::format("missing required key '{}' in '{}'", key, path));
      return fallback;
    }
    if (!node.IsScalar()) {
      error(node, fmt::format("'{}' must be text, got {}", dotted(path, key), scalar_text(node)));
      return fallback;
    }
    if (const std::string& tag = node.Tag(); tag != "?" && tag != "!" && tag != "tag:yaml.org,2002:str") {
      error(node, fmt::format("'{}' must be plain text, got {}; write it without the tag", dotted(path, key),
                              scalar_as_written(node, text_)));
      return fallback;
    }
    if (required && node.Scalar().find_first_not_of(" \t\r\n") == std::string::npos) {
      error(node, fmt::format("'{}' must not be empty", dotted(path, key)));
      return fallback;
    }
    // Characters that would drive a terminal were refused by safe_scalars.
    return node.Scalar();
  }

  // A `note:` is documentation only, but text like any other: a mapping or
  // a list there would be read by nothing, and could hide anything.
  void note(const YAML::Node& map, const std::string& path) { text(map, "note", path, ""); }

  bool boolean(const YAML::Node& map, const std::string& key, const std::string& path, bool fallback) {
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) return fallback;
    if (node.IsScalar() && !plain_text_node(node, true)) {
      error(node, fmt::format("'{}' must be true or false, got {}; write it without the tag", dotted(path, key),
                              tagged_as_written(node)));
      return fallback;
    }
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
    error(node, fmt::format("'{}' must be true or false, got '{}'", dotted(path, key), scalar_text(node)));
    return fallback;
  }

 private:
  void safe_scalars(const YAML::Node& node, const std::string& path, std::unordered_set<int>& named) {
    if ((node.IsSequence() || node.IsMap()) && node.Tag() != "?" && node.Tag() != "!" &&
        node.Tag() != (node.IsMap() ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq") &&
        named.insert(mark_of(node).pos).second)
      error(node, fmt::format("{} is a {} under the tag {}, which brink does not read (a tag names a type); write it "
                              "without the tag",
                              path == "scenario" ? std::string("the scenario") : fmt::format("'{}'", path),
                              node.IsMap() ? "mapping" : "list", shown(tag_as_written(node.Tag()))));
    if (node.IsSequence()) {
      // A number's leading zero is judged with its neighbours: 100,000 in a list is [100, 000].
      std::vector<YAML::Node> items(node.begin(), node.end());
      std::vector<std::string> numbers;
      for (const YAML::Node& item : items) numbers.push_back(plain_number_node(item) ? item.Scalar() : std::string());
      for (auto& [i, problem] :
           leading_zero_values(path, numbers, [&](std::size_t k) { return dotted(path, std::to_string(k)); }))
        if (named.insert(mark_of(items[i]).pos).second) error(items[i], std::move(problem));
      for (std::size_t i = 0; i < items.size(); ++i)  // a thousands group after the first is the same mistake
        if (leading_zero_integer(numbers[i])) named.insert(mark_of(items[i]).pos);
      for (std::size_t i = 0; i < items.size(); ++i) safe_scalars(items[i], dotted(path, std::to_string(i)), named);
    } else if (node.IsMap()) {
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) continue;  // reported by no_duplicates; never read
        safe_scalar(entry.first, path, true, named);
        if (entry.second.IsNull() && !written_null(entry.second))
          null_keys_.emplace(mark_of(entry.second).pos, entry.first.Mark());
        safe_scalars(entry.second, dotted(path, entry.first.Scalar()), named);
      }
    } else if (node.IsScalar()) {
      safe_scalar(node, path, false, named);
      if (plain_number_node(node) && leading_zero_integer(node.Scalar()) && named.insert(mark_of(node).pos).second)
        error(node, leading_zero_problem(path, node.Scalar()));  // a list's numbers are judged above
    }
  }

  // Whether a null value is written (~, null, !!null): then its mark is its
  // own, where nothing written has the next token's.
  bool written_null(const YAML::Node& node) const {
    const auto at = static_cast<std::size_t>(std::max(mark_of(node).pos, 0));
    if (at >= text_.size()) return false;
    const std::string_view rest = text_.substr(at);
    const bool word = rest.starts_with("null") || rest.starts_with("Null") || rest.starts_with("NULL");
    const std::size_t end = rest[0] == '~' ? 1 : word ? 4 : 0;  // a key "null:" is no null value
    if (rest[0] == '!' || rest[0] == '&') return true;
    return end > 0 && (end == rest.size() || std::string_view(" \t\r\n,]}#").find(rest[end]) != std::string_view::npos);
  }

  // A scalar's first unsafe unit, reported at the scalar. yaml-cpp decodes
  // the escapes \N and \_ to the single bytes 0x85 and 0xA0, not to UTF-8.
  void safe_scalar(const YAML::Node& scalar, const std::string& path, bool key, std::unordered_set<int>& named) {
    const std::string& value = scalar.Scalar();
    const std::optional<TextUnit> unit = first_unsafe_unit(value);
    if (!unit || !named.insert(mark_of(scalar).pos).second) return;
    const std::string what =
        key ? fmt::format("key '{}' in '{}' contains {}", shown(value), path, unsafe_unit_text(*unit))
            : fmt::format("'{}' contains {} ({})", path, unsafe_unit_text(*unit), shown(value));
    error(scalar, unit->byte ? fmt::format("{}: yaml-cpp decodes YAML's escapes \\N and \\_ to single bytes; "
                                           "write a no-break space as the character itself",
                                           what)
                             : fmt::format("{}; write it without", what));
  }

  std::string field_problem(const FieldSpec& f, const std::string& full, const YAML::Node& node, double* value) const {
    const bool numeric = f.kind == FieldKind::kNumber || f.kind == FieldKind::kInteger;
    if (numeric && node.IsScalar() && !plain_number_node(node))
      return fmt::format("'{}' must be a number, got {}; write it without {}", full, scalar_as_written(node, text_),
                         node.Tag() == "!" && !written_tagged(node, text_) ? "the quotes" : "the tag");
    if (!numeric && node.IsScalar() && !plain_text_node(node, f.kind == FieldKind::kBoolean))
      return fmt::format("'{}' {}, got {}; write it without the tag", full,
                         field_value_from_text(f, std::string(), value), tagged_as_written(node));
    // A list or a mapping: what the field takes instead (only run.replications also takes a mapping).
    const std::string problem =
        node.IsScalar() ? field_value_from_text(f, node.Scalar(), value)
        : numeric       ? fmt::format("must be a number{}",
                                full == "run.replications" ? " or a mapping {min, max, ci_halfwidth}" : "")
                        : field_value_from_text(f, std::string(), value);
    if (!problem.empty()) return fmt::format("'{}' {}, got '{}'", full, problem, scalar_text(node));
    // The range, as the file writes the value (100_000, 1e5): checked here so the message quotes it.
    if ((f.kind == FieldKind::kInteger || node.Tag() == "tag:yaml.org,2002:int") && *value != std::floor(*value))
      return fmt::format("'{}' must be a whole number, got '{}'", full, node.Scalar());
    if (numeric && (*value < f.min || *value > f.max))
      return fmt::format("'{}' must be in [{}, {}]{}, got {}", full, f.min, f.max,
                         f.unit.empty() ? std::string() : fmt::format(" {}", f.unit), node.Scalar());
    return {};
  }

  // Keys named by data: feature names for weights, actor ids for an issue's positions and salience.
  static std::vector<std::string> data_keys(std::string_view pattern, const Scenario& s) {
    std::vector<std::string> keys;
    if (pattern.ends_with(".weights")) {
      for (auto name : feature_names()) keys.emplace_back(name);
    } else if (pattern.starts_with("negotiation.issues")) {
      for (const Actor& a : s.actors) keys.push_back(a.id);
    }
    return keys;
  }

  std::string label_;
  std::string_view text_;
  std::unordered_map<int, YAML::Mark> null_keys_;  // a null value's mark (its pos) -> its key's
  std::unordered_set<std::string> unread_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t omitted_ = 0;
  YAML::Mark first_omitted_ = YAML::Mark::null_mark();
  SourceMap where_;
};

inline std::vector<std::string> names(std::span<const std::string_view> views) { return {views.begin(), views.end()}; }

constexpr FieldIndex kNoIndex = {-1, -1, -1};

// The sweep block (parse_sweep.cpp); read last, against every other section.
void parse_sweep(Parser& p, const YAML::Node& root, Scenario& s);
// run.start_date, `observations:` and `calibrate:` (parse_observations.cpp).
void parse_start_date(Parser& p, const YAML::Node& run, Scenario& s);
// Whether 'run' or 'run.start_date' was given but refused: a date then repeats nothing but that error.
bool start_date_refused(const YAML::Node& root, const Scenario& s);
// The model day of `date` (an ISO date, at `path`): its difference from
// run.start_date. False, with the problem reported, when it is no ISO date or
// the scenario has no start date (silently when `refused`: already reported).
bool model_day_of_date(Parser& p, const YAML::Node& date, const std::string& path, const Scenario& s, bool refused,
                       double* day);
void parse_observations(Parser& p, const YAML::Node& root, Scenario& s);
void parse_calibrate(Parser& p, const YAML::Node& root, Scenario& s);
// Actor `a` (of `ids`, at `path`) and the relations between the actors
// (parse_actors.cpp). `declared_actions`: the actions the file gives the
// actors before this one; this one's are added.
void parse_actor(Parser& p, const YAML::Node& node, const std::string& path, const std::vector<std::string>& ids, int a,
                 Scenario& s, std::size_t& declared_actions);
void parse_relations(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s);
// The file's one YAML document (yaml_document.cpp): throws ScenarioError, at
// its line, for a YAML syntax error, a second document, or aliases that
// stand for too many nodes.
YAML::Node read_document(const ScenarioSource& source);

}  // namespace brink::yaml_reader
