#include "brink/scenario/parse.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "yaml_reader.hpp"

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
                             std::span<const std::string> swept_later, bool design_later, bool file_sweep_off) {
  YAML::Node root = read_document(source);
  Parser parser(source.label, source.text);
  parser.design_later = design_later;
  parser.safe_scalars(root, "scenario");
  LoadedScenario loaded;
  loaded.scenario = parse_root(parser, root);
  loaded.source = std::move(parser.source_map());
  if (file_sweep_off) loaded.scenario.sweep = {};
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
