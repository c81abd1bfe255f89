// Scenarios built in C++ for model tests, without YAML: the builder fills
// the structs, then `build()` passes the result through the same `validate`
// as every file (and throws ScenarioError if a rule is broken).
//
//   const Scenario s = ScenarioBuilder()
//                          .actor("A", {.deployed = 1000})
//                          .actor("B", {.deployed = 2000})
//                          .adversaries("A", "B")
//                          .set("actors.A.combat.effectiveness", 0.01)
//                          .build();
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "brink/scenario/diagnostic.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink::testing {

class ScenarioBuilder {
 public:
  // Two-war-rung ladder calm < tense < limited < full < wider, starting at
  // tense; 100 days of 1-day steps, 256 replications, seed 1, no decisions.
  ScenarioBuilder() {
    s_.name = "built";
    s_.run.horizon_days = 100;
    s_.run.dt_days = 1;
    s_.run.replications = s_.run.rule.min = s_.run.rule.max = 256;
    s_.run.decisions = false;
    s_.escalation.rungs = {"calm", "tense", "limited", "full", "wider"};
    s_.escalation.initial_rung = 1;
    s_.escalation.limited_war_rung = 2;
    s_.escalation.full_war_rung = 3;
    s_.escalation.alliance_war_rung = 4;
  }

  // An actor with one `hold` action and one default type unless given others.
  ScenarioBuilder& actor(const std::string& id, Forces forces) {
    Actor& a = s_.actors.emplace_back();
    a.id = a.name = id;
    a.forces = forces;
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
  // Any field by its path, as --set would (after the actors, relations and
  // lists it refers to exist).
  ScenarioBuilder& set(const std::string& path, double value) {
    sets_.emplace_back(path, value);
    return *this;
  }
  // Direct access for what the helpers above do not cover.
  Scenario& scenario() { return s_; }

  // The scenario without validation (to test the rules themselves).
  Scenario build_unchecked() const {
    Scenario s = s_;
    const auto n = static_cast<std::size_t>(s.actor_count());
    s.relations.adversary.assign(n, std::vector<bool>(n, false));
    s.relations.ally.assign(n, std::vector<bool>(n, false));
    for (const auto& p : pairs_) {
      auto& m = p.adversary ? s.relations.adversary : s.relations.ally;
      m[s.actor_index(p.a)][s.actor_index(p.b)] = m[s.actor_index(p.b)][s.actor_index(p.a)] = true;
    }
    for (const auto& c : commitments_)
      s.relations.commitments.push_back({s.actor_index(c.from), s.actor_index(c.to), c.strength});
    for (Actor& a : s.actors) {
      if (a.actions.empty()) a.actions.push_back({.name = "hold", .kind = ActionKind::kHold, .implied = true});
      if (a.types.empty()) a.types.push_back({.name = "default", .implied = true});
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
  int index(const std::string& id) const { return s_.actor_index(id); }
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
