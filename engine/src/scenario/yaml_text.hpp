// A scenario's YAML as text with structure: the nodes of the document as
// written, with every alias kept an alias (nothing is expanded), and where
// each node stands in the text. Two users: the alias bound every scenario
// load checks (a "billion laughs" document is refused before anything walks
// it), and the posterior scenario of `brink calibrate`, written as the
// original text with values substituted (posterior_text.cpp). Internal to
// engine/src/scenario.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace brink::yaml_text {

// The most nodes a scenario's aliases may stand for, in all: each alias
// counts the nodes of the node it repeats, its own aliases expanded. Far
// above any real scenario (the shipped ones use no aliases; a handful of
// shared blocks stand for a few hundred nodes), and far below what makes a
// walk of the expanded document slow or exhausts memory.
inline constexpr std::uint64_t kMaxAliasNodes = 1'000'000;

// Where and why a document's aliases are refused; line 0 if they are not.
struct AliasProblem {
  int line = 0, column = 0;  // 1-based, of the alias
  std::string message;
};

// Counts, in one pass over the parser's events and in memory proportional to
// the anchors and the nesting depth, the nodes the aliases of `text` stand
// for; the problem if they exceed kMaxAliasNodes, or if an alias repeats the
// node that holds it (a cycle). `text` must parse (YAML::Load succeeded).
AliasProblem alias_problem(const std::string& text);

enum class Kind : std::uint8_t { kScalar, kNull, kSequence, kMap, kAlias };

struct Node {
  Kind kind = Kind::kNull;
  bool flow = false;          // a flow collection, or a node inside one
  std::size_t pos = 0;        // yaml-cpp's mark: the node's properties (&anchor, !tag) or its content
  int line = 0;               // 0-based
  int anchor = 0;             // the anchor defined here (0: none)
  int target = 0;             // an alias: the anchor it repeats
  std::string value;          // a scalar's value
  std::vector<int> children;  // a sequence's items; a map's keys and values, alternating
  int parent = -1;
};

struct Tree {
  std::vector<Node> nodes;
  int root = -1;
  std::vector<int> anchor_node{-1};          // per anchor id (id 0: none)
  std::vector<std::string> anchor_name{""};  // per anchor id
  std::vector<int> alias_count{0};           // per anchor id: the aliases that repeat it
  std::vector<int> aliases;                  // every alias node, in document order
};

// The document of `text` (one document; YAML::Load succeeded on it).
Tree read_tree(const std::string& text);

}  // namespace brink::yaml_text
