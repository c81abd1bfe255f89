#include "brink/scenario/scenario.hpp"

#include <algorithm>
#include <cmath>

namespace brink {

const std::array<std::string_view, kActionKindCount>& action_kind_names() {
  static constexpr std::array<std::string_view, kActionKindCount> kNames = {
      "hold",    "mobilize", "deploy",      "withdraw", "exercise", "raise_readiness", "propose",
      "concede", "sanction", "arm_partner", "evacuate", "attack",   "retaliate"};
  return kNames;
}

std::string_view to_string(ActionKind kind) { return action_kind_names()[static_cast<int>(kind)]; }

bool parse_action_kind(std::string_view name, ActionKind* kind) {
  const auto& names = action_kind_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) return false;
  *kind = static_cast<ActionKind>(it - names.begin());
  return true;
}

const std::array<std::string_view, kFeatureCount>& feature_names() {
  static constexpr std::array<std::string_view, kFeatureCount> kNames = {
      "security", "cost", "escalation", "issue_gain", "settlement", "war_gain", "credibility", "impatience"};
  return kNames;
}

const std::array<std::string_view, kOutcomeCount>& outcome_names() {
  static constexpr std::array<std::string_view, kOutcomeCount> kNames = {"settlement", "standoff", "limited_war",
                                                                         "full_war", "alliance_war"};
  return kNames;
}

const std::array<std::string_view, kAllianceWarCauseCount>& alliance_war_cause_names() {
  static constexpr std::array<std::string_view, kAllianceWarCauseCount> kNames = {"none", "attack_on_covered",
                                                                                  "intervention", "incident"};
  return kNames;
}

std::string_view to_string(SweepDesign design) {
  static constexpr std::array<std::string_view, 5> kNames = {"grid", "random", "lhs", "sobol", "morris"};
  return kNames[static_cast<int>(design)];
}

std::string_view to_string(EventKind kind) {
  static constexpr std::array<std::string_view, 6> kNames = {"deploy",     "withdraw",  "mobilize",
                                                             "demobilize", "reinforce", "attack"};
  return kNames[static_cast<int>(kind)];
}

int Scenario::step_count() const { return static_cast<int>(steps_in_horizon(run.horizon_days, run.dt_days)); }

int Scenario::type_slots() const {
  int slots = 1;
  for (const Actor& a : actors) slots = std::max(slots, static_cast<int>(a.types.size()));
  return slots;
}

int Scenario::actor_index(std::string_view id) const {
  for (int i = 0; i < actor_count(); ++i)
    if (actors[i].id == id) return i;
  return -1;
}

}  // namespace brink
