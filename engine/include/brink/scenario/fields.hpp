// The field table: every settable scenario field declared once (path pattern,
// struct member, default, valid range, unit, meaning). It drives the YAML
// reader's key checks and reading, the `--set`/`--sweep` registry, the
// YAML-free `validate`, and the tables of docs/scenario-format.md and
// docs/model.md. Adding a field to a section means adding one row here.
//
// No YAML here: a Scenario built in C++ is checked by the same `validate`.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brink/scenario/scenario.hpp"

namespace brink {

enum class FieldKind : std::uint8_t {
  kNumber,   // a finite real
  kInteger,  // a whole number
  kBoolean,  // true / false (stored as 1 / 0 through get/set)
  kChoice,   // one of `choices` (stored as its index through get/set)
};

// The element a concrete path names: one index per '*' of the field's section
// pattern, then the index of a data-named key (a feature, an actor).
using FieldIndex = std::array<int, 3>;

struct FieldSpec {
  std::string_view section = {};  // pattern, '*' per collection element: "actors.*.forces"
  std::string_view key = {};  // "deployed"; "*" when the keys are data (weights by feature, positions by actor, ...)
  FieldKind kind = FieldKind::kNumber;
  double fallback = 0.0;  // the value when the key is absent (the struct's default)
  double min = 0.0;
  double max = 0.0;
  std::string_view unit = {};  // as docs and messages show it; "" when dimensionless
  // The same unit in UDUNITS-2 (the CF `units` of its parameter coordinate): "1" when dimensionless.
  std::string_view udunits = {};
  std::string_view symbol = {};  // the model's symbol (docs/model.md), "" if none
  std::string_view meaning = {};
  bool required = false;
  bool sweepable = true;                        // run and output settings are not model parameters
  std::span<const std::string_view> choices{};  // kChoice: the names, in index order
  double (*get)(const Scenario&, FieldIndex) = nullptr;
  void (*set)(Scenario&, FieldIndex, double) = nullptr;
  // How a value given from outside the file (--set, a sweep axis, a
  // calibrated parameter, a posterior draw) takes effect, where that differs
  // from reading it from the file: a type's prior rescales the actor's other
  // priors so that they keep summing to 1. Null: as set.
  void (*vary)(Scenario&, FieldIndex, double) = nullptr;
  // Whether the field exists for this element (e.g. `amount` only for troop actions); null: always.
  bool (*applies)(const Scenario&, FieldIndex) = nullptr;
  // The kernel reads the field per lane, so points that differ only in such
  // fields can share a block (packed blocks, docs/calibration.md).
  bool per_lane = false;

  std::string pattern() const { return std::string(section) + "." + std::string(key); }
};

// Whether points that differ in this field can share a block with every
// lane's bits those of a block of its own: the per-lane fields but the
// decision weights, whose per-lane products may round differently in the
// last bit (docs/calibration.md, "Packed blocks").
bool shares_blocks_exactly(const FieldSpec& spec);

// Every row, grouped by section in file order.
std::span<const FieldSpec> field_table();
// The UDUNITS-2 unit of the rows whose unit text is `unit` ("" for the
// dimensionless ones), which every such row gives alike (fields_test checks);
// "1" for a unit no row has: a parameter that is no field (the scenario
// choice axis) is an index. Files keep a parameter's unit text; this maps it.
std::string_view udunits_of_unit(std::string_view unit);
// The rows of one section pattern, in table order.
std::vector<const FieldSpec*> section_fields(std::string_view section);
// The row of a pattern ("run.seed", "actors.*.forces.deployed"); throws
// std::logic_error if there is none (a caller's typo, not a user's).
const FieldSpec& field_row(std::string_view pattern);

// Whether `path` is a run or output setting (run.seed, run.horizon_days,
// output.runs, ...): settable, but not a model parameter, so it can be
// neither swept nor read by a sweep constraint.
bool is_run_setting(std::string_view path);

// A field reachable by a dotted path: numbers can be set and swept; text and
// true/false fields (combat.law, run.decisions, ...) can be set.
struct ParameterInfo {
  std::string path;  // e.g. "actors.RUS.forces.deployed"
  double min = 0.0;
  double max = 0.0;
  bool integer = false;
  std::string unit;
  bool numeric = true;
  // Text and true/false fields: their names in index order (a categorical
  // sweep axis stores the index); empty for numbers.
  std::span<const std::string_view> choices{};
};

// One concrete field of a scenario: its row and its element.
struct FieldRef {
  const FieldSpec* spec = nullptr;
  FieldIndex index{-1, -1, -1};
  double get(const Scenario& s) const { return spec->get(s, index); }
  // A value from outside the file (FieldSpec::vary); the parser sets the file's values with FieldSpec::set.
  void set(Scenario& s, double value) const { (spec->vary ? spec->vary : spec->set)(s, index, value); }
};

// The settable paths of one scenario, in file order; a path resolves once, in
// constant time, to its FieldRef.
class FieldRegistry {
 public:
  explicit FieldRegistry(const Scenario& scenario);
  const std::vector<ParameterInfo>& parameters() const { return parameters_; }
  // Null if no field has this path.
  const FieldRef* find(std::string_view path) const;
  const FieldRef& ref(std::size_t i) const { return refs_[i]; }
  std::size_t size() const { return refs_.size(); }

 private:
  std::vector<ParameterInfo> parameters_;
  std::vector<FieldRef> refs_;
  std::unordered_map<std::string_view, std::size_t> by_path_;  // views into parameters_[i].path
};

// The text of a value as a field of this kind takes it: numbers as scenario
// files write them ("100_000"), true/false, a choice's name. Returns "" and
// sets *value, or returns the problem as "must be ..., got '...'" (without
// the path).
std::string field_value_from_text(const FieldSpec& spec, const std::string& text, double* value);
// "" if `value` is valid for the field on its own (range, whole number), else
// the problem, e.g. "'actors.A.forces.deployed' must be in [0, 1e8] troops, got -5".
// `as_written` (the value's text, if any) is quoted in the message instead of `value`.
std::string field_value_problem(const FieldSpec& spec, const std::string& path, double value,
                                std::string_view as_written = {});

// A broken rule: `paths[0]` is where it is reported, the others are the
// fields it also involves (an override of any of them is at fault).
struct Problem {
  std::vector<std::string> paths;
  std::string message;
};

// A cross-field rule as a named function of field values. `inputs` are the
// field patterns it reads (FieldSpec::pattern()), so that a sweep re-checks at
// each point only the rules its axes touch (and, later, over whole ranges).
struct Rule {
  std::string_view name;
  std::string_view statement;                // what holds, for messages: "forces.deployed_cap >= forces.deployed"
  std::span<const std::string_view> inputs;  // empty: structure only, no field values
  void (*check)(const Scenario&, std::vector<Problem>*);
  bool names_only = false;  // reads only ids and names, so it holds meaning on a partly read scenario
};
std::span<const Rule> validation_rules();

// Every problem of a scenario: each field's own range, then every rule.
// A Scenario from any source (file, --set, sweep point, C++) passes through it.
// A problem of a value rule that involves one of the `swept` paths is left
// out: a sweep never runs the base value of a swept field, and
// sweep_range_problems checks the rule over the swept range instead.
std::vector<Problem> validate(const Scenario& scenario, std::span<const std::string> swept = {});
// "" when initial_rung < limited_war <= full_war <= alliance_war (indices of
// valid rungs), else a sentence naming each rung; `first_out_of_order` gets the
// key of the first one out of order.
std::string rung_order_problem(const Escalation& e, std::string* first_out_of_order = nullptr);
// The rules only (no structure checks): safe on a partly read scenario.
std::vector<Problem> validate_values(const Scenario& scenario, std::span<const std::string> swept = {});
// What can be checked of a scenario the parser read only in part (it has
// reported the rest): the value rules and the rules on names.
std::vector<Problem> validate_partly_read(const Scenario& scenario, std::span<const std::string> swept = {});
// A sweep over its whole declared range, before anything runs: every value
// rule that reads a swept field, at every corner of the box its swept axes
// span (grid: smallest and largest values; other designs: [min, max]). The
// rules are monotone in each field (or, priors, hold on a convex band), so
// the corners decide for the whole box and no seed can. `paths` are the
// axes' "sweep.parameters.PATH"; the message names axis, range and rule.
std::vector<Problem> sweep_range_problems(const Scenario& scenario);
// Every sweep axis that reaches no replication (unreached_reason), at its axis.
std::vector<Problem> unreached_axis_problems(const Scenario& scenario);
// The value rules a constrained sweep's axes feed, at one design point as the
// constraints leave it. A clipped value is only piecewise linear in the draws,
// and two bounds can meet inside the box: the vertices sweep_range_problems
// visits miss such points (an outside tester's single clip ran 41 of 500
// points above their cap), so make_plan checks every point too.
class SweptRuleCheck {
 public:
  explicit SweptRuleCheck(const Scenario& scenario);
  // "" if `row` (one value per sweep axis) keeps every rule its axes feed,
  // else the first problem, naming the rule and the values.
  std::string problem_at(std::span<const double> row);

 private:
  Scenario at_;
  std::vector<std::pair<std::size_t, FieldRef>> fields_;  // axis column, field
  std::vector<const Rule*> rules_;
};
// Every observation whose day lies outside the simulated days [0, S·dt):
// checked by `brink calibrate` only (runs, sweeps and `validate` ignore
// observations). `paths` are the observation's day or date key, then
// run.horizon_days and run.dt_days.
std::vector<Problem> observation_day_problems(const Scenario& scenario);
// Why setting `ref` reaches no replication, as the rest of a sentence ("", if
// it does): an actor's decision weight that every one of its types gives
// itself (a type keeps its own weights). Refused as a --set, a sweep axis or
// a calibrated parameter: its points or posterior would only look alike.
std::string unreached_reason(const Scenario& scenario, const FieldRef& ref);
// Why a value given for `ref` changes nothing in the runs of `scenario` as
// it stands, as the rest of a sentence ("" if it can, or if it is
// unreached): a decision weight of a feature no action of the actor's menu
// has (security without a troop-moving action, credibility without attack
// or retaliate, ...), a war cost (decision.war_cost, war_cost_spread,
// casualty_cost, a type's war_cost) of an actor with neither a war-forecast
// attack nor a place in the bargaining pair. Unlike an unreached field it
// depends on other fields (a --set or another axis can make it matter), so
// nothing refuses it: `brink validate` notes it where the file gives it and
// `brink params` marks it 'inert'.
std::string inert_reason(const Scenario& scenario, const FieldRef& ref);
// For `brink validate`: what a commitment's strength does when its protector
// has no troops and gains none (it deters no one; at 0.5 or more it makes
// every war on the protected an alliance war), "" for any other field.
std::string commitment_note(const Scenario& scenario, const FieldRef& ref);
// A note for `brink run` and `brink validate` when run.horizon_days is not a
// whole number of steps of run.dt_days: the run simulates the steps that
// begin before the horizon, so its last step ends past it (S = ceil(H/dt)
// steps, to day S·dt). "" when the horizon ends on a step.
std::string horizon_steps_note(const Scenario& scenario);
// A note for `brink run` when the horizon cuts the offer rounds (some made,
// the last not): the last rejection's war never starts, and a lane still
// rejecting at the end is a standoff (docs/model.md, "Screening"). Not a
// rule: a calibration cuts the horizon to its last observation on purpose.
// "" when every round, or none, falls in the simulated days.
std::string offer_rounds_cut_note(const Scenario& scenario);
// A note when a scheduled power shift (bargaining.shift_day) lies past the
// horizon: it never happens in the runs, yet the proposer weighs it in its
// offers (with discount 1, any shift ahead means a preventive war at once).
std::string shift_past_horizon_note(const Scenario& scenario);
// Every note above that applies, as `brink run` and `brink validate` print them.
std::vector<std::string> scenario_notes(const Scenario& scenario);
// Throws ScenarioError (label "scenario") if validate finds anything.
void validate_or_throw(const Scenario& scenario);

// Types' weights that the type does not give itself follow the actor's
// decision.weights; call after changing an actor's weights by hand.
void derive_type_weights(Scenario& scenario);

// Markdown table of the fields of `section` (a pattern), for the docs.
std::string fields_markdown(std::string_view section);
// Markdown table of every sweepable model parameter (docs/model.md).
std::string parameters_markdown();

}  // namespace brink
