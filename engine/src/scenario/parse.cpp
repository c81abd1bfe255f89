#include "brink/scenario/parse.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <vector>

#include <yaml-cpp/depthguard.h>

#include "yaml_reader.hpp"
#include "yaml_text.hpp"

#include "brink/scenario/flag_word.hpp"
#include "brink/scenario/source_file.hpp"
#include "brink/scenario/sweep_constraints.hpp"

namespace brink {
namespace {

using namespace yaml_reader;

void parse_run(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node run = get(root, "run");
  if (!run.IsDefined()) {
    p.error(root, "missing required section 'run'");
    return;
  }
  if (!p.check_map(run, "run", p.section_keys("run", s))) return;
  parse_start_date(p, run, s);
  const YAML::Node reps = get(run, "replications");
  if (reps.IsDefined() && reps.IsMap()) {
    // Adaptive: {min, max, ci_halfwidth}. "run.replications" stays settable:
    // --replications N replaces the rule by a fixed count.
    s.run.rule.adaptive = true;
    if (p.check_map(reps, "run.replications", p.keys_of("run.replications", s, kNoIndex)))
      p.fields(reps, "run.replications", "run.replications", kNoIndex, s);
    for (const FieldSpec* f : section_fields("run"))
      if (f->key != "replications") p.field(run, *f, std::string(f->key), "run", kNoIndex, s);
  } else {
    p.fields(run, "run", "run", kNoIndex, s);
  }
}

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

  const std::string ap = path + ".actions";
  const YAML::Node actions = get(node, "actions");
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

void parse_escalation(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node esc = get(root, "escalation");
  if (!esc.IsDefined()) {
    p.error(root, "missing required section 'escalation'");
    return;
  }
  if (!p.check_map(esc, "escalation", p.section_keys("escalation", s))) return;
  Escalation& e = s.escalation;
  const YAML::Node rungs = get(esc, "rungs");
  if (!rungs.IsDefined()) {
    p.error(esc, "missing required key 'rungs' in 'escalation' (a list of four to 100 rung names)");
  } else if (!rungs.IsSequence() || rungs.size() < 4 || rungs.size() > 100) {
    p.error(rungs, "'escalation.rungs' must be a list of four to 100 rung names");
  } else {
    for (std::size_t i = 0; i < rungs.size(); ++i) {
      if (!rungs[i].IsScalar() || rungs[i].Scalar().empty()) {
        p.error(rungs[i], rungs[i].IsScalar() || rungs[i].IsNull()
                              ? fmt::format("'escalation.rungs.{}' is empty; every rung needs a name", i)
                              : fmt::format("'escalation.rungs.{}' must be a rung name, not a list or a map", i));
        continue;
      }
      if (!plain_text_node(rungs[i]))  // still a name: the rungs that refer to it are read
        p.error(rungs[i], fmt::format("'escalation.rungs.{}' must be a rung name, got {}; write it without the tag", i,
                                      tagged_as_written(rungs[i])));
      else if (std::find(e.rungs.begin(), e.rungs.end(), rungs[i].Scalar()) != e.rungs.end())
        p.error(rungs[i], fmt::format("rung '{}' appears twice in 'escalation.rungs'", rungs[i].Scalar()));
      else if (const std::string& name = rungs[i].Scalar();
               !is_flag_word(name) &&
               !first_unsafe_unit(name))  // which the reader refuses on its own: one message is enough
        // Output files name the rungs in the flag_meanings of peak_rung, a list of words (CF).
        p.error(rungs[i], fmt::format("'escalation.rungs.{}' is '{}'; a rung name is one word of letters, digits and "
                                      "_ . + - @ (it names the rung in output files): write e.g. '{}'",
                                      i, name, flag_word(name)));
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
  std::string culprit;
  if (e.limited_war_rung >= 0 && e.full_war_rung >= 0 && e.alliance_war_rung >= 0)
    if (const std::string problem = rung_order_problem(e, &culprit); !problem.empty())
      p.error(get(esc, culprit).IsDefined() ? get(esc, culprit) : esc, problem);
  for (const char* part : {"tension", "incidents"}) {
    const std::string section = std::string("escalation.") + part;
    const YAML::Node map = get(esc, part);
    if (map.IsDefined() && p.check_map(map, section, p.keys_of(section, s, kNoIndex)))
      p.fields(map, section, section, kNoIndex, s);
  }
}

void parse_combat(Parser& p, const YAML::Node& root, Scenario& s) {
  const YAML::Node combat = get(root, "combat");
  if (combat.IsDefined() && p.check_map(combat, "combat", p.section_keys("combat", s)))
    p.fields(combat, "combat", "combat", kNoIndex, s);
}

void parse_negotiation(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node neg = get(root, "negotiation");
  if (!neg.IsDefined()) return;
  if (!p.check_map(neg, "negotiation", p.section_keys("negotiation", s))) return;
  p.fields(neg, "negotiation", "negotiation", kNoIndex, s);
  const YAML::Node issues = get(neg, "issues");
  if (!issues.IsDefined()) return;
  if (!issues.IsMap()) {
    p.error(issues, "'negotiation.issues' must be a mapping of issue name to {core, positions, salience}");
    return;
  }
  p.no_duplicates(issues, "negotiation.issues");
  for (const auto& entry : issues) {
    if (!entry.first.IsScalar()) continue;  // reported by no_duplicates
    const std::string ip = "negotiation.issues." + entry.first.Scalar();
    p.place(ip, entry.first);
    if (!p.check_map(entry.second, ip,
                     p.keys_of("negotiation.issues.*", s, kNoIndex, {"positions", "salience", "note"})))
      continue;
    p.note(entry.second, ip);
    Issue issue;
    issue.id = entry.first.Scalar();
    issue.position.assign(ids.size(), 0.0);
    issue.salience.assign(ids.size(), 0.0);
    s.negotiation.issues.push_back(std::move(issue));
    const FieldIndex index = {static_cast<int>(s.negotiation.issues.size()) - 1, -1, -1};
    p.fields(entry.second, "negotiation.issues.*", ip, index, s);
    for (const char* part : {"positions", "salience"}) {
      const YAML::Node values = get(entry.second, part);
      const std::string vp = ip + "." + part;
      if (!values.IsDefined()) {
        p.error(entry.second, fmt::format("missing required key '{}' in '{}'", part, ip));
        continue;
      }
      if (p.check_map(values, vp, ids)) p.fields(values, "negotiation.issues.*." + std::string(part), vp, index, s);
    }
  }
}

// An event given a `date` instead of a `day` (both are refused): its day is
// the date's model day, set here on the event last pushed, and its `day`
// path points at the date. True if the event has a date, read or refused.
bool event_date(Parser& p, const YAML::Node& e, const std::string& ep, bool date_refused, Scenario& s) {
  const YAML::Node date = given(e, "date");
  if (!date.IsDefined()) return false;
  if (given(e, "day").IsDefined()) {
    p.error(e,
            fmt::format("'{}' needs exactly one of 'date' (an ISO date like 2022-01-19) or 'day' (a model day)", ep));
    return true;
  }
  p.place(ep + ".day", date);
  double day = 0.0;
  if (!model_day_of_date(p, date, ep + ".date", s, date_refused, &day)) return true;
  const FieldSpec& spec = *section_fields("events.*").front();  // day
  if (day < spec.min) {
    p.error(date,
            fmt::format("'{}.date' falls on day {}, before day 0 (run.start_date), the first simulated day", ep, day));
  } else if (day > spec.max) {
    p.error(date,
            fmt::format("'{}.date' falls on day {}, past the last day an event may have ({})", ep, day, spec.max));
  } else {
    Event& event = s.events.back();
    event.day = event.date_day = day;
    event.date = date.Scalar();
  }
  return true;
}

void parse_events(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node events = get(root, "events");
  if (!events.IsDefined() || events.IsNull()) return;
  const bool date_refused = start_date_refused(root, s);
  const std::vector<std::string> verbs = {"deploy", "withdraw", "mobilize", "demobilize", "reinforce", "attack"};
  if (!events.IsSequence()) {
    p.error(events, fmt::format("'events' must be a list of {{day, actor, <{}>}}", join(verbs, "|")));
    return;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const YAML::Node e = events[i];
    const std::string ep = fmt::format("events.{}", i);
    p.place(ep, e);
    std::vector<std::string> allowed = p.keys_of("events.*", s, kNoIndex, {"date", "actor", "rung", "note"});
    allowed.insert(allowed.end(), verbs.begin(), verbs.end());
    if (!p.check_map(e, ep, allowed)) continue;
    p.note(e, ep);
    Event event;
    event.actor = get(e, "actor").IsDefined() ? p.actor(get(e, "actor"), ep + ".actor", ids) : -1;
    if (!get(e, "actor").IsDefined()) p.error(e, fmt::format("missing required key 'actor' in '{}'", ep));
    int found = 0;
    for (std::size_t v = 0; v < verbs.size(); ++v) {
      if (!get(e, verbs[v]).IsDefined()) continue;
      ++found;
      event.kind = static_cast<EventKind>(v);
    }
    if (found != 1) {
      p.error(e, fmt::format("'{}' must have exactly one of {}, found {}", ep, join(verbs), found));
      continue;
    }
    if (event.kind == EventKind::kAttack) {
      event.target = p.actor(get(e, "attack"), ep + ".attack", ids);
      if (!get(e, "rung").IsDefined())
        p.error(e, fmt::format("missing required key 'rung' in '{}' (the rung the attack raises the ladder to)", ep));
      else
        event.rung = p.rung(get(e, "rung"), ep + ".rung", s.escalation.rungs);
    } else if (get(e, "rung").IsDefined()) {
      p.error(get(e, "rung"), fmt::format("'{}.rung' applies only to attack events", ep));
    }
    s.events.push_back(event);
    const FieldIndex index = {static_cast<int>(s.events.size()) - 1, -1, -1};
    const bool dated = event_date(p, e, ep, date_refused, s);
    p.fields(e, "events.*", ep, index, s, dated ? "day" : "");
    if (event.kind != EventKind::kAttack) {
      // The troops are under the verb: "deploy: 3000".
      const FieldSpec* troops = section_fields("events.*").back();
      p.field(e, *troops, verbs[static_cast<int>(event.kind)], ep, index, s);
    }
    if (event.kind == EventKind::kAttack && event.target == event.actor && event.actor >= 0)
      p.error(get(e, "attack"), fmt::format("'{}': actor '{}' cannot attack itself", ep, ids[event.actor]));
    if (event.kind == EventKind::kAttack && event.rung >= s.escalation.alliance_war_rung &&
        s.escalation.alliance_war_rung > 0)
      p.error(get(e, "rung"), fmt::format("'{}.rung' cannot be the alliance-war rung: that war comes only from "
                                          "attacking a covered actor, from intervention or from incidents",
                                          ep));
    if (event.kind == EventKind::kAttack && event.rung >= 0 && s.escalation.limited_war_rung >= 0 &&
        event.rung < s.escalation.limited_war_rung)
      p.error(get(e, "rung"), fmt::format("'{}.rung' must be a war rung (at or above '{}')", ep,
                                          s.escalation.rungs[s.escalation.limited_war_rung]));
    if (event.actor < 0) s.events.pop_back();
  }
}
// The bargaining game (docs/model.md, "Bargaining and war"): two distinct
// actors. Its cross-field rules (a shared core issue, interval_days >= dt_days)
// are in validate.cpp, where --set and sweeps meet them too.
void parse_bargaining(Parser& p, const YAML::Node& root, const std::vector<std::string>& ids, Scenario& s) {
  const YAML::Node node = get(root, "bargaining");
  if (!node.IsDefined()) return;
  if (!node.IsMap()) {
    p.error(node, "'bargaining' must be a mapping with proposer, receiver and optional settings");
    return;
  }
  const int proposer = p.actor(get(node, "proposer"), "bargaining.proposer", ids);
  const int receiver = p.actor(get(node, "receiver"), "bargaining.receiver", ids);
  if (proposer < 0 || receiver < 0) return;
  if (proposer == receiver) {
    p.error(get(node, "receiver"),
            fmt::format("'bargaining.receiver' is '{}', the proposer too; they must differ", ids[receiver]));
    return;
  }
  s.bargaining.proposer = proposer;
  s.bargaining.receiver = receiver;
  if (!p.check_map(node, "bargaining", p.section_keys("bargaining", s))) return;
  p.note(node, "bargaining");
  p.fields(node, "bargaining", "bargaining", kNoIndex, s);
}

Scenario parse_root(Parser& p, const YAML::Node& root) {
  Scenario s;
  if (!root.IsMap()) {
    p.error(root, "a scenario must be a YAML mapping with keys brink, name, run, actors, escalation");
    return s;
  }
  p.check_map(root, "scenario", p.section_keys("scenario", s));
  const YAML::Node version = get(root, "brink");
  if (!version.IsDefined()) {
    p.error(root, "missing required key 'brink' (the format version; write 'brink: 1')");
  } else if (!plain_number_node(version) || version.Scalar() != "1") {  // not "1": a version is a number
    p.error(version,
            fmt::format("unsupported format version 'brink: {}'; this engine reads 'brink: 1'", scalar_text(version)));
  }
  s.name = p.text(root, "name", "scenario", "", true);
  s.description = p.text(root, "description", "scenario", "");
  parse_run(p, root, s);
  const YAML::Node out = get(root, "output");
  if (out.IsDefined() && p.check_map(out, "output", p.section_keys("output", s)))
    p.fields(out, "output", "output", kNoIndex, s);

  const YAML::Node actors = get(root, "actors");
  std::vector<std::string> ids;
  std::vector<YAML::Node> bodies;
  // Every later section refers to actors: without them, reading on would
  // only report each reference as an unknown actor.
  if (!actors.IsDefined()) {
    p.error(root, "missing required section 'actors'");
    return s;
  } else if (!actors.IsMap() || actors.size() == 0) {
    p.error(actors, "'actors' must be a non-empty mapping of actor id to actor");
    return s;
  } else if (actors.size() > static_cast<std::size_t>(kMaxActors)) {
    // Refused before the n x n relation matrices are allocated.
    p.error(actors, fmt::format("'actors' has {} actors; at most {} are supported", actors.size(), kMaxActors));
    return s;
  } else {
    p.no_duplicates(actors, "actors");
    std::unordered_set<std::string> seen;
    for (const auto& entry : actors) {
      if (!entry.first.IsScalar() || !seen.insert(entry.first.Scalar()).second) continue;
      ids.push_back(entry.first.Scalar());
      bodies.push_back(entry.second);  // not actors[id] later: yaml-cpp finds a key by a linear search
      p.place("actors." + ids.back(), entry.second);
    }
  }
  parse_escalation(p, root, s);  // rungs are needed by the actors' actions
  std::size_t declared_actions = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    s.actors.emplace_back().id = ids[i];
    parse_actor(p, bodies[i], "actors." + ids[i], ids, static_cast<int>(i), s, declared_actions);
  }
  parse_relations(p, root, ids, s);
  parse_combat(p, root, s);
  parse_negotiation(p, root, ids, s);
  parse_bargaining(p, root, ids, s);
  parse_events(p, root, ids, s);
  parse_sweep(p, root, s);  // last: its paths are checked against every other section
  parse_observations(p, root, s);
  parse_calibrate(p, root, s);
  return s;
}

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

// A sweep constraint that, once the --set overrides fixed its axes, reads no
// axis left in the sweep: a fact about the fixed values, checked once they
// are set (check_settled_constraints). `index`: its place in the file.
struct SettledConstraint {
  SweepConstraint constraint;
  std::size_t index = 0;
};

// A --set of a path the file's sweep varies fixes it: the axis leaves the
// sweep, and with none left the file's sweep is off (one point runs). That is
// how a point's rerun_command, which sets every swept path, runs it alone. A
// --sweep of the same path (`swept_later`) stays an axis, and the caller
// refuses the --set beside it. A constraint left without axes leaves the
// sweep too (returned, to be checked). One that still bounds an axis but
// reads a fixed path would be judged on another sweep than the one it was
// written for, so that --set is refused.
std::vector<SettledConstraint> fix_overridden_axes(LoadedScenario& loaded, std::span<const Override> overrides,
                                                   std::span<const std::string> swept_later) {
  SweepSpec& spec = loaded.scenario.sweep;
  auto fixed = [&](const std::string& path) {
    return std::any_of(overrides.begin(), overrides.end(), [&](const Override& o) { return o.path == path; }) &&
           std::find(swept_later.begin(), swept_later.end(), path) == swept_later.end();
  };
  std::vector<std::string> dropped;
  std::erase_if(spec.axes, [&](const SweepAxis& axis) {
    if (!fixed(axis.path)) return false;
    dropped.push_back(axis.path);
    return true;
  });
  if (dropped.empty()) return {};
  auto swept = [&](const std::string& path) {
    return std::any_of(spec.axes.begin(), spec.axes.end(), [&](const SweepAxis& a) { return a.path == path; }) ||
           std::find(swept_later.begin(), swept_later.end(), path) != swept_later.end();
  };
  std::vector<SettledConstraint> settled;
  std::vector<SweepConstraint> kept;
  for (std::size_t k = 0; k < spec.constraints.size(); ++k) {
    const SweepConstraint& c = spec.constraints[k];
    const auto reads_dropped = std::find_if(c.terms.begin(), c.terms.end(), [&](const auto& term) {
      return std::find(dropped.begin(), dropped.end(), term.first) != dropped.end();
    });
    const auto bounds =
        std::find_if(c.terms.begin(), c.terms.end(), [&](const auto& term) { return swept(term.first); });
    if (reads_dropped == c.terms.end()) {
      kept.push_back(c);
    } else if (bounds == c.terms.end()) {
      settled.push_back({c, k});
    } else {
      const std::string& path = reads_dropped->first;
      throw ScenarioError({loaded.source.at(
          "sweep.parameters." + path,
          fmt::format("--set {} fixes a parameter that the sweep constraint '{}' reads, while that constraint still "
                      "bounds the swept axis '{}'; fix '{}' as well, or leave '{}' swept",
                      path, c.rule, bounds->first, bounds->first, path))});
    }
  }
  spec.constraints = std::move(kept);
  if (spec.empty() && swept_later.empty()) spec = SweepSpec{};
  return settled;
}

// A settled constraint must hold at the fixed values: no axis is left that
// could be clipped or rejected to satisfy it.
void check_settled_constraints(const LoadedScenario& loaded, std::span<const SettledConstraint> settled) {
  const FieldRegistry registry(loaded.scenario);
  for (const SettledConstraint& s : settled) {
    SweepSpec alone;
    alone.constraints = {s.constraint};
    if (BoundConstraints(alone, loaded.scenario).first_broken({}) < 0) continue;
    std::vector<std::string> values;
    for (const auto& term : s.constraint.terms)
      if (const FieldRef* ref = registry.find(term.first))
        values.push_back(fmt::format("{} = {}", term.first, ref->get(loaded.scenario)));
    throw ScenarioError({loaded.source.at(
        fmt::format("sweep.constraints.{}.rule", s.index),
        fmt::format("the sweep constraint '{}' is false at the values the --set options fix ({}), and no swept axis "
                    "is left that it could clip or reject",
                    s.constraint.rule, fmt::join(values, ", ")))});
  }
}

}  // namespace

bool parse_scenario_number(const std::string& text, double* value) { return parse_number(text, value); }

LoadedScenario load_scenario(const ScenarioSource& source, std::span<const Override> overrides,
                             std::span<const std::string> swept_later, bool design_later) {
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
  Parser parser(source.label, source.text);
  parser.design_later = design_later;
  parser.safe_scalars(root, "scenario");
  LoadedScenario loaded;
  loaded.scenario = parse_root(parser, root);
  loaded.source = std::move(parser.source_map());
  std::vector<SettledConstraint> settled;
  if (parser.problem_count() == 0) settled = fix_overridden_axes(loaded, overrides, swept_later);
  std::vector<Diagnostic> diagnostics = parser.diagnostics();
  // A partly read scenario gets only the value rules and the rules on names: its structure is already reported.
  std::vector<std::string> swept(swept_later.begin(), swept_later.end());
  for (const SweepAxis& axis : loaded.scenario.sweep.axes) swept.push_back(axis.path);
  std::vector<Problem> problems =
      diagnostics.empty() ? validate(loaded.scenario, swept) : validate_partly_read(loaded.scenario, swept);
  std::erase_if(problems, [&](const Problem& problem) {
    return std::any_of(problem.paths.begin(), problem.paths.end(),
                       [&](const std::string& path) { return parser.unread_fields().contains(path); });
  });
  for (Diagnostic& d : locate(loaded, problems)) diagnostics.push_back(std::move(d));
  if (!diagnostics.empty()) throw ScenarioError(std::move(diagnostics));
  loaded.parameters = FieldRegistry(loaded.scenario).parameters();
  if (!overrides.empty()) apply_overrides(loaded, overrides, swept);
  check_settled_constraints(loaded, settled);
  // With the overrides: a --set may move a fixed field the range must respect.
  // Axes still to come would be judged at their base values here.
  if (swept_later.empty()) check_sweep_range(loaded);
  return loaded;
}

ScenarioSource read_scenario_file(const std::string& path) { return read_scenario_source(path); }

}  // namespace brink
