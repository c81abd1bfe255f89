// The posterior scenario of `brink calibrate`: the scenario's own text, its
// comments and layout kept, with values substituted at their nodes' places
// and the `calibrate:` block commented out (docs/calibration.md, "The
// posterior scenario"). Nothing is expanded: an alias stays an alias unless a
// value set inside the node it repeats must not change the alias's copy.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "brink/scenario/observations.hpp"
#include "yaml_text.hpp"

namespace brink {
namespace {

using yaml_text::Kind;
using yaml_text::Node;
using yaml_text::Tree;

constexpr std::size_t kNone = std::string::npos;

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool space(char c) { return blank(c) || c == '\n'; }
bool flow_indicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

// One value to set: the path's parts still to walk, and the value as written.
struct Change {
  std::vector<std::string> parts;
  std::string value;
};

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  while (true) {
    const std::size_t dot = path.find('.');
    parts.emplace_back(path.substr(0, dot));
    if (dot == std::string_view::npos) return parts;
    path.remove_prefix(dot + 1);
  }
}

// A value as a plain scalar when it reads back as written, else double-quoted.
std::string scalar_as_yaml(const std::string& value) {
  const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' ||
           c == '-' || c == '+';
  });
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out + "\"";
}

class PosteriorText {
 public:
  PosteriorText(const std::string& text) : t_(text), tree_(yaml_text::read_tree(text)) {}

  std::string write(const std::vector<std::string>& paths, const std::vector<std::string>& values) {
    if (tree_.root < 0 || node(tree_.root).kind != Kind::kMap)
      throw std::runtime_error("the scenario is not a YAML mapping");
    for (std::size_t k = 0; k < paths.size(); ++k) place(paths[k], values[k]);
    comment_out("calibrate",
                "# The calibrate: block, commented out by brink calibrate (the priors this posterior came from):\n");
    comment_out("sweep",
                "# The sweep: block, commented out by brink calibrate: this file holds the posterior means, one "
                "parameter set,\n# and the sweep's points (its axes, or its scenario files read from disk) "
                "would run without them:\n");
    // Anchors whose node is edited in place or removed: their aliases are
    // written out (see header), except those that go with a removed node.
    const auto removed = [&](std::size_t pos) {
      return std::any_of(edits_.begin(), edits_.end(),
                         [&](const Edit& e) { return e.removes && pos >= e.begin && pos < e.end; });
    };
    for (int alias : tree_.aliases) {
      const int anchored = tree_.anchor_node[static_cast<std::size_t>(node(alias).target)];
      if (!removed(node(alias).pos) && anchored >= 0 && removed(node(anchored).pos)) expand_.insert(node(alias).target);
    }
    for (auto& [alias, changes] : through_alias_)
      if (!removed(node(alias).pos))
        edits_.push_back({node(alias).pos, node_end(alias), render(alias, changes), false});
    for (int alias : tree_.aliases)
      if (expand_.contains(node(alias).target) && !through_alias_.contains(alias) && !removed(node(alias).pos))
        edits_.push_back({node(alias).pos, node_end(alias), render(alias, {}), false});
    for (auto& [map, changes] : absent_) insert_keys(map, changes);
    return apply();
  }

 private:
  struct Edit {
    std::size_t begin, end;  // replaced text; begin == end inserts
    std::string text;
    bool removes;   // whole nodes go: anchors inside are expanded at their aliases, other edits inside dropped
    int depth = 0;  // insertions at one place: the deeper mapping's keys first (they end its text)
  };

  const Node& node(int i) const { return tree_.nodes[static_cast<std::size_t>(i)]; }
  int depth(int i) const {
    int d = 0;
    for (; node(i).parent >= 0; i = node(i).parent) ++d;
    return d;
  }
  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw std::runtime_error(fmt::format("cannot write '{}' into the posterior scenario's text: {}", path, why));
  }

  // Where a node's content starts: after its properties (&anchor, !tag) and blanks.
  std::size_t content_start(int i) const {
    std::size_t at = node(i).pos;
    while (at < t_.size() && (t_[at] == '&' || t_[at] == '!')) {
      while (at < t_.size() && !space(t_[at]) && !(node(i).flow && flow_indicator(t_[at]))) ++at;
      while (at < t_.size() && space(t_[at])) ++at;
    }
    return at;
  }

  std::size_t line_end(std::size_t at) const {
    const std::size_t nl = t_.find('\n', at);
    return nl == kNone ? t_.size() : nl;
  }
  std::size_t line_start(std::size_t at) const {
    const std::size_t nl = at == 0 ? kNone : t_.rfind('\n', at - 1);
    return nl == kNone ? 0 : nl + 1;
  }
  std::size_t indent_at(std::size_t start) const {
    std::size_t at = start;
    while (at < t_.size() && t_[at] == ' ') ++at;
    return at - start;
  }

  // Whether the text at `at` is an explicit null (~, null) rather than the
  // next token yaml-cpp marks an empty value with.
  std::size_t explicit_null_end(std::size_t at, bool flow) const {
    for (std::string_view word : {"~", "null", "Null", "NULL"})
      if (t_.compare(at, word.size(), word) == 0) {
        const std::size_t end = at + word.size();
        if (end == t_.size() || space(t_[end]) || (flow && flow_indicator(t_[end]))) return end;
      }
    return kNone;
  }

  // The end of a plain scalar of `value` starting at `at`: verbatim on one
  // line, or folded over several (each line break one space, blank lines
  // kept as line breaks).
  std::size_t plain_end(std::size_t at, const std::string& value, bool flow) const {
    if (t_.compare(at, value.size(), value) == 0) {
      const std::size_t end = at + value.size();
      if (end == t_.size() || space(t_[end]) || t_[end] == ':' || t_[end] == '#' || (flow && flow_indicator(t_[end])))
        return end;
    }
    std::string folded;
    std::size_t pos = at, breaks = 0;
    bool first = true;
    while (pos < t_.size()) {
      std::size_t stop = line_end(pos);
      for (std::size_t c = pos; c < stop; ++c)
        if ((t_[c] == '#' && c > pos && blank(t_[c - 1])) || (flow && flow_indicator(t_[c]))) {
          stop = c;
          break;
        }
      std::size_t a = pos, b = stop;
      while (a < b && blank(t_[a])) ++a;
      while (b > a && blank(t_[b - 1])) --b;
      if (a == b) {
        if (!first) ++breaks;
      } else {
        if (!first) folded += breaks == 0 ? std::string(" ") : std::string(breaks, '\n');
        if (t_[a] == '#' && !first) return kNone;
        folded.append(t_, a, b - a);
        breaks = 0;
        if (folded == value) return b;
        if (folded.size() >= value.size() || value.compare(0, folded.size(), folded) != 0) return kNone;
      }
      first = false;
      if (stop < line_end(pos)) return kNone;  // a comment or indicator ended it short of the value
      pos = line_end(pos) + 1;
    }
    return kNone;
  }

  // The end of a block scalar (| or >) whose header starts at `at`.
  std::size_t block_scalar_end(std::size_t at) const {
    const std::size_t header_line = line_start(at);
    const std::size_t floor = indent_at(header_line);
    std::size_t end = line_end(at), pos = end + 1, content = 0;
    while (pos < t_.size()) {
      const std::size_t stop = line_end(pos), indent = indent_at(pos);
      const bool empty = pos + indent >= stop || std::all_of(t_.begin() + static_cast<long>(pos + indent),
                                                             t_.begin() + static_cast<long>(stop), blank);
      if (!empty) {
        if (content == 0) content = indent;
        if (indent < content || indent <= floor) break;
        end = stop;
      }
      pos = stop + 1;
    }
    while (end > at && blank(t_[end - 1])) --end;
    return end;
  }

  // Just past the close of the quoted scalar opening at `at` (a double
  // quote ends at an unescaped '"', a single quote at a "'" not doubled);
  // kNone if the text ends first.
  std::size_t quoted_end(std::size_t at) const {
    const char quote = t_[at];
    for (std::size_t k = at + 1; k < t_.size(); ++k) {
      if (quote == '"' && t_[k] == '\\') {
        ++k;
      } else if (t_[k] == quote) {
        if (quote == '\'' && k + 1 < t_.size() && t_[k + 1] == '\'') {
          ++k;
          continue;
        }
        return k + 1;
      }
    }
    return kNone;
  }

  // The matching close of the flow collection opening at `at`.
  std::size_t flow_end(std::size_t at) const {
    int depth = 0;
    for (std::size_t c = at; c < t_.size(); ++c) {
      const char ch = t_[c];
      if (ch == '"' || ch == '\'') {
        const std::size_t end = quoted_end(c);
        if (end == kNone) return kNone;
        c = end - 1;
      } else if (ch == '#' && c > 0 && space(t_[c - 1])) {
        c = line_end(c);
      } else if (ch == '[' || ch == '{') {
        ++depth;
      } else if (ch == ']' || ch == '}') {
        if (--depth == 0) return c + 1;
      }
    }
    return kNone;
  }

  // Where a node's text ends (exclusive); kNone for an empty value, which
  // has no text of its own.
  std::size_t node_end(int i) const {
    const Node& n = node(i);
    switch (n.kind) {
      case Kind::kAlias: {
        std::size_t at = n.pos + 1;
        while (at < t_.size() && !space(t_[at]) && !flow_indicator(t_[at])) ++at;
        return at;
      }
      case Kind::kNull:
        return explicit_null_end(content_start(i), n.flow);
      case Kind::kScalar: {
        const std::size_t at = content_start(i);
        if (at >= t_.size()) return kNone;
        const char c = t_[at];
        if (c == '"' || c == '\'') return quoted_end(at);
        if (c == '|' || c == '>') return block_scalar_end(at);
        return plain_end(at, n.value, n.flow);
      }
      case Kind::kSequence:
      case Kind::kMap: {
        if (n.flow) {
          const std::size_t at = content_start(i);
          return at < t_.size() && (t_[at] == '[' || t_[at] == '{') ? flow_end(at) : kNone;
        }
        if (n.children.empty()) return kNone;
        const int last = n.children.back();
        const std::size_t end = node_end(last);
        if (end != kNone || n.kind != Kind::kMap) return end;
        return colon_end(n.children[n.children.size() - 2]);  // `key:` with an empty value
      }
    }
    return kNone;
  }

  // The key of a mapping's value, or -1.
  int key_of(int value) const {
    const int parent = node(value).parent;
    if (parent < 0 || node(parent).kind != Kind::kMap) return -1;
    const std::vector<int>& c = node(parent).children;
    for (std::size_t k = 1; k < c.size(); k += 2)
      if (c[k] == value) return c[k - 1];
    return -1;
  }

  // Just past the ':' after a map key.
  std::size_t colon_end(int key) const {
    std::size_t at = node_end(key);
    if (at == kNone) return kNone;
    while (at < t_.size() && blank(t_[at])) ++at;
    return at < t_.size() && t_[at] == ':' ? at + 1 : kNone;
  }

  // The child of a map or sequence named by `part`, or -1.
  int child(int i, const std::string& part) const {
    const Node& n = node(i);
    if (n.kind == Kind::kMap) {
      for (std::size_t k = 0; k + 1 < n.children.size(); k += 2)
        if (node(n.children[k]).kind == Kind::kScalar && node(n.children[k]).value == part) return n.children[k + 1];
      return -1;
    }
    if (n.kind == Kind::kSequence && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos &&
        part.size() < 9) {
      const std::size_t k = std::stoul(part);
      return k < n.children.size() ? n.children[k] : -1;
    }
    return -1;
  }

  // Where one value goes: walking the file's own nodes, the first alias met
  // takes every change below it (written out there); otherwise the value
  // replaces its scalar, or is inserted as a key where its path leaves the file.
  void place(const std::string& path, const std::string& value) {
    const std::vector<std::string> parts = split_path(path);
    int at = tree_.root;
    for (std::size_t k = 0; k <= parts.size(); ++k) {
      if (node(at).anchor != 0 && tree_.alias_count[static_cast<std::size_t>(node(at).anchor)] > 0)
        expand_.insert(node(at).anchor);  // edited in place: its aliases keep the original
      if (node(at).kind == Kind::kAlias) {
        through_alias_[at].push_back({{parts.begin() + static_cast<long>(k), parts.end()}, value});
        return;
      }
      if (k == parts.size()) break;
      const int next = child(at, parts[k]);
      if (next < 0 && parts[k] == "day" && k + 1 == parts.size() && child(at, "date") >= 0) {
        day_for_date(at, path, value);  // a dated event's day: `day:` replaces its `date:`
        return;
      }
      if (next < 0) {
        if (node(at).kind != Kind::kMap)
          fail(path, fmt::format("the file has no '{}' where the path needs it", parts[k]));
        absent_[at].push_back({{parts.begin() + static_cast<long>(k), parts.end()}, value});
        return;
      }
      at = next;
    }
    const Node& leaf = node(at);
    const std::string text = scalar_as_yaml(value);
    if (leaf.kind == Kind::kScalar) {
      const std::size_t end = node_end(at);
      if (end == kNone) fail(path, "its value's extent in the text was not found");
      edits_.push_back(aligned(content_start(at), end, text));
    } else if (leaf.kind == Kind::kNull) {
      const std::size_t end = node_end(at);
      if (end != kNone) {
        edits_.push_back({content_start(at), end, text, false});
      } else {
        const std::size_t colon = key_of(at) >= 0 ? colon_end(key_of(at)) : kNone;
        if (colon == kNone) fail(path, "its empty value has no place in the text");
        edits_.push_back({colon, colon, " " + text, false});
      }
    } else {  // a mapping or list replaced by a value (run.replications=N for an adaptive rule)
      const std::size_t begin = content_start(at), end = node_end(at);
      if (end == kNone) fail(path, "its value's extent in the text was not found");
      edits_.push_back({begin, end, text, true});
    }
  }

  // A replacement that keeps a comment after it on the line where it was:
  // a longer value takes blanks before the comment (one stays), a shorter
  // one gives them back.
  Edit aligned(std::size_t begin, std::size_t end, std::string text) const {
    std::size_t blanks = 0;
    while (end + blanks < t_.size() && (t_[end + blanks] == ' ' || t_[end + blanks] == '\t')) ++blanks;
    if (blanks > 0 && end + blanks < t_.size() && t_[end + blanks] == '#') {
      const std::size_t old_size = end - begin;
      if (text.size() > old_size)
        end += std::min(blanks - 1, text.size() - old_size);
      else
        text.append(old_size - text.size(), ' ');
    }
    return {begin, end, std::move(text), false};
  }

  // A node in flow style with `changes` (relative to it) applied; aliases
  // are kept, but written out when a change goes through them or their
  // anchor is edited in place. Anchors are not repeated.
  std::string render(int i, const std::vector<Change>& changes) const {
    for (const Change& c : changes)
      if (c.parts.empty()) return scalar_as_yaml(c.value);
    const Node& n = node(i);
    switch (n.kind) {
      case Kind::kAlias: {
        if (changes.empty() && !expand_.contains(n.target))
          return "*" + tree_.anchor_name[static_cast<std::size_t>(n.target)];
        return render(tree_.anchor_node[static_cast<std::size_t>(n.target)], changes);
      }
      case Kind::kNull:
        return changes.empty() ? "~" : render_new(changes);
      case Kind::kScalar: {
        const std::size_t begin = content_start(i), end = node_end(i);
        if (end != kNone && t_.find('\n', begin) >= end && t_[begin] != '|' && t_[begin] != '>')
          return t_.substr(begin, end - begin);
        return scalar_as_yaml(n.value);
      }
      case Kind::kSequence: {
        std::string out = "[";
        for (std::size_t k = 0; k < n.children.size(); ++k) {
          if (k > 0) out += ", ";
          out += render(n.children[k], below(changes, std::to_string(k)));
        }
        return out + "]";
      }
      case Kind::kMap: {
        std::string out = "{";
        std::set<std::string> keys;
        // A dated event's day replaces its date (as day_for_date).
        const bool date_goes = child(i, "day") < 0 && std::any_of(changes.begin(), changes.end(), [](const Change& c) {
                                 return c.parts.size() == 1 && c.parts.front() == "day";
                               });
        for (std::size_t k = 0; k + 1 < n.children.size(); k += 2) {
          const std::string key = node(n.children[k]).value;
          keys.insert(key);
          if (date_goes && key == "date") continue;
          if (out.size() > 1) out += ", ";
          out += render(n.children[k], {});
          out += ": ";
          out += render(n.children[k + 1], below(changes, key));
        }
        std::vector<Change> added;
        for (const Change& c : changes)
          if (!keys.contains(c.parts.front())) added.push_back(c);
        if (!added.empty()) {
          const std::string rest = render_new(added);
          if (out.size() > 1) out += ", ";
          out.append(rest, 1, rest.size() - 2);
        }
        return out + "}";
      }
    }
    return "~";
  }

  // The changes below key `part`, relative to it.
  static std::vector<Change> below(const std::vector<Change>& changes, const std::string& part) {
    std::vector<Change> out;
    for (const Change& c : changes)
      if (c.parts.front() == part) out.push_back({{c.parts.begin() + 1, c.parts.end()}, c.value});
    return out;
  }

  // Keys the file does not have, as a flow mapping: {a: {b: value}}.
  static std::string render_new(const std::vector<Change>& changes) {
    for (const Change& c : changes)
      if (c.parts.empty()) return scalar_as_yaml(c.value);
    std::vector<std::string> order;
    for (const Change& c : changes)
      if (std::find(order.begin(), order.end(), c.parts.front()) == order.end()) order.push_back(c.parts.front());
    std::string out = "{";
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k > 0) out += ", ";
      out += scalar_as_yaml(order[k]);
      out += ": ";
      out += render_new(below(changes, order[k]));
    }
    return out + "}";
  }

  // Keys the file lacks, added at the end of mapping `map`: a line of their
  // own at the mapping's indentation (block style), or before its closing
  // brace (flow style).
  void insert_keys(int map, const std::vector<Change>& changes) {
    const Node& n = node(map);
    std::vector<std::string> order;
    for (const Change& c : changes)
      if (std::find(order.begin(), order.end(), c.parts.front()) == order.end()) order.push_back(c.parts.front());
    std::vector<std::string> entries;
    for (const std::string& key : order)
      entries.push_back(scalar_as_yaml(key) + ": " + render_new(below(changes, key)));
    const std::size_t end = node_end(map);
    if (end == kNone) fail(changes.front().parts.front(), "the mapping that should hold it was not found in the text");
    if (n.flow) {
      std::string text;
      for (std::size_t k = 0; k < entries.size(); ++k) {
        if (k > 0 || !n.children.empty()) text += ", ";
        text += entries[k];
      }
      edits_.push_back({end - 1, end - 1, text, false, depth(map)});
      return;
    }
    const std::size_t first_key = content_start(n.children.front());
    const std::size_t indent = first_key - line_start(first_key);
    std::string text;
    for (const std::string& entry : entries) {
      text += '\n';
      text.append(indent, ' ');
      text += entry;
    }
    const std::size_t at = line_end(end);
    edits_.push_back({at, at, text, false, depth(map)});
  }

  // `day` set in a mapping that has `date:` (a dated event, whose path
  // events.N.day --set, sweeps and calibrations use): the day replaces the
  // date's key and value, and a comment line before the mapping keeps the date it had.
  void day_for_date(int map, const std::string& path, const std::string& value) {
    const int date = child(map, "date"), key = key_of(date);
    const std::size_t begin = content_start(key), colon = colon_end(key);
    std::size_t end = node_end(date);
    if (end == kNone) end = colon;
    if (colon == kNone || end == kNone) fail(path, "the 'date:' it replaces was not found in the text");
    edits_.push_back({begin, end, "day: " + scalar_as_yaml(value), false});
    const std::size_t line =
        line_start(content_start(map));  // the event's first line: no scalar runs through its start
    const std::string was = node(date).kind == Kind::kScalar ? node(date).value : std::string("~");
    const std::string prefix = path.substr(0, path.size() - std::string_view(".day").size());
    edits_.push_back({line, line,
                      fmt::format("{}# {}: 'date: {}' replaced by 'day:', the value brink calibrate set\n",
                                  std::string(indent_at(line), ' '), prefix, was),
                      false});
  }

  // A top-level block as comments after `intro` (in a flow root it goes):
  // `calibrate:` (the posterior's priors are read from its calibration file,
  // and `brink run` has no use for them) and `sweep:` (the file is one
  // parameter set, the means; a sweep would run its points without them).
  void comment_out(const std::string& name, const std::string& intro) {
    const Node& root = node(tree_.root);
    for (std::size_t k = 0; k + 1 < root.children.size(); k += 2) {
      const int key = root.children[k];
      if (node(key).value != name) continue;
      const int value = root.children[k + 1];
      std::size_t end = node_end(value);
      if (end == kNone) end = colon_end(key);
      if (end == kNone)
        throw std::runtime_error(fmt::format("the '{}:' block's extent in the text was not found", name));
      if (root.flow) {  // {..., calibrate: {...}, ...}: the entry and one comma go
        std::size_t begin = content_start(key);
        std::size_t after = end;
        while (after < t_.size() && space(t_[after])) ++after;
        if (after < t_.size() && t_[after] == ',') {
          end = after + 1;
        } else {
          std::size_t before = begin;
          while (before > 0 && space(t_[before - 1])) --before;
          if (before > 0 && t_[before - 1] == ',') begin = before - 1;
        }
        edits_.push_back({begin, end, "", true});
        return;
      }
      const std::size_t begin = line_start(content_start(key));
      end = line_end(end);
      std::string text = intro + "# ";
      for (std::size_t c = begin; c < end; ++c) text += t_[c] == '\n' ? std::string("\n# ") : std::string(1, t_[c]);
      edits_.push_back({begin, end, text, true});
      return;
    }
  }

  std::string apply() {
    std::stable_sort(edits_.begin(), edits_.end(), [](const Edit& a, const Edit& b) {
      if (a.begin != b.begin) return a.begin < b.begin;
      if (a.end != b.end) return a.end < b.end;
      return a.depth > b.depth;
    });
    // Edits inside a removed node go with it; an insertion at its edge stays.
    std::vector<Edit> kept;
    for (const Edit& e : edits_) {
      const bool inside = std::any_of(edits_.begin(), edits_.end(), [&](const Edit& r) {
        return r.removes && &r != &e && e.begin >= r.begin && e.end <= r.end &&
               !(e.begin == e.end && (e.begin == r.begin || e.begin == r.end));
      });
      if (!inside && e.removes && !kept.empty() && kept.back().removes && e.begin < kept.back().end)
        kept.back().end = std::max(kept.back().end, e.end);  // two entries of a flow root share the comma between
      else if (!inside)
        kept.push_back(e);
    }
    std::string out;
    std::size_t at = 0;
    for (const Edit& e : kept) {
      if (e.begin < at) throw std::runtime_error("two values of the posterior scenario overlap in its text");
      out.append(t_, at, e.begin - at);
      out += e.text;
      at = e.end;
    }
    out.append(t_, at, kNone);
    return out;
  }

  const std::string& t_;
  Tree tree_;
  std::vector<Edit> edits_;
  std::set<int> expand_;                              // anchors whose aliases are written out
  std::map<int, std::vector<Change>> through_alias_;  // alias node -> changes below it
  std::map<int, std::vector<Change>> absent_;         // mapping node -> keys it lacks
};

// Reads `text` back and checks that every path holds its value: a posterior
// scenario that says otherwise is never written.
void check_values(const std::string& text, const std::vector<std::string>& paths,
                  const std::vector<std::string>& values) {
  const YAML::Node root = YAML::Load(text);
  if (!root.IsMap() || root["calibrate"].IsDefined())
    throw std::runtime_error("the posterior scenario still has its 'calibrate:' block");
  if (root["sweep"].IsDefined()) throw std::runtime_error("the posterior scenario still has its 'sweep:' block");
  for (std::size_t k = 0; k < paths.size(); ++k) {
    YAML::Node at = root;
    for (const std::string& part : split_path(paths[k])) {
      const YAML::Node& here = at;
      const YAML::Node next = here.IsSequence() ? here[std::stoul(part)]
                              : here.IsMap()    ? here[part]
                                                : YAML::Node(YAML::NodeType::Undefined);
      if (!next.IsDefined()) throw std::runtime_error(fmt::format("'{}' is lost", paths[k]));
      at.reset(next);
    }
    if (!at.IsScalar() || at.Scalar() != values[k])
      throw std::runtime_error(fmt::format("'{}' reads '{}', not '{}'", paths[k],
                                           at.IsScalar() ? at.Scalar() : std::string("no value"), values[k]));
  }
}

}  // namespace

std::string scenario_with_values(const std::string& text, const std::vector<std::string>& paths,
                                 const std::vector<std::string>& values) {
  std::string out = PosteriorText(text).write(paths, values);
  // The caller puts a header before the text: a byte order mark would then stand inside it.
  if (out.starts_with("\xEF\xBB\xBF")) out.erase(0, 3);
  try {
    check_values(out, paths, values);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("the posterior scenario came out wrong ({}); please report this", e.what()));
  }
  return out;
}

}  // namespace brink
