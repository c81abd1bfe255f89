#include "brink/scenario/parse.hpp"

#include <yaml-cpp/depthguard.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "brink/scenario/source_file.hpp"

namespace brink {
namespace {

// Like map[key] but never a "zombie" node: yaml-cpp throws when a missing
// key's node is asked its type, which would turn bad input into a crash.
YAML::Node get(const YAML::Node& map, const std::string& key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = map[key];
  return child.IsDefined() ? child : YAML::Node(YAML::NodeType::Undefined);
}

YAML::Mark mark_of(const YAML::Node& node) { return node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string nearest_of(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

// Text from the file as it appears in a one-line message: whitespace runs
// (newlines of a multi-line scalar) become one space, and it is cut at 60.
std::string shown(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.size() > 60 ? out.substr(0, 57) + "..." : out;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return shown(node.Scalar());
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// A strict number: the whole scalar must be a finite decimal number.
bool parse_number(const std::string& text, double* value) {
  std::string cleaned;
  cleaned.reserve(text.size());
  for (char c : text)
    if (c != '_') cleaned += c;  // YAML 1.1 digit separators: 100_000
  if (cleaned.empty()) return false;
  const char* first = cleaned.data();
  if (*first == '+') ++first;
  const char* last = cleaned.data() + cleaned.size();
  auto [end, ec] = std::from_chars(first, last, *value);
  return ec == std::errc() && end == last && std::isfinite(*value);
}

class Parser {
 public:
  explicit Parser(std::string label) : label_(std::move(label)) {}

  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }
  std::vector<ParameterInfo>& parameters() { return parameters_; }

  void error(const YAML::Node& node, std::string message) {
    const YAML::Mark mark = mark_of(node);
    Diagnostic d{label_, mark.line >= 0 ? mark.line + 1 : -1, mark.column >= 0 ? mark.column + 1 : -1,
                 std::move(message)};
    diagnostics_.push_back(std::move(d));
  }

  // YAML parsers keep both entries of a repeated key; a scenario must not have one.
  void no_duplicates(const YAML::Node& map, const std::string& path) {
    if (!map.IsMap()) return;
    std::vector<std::string> seen;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        error(entry.first, fmt::format("key '{}' appears twice in '{}'", shown(key), path));
      seen.push_back(key);
    }
  }

  // Reports keys of `map` not in `allowed`; returns false if `map` is not a mapping.
  bool check_map(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed) {
    if (!map.IsMap()) {
      error(map, fmt::format("'{}' must be a mapping, got {}", path, scalar_text(map)));
      return false;
    }
    no_duplicates(map, path);
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(entry.first, fmt::format("unknown key '{}' in '{}'; did you mean '{}'? (allowed: {})", shown(key), path,
                                       nearest_of(key, allowed), join(allowed)));
      }
    }
    return true;
  }

  // A numeric field; registered as a settable parameter whether present or not.
  double number(const YAML::Node& map, const std::string& key, const std::string& path, double fallback, double min,
                double max, std::string unit, bool required = false, bool integer = false) {
    const std::string full = path.empty() ? key : path + "." + key;
    parameters_.push_back({full, min, max, integer, unit});
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) {
      if (required) error(map, fmt::format("missing required key '{}' in '{}'", key, path));
      return fallback;
    }
    double value = 0.0;
    if (!node.IsScalar() || !parse_number(node.Scalar(), &value)) {
      error(node, fmt::format("'{}' must be a finite number{}, got '{}'", full, unit.empty() ? "" : " [" + unit + "]",
                              scalar_text(node)));
      return fallback;
    }
    if (integer && value != std::floor(value)) {
      error(node, fmt::format("'{}' must be a whole number, got '{}'", full, node.Scalar()));
      return fallback;
    }
    if (value < min || value > max) {
      error(node, fmt::format("'{}' must be in [{}, {}]{}, got {}", full, min, max, unit.empty() ? "" : " " + unit,
                              node.Scalar()));
      return fallback;
    }
    return value;
  }

  std::string text(const YAML::Node& map, const std::string& key, const std::string& path, std::string fallback,
                   bool required = false) {
    register_setting(path, key);
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) {
      if (required) error(map, fmt::format("missing required key '{}' in '{}'", key, path));
      return fallback;
    }
    if (!node.IsScalar()) {
      error(node, fmt::format("'{}.{}' must be text, got {}", path, key, scalar_text(node)));
      return fallback;
    }
    return node.Scalar();
  }

  bool boolean(const YAML::Node& map, const std::string& key, const std::string& path, bool fallback) {
    register_setting(path, key);
    const YAML::Node node = get(map, key);
    if (!node.IsDefined() || node.IsNull()) return fallback;
    if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      if (s == "true") return true;
      if (s == "false") return false;
    }
    error(node, fmt::format("'{}.{}' must be true or false, got '{}'", path, key, scalar_text(node)));
    return fallback;
  }

  // Resolves an actor id; reports an unknown one. Returns -1 on failure.
  int actor(const YAML::Node& node, const std::string& path, const std::vector<std::string>& ids) {
    if (!node.IsDefined() || !node.IsScalar()) {
      error(node, fmt::format("'{}' must name an actor, got {}", path, scalar_text(node)));
      return -1;
    }
    const auto it = std::find(ids.begin(), ids.end(), node.Scalar());
    if (it == ids.end()) {
      error(node, fmt::format("unknown actor '{}' in '{}'; did you mean '{}'? (actors: {})", node.Scalar(), path,
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
    const auto it = std::find(rungs.begin(), rungs.end(), node.Scalar());
    if (it == rungs.end()) {
      error(node, fmt::format("unknown rung '{}' in '{}'; did you mean '{}'? (rungs: {})", node.Scalar(), path,
                              nearest_of(node.Scalar(), rungs), join(rungs)));
      return -1;
    }
    return static_cast<int>(it - rungs.begin());
  }

 private:
  // Text and true/false fields under a section can be --set (not swept).
  void register_setting(const std::string& path, const std::string& key) {
    if (path == "scenario" || path.rfind("sweep", 0) == 0 || key == "name" || key == "description" || key == "kind")
      return;
    parameters_.push_back({path + "." + key, 0, 0, false, "", false});
  }

  std::string label_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<ParameterInfo> parameters_;
};

std::vector<std::string> names(std::span<const std::string_view> views) { return {views.begin(), views.end()}; }

// Fields an action of each kind accepts beyond `kind` and `cost`/`tension`/`rung`.
std::vector<std::string> action_keys(ActionKind kind) {
  std::vector<std::string> keys = {"kind", "cost", "tension", "rung"};
  switch (kind) {
    case ActionKind::kMobilize:
    case ActionKind::kDeploy:
    case ActionKind::kWithdraw:
    case ActionKind::kRaiseReadiness:
      keys.push_back("amount");
      break;
    case ActionKind::kPropose:
    case ActionKind::kConcede:
      keys.push_back("concession");
      break;
    case ActionKind::kSanction:
    case ActionKind::kArmPartner:
      keys.push_back("target");
      keys.push_back("effect");
      break;
    case ActionKind::kAttack:
      keys.push_back("target");
      break;
    default:
      break;
  }
  return keys;
}

bool needs_target(ActionKind kind) {
  return kind == ActionKind::kAttack || kind == ActionKind::kSanction || kind == ActionKind::kArmPartner;
}

void parse_run(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node run = get(root, "run");
  if (!run.IsDefined()) {
    p.error(root, "missing required section 'run'");
    return;
  }
  if (!p.check_map(run, "run", {"horizon_days", "dt_days", "replications", "seed", "decisions", "random_numbers"}))
    return;
  s.run.horizon_days = p.number(run, "horizon_days", "run", 120, 1e-9, 1e6, "days", true);
  s.run.dt_days = p.number(run, "dt_days", "run", 1, 1e-6, 365, "days", true);
  const YAML::Node reps = get(run, "replications");
  ReplicationRule& rule = s.run.rule;
  if (reps.IsDefined() && reps.IsMap()) {
    // Adaptive: {min, max, ci_halfwidth}.
    // "run.replications" stays settable: --replications N replaces the rule by a fixed count.
    p.parameters().push_back({"run.replications", 1, 4e9, true, "replications"});
    if (p.check_map(reps, "run.replications", {"min", "max", "ci_halfwidth"})) {
      rule.adaptive = true;
      rule.min = static_cast<std::int64_t>(
          p.number(reps, "min", "run.replications", 1000, 1, 4e9, "replications", true, true));
      rule.max = static_cast<std::int64_t>(
          p.number(reps, "max", "run.replications", 100000, 1, 4e9, "replications", true, true));
      rule.ci_halfwidth = p.number(reps, "ci_halfwidth", "run.replications", 0.01, 1e-6, 0.5, "probability", true);
      if (rule.max < rule.min)
        p.error(reps,
                fmt::format("'run.replications.max' ({}) is below 'run.replications.min' ({})", rule.max, rule.min));
    }
  } else {
    rule.min = rule.max =
        static_cast<std::int64_t>(p.number(run, "replications", "run", 1000, 1, 4e9, "replications", false, true));
  }
  s.run.replications = rule.min;
  s.run.seed = static_cast<std::uint64_t>(p.number(run, "seed", "run", 1, 0, 9007199254740991.0, "", false, true));
  s.run.decisions = p.boolean(run, "decisions", "run", true);
  const std::string rn = p.text(run, "random_numbers", "run", "independent");
  if (rn != "independent" && rn != "common")
    p.error(get(run, "random_numbers"),
            fmt::format("'run.random_numbers' must be 'common' or 'independent', got '{}'", rn));
  s.run.common_random = rn == "common";
  if (s.run.horizon_days / s.run.dt_days > 1e6)
    p.error(run, fmt::format("run.horizon_days / run.dt_days = {} steps is more than 1,000,000",
                             s.run.horizon_days / s.run.dt_days));
}

void parse_output(Parser& p, const YAML::Node& root, Scenario& s) {
  // Fields are registered (and so settable) even when the section is absent.
  const YAML::Node out = get(root, "output");
  if (out.IsDefined() && !p.check_map(out, "output", {"timeseries_every", "runs"})) return;
  s.output.runs = p.boolean(out, "runs", "output", true);
  s.output.timeseries_every =
      static_cast<int>(p.number(out, "timeseries_every", "output", 0, 0, 1e6, "steps", false, true));
}

void parse_types(Parser& p, const YAML::Node& types, const std::string& path, Actor& a) {
  if (!types.IsDefined() || types.IsNull()) {
    a.types.push_back({"default", 1.0, 1.0, a.decision.weights});
    return;
  }
  if (!types.IsMap() || types.size() == 0) {
    p.error(types, fmt::format("'{}' must be a mapping of type name to {{prior, resolve, weights}}", path));
    return;
  }
  if (types.size() > static_cast<std::size_t>(kMaxTypes))
    p.error(types, fmt::format("'{}' has {} types; at most {} are supported", path, types.size(), kMaxTypes));
  double total = 0.0;
  p.no_duplicates(types, path);
  for (const auto& entry : types) {
    ResolveType t;
    t.name = entry.first.Scalar();
    const std::string tp = path + "." + t.name;
    if (!p.check_map(entry.second, tp, {"prior", "resolve", "weights", "note"})) continue;
    t.prior = p.number(entry.second, "prior", tp, 0, 0, 1, "probability", true);
    t.resolve = p.number(entry.second, "resolve", tp, 1, 0, 1, "");
    t.weights = a.decision.weights;  // a type overrides only the weights it names
    const YAML::Node weights = get(entry.second, "weights");
    if (!weights.IsDefined() || p.check_map(weights, tp + ".weights", names(feature_names())))
      for (int k = 0; k < kFeatureCount; ++k)
        t.weights[k] = p.number(weights, std::string(feature_names()[k]), tp + ".weights", a.decision.weights[k], -1e6,
                                1e6, "utils");
    total += t.prior;
    a.types.push_back(std::move(t));
  }
  if (std::abs(total - 1.0) > 1e-6) p.error(types, fmt::format("the priors in '{}' sum to {}, not 1", path, total));
}

void parse_actor(Parser& p, const YAML::Node& node, const std::string& path, const std::vector<std::string>& ids,
                 const Escalation& escalation, Actor& a) {
  const std::vector<std::string>& rungs = escalation.rungs;
  if (!p.check_map(node, path, {"name", "forces", "posture", "combat", "decision", "actions", "types"})) return;
  a.name = p.text(node, "name", path, a.id);

  const std::string fp = path + ".forces";
  const YAML::Node forces = get(node, "forces");
  if (!forces.IsDefined()) p.error(node, fmt::format("missing required key 'forces' in '{}'", path));
  if (!forces.IsDefined() ||
      p.check_map(forces, fp,
                  {"deployed", "ready", "reserve", "mobilization_rate", "deployment_rate", "deployed_cap"})) {
    Forces& f = a.forces;
    f.deployed = p.number(forces, "deployed", fp, 0, 0, 1e8, "troops", true);
    f.ready = p.number(forces, "ready", fp, 0, 0, 1e8, "troops");
    f.reserve = p.number(forces, "reserve", fp, 0, 0, 1e8, "troops");
    f.mobilization_rate = p.number(forces, "mobilization_rate", fp, 0, 0, 1e8, "troops/day");
    f.deployment_rate = p.number(forces, "deployment_rate", fp, 0, 0, 1e8, "troops/day");
    f.deployed_cap = p.number(forces, "deployed_cap", fp, 1e8, 0, 1e8, "troops");
    if (forces.IsDefined() && f.deployed_cap < f.deployed)
      p.error(get(forces, "deployed_cap").IsDefined() ? get(forces, "deployed_cap") : forces,
              fmt::format("'{}.deployed_cap' ({}) is below '{}.deployed' ({})", fp, f.deployed_cap, fp, f.deployed));
  }

  const std::string pp = path + ".posture";
  const YAML::Node posture = get(node, "posture");
  if (!posture.IsDefined() || p.check_map(posture, pp, {"reaction", "fatigue", "grievance"})) {
    a.posture.reaction = p.number(posture, "reaction", pp, 0, 0, 10, "1/day");
    a.posture.fatigue = p.number(posture, "fatigue", pp, 0, 0, 10, "1/day");
    a.posture.grievance = p.number(posture, "grievance", pp, 0, -1e7, 1e7, "troops/day");
  }

  const std::string cp = path + ".combat";
  const YAML::Node combat = get(node, "combat");
  if (!combat.IsDefined() || p.check_map(combat, cp, {"effectiveness", "defence_advantage"})) {
    a.combat.effectiveness =
        p.number(combat, "effectiveness", cp, 0, 0, 10, "1/day (square) or 1/(troop day) (linear)");
    a.combat.defence_advantage = p.number(combat, "defence_advantage", cp, 1, 1e-3, 1e3, "");
  }

  const std::string dp = path + ".decision";
  const YAML::Node decision = get(node, "decision");
  if (!decision.IsDefined() || p.check_map(decision, dp, {"rationality", "patience_days", "ready_weight", "weights"})) {
    a.decision.rationality = p.number(decision, "rationality", dp, 1, 0, 1e6, "1/utils");
    a.decision.patience_days = p.number(decision, "patience_days", dp, 30, 1e-3, 1e6, "days");
    a.decision.ready_weight = p.number(decision, "ready_weight", dp, 0.5, 0, 1, "");
    const std::string wp = dp + ".weights";
    const YAML::Node weights = get(decision, "weights");
    if (!weights.IsDefined() || p.check_map(weights, wp, names(feature_names()))) {
      for (int k = 0; k < kFeatureCount; ++k)
        a.decision.weights[k] = p.number(weights, std::string(feature_names()[k]), wp, 0, -1e6, 1e6, "utils");
    }
  }

  parse_types(p, get(node, "types"), path + ".types", a);

  const std::string ap = path + ".actions";
  const YAML::Node actions = get(node, "actions");
  if (!actions.IsDefined()) {
    a.actions.push_back({.name = "hold", .kind = ActionKind::kHold});
    return;
  }
  if (!actions.IsMap() || actions.size() == 0) {
    p.error(actions, fmt::format("'{}' must be a non-empty mapping of action name to parameters", ap));
    return;
  }
  p.no_duplicates(actions, ap);
  for (const auto& entry : actions) {
    ActionSpec act;
    act.name = entry.first.Scalar();
    const std::string xp = ap + "." + act.name;
    const YAML::Node spec = entry.second;
    if (!spec.IsNull() && !spec.IsMap()) {
      p.error(spec, fmt::format("'{}' must be a mapping of parameters (or empty), got {}", xp, scalar_text(spec)));
      continue;
    }
    const std::string kind_name = p.text(spec, "kind", xp, act.name);
    if (!parse_action_kind(kind_name, &act.kind)) {
      const YAML::Node at = spec.IsMap() && get(spec, "kind").IsDefined() ? get(spec, "kind") : entry.first;
      p.error(at, fmt::format("unknown action kind '{}' for '{}'; did you mean '{}'? (kinds: {})", kind_name, xp,
                              nearest_of(kind_name, names(action_kind_names())), join(names(action_kind_names()))));
      continue;
    }
    if (spec.IsMap()) p.check_map(spec, xp, action_keys(act.kind));
    const auto keys = action_keys(act.kind);
    auto has = [&](std::string_view k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
    act.cost = p.number(spec, "cost", xp, 0, -1e6, 1e6, "utils");
    act.tension = p.number(spec, "tension", xp, 0, -1e3, 1e3, "tension");
    if (has("amount")) act.amount = p.number(spec, "amount", xp, 0, 0, 1e8, "troops", true);
    if (has("concession")) act.concession = p.number(spec, "concession", xp, 0.1, 0, 1, "position");
    if (has("effect")) act.effect = p.number(spec, "effect", xp, 0.1, 0, 1, "fraction");
    if (has("target")) {
      if (spec.IsMap() && get(spec, "target").IsDefined())
        act.target = p.actor(get(spec, "target"), xp + ".target", ids);
      else if (needs_target(act.kind))
        p.error(spec.IsMap() ? spec : entry.first, fmt::format("missing required key 'target' in '{}'", xp));
    }
    if (spec.IsMap() && get(spec, "rung").IsDefined()) {
      act.rung = p.rung(get(spec, "rung"), xp + ".rung", rungs);
      const bool fights = act.kind == ActionKind::kAttack || act.kind == ActionKind::kRetaliate;
      if (act.rung >= 0 && !fights && act.rung >= escalation.limited_war_rung)
        p.error(get(spec, "rung"),
                fmt::format("'{}.rung' is '{}', a war rung; only attack and retaliate start fighting", xp,
                            rungs[act.rung]));
      if (act.rung >= 0 && act.kind == ActionKind::kAttack && act.rung >= escalation.alliance_war_rung)
        p.error(get(spec, "rung"),
                fmt::format("'{}.rung' is '{}'; an attack cannot name the alliance-war rung: that war comes only from "
                            "attacking a covered actor, from intervention (retaliate) or from incidents",
                            xp, rungs[act.rung]));
      if (act.rung >= 0 && fights && act.rung < escalation.limited_war_rung)
        p.error(get(spec, "rung"),
                fmt::format("'{}.rung' is '{}'; {} must name a war rung", xp, rungs[act.rung], to_string(act.kind)));
    }
    if (act.kind == ActionKind::kAttack && spec.IsMap() && !get(spec, "rung").IsDefined())
      p.error(spec.IsMap() ? spec : entry.first, fmt::format("missing required key 'rung' in '{}'", xp));
    if (act.target >= 0 && act.target < static_cast<int>(ids.size()) && ids[act.target] == a.id)
      p.error(get(spec, "target"), fmt::format("'{}.target' is '{}' itself", xp, a.id));
    // Retaliation joins a war on the defending side: the ladder goes to the alliance rung unless told otherwise.
    if (act.kind == ActionKind::kRetaliate && act.rung < 0) act.rung = escalation.alliance_war_rung;
    a.actions.push_back(std::move(act));
  }
}

std::vector<std::vector<bool>> pairs(Parser& p, const YAML::Node& node, const std::string& path,
                                     const std::vector<std::string>& ids) {
  const std::size_t n = ids.size();
  std::vector<std::vector<bool>> matrix(n, std::vector<bool>(n, false));
  if (!node.IsDefined()) return matrix;
  if (!node.IsSequence()) {
    p.error(node, fmt::format("'{}' must be a list of actor pairs like [RUS, UKR]", path));
    return matrix;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node pair = node[i];
    const std::string ip = fmt::format("{}.{}", path, i);
    if (!pair.IsSequence() || pair.size() != 2) {
      p.error(pair, fmt::format("'{}' must be a pair of actors like [RUS, UKR], got {}", ip, scalar_text(pair)));
      continue;
    }
    const int a = p.actor(pair[0], ip, ids);
    const int b = p.actor(pair[1], ip, ids);
    if (a < 0 || b < 0) continue;
    if (a == b) {
      p.error(pair, fmt::format("'{}' pairs actor '{}' with itself", ip, ids[a]));
      continue;
    }
    matrix[a][b] = matrix[b][a] = true;
  }
  return matrix;
}

void parse_relations(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node rel = get(root, "relations");
  const std::size_t n = ids.size();
  s.relations.adversary.assign(n, std::vector<bool>(n, false));
  s.relations.ally.assign(n, std::vector<bool>(n, false));
  if (!rel.IsDefined()) return;
  if (!p.check_map(rel, "relations", {"adversaries", "allies", "commitments"})) return;
  s.relations.adversary = pairs(p, get(rel, "adversaries"), "relations.adversaries", ids);
  s.relations.ally = pairs(p, get(rel, "allies"), "relations.allies", ids);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (s.relations.adversary[i][j] && s.relations.ally[i][j])
        p.error(rel, fmt::format("actors '{}' and '{}' are listed both as adversaries and as allies", ids[i], ids[j]));
  const YAML::Node commitments = get(rel, "commitments");
  if (!commitments.IsDefined()) return;
  if (!commitments.IsSequence()) {
    p.error(commitments, "'relations.commitments' must be a list of {from, to, strength}");
    return;
  }
  for (std::size_t i = 0; i < commitments.size(); ++i) {
    const YAML::Node c = commitments[i];
    const std::string cp = fmt::format("relations.commitments.{}", i);
    if (!p.check_map(c, cp, {"from", "to", "strength", "note"})) continue;
    Commitment commitment;
    commitment.from = p.actor(get(c, "from"), cp + ".from", ids);
    commitment.to = p.actor(get(c, "to"), cp + ".to", ids);
    commitment.strength = p.number(c, "strength", cp, 0, 0, 1, "", true);
    if (commitment.from >= 0 && commitment.from == commitment.to)
      p.error(get(c, "to"), fmt::format("'{}' commits actor '{}' to itself", cp, ids[commitment.from]));
    if (commitment.from >= 0 && commitment.to >= 0) s.relations.commitments.push_back(commitment);
  }
}

void parse_escalation(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node esc = get(root, "escalation");
  if (!esc.IsDefined()) {
    p.error(root, "missing required section 'escalation'");
    return;
  }
  if (!p.check_map(esc, "escalation",
                   {"rungs", "initial_rung", "limited_war", "full_war", "alliance_war", "tension", "incidents"}))
    return;
  Escalation& e = s.escalation;
  const YAML::Node rungs = get(esc, "rungs");
  if (!rungs.IsDefined() || !rungs.IsSequence() || rungs.size() < 4 || rungs.size() > 100) {
    p.error(rungs.IsDefined() ? rungs : esc, "'escalation.rungs' must be a list of four to 100 rung names");
  } else {
    for (std::size_t i = 0; i < rungs.size(); ++i) {
      if (!rungs[i].IsScalar()) {
        p.error(rungs[i], fmt::format("'escalation.rungs.{}' must be a rung name", i));
        continue;
      }
      if (std::find(e.rungs.begin(), e.rungs.end(), rungs[i].Scalar()) != e.rungs.end())
        p.error(rungs[i], fmt::format("rung '{}' appears twice in 'escalation.rungs'", rungs[i].Scalar()));
      e.rungs.push_back(rungs[i].Scalar());
    }
  }
  auto named_rung = [&](const char* key, int fallback) {
    if (!get(esc, key).IsDefined()) {
      p.error(esc, fmt::format("missing required key '{}' in 'escalation'", key));
      return fallback;
    }
    return p.rung(get(esc, key), std::string("escalation.") + key, e.rungs);
  };
  e.initial_rung = named_rung("initial_rung", 0);
  e.limited_war_rung = named_rung("limited_war", 0);
  e.full_war_rung = named_rung("full_war", 0);
  e.alliance_war_rung = named_rung("alliance_war", 0);
  if (e.limited_war_rung >= 0 && e.full_war_rung >= 0 && e.alliance_war_rung >= 0 &&
      !(e.initial_rung < e.limited_war_rung && e.limited_war_rung <= e.full_war_rung &&
        e.full_war_rung <= e.alliance_war_rung))
    p.error(esc, "escalation rungs must be ordered initial_rung < limited_war <= full_war <= alliance_war");

  const YAML::Node tension = get(esc, "tension");
  if (!tension.IsDefined() || p.check_map(tension, "escalation.tension", {"initial", "decay", "agreement_relief"})) {
    e.initial_tension = p.number(tension, "initial", "escalation.tension", 0, 0, 1e3, "tension");
    e.tension_decay = p.number(tension, "decay", "escalation.tension", 0, 0, 10, "1/day");
    e.agreement_relief = p.number(tension, "agreement_relief", "escalation.tension", 0, 0, 1e3, "tension");
  }
  const YAML::Node inc = get(esc, "incidents");
  const std::string ip = "escalation.incidents";
  if (!inc.IsDefined() ||
      p.check_map(inc, ip, {"base_rate", "tension_rate", "contact_rate", "tension_jump", "escalation_probability"})) {
    Incidents& i = e.incidents;
    i.base_rate = p.number(inc, "base_rate", ip, 0, 0, 100, "1/day");
    i.tension_rate = p.number(inc, "tension_rate", ip, 0, 0, 100, "1/day/tension");
    i.contact_rate = p.number(inc, "contact_rate", ip, 0, 0, 100, "1/day per 100,000 troops");
    i.tension_jump = p.number(inc, "tension_jump", ip, 0, 0, 1e3, "tension");
    i.escalation_probability = p.number(inc, "escalation_probability", ip, 0, 0, 1, "probability");
  }
}

void parse_combat(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node combat = get(root, "combat");
  if (combat.IsDefined() && !p.check_map(combat, "combat", {"law", "limited_war_intensity", "collapse_fraction"}))
    return;
  const std::string law = p.text(combat, "law", "combat", "square");
  if (law == "square") {
    s.law = LanchesterLaw::kSquare;
  } else if (law == "linear") {
    s.law = LanchesterLaw::kLinear;
  } else {
    p.error(get(combat, "law"), fmt::format("'combat.law' must be 'square' or 'linear', got '{}'", law));
  }
  s.escalation.limited_war_intensity = p.number(combat, "limited_war_intensity", "combat", 0.3, 0, 1, "");
  s.escalation.collapse_fraction = p.number(combat, "collapse_fraction", "combat", 0.3, 0, 1, "");
}

void parse_negotiation(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node neg = get(root, "negotiation");
  if (neg.IsDefined() && !p.check_map(neg, "negotiation", {"acceptance_window", "drawdown", "issues"})) return;
  s.negotiation.acceptance_window = p.number(neg, "acceptance_window", "negotiation", 0.1, 0, 1, "position");
  s.negotiation.drawdown = p.number(neg, "drawdown", "negotiation", 0.5, 0, 1, "");
  const YAML::Node issues = get(neg, "issues");
  if (!issues.IsDefined()) return;
  if (!issues.IsMap()) {
    p.error(issues, "'negotiation.issues' must be a mapping of issue name to {core, positions, salience}");
    return;
  }
  p.no_duplicates(issues, "negotiation.issues");
  for (const auto& entry : issues) {
    Issue issue;
    issue.id = entry.first.Scalar();
    const std::string ip = "negotiation.issues." + issue.id;
    if (!p.check_map(entry.second, ip, {"core", "positions", "salience", "note"})) continue;
    issue.core = p.boolean(entry.second, "core", ip, false);
    issue.position.assign(ids.size(), 0.0);
    issue.salience.assign(ids.size(), 0.0);
    int parties = 0;
    for (const char* field : {"positions", "salience"}) {
      const YAML::Node values = get(entry.second, field);
      const std::string vp = ip + "." + field;
      if (!values.IsDefined()) {
        p.error(entry.second, fmt::format("missing required key '{}' in '{}'", field, ip));
        continue;
      }
      if (!p.check_map(values, vp, ids)) continue;
      auto& target = std::string_view(field) == "positions" ? issue.position : issue.salience;
      for (std::size_t a = 0; a < ids.size(); ++a) target[a] = p.number(values, ids[a], vp, 0, 0, 1, "");
    }
    for (double salience : issue.salience) parties += salience > 0.0 ? 1 : 0;
    if (parties < 2)
      p.error(get(entry.second, "salience").IsDefined() ? get(entry.second, "salience") : entry.second,
              fmt::format("issue '{}' has {} part{} (actors with salience > 0); an issue needs at least two", ip,
                          parties, parties == 1 ? "y" : "ies"));
    s.negotiation.issues.push_back(std::move(issue));
  }
}

void parse_events(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node events = get(root, "events");
  if (!events.IsDefined() || events.IsNull()) return;
  const std::vector<std::string> verbs = {"deploy", "withdraw", "mobilize", "demobilize", "reinforce", "attack"};
  if (!events.IsSequence()) {
    p.error(events, fmt::format("'events' must be a list of {{day, actor, <{}>}}", join(verbs, "|")));
    return;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const YAML::Node e = events[i];
    const std::string ep = fmt::format("events.{}", i);
    std::vector<std::string> allowed = {"day", "actor", "rung", "note"};
    allowed.insert(allowed.end(), verbs.begin(), verbs.end());
    if (!p.check_map(e, ep, allowed)) continue;
    Event event;
    event.day = p.number(e, "day", ep, 0, 0, s.run.horizon_days, "days", true);
    event.actor = get(e, "actor").IsDefined() ? p.actor(get(e, "actor"), ep + ".actor", ids) : -1;
    if (!get(e, "actor").IsDefined()) p.error(e, fmt::format("missing required key 'actor' in '{}'", ep));
    int found = 0;
    for (std::size_t v = 0; v < verbs.size(); ++v) {
      if (!get(e, verbs[v]).IsDefined()) continue;
      ++found;
      event.kind = static_cast<EventKind>(v);
      if (event.kind == EventKind::kAttack) {
        event.target = p.actor(get(e, "attack"), ep + ".attack", ids);
        if (!get(e, "rung").IsDefined())
          p.error(e, fmt::format("missing required key 'rung' in '{}' (the rung the attack raises the ladder to)", ep));
        else
          event.rung = p.rung(get(e, "rung"), ep + ".rung", s.escalation.rungs);
      } else {
        event.troops = p.number(e, verbs[v], ep, 0, 0, 1e8, "troops");
      }
    }
    if (found != 1) {
      p.error(e, fmt::format("'{}' must have exactly one of {}, found {}", ep, join(verbs), found));
      continue;
    }
    if (event.kind != EventKind::kAttack && get(e, "rung").IsDefined())
      p.error(get(e, "rung"), fmt::format("'{}.rung' applies only to attack events", ep));
    if (event.kind == EventKind::kAttack && event.target == event.actor && event.actor >= 0)
      p.error(get(e, "attack"), fmt::format("'{}': actor '{}' cannot attack itself", ep, ids[event.actor]));
    if (event.kind == EventKind::kAttack && event.rung >= s.escalation.alliance_war_rung &&
        s.escalation.alliance_war_rung > 0)
      p.error(get(e, "rung"),
              fmt::format("'{}.rung' cannot be the alliance-war rung: that war comes only from attacking "
                          "a covered actor, from intervention or from incidents",
                          ep));
    if (event.kind == EventKind::kAttack && event.rung >= 0 && s.escalation.limited_war_rung >= 0 &&
        event.rung < s.escalation.limited_war_rung)
      p.error(get(e, "rung"), fmt::format("'{}.rung' must be a war rung (at or above '{}')", ep,
                                          s.escalation.rungs[s.escalation.limited_war_rung]));
    if (event.actor >= 0) s.events.push_back(event);
  }
}

// Checks one axis against the registry; returns the problem, or "" if none.
std::string axis_problem(const SweepAxis& axis, SweepDesign design, const std::vector<ParameterInfo>& parameters) {
  const auto info =
      std::find_if(parameters.begin(), parameters.end(), [&](const ParameterInfo& i) { return i.path == axis.path; });
  if (info == parameters.end())
    return fmt::format("unknown parameter path '{}'; nearest valid paths: {}", axis.path,
                       join(nearest_paths(parameters, axis.path)));
  if (!info->numeric) return fmt::format("'{}' is not a number; only numeric fields can be swept", axis.path);
  if (axis.path.rfind("run.", 0) == 0 || axis.path.rfind("output.", 0) == 0)
    return fmt::format("'{}' is a run setting, not a model parameter; it cannot be swept", axis.path);
  auto out_of_range = [&](double v) {
    if (v < info->min || v > info->max)
      return fmt::format("'{}' must be in [{}, {}]{}, got {}", axis.path, info->min, info->max,
                         info->unit.empty() ? "" : " " + info->unit, v);
    if (info->integer && v != std::floor(v)) return fmt::format("'{}' must be a whole number, got {}", axis.path, v);
    return std::string();
  };
  if (design == SweepDesign::kGrid) {
    if (axis.values.empty())
      return fmt::format("grid axis '{}' needs a list of values, e.g. [50000, 100000]", axis.path);
    for (double v : axis.values)
      if (auto problem = out_of_range(v); !problem.empty()) return problem;
    return {};
  }
  if (!axis.values.empty())
    return fmt::format("axis '{}' lists values, but a {} design samples a range: write {{min: ..., max: ...}}",
                       axis.path, to_string(design));
  if (axis.min > axis.max) return fmt::format("axis '{}' has min {} above max {}", axis.path, axis.min, axis.max);
  if (axis.log && axis.min <= 0) return fmt::format("log axis '{}' needs min > 0, got {}", axis.path, axis.min);
  for (double v : {axis.min, axis.max})
    if (auto problem = out_of_range(v); !problem.empty()) return problem;
  return {};
}

bool parse_design(std::string_view name, SweepDesign* design) {
  for (SweepDesign d : {SweepDesign::kGrid, SweepDesign::kRandom, SweepDesign::kLhs, SweepDesign::kSobol})
    if (to_string(d) == name) {
      *design = d;
      return true;
    }
  return false;
}

void parse_sweep(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node sweep = get(root, "sweep");
  if (!sweep.IsDefined() || sweep.IsNull()) return;
  if (!p.check_map(sweep, "sweep", {"design", "samples", "sensitivity", "random_numbers", "parameters"})) return;
  SweepSpec& spec = s.sweep;
  const std::string design = p.text(sweep, "design", "sweep", "grid");
  if (!parse_design(design, &spec.design))
    p.error(get(sweep, "design"), fmt::format("'sweep.design' must be grid, random, lhs or sobol, got '{}'", design));
  spec.sensitivity = p.boolean(sweep, "sensitivity", "sweep", false);
  const YAML::Node samples = get(sweep, "samples");
  if (samples.IsDefined()) {
    double value = 0;
    if (!samples.IsScalar() || !parse_number(samples.Scalar(), &value) || value < 1 || value > 1e7 ||
        value != std::floor(value))
      p.error(samples,
              fmt::format("'sweep.samples' must be a whole number in [1, 10000000], got '{}'", scalar_text(samples)));
    else
      spec.samples = static_cast<std::int64_t>(value);
  }
  if (spec.design != SweepDesign::kGrid && spec.samples == 0)
    p.error(sweep, fmt::format("a {} design needs 'sweep.samples' (the number of points)", design));
  if (spec.sensitivity && spec.design == SweepDesign::kGrid)
    p.error(get(sweep, "sensitivity"), "'sweep.sensitivity' needs a random, lhs or sobol design, not a grid");
  const std::string rn = p.text(sweep, "random_numbers", "sweep", s.run.common_random ? "common" : "independent");
  if (rn != "independent" && rn != "common")
    p.error(get(sweep, "random_numbers"),
            fmt::format("'sweep.random_numbers' must be 'common' or 'independent', got '{}'", rn));
  s.run.common_random = rn == "common";
  const YAML::Node parameters = get(sweep, "parameters");
  if (!parameters.IsDefined() || !parameters.IsMap() || parameters.size() == 0) {
    p.error(parameters.IsDefined() ? parameters : sweep,
            "'sweep.parameters' must map parameter paths to value lists or {min, max} ranges");
    return;
  }
  p.no_duplicates(parameters, "sweep.parameters");
  for (const auto& entry : parameters) {
    SweepAxis axis;
    axis.path = entry.first.Scalar();
    const YAML::Node v = entry.second;
    const std::string ap = "sweep.parameters." + axis.path;
    if (v.IsSequence()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        double value = 0;
        if (!v[i].IsScalar() || !parse_number(v[i].Scalar(), &value)) {
          p.error(v[i], fmt::format("'{}' values must be finite numbers, got '{}'", ap, scalar_text(v[i])));
          continue;
        }
        axis.values.push_back(value);
      }
    } else if (v.IsMap()) {
      if (!p.check_map(v, ap, {"min", "max", "log"})) continue;
      for (const char* bound : {"min", "max"}) {
        const YAML::Node b = get(v, bound);
        double value = 0;
        if (!b.IsDefined() || !b.IsScalar() || !parse_number(b.Scalar(), &value)) {
          p.error(b.IsDefined() ? b : v, fmt::format("'{}.{}' must be a finite number", ap, bound));
          continue;
        }
        (std::string_view(bound) == "min" ? axis.min : axis.max) = value;
      }
      axis.log = p.boolean(v, "log", ap, false);
    } else {
      p.error(v, fmt::format("'{}' must be a list of values or {{min, max}}, got {}", ap, scalar_text(v)));
      continue;
    }
    if (const std::string problem = axis_problem(axis, spec.design, p.parameters()); !problem.empty())
      p.error(entry.first, problem);
    spec.axes.push_back(std::move(axis));
  }
}

Scenario parse_root(Parser& p, const YAML::Node& root) {
  Scenario s;
  if (!root.IsMap()) {
    p.error(root, "a scenario must be a YAML mapping with keys brink, name, run, actors, escalation");
    return s;
  }
  p.check_map(root, "scenario",
              {"brink", "name", "description", "run", "output", "actors", "relations", "escalation", "combat",
               "negotiation", "events", "sweep"});
  const YAML::Node version = get(root, "brink");
  if (!version.IsDefined()) {
    p.error(root, "missing required key 'brink' (the format version; write 'brink: 1')");
  } else if (!version.IsScalar() || version.Scalar() != "1") {
    p.error(version,
            fmt::format("unsupported format version 'brink: {}'; this engine reads 'brink: 1'", scalar_text(version)));
  }
  s.name = p.text(root, "name", "scenario", "", true);
  s.description = p.text(root, "description", "scenario", "");
  parse_run(p, root, s);
  parse_output(p, root, s);

  const YAML::Node actors = get(root, "actors");
  std::vector<std::string> ids;
  if (!actors.IsDefined()) {
    p.error(root, "missing required section 'actors'");
  } else if (!actors.IsMap() || actors.size() == 0) {
    p.error(actors, "'actors' must be a non-empty mapping of actor id to actor");
  } else {
    p.no_duplicates(actors, "actors");
    for (const auto& entry : actors) ids.push_back(entry.first.Scalar());
  }
  parse_escalation(p, root, s);  // rungs are needed by the actors' actions
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Actor a;
    a.id = ids[i];
    parse_actor(p, get(actors, ids[i]), "actors." + ids[i], ids, s.escalation, a);
    s.actors.push_back(std::move(a));
  }
  parse_relations(p, root, ids, s);
  parse_combat(p, root, s);
  parse_negotiation(p, root, ids, s);
  parse_events(p, root, ids, s);
  parse_sweep(p, root, s);  // last: its paths are checked against everything registered above
  return s;
}

// Sets the node at `path` (map keys and list indices separated by dots) to
// `value`. The path is a registered one, but an earlier override may have
// replaced a mapping on the way by a scalar: that is reported, not a crash.
void assign_path(YAML::Node root, const std::string& path, const std::string& value) {
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  YAML::Node current = root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    if (current.IsSequence()) {
      std::size_t index = 0;
      const auto [end, ec] = std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), index);
      if (ec != std::errc() || end != parts[i].data() + parts[i].size() || index >= current.size())
        throw ScenarioError({{"--set", -1, -1, fmt::format("'{}' has no list entry '{}'", path, parts[i])}});
      if (last) {
        current[index] = value;
        return;
      }
      current.reset(current[index]);
    } else if (current.IsMap() || current.IsNull() || !current.IsDefined()) {
      if (last) {
        current[parts[i]] = value;
        return;
      }
      if (!current[parts[i]].IsDefined() || current[parts[i]].IsNull())
        current[parts[i]] = YAML::Node(YAML::NodeType::Map);
      current.reset(current[parts[i]]);
    } else {
      throw ScenarioError({{"--set", -1, -1,
                            fmt::format("'{}' cannot be set: '{}' is a single value there (another --set replaced "
                                        "it?)",
                                        path, parts[i > 0 ? i - 1 : 0])}});
    }
  }
}

}  // namespace

bool parse_scenario_number(const std::string& text, double* value) { return parse_number(text, value); }

std::string Diagnostic::format() const {
  if (line < 0) return fmt::format("{}: {}", source, message);
  return fmt::format("{}:{}:{}: {}", source, line, column, message);
}

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(diagnostics.empty() ? "invalid scenario" : diagnostics.front().format()),
      diagnostics_(std::move(diagnostics)) {}

Override parse_override(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == assignment.size())
    throw ScenarioError(
        {{"--set", -1, -1,
          fmt::format("'{}' is not of the form PATH=VALUE (e.g. actors.RUS.forces.deployed=150000)", assignment)}});
  return {std::string(assignment.substr(0, eq)), std::string(assignment.substr(eq + 1))};
}

std::vector<std::string> nearest_paths(const std::vector<ParameterInfo>& parameters, std::string_view path,
                                       std::size_t limit) {
  std::vector<std::pair<std::size_t, std::string>> ranked;
  for (const auto& info : parameters) ranked.emplace_back(edit_distance(path, info.path), info.path);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ranked.size() && out.size() < limit; ++i) out.push_back(ranked[i].second);
  return out;
}

LoadedScenario load_scenario(const ScenarioSource& source, std::span<const Override> overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(source.text);
  } catch (const YAML::DeepRecursion& e) {
    throw ScenarioError(
        {{source.label, e.mark.line >= 0 ? e.mark.line + 1 : 1, e.mark.column >= 0 ? e.mark.column + 1 : 1,
          "YAML nesting too deep: yaml-cpp's parser stopped here at its recursion limit "
          "(DeepRecursion); no scenario nests more than a few levels"}});
  } catch (const YAML::Exception& e) {
    throw ScenarioError({{source.label, e.mark.line >= 0 ? e.mark.line + 1 : -1,
                          e.mark.column >= 0 ? e.mark.column + 1 : -1, "YAML syntax error: " + e.msg}});
  }
  Parser parser(source.label);
  LoadedScenario loaded;
  loaded.scenario = parse_root(parser, root);
  if (!parser.diagnostics().empty()) throw ScenarioError(std::move(parser.diagnostics()));
  if (overrides.empty()) {
    loaded.parameters = std::move(parser.parameters());
    return loaded;
  }

  // Overrides edit the YAML tree and the result is parsed again, so an
  // overridden value passes exactly the same validation as one in the file.
  std::vector<Diagnostic> problems;
  for (const Override& o : overrides) {
    const auto& params = parser.parameters();
    const bool known = std::any_of(params.begin(), params.end(), [&](const auto& i) { return i.path == o.path; });
    if (!known) {
      problems.push_back({"--set", -1, -1,
                          fmt::format("unknown parameter path '{}' in '{}={}'; nearest valid paths: {}", o.path, o.path,
                                      o.value, join(nearest_paths(params, o.path)))});
      continue;
    }
    assign_path(root, o.path, o.value);
  }
  if (!problems.empty()) throw ScenarioError(std::move(problems));
  Parser again(source.label);
  loaded.scenario = parse_root(again, root);
  if (!again.diagnostics().empty()) {
    // A problem with an overridden value is the override's fault, not the file's.
    for (Diagnostic& d : again.diagnostics())
      for (const Override& o : overrides)
        if (d.message.find("'" + o.path + "'") != std::string::npos) {
          d = {fmt::format("--set {}={}", o.path, o.value), -1, -1, d.message};
          break;
        }
    throw ScenarioError(std::move(again.diagnostics()));
  }
  loaded.parameters = std::move(again.parameters());
  return loaded;
}

void apply_sweep_options(LoadedScenario& loaded, const std::vector<std::string>& sweeps, const std::string& design,
                         std::int64_t samples) {
  SweepSpec& spec = loaded.scenario.sweep;
  std::vector<Diagnostic> problems;
  if (!design.empty() && !parse_design(design, &spec.design))
    problems.push_back({"--design", -1, -1, fmt::format("must be grid, random, lhs or sobol, got '{}'", design)});
  if (samples > 0) spec.samples = samples;
  for (const std::string& argument : sweeps) {
    const auto eq = argument.find('=');
    const std::string label = "--sweep " + argument;
    if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size()) {
      problems.push_back({label, -1, -1, "not of the form PATH=v1,v2,... or PATH=min:max[:log]"});
      continue;
    }
    SweepAxis axis;
    axis.path = argument.substr(0, eq);
    const std::string value = argument.substr(eq + 1);
    std::vector<std::string> parts;
    const char separator = value.find(':') != std::string::npos ? ':' : ',';
    std::stringstream stream(value);
    for (std::string part; std::getline(stream, part, separator);) parts.push_back(part);
    bool ok = true;
    auto number_of = [&](const std::string& text) {
      double v = 0;
      if (!parse_number(text, &v)) ok = false;
      return v;
    };
    if (separator == ':') {
      if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 3 && parts[2] != "log")) {
        problems.push_back({label, -1, -1, "a range is min:max or min:max:log"});
        continue;
      }
      axis.min = number_of(parts[0]);
      axis.max = number_of(parts[1]);
      axis.log = parts.size() == 3;
    } else {
      for (const auto& part : parts) axis.values.push_back(number_of(part));
    }
    if (!ok) {
      problems.push_back({label, -1, -1, fmt::format("'{}' is not a list of finite numbers or a range", value)});
      continue;
    }
    const auto same =
        std::find_if(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == axis.path; });
    if (same != spec.axes.end())
      *same = axis;
    else
      spec.axes.push_back(axis);
  }
  if (problems.empty())
    for (const SweepAxis& axis : spec.axes)
      if (const std::string problem = axis_problem(axis, spec.design, loaded.parameters); !problem.empty())
        problems.push_back({"sweep", -1, -1, problem});
  if (problems.empty() && !spec.axes.empty() && spec.design != SweepDesign::kGrid && spec.samples == 0)
    problems.push_back(
        {"sweep", -1, -1,
         fmt::format("a {} design needs a number of points (--samples N or sweep.samples)", to_string(spec.design))});
  if (problems.empty() && spec.sensitivity && spec.design == SweepDesign::kGrid)
    problems.push_back({"sweep", -1, -1, "sensitivity indices need a random, lhs or sobol design, not a grid"});
  if (!problems.empty()) throw ScenarioError(std::move(problems));
}

ScenarioSource read_scenario_file(const std::string& path) { return read_scenario_source(path); }

}  // namespace brink
