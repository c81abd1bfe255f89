// The actors of a scenario file and the relations between them: each
// actor's forces, decision weights, types and menu of actions (parse_actor),
// then `relations:` (adversaries, allies, commitments), which name actors by
// id. Read by parse_root (parse.cpp) once the escalation ladder is known,
// since actions and commitments refer to its rungs and to the actors' ids.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "yaml_reader.hpp"

namespace brink::yaml_reader {
namespace {

void parse_types(Parser& p, const YAML::Node& types, const std::string& path, int a, Scenario& s) {
  Actor& actor = s.actors[a];
  if (!types.IsDefined() || types.IsNull()) {
    actor.types.push_back({.name = "default", .weights = actor.decision.weights, .implied = true});
    return;
  }
  if (!types.IsMap() || types.size() == 0) {
    p.error(types, fmt::format("'{}' must be a mapping of type name to {{prior, resolve, weights}}", path));
    p.unread(path);  // no rule on the types (their priors' sum) reports it again
    return;
  }
  if (types.size() > static_cast<std::size_t>(kMaxTypes))
    p.error(types, fmt::format("'{}' has {} types; at most {} are supported", path, types.size(), kMaxTypes));
  p.no_duplicates(types, path);
  for (const auto& entry : types) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    const std::string tp = path + "." + entry.first.Scalar();
    p.place(tp, entry.second);
    if (!p.check_map(entry.second, tp, p.keys_of("actors.*.types.*", s, kNoIndex, {"weights", "note"}))) {
      p.unread(path);  // a type not read leaves the priors' sum unknown: no second message about it
      continue;
    }
    p.note(entry.second, tp);
    actor.types.push_back({.name = entry.first.Scalar(), .weights = actor.decision.weights});
    const FieldIndex index = {a, static_cast<int>(actor.types.size()) - 1, -1};
    p.fields(entry.second, "actors.*.types.*", tp, index, s);
    const YAML::Node weights = get(entry.second, "weights");
    if (weights.IsDefined() && p.check_map(weights, tp + ".weights", names(feature_names())))
      p.fields(weights, "actors.*.types.*.weights", tp + ".weights", index, s);
  }
}

void check_action_rung(Parser& p, const YAML::Node& at, const ActionSpec& act, const std::string& xp,
                       const Escalation& e) {
  if (act.rung < 0) return;
  const bool fights = act.kind == ActionKind::kAttack || act.kind == ActionKind::kRetaliate;
  if (!fights && act.rung >= e.limited_war_rung)
    p.error(at, fmt::format("'{}.rung' is '{}', a war rung; only attack and retaliate start fighting", xp,
                            e.rungs[act.rung]));
  if (act.kind == ActionKind::kAttack && act.rung >= e.alliance_war_rung)
    p.error(at, fmt::format("'{}.rung' is '{}'; an attack cannot name the alliance-war rung: that war comes only "
                            "from attacking a covered actor, from intervention (retaliate) or from incidents",
                            xp, e.rungs[act.rung]));
  if (fights && act.rung < e.limited_war_rung)
    p.error(at, fmt::format("'{}.rung' is '{}'; {} must name a war rung", xp, e.rungs[act.rung], to_string(act.kind)));
}

// One entry of an actor's menu; false if it could not be read.
bool parse_action(Parser& p, const std::string& name, const YAML::Node& spec, const std::string& xp,
                  const std::vector<std::string>& ids, int a, Scenario& s) {
  ActionSpec act;
  act.name = name;
  if (!spec.IsNull() && !spec.IsMap()) {
    p.error(spec, fmt::format("'{}' must be a mapping of parameters (or empty), got {}", xp, scalar_text(spec)));
    return false;
  }
  const std::string kind_name = p.text(spec, "kind", xp, act.name);
  if (!parse_action_kind(kind_name, &act.kind)) {
    const YAML::Node kind = spec.IsMap() ? get(spec, "kind") : YAML::Node(YAML::NodeType::Undefined);
    const bool named = kind.IsDefined() && !kind.IsNull();
    p.error(named ? kind : spec,
            named ? fmt::format("unknown action kind '{}' for '{}'; did you mean '{}'? (kinds: {})", shown(kind_name),
                                xp, nearest_of(kind_name, names(action_kind_names())), join(names(action_kind_names())))
                  : fmt::format("'{}' gives no kind, and its name '{}' is not one; add 'kind:' (kinds: {})", xp,
                                shown(kind_name), join(names(action_kind_names()))));
    return false;
  }
  Actor& actor = s.actors[a];
  actor.actions.push_back(act);
  const FieldIndex index = {a, static_cast<int>(actor.actions.size()) - 1, -1};
  std::vector<std::string> keys = p.keys_of("actors.*.actions.*", s, index, {"note"}, {"kind"});
  keys.insert(keys.begin() + 3, "rung");
  const bool targeted =
      act.kind == ActionKind::kAttack || act.kind == ActionKind::kSanction || act.kind == ActionKind::kArmPartner;
  if (targeted) keys.push_back("target");
  // A retaliate names no one: said as such, rather than as an unknown key with a near miss.
  if (act.kind == ActionKind::kRetaliate && spec.IsMap() && get(spec, "target").IsDefined()) {
    keys.push_back("target");
    p.error(get(spec, "target"),
            fmt::format("'{}.target': a retaliate takes no target; it joins the defending side of whichever war is "
                        "on where an actor it protects (a commitment or an ally) defends; drop 'target'",
                        xp));
  }
  if (spec.IsMap() && p.check_map(spec, xp, keys)) p.note(spec, xp);
  p.fields(spec, "actors.*.actions.*", xp, index, s);
  ActionSpec& stored = actor.actions.back();
  if (targeted) {
    if (spec.IsMap() && get(spec, "target").IsDefined())
      stored.target = p.actor(get(spec, "target"), xp + ".target", ids);
    else
      p.error(spec, fmt::format("missing required key 'target' in '{}'", xp));
    if (stored.target >= 0 && stored.target == a)
      p.error(get(spec, "target"), fmt::format("'{}.target' is '{}' itself", xp, actor.id));
  }
  if (spec.IsMap() && get(spec, "rung").IsDefined()) {
    stored.rung = p.rung(get(spec, "rung"), xp + ".rung", s.escalation.rungs);
    check_action_rung(p, get(spec, "rung"), stored, xp, s.escalation);
  } else if (act.kind == ActionKind::kAttack) {
    p.error(spec, fmt::format("missing required key 'rung' in '{}'", xp));
  }
  // Retaliation joins a war on the defending side: the ladder goes to the alliance rung unless told otherwise.
  if (act.kind == ActionKind::kRetaliate && stored.rung < 0) stored.rung = s.escalation.alliance_war_rung;
  return true;
}

// An actor's menu (`actions:`, at `ap`), or the implied hold when it gives
// none. `declared_actions`: as for parse_actor.
void parse_actions(Parser& p, const YAML::Node& actions, const std::string& ap, const std::vector<std::string>& ids,
                   int a, Scenario& s, std::size_t& declared_actions) {
  if (!actions.IsDefined()) {
    s.actors[a].actions.push_back({.name = "hold", .kind = ActionKind::kHold, .implied = true});
    ++declared_actions;
    return;
  }
  if (!actions.IsMap() || actions.size() == 0) {
    p.error(actions, fmt::format("'{}' must be a non-empty mapping of action name to parameters", ap));
    return;
  }
  // Actions of the actors read so far, a refused actor's included: the
  // running total of each refusal is the file's, not the accepted ones'.
  const std::size_t before = declared_actions;
  declared_actions += actions.size();
  if (actions.size() > static_cast<std::size_t>(kMaxActionsPerActor) ||
      before + actions.size() > static_cast<std::size_t>(kMaxActions)) {
    // Within the bound per actor, the total is what is over: say it.
    const std::string total = actions.size() > static_cast<std::size_t>(kMaxActionsPerActor)
                                  ? std::string()
                                  : fmt::format(", {} with those of the actors before it", before + actions.size());
    p.error(actions, fmt::format("'{}' has {} actions{}; at most {} per actor and {} over all actors are supported", ap,
                                 actions.size(), total, kMaxActionsPerActor, kMaxActions));
    return;
  }
  p.no_duplicates(actions, ap);
  for (const auto& entry : actions) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    const std::string xp = ap + "." + entry.first.Scalar();
    p.place(xp, entry.second.IsNull() ? entry.first : entry.second);
    parse_action(p, entry.first.Scalar(), entry.second, xp, ids, a, s);
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
    if (matrix[a][b]) {  // the pair, in either order, is already in the list
      p.error(pair, fmt::format("'{}' pairs '{}' and '{}' a second time; give each pair once", ip, ids[a], ids[b]));
      continue;
    }
    matrix[a][b] = matrix[b][a] = true;
  }
  return matrix;
}

}  // namespace

// `declared_actions`: the actions the file gives the actors before this one; this one's are added.
void parse_actor(Parser& p, const YAML::Node& node, const std::string& path, const std::vector<std::string>& ids, int a,
                 Scenario& s, std::size_t& declared_actions) {
  if (!p.check_map(node, path, {"name", "forces", "posture", "combat", "decision", "actions", "types", "note"})) {
    // No type was read: the rule on priors would judge an empty list (priors that sum to 0).
    p.unread(path + ".types");
    return;
  }
  s.actors[a].name = p.text(node, "name", path, s.actors[a].id);
  p.note(node, path);
  const FieldIndex index = {a, -1, -1};
  const YAML::Node forces = get(node, "forces");
  if (!forces.IsDefined()) p.error(node, fmt::format("missing required key 'forces' in '{}'", path));
  for (const char* part : {"forces", "posture", "combat"}) {
    const std::string section = std::string("actors.*.") + part;
    const YAML::Node map = get(node, part);
    if (!map.IsDefined() || p.check_map(map, path + "." + part, p.keys_of(section, s, index, {"note"})))
      if (map.IsDefined()) {
        p.note(map, path + "." + part);
        p.fields(map, section, path + "." + part, index, s);
      }
  }
  const std::string dp = path + ".decision";
  const YAML::Node decision = get(node, "decision");
  if (decision.IsDefined() &&
      p.check_map(decision, dp, p.keys_of("actors.*.decision", s, index, {"weights", "note"}))) {
    p.note(decision, dp);
    p.fields(decision, "actors.*.decision", dp, index, s);
    const YAML::Node weights = get(decision, "weights");
    if (weights.IsDefined() && p.check_map(weights, dp + ".weights", names(feature_names())))
      p.fields(weights, "actors.*.decision.weights", dp + ".weights", index, s);
  }
  parse_types(p, get(node, "types"), path + ".types", a, s);

  parse_actions(p, get(node, "actions"), path + ".actions", ids, a, s, declared_actions);
}

void parse_relations(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node rel = get(root, "relations");
  const std::size_t n = ids.size();
  s.relations.adversary.assign(n, std::vector<bool>(n, false));
  s.relations.ally.assign(n, std::vector<bool>(n, false));
  if (!rel.IsDefined()) return;
  if (!p.check_map(rel, "relations", p.section_keys("relations", s))) return;
  s.relations.adversary = pairs(p, get(rel, "adversaries"), "relations.adversaries", ids);
  s.relations.ally = pairs(p, get(rel, "allies"), "relations.allies", ids);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)  // each pair once: both relations are symmetric
      if (s.relations.adversary[i][j] && s.relations.ally[i][j])
        p.error(rel, fmt::format("actors '{}' and '{}' are listed both as adversaries and as allies", ids[i], ids[j]));
  const YAML::Node commitments = get(rel, "commitments");
  if (!commitments.IsDefined()) return;
  if (!commitments.IsSequence()) {
    p.error(commitments, "'relations.commitments' must be a list of {from, to, strength}");
    return;
  }
  // Where each (from, to) is first committed, as a file index: a repeat is
  // reported once, against it. (Comparing each entry with every earlier one
  // took minutes for 40,000 copies, and reported each against all of them.)
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> first(n * n, kNone);
  for (std::size_t i = 0; i < commitments.size(); ++i) {
    const YAML::Node c = commitments[i];
    const std::string cp = fmt::format("relations.commitments.{}", i);
    p.place(cp, c);
    if (!p.check_map(c, cp, p.keys_of("relations.commitments.*", s, kNoIndex, {"note"}, {"from", "to"}))) continue;
    p.note(c, cp);
    Commitment commitment;
    commitment.from = p.actor(get(c, "from"), cp + ".from", ids);
    commitment.to = p.actor(get(c, "to"), cp + ".to", ids);
    if (commitment.from >= 0 && commitment.from == commitment.to)
      p.error(get(c, "to"), fmt::format("'{}' commits actor '{}' to itself", cp, ids[commitment.from]));
    if (commitment.from >= 0 && commitment.to >= 0) {
      std::size_t& at = first[static_cast<std::size_t>(commitment.from) * n + static_cast<std::size_t>(commitment.to)];
      if (at == kNone)
        at = i;
      else
        p.error(c, p.saturated() ? std::string()
                                 : fmt::format("'{}' commits '{}' to '{}' a second time (as relations.commitments.{}); "
                                               "give one commitment with one strength",
                                               cp, ids[commitment.from], ids[commitment.to], at));
    }
    s.relations.commitments.push_back(commitment);
    const FieldIndex index = {static_cast<int>(s.relations.commitments.size()) - 1, -1, -1};
    p.fields(c, "relations.commitments.*", cp, index, s);
    if (commitment.from < 0 || commitment.to < 0) s.relations.commitments.pop_back();
  }
}

}  // namespace brink::yaml_reader
