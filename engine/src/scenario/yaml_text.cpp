#include "yaml_text.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <limits>
#include <sstream>

#include <fmt/format.h>

namespace brink::yaml_text {
namespace {

// Counts saturate here: a billion laughs of 60 levels overflows 64 bits.
constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max() / 4;
constexpr std::uint64_t kOpen = std::numeric_limits<std::uint64_t>::max();  // an anchor whose node is not complete

// 1234567 as "1,234,567".
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t k = 0; k < digits.size(); ++k) {
    if (k > 0 && (digits.size() - k) % 3 == 0) out += ',';
    out += digits[k];
  }
  return out;
}

std::uint64_t add(std::uint64_t a, std::uint64_t b) { return a >= kSaturated - b ? kSaturated : a + b; }

// The nodes of the document with every alias expanded, node by node as the
// parser completes them: an anchor's count is known when its node ends, and
// an alias adds it. Memory: the anchors and the open collections.
class AliasCounter : public YAML::EventHandler {
 public:
  AliasProblem problem;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    pending_name_ = name;
    pending_line_ = mark.line + 1;
  }
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { leaf(anchor); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    leaf(anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const std::size_t id = anchor;
    const std::uint64_t nodes = id < expanded_.size() ? expanded_[id] : 0;
    if (problem.line == 0 && nodes == kOpen) {
      refuse(mark, fmt::format("alias '*{}' repeats anchor '&{}' (line {}) inside the node that anchor names, a "
                               "cycle that never ends; a scenario cannot hold one",
                               name(id), name(id), line(id)));
      return complete(1);
    }
    total_ = add(total_, nodes);
    if (problem.line == 0 && total_ > kMaxAliasNodes)
      refuse(mark,
             fmt::format("the YAML aliases up to this one, '*{}' (anchor '&{}' on line {}, {} nodes), expand "
                         "the document by more than {} nodes, far more than any scenario needs (is it a "
                         "'billion laughs'?); write the repeated parts out or use fewer aliases",
                         name(id), name(id), line(id), nodes >= kSaturated ? std::string("countless") : grouped(nodes),
                         grouped(kMaxAliasNodes)));
    complete(nodes);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    std::uint64_t nodes;
    std::size_t anchor;
  };

  void name_anchor(std::size_t id) {
    if (id == 0) return;
    if (expanded_.size() <= id) {
      expanded_.resize(id + 1, 0);
      names_.resize(id + 1);
      lines_.resize(id + 1, 0);
    }
    names_[id] = pending_name_;
    lines_[id] = pending_line_;
    expanded_[id] = kOpen;
  }
  std::string name(std::size_t id) const { return id < names_.size() ? names_[id] : std::string("?"); }
  int line(std::size_t id) const { return id < lines_.size() ? lines_[id] : 0; }
  void refuse(const YAML::Mark& mark, std::string message) {
    problem = {mark.line + 1, mark.column + 1, std::move(message)};
  }
  // A node of `nodes` nodes is complete: its parent holds them.
  void complete(std::uint64_t nodes) {
    if (!stack_.empty()) stack_.back().nodes = add(stack_.back().nodes, nodes);
  }
  void leaf(YAML::anchor_t anchor) {
    name_anchor(anchor);
    if (anchor != 0) expanded_[anchor] = 1;
    complete(1);
  }
  void open(YAML::anchor_t anchor) {
    name_anchor(anchor);
    stack_.push_back({1, anchor});
  }
  void close() {
    const Frame frame = stack_.back();
    stack_.pop_back();
    if (frame.anchor != 0) expanded_[frame.anchor] = frame.nodes;
    complete(frame.nodes);
  }

  std::vector<Frame> stack_;
  std::vector<std::uint64_t> expanded_{0};
  std::vector<std::string> names_{""};
  std::vector<int> lines_{0};
  std::string pending_name_;
  int pending_line_ = 0;
  std::uint64_t total_ = 0;
};

// The nodes as written, aliases kept.
class TreeBuilder : public YAML::EventHandler {
 public:
  Tree tree;
  std::size_t skipped = 0;  // bytes before the positions yaml-cpp reports

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnAnchor(const YAML::Mark&, const std::string& name) override { pending_name_ = name; }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { add_node(Kind::kNull, mark, anchor, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    tree.nodes[static_cast<std::size_t>(add_node(Kind::kScalar, mark, anchor, false))].value = value;
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const int at = add_node(Kind::kAlias, mark, 0, false);
    tree.nodes[static_cast<std::size_t>(at)].target = static_cast<int>(anchor);
    if (anchor < tree.alias_count.size()) ++tree.alias_count[anchor];
    tree.aliases.push_back(at);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    open_.push_back(add_node(Kind::kSequence, mark, anchor, style == YAML::EmitterStyle::Flow));
  }
  void OnSequenceEnd() override { open_.pop_back(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open_.push_back(add_node(Kind::kMap, mark, anchor, style == YAML::EmitterStyle::Flow));
  }
  void OnMapEnd() override { open_.pop_back(); }

 private:
  int add_node(Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor, bool flow) {
    const int at = static_cast<int>(tree.nodes.size());
    Node node;
    node.kind = kind;
    node.pos = (mark.pos >= 0 ? static_cast<std::size_t>(mark.pos) : 0) + skipped;
    node.line = mark.line;
    node.anchor = static_cast<int>(anchor);
    node.parent = open_.empty() ? -1 : open_.back();
    node.flow = flow || (node.parent >= 0 && tree.nodes[static_cast<std::size_t>(node.parent)].flow);
    tree.nodes.push_back(std::move(node));
    if (anchor != 0) {
      if (tree.anchor_node.size() <= anchor) {
        tree.anchor_node.resize(anchor + 1, -1);
        tree.anchor_name.resize(anchor + 1);
        tree.alias_count.resize(anchor + 1, 0);
      }
      tree.anchor_node[anchor] = at;
      tree.anchor_name[anchor] = pending_name_;
    }
    if (open_.empty())
      tree.root = at;
    else
      tree.nodes[static_cast<std::size_t>(open_.back())].children.push_back(at);
    return at;
  }

  std::vector<int> open_;
  std::string pending_name_;
};

}  // namespace

AliasProblem alias_problem(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  AliasCounter counter;
  parser.HandleNextDocument(counter);
  return counter.problem;
}

Tree read_tree(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  TreeBuilder builder;
  // yaml-cpp counts positions after a UTF-8 byte order mark; the edits apply to the text with it.
  if (text.starts_with("\xEF\xBB\xBF")) builder.skipped = 3;
  parser.HandleNextDocument(builder);
  return std::move(builder.tree);
}

}  // namespace brink::yaml_text
