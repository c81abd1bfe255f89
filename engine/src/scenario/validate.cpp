// Cross-field rules: each a named function of field values, with the field
// patterns it reads, so that a sweep re-checks only the rules its axes touch.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

#include "brink/scenario/diagnostic.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/shown_text.hpp"

namespace brink {
namespace {

using Problems = std::vector<Problem>;

std::string actor_path(const Scenario& s, int a) { return "actors." + s.actors[a].id; }
bool valid_actor(const Scenario& s, int a) { return a >= 0 && a < s.actor_count(); }
bool has_bargaining(const Scenario& s) {
  return valid_actor(s, s.bargaining.proposer) && valid_actor(s, s.bargaining.receiver);
}

// --- value rules --------------------------------------------------------------

void cap_at_least_deployed(const Scenario& s, Problems* out) {
  for (int a = 0; a < s.actor_count(); ++a) {
    const Forces& f = s.actors[a].forces;
    if (f.deployed_cap >= f.deployed) continue;
    const std::string fp = actor_path(s, a) + ".forces";
    out->push_back(
        {{fp + ".deployed_cap", fp + ".deployed"},
         fmt::format("'{}.deployed_cap' ({}) is below '{}.deployed' ({})", fp, f.deployed_cap, fp, f.deployed)});
  }
}

void priors_sum_to_one(const Scenario& s, Problems* out) {
  for (int a = 0; a < s.actor_count(); ++a) {
    double total = 0.0;
    std::vector<std::string> paths = {actor_path(s, a) + ".types"};
    for (const ResolveType& t : s.actors[a].types) {
      total += t.prior;
      paths.push_back(paths.front() + "." + t.name + ".prior");
    }
    if (std::abs(total - 1.0) > 1e-6)
      out->push_back({paths, fmt::format("the priors in '{}' sum to {:.10g}, not 1", paths.front(), total)});
  }
}

// Scenario::step_count rounds horizon_days / dt_days up (to within 1e-9,
// steps_in_horizon), so a horizon shorter than a step would still simulate a
// whole step past it, and one below 1e-9 steps would simulate none.
// Scenario::step_count in a double: an int would overflow before
// steps_at_most_a_million has refused the scenario.
double steps_of(const Scenario& s) { return steps_in_horizon(s.run.horizon_days, s.run.dt_days); }

void at_least_one_step(const Scenario& s, Problems* out) {
  if (steps_of(s) >= 1) return;
  out->push_back({{"run.horizon_days", "run.dt_days"},
                  fmt::format("'run.horizon_days' is {}, less than one step ('run.dt_days' is {}): the run would "
                              "simulate 0 steps; the horizon must hold at least one step",
                              s.run.horizon_days, s.run.dt_days)});
}

void dt_within_horizon(const Scenario& s, Problems* out) {
  if (steps_of(s) < 1 || s.run.horizon_days / s.run.dt_days >= 1.0 - 1e-9) return;
  out->push_back({{"run.dt_days", "run.horizon_days"},
                  fmt::format("'run.dt_days' is {}, longer than 'run.horizon_days' ({}): one step would run past the "
                              "horizon; dt_days must be at most the horizon",
                              s.run.dt_days, s.run.horizon_days)});
}

void steps_at_most_a_million(const Scenario& s, Problems* out) {
  // As the engine counts them: at most 1e6 / 1e-6 = 1e12, a whole number.
  const double steps = steps_of(s);
  if (steps > 1e6)
    out->push_back({{"run", "run.horizon_days", "run.dt_days"},
                    fmt::format("run.horizon_days / run.dt_days = {} / {} makes {:.0f} steps, more than 1,000,000",
                                s.run.horizon_days, s.run.dt_days, steps)});
}

void replication_bounds_ordered(const Scenario& s, Problems* out) {
  const ReplicationRule& r = s.run.rule;
  if (r.adaptive && r.max < r.min)
    out->push_back({{"run.replications", "run.replications.max", "run.replications.min"},
                    fmt::format("'run.replications.max' ({}) is below 'run.replications.min' ({})", r.max, r.min)});
  // One count, held as min == max: the run reads max, `brink params` and rerun_command the same.
  if (!r.adaptive && r.max != r.min)
    out->push_back({{"run.replications"},
                    fmt::format("a fixed 'run.replications' is one count, but the rule holds "
                                "min {} and max {}",
                                r.min, r.max)});
}

// An event fires in step floor(day / dt + 1e-9) (step_of_day, as event_step
// in brink/model/model.hpp); the run has step_count() = S steps, so a day at or
// after S·dt (an event on the horizon day, when the horizon is whole steps)
// would never fire. Day 0 fires in the first step.
void events_before_the_end(const Scenario& s, Problems* out) {
  const double steps = steps_of(s);
  const double end = steps * s.run.dt_days;
  for (std::size_t e = 0; e < s.events.size(); ++e) {
    const double day = s.events[e].day;
    if (step_of_day(day, s.run.dt_days) < steps) continue;
    const std::string path = fmt::format("events.{}.day", e);
    // A day just below the end belongs to the step after the last, by the snap
    // of 1e-9 steps that keeps decimal days in their steps (0.3 / 0.1 is 2.9999999999999996).
    const std::string snapped =
        day < end
            ? fmt::format(" (a day within 1e-9 steps of a step's start counts as that step's, so {} is day {:.12g})",
                          day, end)
            : "";
    // A dated event is named by the key and value the file has (its `day` path locates the date).
    const Event& event = s.events[e];
    const std::string given = event.date.empty() || event.day != event.date_day
                                  ? fmt::format("'{}' is {}", path, day)
                                  : fmt::format("'events.{}.date' {} is day {} (run.start_date {} is day 0)", e,
                                                shown(event.date), day, shown(s.run.start_date));
    out->push_back({{path, "run.horizon_days", "run.dt_days"},
                    fmt::format("{}, but the run simulates days [0, {:.12g}) ({} steps, dt_days {}): an "
                                "event on or after day {:.12g} never fires{}; event days must be in [0, {:.12g})",
                                given, end, steps, s.run.dt_days, end, snapped, end)});
  }
}

// An observation on day d is read after the step holding d (observation_step
// in brink/calibrate/evaluator.hpp), as an event fires in it: a day at or
// after S·dt lies past the last step the run simulates.
double observation_step_of(const Scenario& s, const Observation& o) { return step_of_day(o.day, s.run.dt_days); }
bool observed_in_run(const Scenario& s, const Observation& o) {
  return o.day >= 0 && observation_step_of(s, o) < steps_of(s);
}

// An incidents observation counts the incidents of steps 0…k, and the
// calibration's runs end after the last observed step (calibration_scenario
// in brink/calibrate/evaluator.hpp): a count on an earlier step would be
// compared with one that ran longer. Steps, not days, decide: days 29 and
// 29.5 at dt 1 are one step. An observation outside the simulated days is
// left to observation_day_problems (one problem, one message).
void incidents_on_the_last_step(const Scenario& s, Problems* out) {
  const auto step = [&](const Observation& o) { return observation_step_of(s, o); };
  const auto inside = [&](const Observation& o) { return observed_in_run(s, o); };
  const Observation* last = nullptr;
  for (const Observation& o : s.observations)
    if (inside(o) && (!last || step(o) > step(*last))) last = &o;
  for (const Observation& o : s.observations) {
    if (o.quantity != ObservedQuantity::kIncidents || !inside(o) || step(o) == step(*last)) continue;
    const std::string op = "observations." + o.id;
    out->push_back({{op + (o.date.empty() ? ".day" : ".date"), "run.dt_days"},
                    fmt::format("'{}' counts incidents on day {} (step {}), before the last observed step {} (day {}, "
                                "'observations.{}'); incidents can be observed only on the last observed step (the "
                                "count runs to the calibration's horizon, the end of that step)",
                                op, o.day, step(o), step(*last), last->day, last->id)});
  }
}

// The proposer judges the receiver's private war cost by one model: a
// uniform spread (decision.war_cost_spread), or discrete types with their
// own war costs (rules::discrete_demand). With both, the offers ignore the
// spread, and a type offered its reservation share would still fight.
void receiver_cost_is_one_model(const Scenario& s, Problems* out) {
  const int b = s.bargaining.receiver;
  if (s.bargaining.proposer < 0 || b < 0) return;
  const Actor& receiver = s.actors[b];
  if (receiver.decision.war_cost_spread == 0.0 || receiver.types.size() < 2) return;
  for (const ResolveType& t : receiver.types) {
    if (t.war_cost == 0.0) continue;
    const std::string spread = actor_path(s, b) + ".decision.war_cost_spread";
    const std::string type_cost = actor_path(s, b) + ".types." + t.name + ".war_cost";
    out->push_back({{spread, type_cost},
                    fmt::format("'{}' is {}, but the types of '{}', the bargaining receiver, carry war costs ('{}' "
                                "is {}): offers are made to the types, so the spread must be 0",
                                spread, receiver.decision.war_cost_spread, receiver.id, type_cost, t.war_cost)});
    return;
  }
}

// Observers update their belief about an actor's type from its attacks by
// pricing each type's attack at that type's war cost (docs/model.md, "In the
// attack utility"). A private spread of that cost would have to be integrated
// out of every type's choice probability; brink does not, so the spread must
// be 0 where the type is learned from war-forecast attacks.
void learned_attacker_cost_is_typed(const Scenario& s, Problems* out) {
  if (s.run.revealed_types) return;
  for (int a = 0; a < s.actor_count(); ++a) {
    const Actor& actor = s.actors[a];
    const bool attacks = std::any_of(actor.actions.begin(), actor.actions.end(),
                                     [](const ActionSpec& x) { return x.kind == ActionKind::kAttack; });
    if (actor.types.size() < 2 || !actor.decision.war_forecast || !attacks || actor.decision.war_cost_spread == 0.0)
      continue;
    const std::string ap = actor_path(s, a);
    out->push_back({{ap + ".decision.war_cost_spread", ap + ".decision.war_forecast"},
                    fmt::format("'{}.decision.war_cost_spread' is {}, but '{}' values its attacks by its war forecast "
                                "and observers learn its type from them, which needs every type's war cost known: "
                                "set the spread to 0 (give its types their own war_cost instead)",
                                ap, actor.decision.war_cost_spread, actor.id)});
  }
}

// rules::offer_round finds the one offer of a step: with interval_days >=
// dt_days no two offer days share a step (a second one would be lost).
void one_offer_per_step(const Scenario& s, Problems* out) {
  if (!has_bargaining(s) || s.bargaining.interval_days >= s.run.dt_days) return;
  out->push_back({{"bargaining.interval_days", "run.dt_days"},
                  fmt::format("'bargaining.interval_days' is {}, below 'run.dt_days' {}; at most one offer fits in "
                              "a step",
                              s.bargaining.interval_days, s.run.dt_days)});
}

// Under acceptance noise a rejection bounds no cost: Bayes' rule weighs each
// cost by its chance of refusing, and the belief after it is no longer
// uniform. brink keeps no such belief, so a receiver whose cost is judged
// uniform (war_cost_spread > 0, types private) gets one offer only; discrete
// types with war costs are updated by Bayes' rule at any noise. Monotone in
// each input: more noise, rounds or spread only refuses more.
void noisy_rounds_need_typed_costs(const Scenario& s, Problems* out) {
  const Bargaining& bg = s.bargaining;
  if (!has_bargaining(s) || bg.acceptance_noise <= 0.0 || bg.rounds < 2 || s.run.revealed_types) return;
  const Actor& receiver = s.actors[bg.receiver];
  if (receiver.decision.war_cost_spread <= 0.0) return;
  const std::string spread = actor_path(s, bg.receiver) + ".decision.war_cost_spread";
  out->push_back({{"bargaining.rounds", "bargaining.acceptance_noise", spread},
                  fmt::format("'bargaining.rounds' is {} with 'bargaining.acceptance_noise' {}, but '{}' is {}: "
                              "after a noisy refusal the belief about a uniformly spread war cost is no longer "
                              "uniform, so make one round, set the noise to 0, or give the types of '{}' their own "
                              "war_cost (with the spread 0)",
                              bg.rounds, bg.acceptance_noise, spread, receiver.decision.war_cost_spread, receiver.id)});
}

// The stake of the offers: the core issues on which both the proposer and the
// receiver have a salience above 0 (without one an accepted offer settles
// nothing and talks never end). Monotone in each input: raising a salience
// or making an issue core only adds to the stake.
void bargaining_pair_shares_a_core_issue(const Scenario& s, Problems* out) {
  if (!has_bargaining(s)) return;
  const int a = s.bargaining.proposer, b = s.bargaining.receiver;
  const std::string& ida = s.actors[a].id;
  const std::string& idb = s.actors[b].id;
  std::vector<std::string> paths = {"bargaining"};
  std::string shared;  // the issues both are parties to, none of them core
  std::size_t first_shared = 0;
  for (const Issue& issue : s.negotiation.issues) {
    const auto parties = static_cast<int>(issue.salience.size());
    if (parties <= std::max(a, b)) return;  // reported by issues_are_sound
    const bool both = issue.salience[a] > 0.0 && issue.salience[b] > 0.0;
    if (both && issue.core) return;
    const std::string ip = "negotiation.issues." + issue.id;
    paths.insert(paths.end(), {ip + ".core", ip + ".salience." + ida, ip + ".salience." + idb});
    if (both && shared.empty()) first_shared = paths.size() - 3;
    if (both) shared += fmt::format("{}'{}'", shared.empty() ? "" : ", ", ip);
  }
  // Reported at the first shared issue's `core`, if there is one, else at the pair.
  if (first_shared > 0)
    std::rotate(paths.begin(), paths.begin() + static_cast<std::ptrdiff_t>(first_shared),
                paths.begin() + static_cast<std::ptrdiff_t>(first_shared) + 1);
  out->push_back(
      {paths, fmt::format("'bargaining' needs a core negotiation issue on which both '{}' and '{}' have a salience "
                          "above 0 (the stake of the offers); {}",
                          ida, idb,
                          shared.empty() ? std::string("they share no issue")
                                         : fmt::format("the issues they share ({}) are not core", shared))});
}

void issues_have_two_parties(const Scenario& s, Problems* out) {
  for (const Issue& issue : s.negotiation.issues) {
    int parties = 0;
    for (double salience : issue.salience) parties += salience > 0.0 ? 1 : 0;
    if (parties >= 2) continue;
    const std::string ip = "negotiation.issues." + issue.id;
    std::vector<std::string> paths = {ip + ".salience"};
    for (const Actor& a : s.actors) paths.push_back(ip + ".salience." + a.id);
    out->push_back({paths, fmt::format("issue '{}' has {} part{} (actors with salience > 0); an issue needs at "
                                       "least two",
                                       ip, parties, parties == 1 ? "y" : "ies")});
  }
}

// --- structure rules (what a YAML reader checks by construction) --------------

// [A-Za-z_][A-Za-z0-9_-]*: ids are parts of dotted parameter paths
// (actors.RUS.forces.deployed), so a '.' in one would split every path
// through it, and '=' would split every `--set PATH=VALUE`.
bool plain_identifier(std::string_view id) {
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (id.empty() || !letter(id.front())) return false;
  return std::all_of(id.begin() + 1, id.end(), [&](char c) { return letter(c) || digit(c) || c == '-'; });
}

void ids_are_identifiers(const Scenario& s, Problems* out) {
  auto check = [&](const std::string& id, const std::string& path, std::string_view what) {
    if (plain_identifier(id)) return;
    out->push_back({{path},
                    fmt::format("{} '{}' is not a plain identifier (a letter or '_', then letters, digits, "
                                "'_' or '-'): ids are parts of parameter paths such as '{}.<field>', which "
                                "a '.', a space or an '=' would break; rename it",
                                what, shown(id), shown(path))});
  };
  for (int a = 0; a < s.actor_count(); ++a) {
    const Actor& actor = s.actors[a];
    const std::string ap = actor_path(s, a);
    check(actor.id, ap, "actor id");
    for (const ResolveType& t : actor.types)
      if (!t.implied) check(t.name, ap + ".types." + t.name, "type name");
    for (const ActionSpec& x : actor.actions)
      if (!x.implied) check(x.name, ap + ".actions." + x.name, "action name");
  }
  for (const Issue& issue : s.negotiation.issues) check(issue.id, "negotiation.issues." + issue.id, "issue id");
}

bool valid_rung(const Scenario& s, int r) { return r >= 0 && r < static_cast<int>(s.escalation.rungs.size()); }

void ladder_is_sound(const Scenario& s, Problems* out) {
  const Escalation& e = s.escalation;
  if (e.rungs.size() < 4 || e.rungs.size() > 100) {
    out->push_back({{"escalation.rungs"}, "'escalation.rungs' must be a list of four to 100 rung names"});
    return;
  }
  for (std::size_t i = 0; i < e.rungs.size(); ++i)
    if (std::find(e.rungs.begin(), e.rungs.begin() + static_cast<long>(i), e.rungs[i]) !=
        e.rungs.begin() + static_cast<long>(i))
      out->push_back({{"escalation.rungs"}, fmt::format("rung '{}' appears twice in 'escalation.rungs'", e.rungs[i])});
  for (int r : {e.initial_rung, e.limited_war_rung, e.full_war_rung, e.alliance_war_rung})
    if (!valid_rung(s, r)) {
      out->push_back({{"escalation"}, fmt::format("escalation rung index {} is not a rung of the ladder", r)});
      return;
    }
  if (std::string problem = rung_order_problem(e); !problem.empty()) out->push_back({{"escalation"}, problem});
}

void actions_are_sound(const Scenario& s, int a, Problems* out) {
  const Escalation& e = s.escalation;
  for (const ActionSpec& act : s.actors[a].actions) {
    const std::string xp = actor_path(s, a) + ".actions." + act.name;
    const bool needs_target =
        act.kind == ActionKind::kAttack || act.kind == ActionKind::kSanction || act.kind == ActionKind::kArmPartner;
    if (needs_target && !valid_actor(s, act.target))
      out->push_back({{xp}, fmt::format("missing required key 'target' in '{}'", xp)});
    if (act.target == a)
      out->push_back({{xp + ".target"}, fmt::format("'{}.target' is '{}' itself", xp, s.actors[a].id)});
    if (act.kind == ActionKind::kAttack && act.rung < 0)
      out->push_back({{xp}, fmt::format("missing required key 'rung' in '{}'", xp)});
    if (act.rung < 0) continue;
    if (!valid_rung(s, act.rung)) {
      out->push_back({{xp + ".rung"}, fmt::format("'{}.rung' ({}) is not a rung of the ladder", xp, act.rung)});
      continue;
    }
    const bool fights = act.kind == ActionKind::kAttack || act.kind == ActionKind::kRetaliate;
    if (!fights && act.rung >= e.limited_war_rung)
      out->push_back({{xp + ".rung"},
                      fmt::format("'{}.rung' is '{}', a war rung; only attack and retaliate start "
                                  "fighting",
                                  xp, e.rungs[act.rung])});
    if (act.kind == ActionKind::kAttack && act.rung >= e.alliance_war_rung)
      out->push_back({{xp + ".rung"},
                      fmt::format("'{}.rung' is '{}'; an attack cannot name the alliance-war rung: that war comes "
                                  "only from attacking a covered actor, from intervention (retaliate) or from "
                                  "incidents",
                                  xp, e.rungs[act.rung])});
    if (fights && act.rung < e.limited_war_rung)
      out->push_back(
          {{xp + ".rung"},
           fmt::format("'{}.rung' is '{}'; {} must name a war rung", xp, e.rungs[act.rung], to_string(act.kind))});
  }
}

void actors_are_sound(const Scenario& s, Problems* out) {
  if (s.actors.empty()) out->push_back({{"actors"}, "'actors' must be a non-empty mapping of actor id to actor"});
  if (s.actor_count() > kMaxActors) {
    out->push_back(
        {{"actors"}, fmt::format("'actors' has {} actors; at most {} are supported", s.actor_count(), kMaxActors)});
    return;
  }
  std::unordered_set<std::string_view> ids;
  for (int a = 0; a < s.actor_count(); ++a) {
    const Actor& actor = s.actors[a];
    const std::string ap = actor_path(s, a);
    if (!ids.insert(actor.id).second)
      out->push_back({{ap}, fmt::format("key '{}' appears twice in 'actors'", actor.id)});
    if (actor.types.empty() || actor.types.size() > static_cast<std::size_t>(kMaxTypes))
      out->push_back(
          {{ap + ".types"},
           fmt::format("'{}.types' has {} types; 1 to {} are supported", ap, actor.types.size(), kMaxTypes)});
    if (actor.actions.empty())
      out->push_back({{ap + ".actions"}, fmt::format("'{}.actions' must be a non-empty menu", ap)});
    if (s.escalation.rungs.size() >= 4) actions_are_sound(s, a, out);
  }
}

void relations_are_sound(const Scenario& s, Problems* out) {
  if (s.actor_count() > kMaxActors) return;  // reported by actors_are_sound; n^2 pairs would take minutes
  const auto n = static_cast<std::size_t>(s.actor_count());
  auto square = [&](const std::vector<std::vector<bool>>& m) {
    return m.size() == n && std::all_of(m.begin(), m.end(), [&](const auto& row) { return row.size() == n; });
  };
  if (!square(s.relations.adversary) || !square(s.relations.ally)) {
    out->push_back({{"relations"}, fmt::format("relations need {0} x {0} adversary and ally matrices", n)});
    return;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const auto& adv = s.relations.adversary;
      const auto& ally = s.relations.ally;
      if (adv[i][j] != adv[j][i] || ally[i][j] != ally[j][i] || ((adv[i][j] || ally[i][j]) && i == j))
        out->push_back({{"relations"}, "adversary and ally relations must be symmetric pairs of different actors"});
      else if (j > i && adv[i][j] && ally[i][j])
        out->push_back({{"relations"},
                        fmt::format("actors '{}' and '{}' are listed both as adversaries and as allies", s.actors[i].id,
                                    s.actors[j].id)});
    }
  for (std::size_t c = 0; c < s.relations.commitments.size(); ++c) {
    const Commitment& k = s.relations.commitments[c];
    const std::string cp = fmt::format("relations.commitments.{}", c);
    if (!valid_actor(s, k.from) || !valid_actor(s, k.to))
      out->push_back({{cp}, fmt::format("'{}' must name two actors", cp)});
    else if (k.from == k.to)
      out->push_back({{cp + ".to"}, fmt::format("'{}' commits actor '{}' to itself", cp, s.actors[k.from].id)});
    else if (s.relations.adversary[k.from][k.to])
      out->push_back({{cp + ".to"},
                      fmt::format("'{}' commits '{}' to protect '{}', its adversary; a commitment is "
                                  "to a non-adversary",
                                  cp, s.actors[k.from].id, s.actors[k.to].id)});
  }
  // The war forecast puts an attacker's allies on its own side (rules::forecast_side),
  // so an attack on one would be forecast as a war against itself; so would the
  // war a rejected (or a preventive) offer starts between the bargaining pair.
  auto on_ally = [&](int attacker, int target, const std::string& path, std::string_view rule) {
    if (!valid_actor(s, attacker) || !valid_actor(s, target) || !s.relations.ally[attacker][target]) return;
    out->push_back({{path},
                    fmt::format("'{}' is '{}', an ally of '{}' (relations.allies); {}", path, s.actors[target].id,
                                s.actors[attacker].id, rule)});
  };
  constexpr std::string_view kAttackRule = "an attack is on a non-ally";
  for (int a = 0; a < s.actor_count(); ++a)
    for (const ActionSpec& x : s.actors[a].actions)
      if (x.kind == ActionKind::kAttack)
        on_ally(a, x.target, actor_path(s, a) + ".actions." + x.name + ".target", kAttackRule);
  for (std::size_t e = 0; e < s.events.size(); ++e)
    if (s.events[e].kind == EventKind::kAttack)
      on_ally(s.events[e].actor, s.events[e].target, fmt::format("events.{}.attack", e), kAttackRule);
  if (has_bargaining(s))
    on_ally(s.bargaining.proposer, s.bargaining.receiver, "bargaining.receiver",
            "offers are made to a non-ally, since a rejection means war between the two");
}

void issues_are_sound(const Scenario& s, Problems* out) {
  for (const Issue& issue : s.negotiation.issues)
    if (issue.position.size() != s.actors.size() || issue.salience.size() != s.actors.size())
      out->push_back({{"negotiation.issues." + issue.id},
                      fmt::format("issue '{}' needs a position and a salience for each of the {} actors", issue.id,
                                  s.actors.size())});
}

void events_are_sound(const Scenario& s, Problems* out) {
  const Escalation& e = s.escalation;
  for (std::size_t k = 0; k < s.events.size(); ++k) {
    const Event& ev = s.events[k];
    const std::string ep = fmt::format("events.{}", k);
    if (!valid_actor(s, ev.actor)) {
      out->push_back({{ep}, fmt::format("'{}' must name an actor", ep)});
      continue;
    }
    if (ev.kind != EventKind::kAttack) continue;
    if (!valid_actor(s, ev.target) || !valid_rung(s, ev.rung)) {
      out->push_back({{ep}, fmt::format("attack event '{}' must name a target actor and a rung", ep)});
      continue;
    }
    if (ev.target == ev.actor)
      out->push_back(
          {{ep + ".attack"}, fmt::format("'{}': actor '{}' cannot attack itself", ep, s.actors[ev.actor].id)});
    if (ev.rung >= e.alliance_war_rung && e.alliance_war_rung > 0)
      out->push_back({{ep + ".rung"},
                      fmt::format("'{}.rung' cannot be the alliance-war rung: that war comes only "
                                  "from attacking a covered actor, from intervention or from "
                                  "incidents",
                                  ep)});
    if (valid_rung(s, e.limited_war_rung) && ev.rung < e.limited_war_rung)
      out->push_back({{ep + ".rung"},
                      fmt::format("'{}.rung' must be a war rung (at or above '{}')", ep, e.rungs[e.limited_war_rung])});
  }
}

// What each rule reads, so that a sweep checks only the rules its axes touch,
// over the corners of the box they span (sweep_range.cpp): each rule is
// monotone in each sweepable field it reads, or (priors) holds on a convex
// band; a rule added here must be too, or the corners stop deciding.
constexpr std::string_view kCapInputs[] = {"actors.*.forces.deployed", "actors.*.forces.deployed_cap"};
constexpr std::string_view kPriorInputs[] = {"actors.*.types.*.prior"};
constexpr std::string_view kStepInputs[] = {"run.horizon_days", "run.dt_days"};
constexpr std::string_view kReplicationInputs[] = {"run.replications.min", "run.replications.max", "run.replications"};
constexpr std::string_view kEventInputs[] = {"events.*.day", "run.horizon_days", "run.dt_days"};
constexpr std::string_view kPartyInputs[] = {"negotiation.issues.*.salience.*"};
constexpr std::string_view kOfferStepInputs[] = {"bargaining.interval_days", "run.dt_days"};
// negotiation.issues.*.core is true/false: a grid over it is checked at false and true.
constexpr std::string_view kStakeInputs[] = {"negotiation.issues.*.core", "negotiation.issues.*.salience.*"};
// decision.war_forecast is true/false: a grid over it is checked at false and true.
constexpr std::string_view kLearnedCostInputs[] = {"actors.*.decision.war_cost_spread",
                                                   "actors.*.decision.war_forecast"};
constexpr std::string_view kNoisyRoundInputs[] = {"bargaining.rounds", "bargaining.acceptance_noise",
                                                  "actors.*.decision.war_cost_spread"};
constexpr std::string_view kReceiverCostInputs[] = {"actors.*.decision.war_cost_spread", "actors.*.types.*.war_cost"};

const Rule kRules[] = {
    {"ladder_is_sound", "the escalation ladder is sound", {}, ladder_is_sound},
    {"actors_are_sound", "every actor is sound", {}, actors_are_sound},
    {"ids_are_identifiers", "ids are plain identifiers", {}, ids_are_identifiers, true},
    {"relations_are_sound", "relations are sound", {}, relations_are_sound},
    {"issues_are_sound", "issues are sound", {}, issues_are_sound},
    {"events_are_sound", "events are sound", {}, events_are_sound},
    {"cap_at_least_deployed", "forces.deployed_cap >= forces.deployed", kCapInputs, cap_at_least_deployed},
    {"priors_sum_to_one", "an actor's type priors sum to 1", kPriorInputs, priors_sum_to_one},
    {"at_least_one_step", "the horizon holds at least one step", kStepInputs, at_least_one_step},
    {"dt_within_horizon", "run.dt_days <= run.horizon_days", kStepInputs, dt_within_horizon},
    {"steps_at_most_a_million", "at most 1,000,000 steps", kStepInputs, steps_at_most_a_million},
    {"replication_bounds_ordered", "run.replications.min <= max", kReplicationInputs, replication_bounds_ordered},
    {"events_before_the_end", "every event day < steps · dt_days", kEventInputs, events_before_the_end},
    {"issues_have_two_parties", "an issue has at least two parties (salience > 0)", kPartyInputs,
     issues_have_two_parties},
    {"receiver_cost_is_one_model", "a bargaining receiver with type war costs has war_cost_spread 0",
     kReceiverCostInputs, receiver_cost_is_one_model},
    {"learned_attacker_cost_is_typed",
     "an attacker whose type is learned from war-forecast attacks has war_cost_spread 0", kLearnedCostInputs,
     learned_attacker_cost_is_typed},
    {"noisy_rounds_need_typed_costs",
     "with acceptance noise, several rounds need a receiver whose war cost is typed or known", kNoisyRoundInputs,
     noisy_rounds_need_typed_costs},
    {"one_offer_per_step", "bargaining.interval_days >= run.dt_days", kOfferStepInputs, one_offer_per_step},
    {"bargaining_pair_shares_a_core_issue", "the bargaining pair shares a core issue, both saliences > 0", kStakeInputs,
     bargaining_pair_shares_a_core_issue},
};

}  // namespace

std::span<const Rule> validation_rules() { return kRules; }

std::string horizon_steps_note(const Scenario& s) {
  const double steps = steps_of(s);
  if (steps < 1 || s.run.horizon_days / s.run.dt_days >= steps - 1e-9) return {};
  return fmt::format(
      "run.horizon_days ({:.12g}) is not a whole number of steps of run.dt_days ({:.12g}): the run simulates {} "
      "steps, to day {:.12g}",
      s.run.horizon_days, s.run.dt_days, steps, steps * s.run.dt_days);
}

std::string offer_rounds_cut_note(const Scenario& s) {
  const auto& b = s.bargaining;
  if (!b.enabled() || !s.run.decisions) return {};
  const double steps = steps_of(s);
  int made = 0;
  while (made < b.rounds && step_of_day(b.first_day + made * b.interval_days, s.run.dt_days) < steps) ++made;
  if (made == 0 || made == b.rounds) return {};
  return fmt::format(
      "the horizon ({:.12g} days) cuts the offer rounds: {} of bargaining.rounds {} fall in it, so the last "
      "rejection's war never starts, and a lane still rejecting at the end is a standoff",
      steps * s.run.dt_days, made, b.rounds);
}

std::string shift_past_horizon_note(const Scenario& s) {
  const auto& b = s.bargaining;
  if (!b.enabled() || !s.run.decisions || b.shift_growth <= 0.0) return {};
  const double steps = steps_of(s);
  if (step_of_day(b.shift_day, s.run.dt_days) < steps) return {};
  return fmt::format(
      "bargaining.shift_day ({:.12g}) is past the horizon (day {:.12g}): the shift never happens in the runs, yet "
      "the proposer weighs it in every offer before it (docs/model.md, 'Commitment problem'){}",
      b.shift_day, steps * s.run.dt_days,
      b.discount >= 1.0 ? "; with bargaining.discount 1 any shift ahead makes it fight a preventive war at once" : "");
}

// An actor whose every type weighs cost 0: its actions' `cost` values, which
// enter its choice only through that weight, change nothing (an outside
// tester's action costs of 0.5 and 100 gave the same bits, with no word).
std::string inert_costs_note(const Scenario& s, const Actor& a) {
  if (!s.run.decisions) return {};
  const bool weighed = a.types.empty() ? a.decision.weights[kCost] != 0.0
                                       : std::any_of(a.types.begin(), a.types.end(),
                                                     [](const ResolveType& t) { return t.weights[kCost] != 0.0; });
  if (weighed) return {};
  std::vector<std::string> costly;
  for (const ActionSpec& x : a.actions)
    if (x.cost != 0.0) costly.push_back(x.name);
  if (costly.empty()) return {};
  return fmt::format(
      "actor '{}' weighs cost 0 (decision.weights.cost{}), so the costs of its actions {} change nothing; give it "
      "a cost weight, or leave the costs out",
      a.id, a.types.empty() ? "" : " in every type", fmt::join(costly, ", "));
}

std::vector<std::string> scenario_notes(const Scenario& s) {
  std::vector<std::string> notes;
  for (std::string note : {horizon_steps_note(s), offer_rounds_cut_note(s), shift_past_horizon_note(s)})
    if (!note.empty()) notes.push_back(std::move(note));
  for (const Actor& a : s.actors)
    if (std::string note = inert_costs_note(s, a); !note.empty()) notes.push_back(std::move(note));
  return notes;
}

// The observations' days against the run: each lies in a simulated step, and
// incidents are counted on the last observed step. Not rules of every
// command: only a calibration reads observations (brink calibrate, and
// brink validate of a scenario with a calibrate section), and a run or a
// sweep with a shorter horizon ignores them.
std::vector<Problem> observation_day_problems(const Scenario& s) {
  std::vector<Problem> out;
  const double steps = steps_of(s);
  const double end = steps * s.run.dt_days;
  for (const Observation& o : s.observations) {
    if (observed_in_run(s, o)) continue;
    const std::string op = "observations." + o.id;
    out.push_back({{op + (o.date.empty() ? ".day" : ".date"), "run.horizon_days", "run.dt_days"},
                   fmt::format("'{}' falls on day {}, outside the simulated days [0, {:.12g}) ({} steps, dt_days {}); "
                               "a calibration reads every observation",
                               op, o.day, end, steps, s.run.dt_days)});
  }
  incidents_on_the_last_step(s, &out);
  return out;
}

std::string rung_order_problem(const Escalation& e, std::string* first_out_of_order) {
  const char* culprit = !(e.initial_rung < e.limited_war_rung)      ? "initial_rung"
                        : !(e.limited_war_rung <= e.full_war_rung)  ? "full_war"
                        : !(e.full_war_rung <= e.alliance_war_rung) ? "alliance_war"
                                                                    : nullptr;
  if (!culprit) return {};
  if (first_out_of_order) *first_out_of_order = culprit;
  const auto name = [&](int r) { return r >= 0 && r < static_cast<int>(e.rungs.size()) ? e.rungs[r] : "?"; };
  return fmt::format(
      "escalation rungs must be ordered initial_rung < limited_war <= full_war <= alliance_war on the ladder, got "
      "{} ({}), {} ({}), {} ({}), {} ({}); '{}' is out of order",
      name(e.initial_rung), e.initial_rung, name(e.limited_war_rung), e.limited_war_rung, name(e.full_war_rung),
      e.full_war_rung, name(e.alliance_war_rung), e.alliance_war_rung, culprit);
}

void validate_or_throw(const Scenario& scenario) {
  const std::vector<Problem> problems = validate(scenario);
  if (problems.empty()) return;
  std::vector<Diagnostic> diagnostics;
  for (const Problem& p : problems) diagnostics.push_back({"scenario", -1, -1, p.message});
  throw ScenarioError(std::move(diagnostics));
}

// The source may be a path or an option as the user typed it, and a message
// may quote either: printed on one line, with nothing that drives a terminal.
std::string Diagnostic::format() const {
  if (line < 0) return fmt::format("{}: {}", escaped(source), escaped(message));
  return fmt::format("{}:{}:{}: {}", escaped(source), line, column, escaped(message));
}

ScenarioError::ScenarioError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(diagnostics.empty() ? "invalid scenario" : diagnostics.front().format()),
      diagnostics_(std::move(diagnostics)) {}

}  // namespace brink
