#include "brink/scenario/sweep_constraints.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "number_text.hpp"

namespace brink {
namespace {

struct Token {
  enum Kind { kNumber, kPath, kPlus, kMinus, kTimes, kAtMost, kAtLeast, kEnd } kind = kEnd;
  std::string text;
  double number = 0.0;
};

bool path_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

// A number as a rule writes it (digit separators allowed), or nullopt.
std::optional<double> rule_number(const std::string& written) {
  const std::string text = without_digit_separators(written).value_or("");
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

// A word written without spaces that holds a '-' ("positions.A-2"): ids may
// contain '-', so it is read as one known path when it is one, else as known
// paths and numbers joined by minus signs when that reading is the only one.
// Appends its tokens; returns the problem or "". With no reading, the whole
// word is one path (which constraint_problem names as unknown).
std::string read_hyphenated(const std::string& word, const std::set<std::string, std::less<>>& known,
                            std::vector<Token>* out) {
  if (known.contains(word)) {
    out->push_back({Token::kPath, word});
    return {};
  }
  std::vector<std::size_t> cuts{0};  // where each piece between minus signs starts
  for (std::size_t k = 0; k < word.size(); ++k)
    if (word[k] == '-') cuts.push_back(k + 1);
  const std::size_t n = cuts.size();
  // readings[k]: the readings of the word from piece k on (at most two kept).
  std::vector<std::vector<std::vector<Token>>> readings(n + 1);
  readings[n].push_back({});
  for (std::size_t k = n; k-- > 0;)
    for (std::size_t e = k + 1; e <= n; ++e) {
      const std::string piece = word.substr(cuts[k], (e == n ? word.size() + 1 : cuts[e]) - 1 - cuts[k]);
      Token t;
      if (known.contains(piece)) {
        t = {Token::kPath, piece};
      } else if (const std::optional<double> v = rule_number(piece);
                 k > 0 && v && (std::isdigit(static_cast<unsigned char>(piece[0])) || piece[0] == '.')) {
        t = {Token::kNumber, piece, *v};
      } else {
        continue;
      }
      for (const std::vector<Token>& rest : readings[e]) {
        if (readings[k].size() == 2) break;
        std::vector<Token> reading{t};
        if (e < n) reading.push_back({Token::kMinus, "-"});
        reading.insert(reading.end(), rest.begin(), rest.end());
        readings[k].push_back(std::move(reading));
      }
    }
  if (readings[0].empty()) {
    out->push_back({Token::kPath, word});
    return {};
  }
  if (readings[0].size() > 1) {
    auto shown = [](const std::vector<Token>& reading) {
      std::string text;
      for (const Token& t : reading) text += (text.empty() ? "" : " ") + t.text;
      return text;
    };
    return fmt::format(
        "'{}' reads two ways, '{}' and '{}' (ids may contain '-'): write a minus that subtracts with spaces "
        "around it",
        word, shown(readings[0][0]), shown(readings[0][1]));
  }
  out->insert(out->end(), readings[0][0].begin(), readings[0][0].end());
  return {};
}

// Splits the rule into tokens; returns the problem or "".
std::string tokenize(const std::string& rule, const std::set<std::string, std::less<>>& known,
                     std::vector<Token>* out) {
  for (std::size_t i = 0; i < rule.size();) {
    const char c = rule[i];
    if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == '+' || c == '-' || c == '*') {
      out->push_back({c == '+' ? Token::kPlus : c == '-' ? Token::kMinus : Token::kTimes, std::string(1, c)});
      ++i;
    } else if ((c == '<' || c == '>') && i + 1 < rule.size() && rule[i + 1] == '=') {
      out->push_back({c == '<' ? Token::kAtMost : Token::kAtLeast, rule.substr(i, 2)});
      i += 2;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      std::size_t j = i;
      while (j < rule.size() && (path_char(rule[j]) || ((rule[j] == '+' || rule[j] == '-') && j > i &&
                                                        (rule[j - 1] == 'e' || rule[j - 1] == 'E'))))
        ++j;
      Token t{Token::kNumber, rule.substr(i, j - i)};
      const std::optional<double> value = rule_number(t.text);
      if (!value) return fmt::format("'{}' is not a number", t.text);
      t.number = *value;
      out->push_back(t);
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      // A path word, '-' included when a path character follows it (no space).
      std::size_t j = i;
      while (j < rule.size() &&
             (path_char(rule[j]) || (rule[j] == '-' && j + 1 < rule.size() && path_char(rule[j + 1]))))
        ++j;
      const std::string word = rule.substr(i, j - i);
      if (word.find('-') == std::string::npos)
        out->push_back({Token::kPath, word});
      else if (std::string problem = read_hyphenated(word, known, out); !problem.empty())
        return problem;
      i = j;
    } else {
      // The whole character, not the first byte of its UTF-8 encoding.
      const auto lead = static_cast<unsigned char>(c);
      const std::string shown = rule.substr(i, lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1);
      return fmt::format(
          "unexpected '{}' at character {}{} (a rule is 'LEFT <= RIGHT' or 'LEFT >= RIGHT' with "
          "numbers, paths, +, - and number * path)",
          shown, i + 1,
          shown == "\u2264"   ? "; write <="
          : shown == "\u2265" ? "; write >="
                              : "");
    }
  }
  out->push_back({Token::kEnd, "end of rule"});
  return {};
}

// One side into terms (scaled by `sign`: +1 left, -1 right); the problem or "".
std::string read_side(const std::vector<Token>& tokens, std::size_t* i, double sign, SweepConstraint* c,
                      int* paths_on_side) {
  double term_sign = 1.0;
  if (tokens[*i].kind == Token::kMinus) {
    term_sign = -1.0;
    ++*i;
  }
  for (;;) {
    const Token& t = tokens[*i];
    if (t.kind == Token::kNumber) {
      ++*i;
      if (tokens[*i].kind == Token::kTimes) {
        ++*i;
        if (tokens[*i].kind != Token::kPath)
          return fmt::format("expected a path after '{} *', got '{}'", t.text, tokens[*i].text);
        c->terms.emplace_back(tokens[*i].text, sign * term_sign * t.number);
        ++*paths_on_side;
        ++*i;
      } else {
        c->constant += sign * term_sign * t.number;
      }
    } else if (t.kind == Token::kPath) {
      c->terms.emplace_back(t.text, sign * term_sign);
      ++*paths_on_side;
      ++*i;
    } else {
      return fmt::format("expected a number or a path, got '{}'", t.text);
    }
    if (tokens[*i].kind == Token::kPlus || tokens[*i].kind == Token::kMinus) {
      term_sign = tokens[*i].kind == Token::kPlus ? 1.0 : -1.0;
      ++*i;
      continue;
    }
    return {};
  }
}

}  // namespace

std::string parse_constraint(const std::string& rule, bool reject, SweepConstraint* out,
                             std::span<const ParameterInfo> parameters) {
  SweepConstraint c;
  c.rule = rule;
  c.reject = reject;
  std::set<std::string, std::less<>> known;
  for (const ParameterInfo& p : parameters) known.insert(p.path);
  std::vector<Token> tokens;
  if (std::string problem = tokenize(rule, known, &tokens); !problem.empty()) return problem;
  std::size_t i = 0;
  int left_paths = 0, right_paths = 0;
  const std::size_t left_start = 0;
  if (std::string problem = read_side(tokens, &i, 1.0, &c, &left_paths); !problem.empty()) return problem;
  const bool single_left =
      left_paths == 1 && c.terms.size() == 1 && c.terms[0].second == 1.0 && c.constant == 0.0 && i == left_start + 1;
  if (tokens[i].kind != Token::kAtMost && tokens[i].kind != Token::kAtLeast)
    return fmt::format("expected '<=' or '>=' after the left side, got '{}'", tokens[i].text);
  c.at_most = tokens[i].kind == Token::kAtMost;
  ++i;
  if (std::string problem = read_side(tokens, &i, -1.0, &c, &right_paths); !problem.empty()) return problem;
  if (tokens[i].kind != Token::kEnd) return fmt::format("unexpected '{}' after the right side", tokens[i].text);
  if (single_left) c.target = c.terms[0].first;
  *out = std::move(c);
  return {};
}

std::string constraint_problem(const SweepConstraint& c, const SweepSpec& spec,
                               const std::vector<ParameterInfo>& parameters) {
  if (spec.design == SweepDesign::kGrid)
    return "constraints apply to sampled points: they need a random, lhs or sobol design (a morris design refuses "
           "them too)";
  if (spec.design == SweepDesign::kMorris)
    return "constraints cannot be used with a morris design: a clipped or rejected point breaks the one-at-a-time "
           "steps its elementary effects need";
  if (c.reject && spec.sensitivity)
    return "a reject constraint cannot be used with sensitivity: dropping points breaks the Saltelli plan's matched "
           "rows (and Latin strata and Sobol' nets); use action: clip or drop sensitivity";
  bool reads_axis = false;
  for (const auto& term : c.terms) {
    const std::string& path = term.first;  // not a structured binding: lambdas capture it (clang 14)
    const auto info = std::find_if(parameters.begin(), parameters.end(), [&](const auto& p) { return p.path == path; });
    if (info == parameters.end())
      return fmt::format("constraint '{}' names unknown parameter path '{}'{}", c.rule, path,
                         path.find('-') == std::string::npos
                             ? ""
                             : " (a '-' between two characters of a word is part of an id; write a minus that "
                               "subtracts with spaces around it)");
    if (is_run_setting(path))
      return fmt::format(
          "constraint '{}' reads '{}', a run setting, not a model parameter: a constraint may read model parameters "
          "only, so that which points run never depends on the seed or the run's options",
          c.rule, path);
    if (!info->numeric) return fmt::format("constraint '{}' names '{}', which is not a number", c.rule, path);
    if (std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.lever && a.path == path; }))
      return fmt::format(
          "constraint '{}' reads '{}', a lever: every policy of a mixed design runs the same sampled points, which a "
          "constraint on a lever would clip or drop differently per policy; bound the uncertainties by themselves, "
          "or make '{}' an uncertainty",
          c.rule, path, path);
    reads_axis |= std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == path; });
  }
  if (!reads_axis) return fmt::format("constraint '{}' reads no swept parameter", c.rule);
  if (c.reject) return {};
  if (c.target.empty())
    return fmt::format("constraint '{}' clips its left side, which must be one swept parameter path alone", c.rule);
  const auto axis =
      std::find_if(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == c.target; });
  if (axis == spec.axes.end() || axis->lever || !axis->values.empty())
    return fmt::format("constraint '{}' clips '{}', which must be a swept range axis", c.rule, c.target);
  if (std::count_if(c.terms.begin(), c.terms.end(), [&](const auto& t) { return t.first == c.target; }) != 1)
    return fmt::format("constraint '{}' clips '{}', which must not appear on the right side too", c.rule, c.target);
  return {};
}

namespace {

// The coefficient of `path` in left − right.
double coefficient_of(const SweepConstraint& c, const std::string& path) {
  double sum = 0.0;
  for (const auto& [term, coefficient] : c.terms)
    if (term == path) sum += coefficient;
  return sum;
}

// Whether clipping `mover` can make `held` false once it holds: the clip
// lowers its target (<=) or raises it (>=), which changes held's left − right
// by the target's coefficient times that move.
bool can_break(const SweepConstraint& held, const SweepConstraint& mover) {
  if (mover.reject || mover.target.empty()) return false;
  const double change = coefficient_of(held, mover.target) * (mover.at_most ? -1.0 : 1.0);
  return held.at_most ? change > 0.0 : change < 0.0;
}

}  // namespace

std::string constraint_order_problem(std::span<const SweepConstraint> earlier, const SweepConstraint& c) {
  for (const SweepConstraint& e : earlier) {
    if (!can_break(e, c)) continue;
    const bool swap_works = !can_break(c, e);
    return fmt::format(
        "clip rule '{}' {} '{}', which the earlier rule '{}' reads, so a point clipped here could break that rule "
        "after it was applied; {}",
        c.rule, c.at_most ? "lowers" : "raises", c.target, e.rule,
        swap_works ? "put this clip before it"
                   : "each of the two clips moves a value the other reads, so no order "
                     "keeps both: make one of them action: reject");
  }
  return {};
}

BoundConstraints::BoundConstraints(const SweepSpec& spec, const Scenario& base) {
  const FieldRegistry registry(base);
  for (const SweepConstraint& c : spec.constraints) {
    Rule rule{.terms = {}, .constant = c.constant, .at_most = c.at_most, .reject = c.reject, .target = -1};
    for (const auto& written : c.terms) {
      const std::string& path = written.first;  // not a structured binding: lambdas capture it (clang 14)
      Term term{.axis = -1, .fixed = 0.0, .coefficient = written.second};
      const auto axis =
          std::find_if(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == path; });
      if (axis != spec.axes.end())
        term.axis = static_cast<int>(axis - spec.axes.begin());
      else if (const FieldRef* ref = registry.find(path))
        term.fixed = ref->get(base);
      rule.terms.push_back(term);
      if (!c.target.empty() && path == c.target) rule.target = term.axis;
    }
    rules_.push_back(std::move(rule));
  }
}

double BoundConstraints::slack(std::size_t k, std::span<const double> row) const {
  const Rule& rule = rules_[k];
  double sum = rule.constant;
  for (const Term& t : rule.terms) sum += t.coefficient * (t.axis >= 0 ? row[t.axis] : t.fixed);
  return sum;
}

bool BoundConstraints::broken(std::size_t k, std::span<const double> row) const {
  const double s = slack(k, row);
  return rules_[k].at_most ? s > 0.0 : s < 0.0;
}

bool BoundConstraints::apply(std::span<double> row, std::vector<int>* clipped_by) const {
  if (clipped_by) clipped_by->assign(row.size(), -1);
  for (std::size_t k = 0; k < rules_.size(); ++k) {
    if (!broken(k, row)) continue;
    if (rules_[k].reject || rules_[k].target < 0) return false;
    // The target's coefficient is 1 and it is nowhere else, so the bound is
    // minus the rest (computed without the target: x <= y gives exactly y).
    double rest = rules_[k].constant;
    for (const Term& t : rules_[k].terms)
      if (t.axis != rules_[k].target) rest += t.coefficient * (t.axis >= 0 ? row[t.axis] : t.fixed);
    row[rules_[k].target] = -rest;
    if (clipped_by) (*clipped_by)[static_cast<std::size_t>(rules_[k].target)] = static_cast<int>(k);
  }
  return true;
}

int BoundConstraints::first_broken(std::span<const double> row) const {
  for (std::size_t k = 0; k < rules_.size(); ++k) {
    // A clipped target is exactly minus the rest, so left − right is 0 up to
    // the rounding of the sum: tolerated relative to its largest term.
    double scale = std::abs(rules_[k].constant);
    for (const Term& t : rules_[k].terms)
      scale = std::max(scale, std::abs(t.coefficient * (t.axis >= 0 ? row[t.axis] : t.fixed)));
    const double s = slack(k, row), tolerance = 1e-12 * scale;
    if (rules_[k].at_most ? s > tolerance : s < -tolerance) return static_cast<int>(k);
  }
  return -1;
}

std::vector<int> BoundConstraints::axes_of(std::size_t k) const {
  std::vector<int> out;
  for (const Term& t : rules_[k].terms)
    if (t.axis >= 0 && std::find(out.begin(), out.end(), t.axis) == out.end()) out.push_back(t.axis);
  return out;
}

}  // namespace brink
