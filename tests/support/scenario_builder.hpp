// Scenarios built in C++ for model tests, without YAML: the builder fills
// the structs, then `build()` passes the result through the same `validate`
// as every file (and throws ScenarioError if a rule is broken).
//
//   const Scenario s = ScenarioBuilder()
//                          .actor("A", {.deployed = 1000})
//                          .actor("B", {.deployed = 2000})
//                          .adversaries("A", "B")
//                          .set("actors.A.combat.effectiveness", 0.01)
//                          .attack(0, "A", "B", "full")
//                          .build();
//
// `ScenarioBuilder(parsed)` edits a scenario read from a file the same way
// (its relations, lists and names are kept; the helpers add to them).
#pragma once

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brink/scenario/diagnostic.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink::testing {

// Indices of names, so that tests say "full" rather than 3; a name the
// scenario lacks is a bug in the test, reported at once.
inline int actor_named(const Scenario& s, std::string_view id) {
  const int a = s.actor_index(id);
  if (a < 0) throw std::invalid_argument("ScenarioBuilder: no actor '" + std::string(id) + "'");
  return a;
}
inline int rung_named(const Scenario& s, std::string_view rung) {
  const auto& rungs = s.escalation.rungs;
  const auto at = std::find(rungs.begin(), rungs.end(), rung);
  if (at == rungs.end()) throw std::invalid_argument("ScenarioBuilder: no rung '" + std::string(rung) + "'");
  return static_cast<int>(at - rungs.begin());
}

// One party's place on an issue.
struct Stance {
  std::string actor;
  double position = 0.0;
  double salience = 0.0;
};

class ScenarioBuilder {
 public:
  // Two-war-rung ladder calm < tense < limited < full < wider, starting at
  // tense; 100 days of 1-day steps, 256 replications, seed 1, no decisions.
  ScenarioBuilder() {
    s_.name = "built";
    s_.run.horizon_days = 100;
    s_.run.dt_days = 1;
    s_.run.rule.min = s_.run.rule.max = 256;
    s_.run.decisions = false;
    s_.escalation.rungs = {"calm", "tense", "limited", "full", "wider"};
    s_.escalation.initial_rung = 1;
    s_.escalation.limited_war_rung = 2;
    s_.escalation.full_war_rung = 3;
    s_.escalation.alliance_war_rung = 4;
  }
  explicit ScenarioBuilder(Scenario base) : s_(std::move(base)) {}

  // Another ladder, by rung names.
  ScenarioBuilder& ladder(std::vector<std::string> rungs, std::string_view initial, std::string_view limited_war,
                          std::string_view full_war, std::string_view alliance_war) {
    s_.escalation.rungs = std::move(rungs);
    s_.escalation.initial_rung = rung_named(s_, initial);
    s_.escalation.limited_war_rung = rung_named(s_, limited_war);
    s_.escalation.full_war_rung = rung_named(s_, full_war);
    s_.escalation.alliance_war_rung = rung_named(s_, alliance_war);
    return *this;
  }

  // An actor with one `hold` action and one default type unless given others.
  ScenarioBuilder& actor(const std::string& id, Forces forces) {
    Actor& a = s_.actors.emplace_back();
    a.id = a.name = id;
    a.forces = forces;
    return *this;
  }
  ScenarioBuilder& posture(const std::string& actor, Posture posture) {
    s_.actors[index(actor)].posture = posture;
    return *this;
  }
  ScenarioBuilder& combat(const std::string& actor, Combat combat) {
    s_.actors[index(actor)].combat = combat;
    return *this;
  }
  ScenarioBuilder& decisions(bool on) {
    s_.run.decisions = on;
    return *this;
  }
  ScenarioBuilder& adversaries(const std::string& a, const std::string& b) {
    pairs_.push_back({a, b, true});
    return *this;
  }
  ScenarioBuilder& allies(const std::string& a, const std::string& b) {
    pairs_.push_back({a, b, false});
    return *this;
  }
  ScenarioBuilder& commitment(const std::string& from, const std::string& to, double strength) {
    commitments_.push_back({from, to, strength});
    return *this;
  }
  ScenarioBuilder& action(const std::string& actor, ActionSpec spec) {
    s_.actors[index(actor)].actions.push_back(std::move(spec));
    return *this;
  }
  ScenarioBuilder& type(const std::string& actor, ResolveType type) {
    s_.actors[index(actor)].types.push_back(std::move(type));
    return *this;
  }
  ScenarioBuilder& event(Event e) {
    s_.events.push_back(e);
    return *this;
  }
  // A troop event (deploy, withdraw, mobilize, demobilize, reinforce) on `day`.
  ScenarioBuilder& event(double day, const std::string& actor, EventKind kind, double troops) {
    if (kind == EventKind::kAttack) throw std::invalid_argument("ScenarioBuilder::event: use attack() for attacks");
    return event({.day = day, .actor = actor_named(s_, actor), .kind = kind, .troops = troops});
  }
  // A scheduled attack that raises the ladder to `rung`.
  ScenarioBuilder& attack(double day, const std::string& actor, const std::string& target, const std::string& rung) {
    return event({.day = day,
                  .actor = actor_named(s_, actor),
                  .kind = EventKind::kAttack,
                  .target = actor_named(s_, target),
                  .rung = rung_named(s_, rung)});
  }
  // An issue; actors not named are not parties (position and salience 0).
  ScenarioBuilder& issue(const std::string& id, bool core, std::initializer_list<Stance> stances) {
    Issue& issue = s_.negotiation.issues.emplace_back();
    issue.id = id;
    issue.core = core;
    for (const Stance& st : stances) {
      const auto a = static_cast<std::size_t>(actor_named(s_, st.actor));
      issue.position.resize(std::max(issue.position.size(), a + 1), 0.0);
      issue.salience.resize(std::max(issue.salience.size(), a + 1), 0.0);
      issue.position[a] = st.position;
      issue.salience[a] = st.salience;
    }
    return *this;
  }
  // Any field by its path, as --set would (after the actors, relations and
  // lists it refers to exist).
  ScenarioBuilder& set(const std::string& path, double value) {
    sets_.emplace_back(path, value);
    return *this;
  }
  // Direct access for what the helpers above do not cover (indices of
  // events and issues are the struct's: use actor_named and rung_named).
  Scenario& scenario() { return s_; }

  // The scenario without validation (to test the rules themselves).
  Scenario build_unchecked() const {
    Scenario s = s_;
    const auto n = static_cast<std::size_t>(s.actor_count());
    for (auto* m : {&s.relations.adversary, &s.relations.ally}) {
      m->resize(n);
      for (auto& row : *m) row.resize(n, false);
    }
    for (const auto& p : pairs_) {
      auto& m = p.adversary ? s.relations.adversary : s.relations.ally;
      m[s.actor_index(p.a)][s.actor_index(p.b)] = m[s.actor_index(p.b)][s.actor_index(p.a)] = true;
    }
    for (const auto& c : commitments_)
      s.relations.commitments.push_back({s.actor_index(c.from), s.actor_index(c.to), c.strength});
    for (Actor& a : s.actors) {
      if (a.actions.empty()) a.actions.push_back({.name = "hold", .kind = ActionKind::kHold, .implied = true});
      if (a.types.empty()) a.types.push_back({.name = "default", .implied = true});
      // As the reader does: retaliation joins a war at the alliance rung unless told otherwise.
      for (ActionSpec& act : a.actions)
        if (act.kind == ActionKind::kRetaliate && act.rung < 0) act.rung = s.escalation.alliance_war_rung;
    }
    for (Issue& issue : s.negotiation.issues) {
      issue.position.resize(n, 0.0);
      issue.salience.resize(n, 0.0);
    }
    const FieldRegistry registry(s);
    for (const auto& [path, value] : sets_) {
      const FieldRef* field = registry.find(path);
      if (!field) throw std::invalid_argument("ScenarioBuilder::set: no field '" + path + "'");
      field->set(s, value);
    }
    derive_type_weights(s);
    return s;
  }

  // The scenario, validated; throws ScenarioError naming every broken rule.
  Scenario build() const {
    Scenario s = build_unchecked();
    validate_or_throw(s);
    return s;
  }

 private:
  int index(const std::string& id) const { return actor_named(s_, id); }
  struct Pair {
    std::string a, b;
    bool adversary;
  };
  struct PendingCommitment {
    std::string from, to;
    double strength;
  };
  Scenario s_;
  std::vector<Pair> pairs_;
  std::vector<PendingCommitment> commitments_;
  std::vector<std::pair<std::string, double>> sets_;
};

}  // namespace brink::testing
