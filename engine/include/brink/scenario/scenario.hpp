// A validated scenario: plain, immutable data shared read-only by every worker.
//
// Units: troops are head counts, time is in days, rates are per day, tension
// is dimensionless (0 = calm), utilities are in "utils" (only differences
// between an actor's actions matter). Every numeric field here is reachable by
// a dotted path (see ParameterRegistry) and so can be set with `--set` and
// swept.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brink/scenario/observations.hpp"

namespace brink {

enum class ActionKind : std::uint8_t {
  kHold,
  kMobilize,
  kDeploy,
  kWithdraw,
  kExercise,
  kRaiseReadiness,
  kPropose,
  kConcede,
  kSanction,
  kArmPartner,
  kEvacuate,
  kAttack,
  kRetaliate,
};
inline constexpr int kActionKindCount = 13;
std::string_view to_string(ActionKind kind);
// Returns false when `name` is not an action kind.
bool parse_action_kind(std::string_view name, ActionKind* kind);
const std::array<std::string_view, kActionKindCount>& action_kind_names();

// The utility features of an action (see docs/model.md, "Decisions"). An
// actor's utility is the dot product of its weights with these features.
enum Feature : int {
  kSecurity,     // log own-side force over threat force, after the action
  kCost,         // minus the action's cost
  kEscalation,   // minus the escalation the action causes, scaled by tension
  kIssueGain,    // movement of the others' positions toward own (propose) or away (concede)
  kSettlement,   // reduction of the open gap on core issues
  kWarGain,      // log force ratio against the target side, for attacks
  kCredibility,  // attack: minus protectors' commitment × believed resolve × force over own force; retaliate: plus the
                 // commitment honoured
  kImpatience,  // days past patience (in patience units) times the action's escalation
  kFeatureCount,
};
const std::array<std::string_view, kFeatureCount>& feature_names();

// One entry of an actor's action menu. Which fields an action uses depends on
// its kind; the parser rejects the others.
struct ActionSpec {
  std::string name;
  ActionKind kind = ActionKind::kHold;
  double amount = 0.0;      // troops moved by mobilize/deploy/withdraw/raise_readiness [troops]
  double cost = 0.0;        // cost of taking the action once [utils]
  double tension = 0.0;     // tension added when taken [tension]
  double concession = 0.1;  // position step for propose/concede [position units, 0..1]
  double effect = 0.1;      // sanction: target effectiveness loss; arm_partner: gain [fraction]
  int target = -1;          // actor index for attack/sanction/arm_partner/retaliate, -1 if none
  int rung = -1;            // the ladder rises to at least this rung when taken, -1 if none
  bool implied = false;     // not in the file: the reader's default menu (not a settable path)
};

struct Forces {
  double deployed = 0.0;           // in theatre [troops]
  double ready = 0.0;              // deployable at short notice [troops]
  double reserve = 0.0;            // mobilizable [troops]
  double mobilization_rate = 0.0;  // max reserve -> ready flow [troops/day]
  double deployment_rate = 0.0;    // max ready <-> deployed flow [troops/day]
  double deployed_cap = 1e8;       // max troops in theatre [troops]
};

// Richardson (1960): dD_i/dt = reaction * sum_{j adversary} D_j - fatigue * D_i + grievance.
struct Posture {
  double reaction = 0.0;   // [1/day]
  double fatigue = 0.0;    // [1/day]
  double grievance = 0.0;  // [troops/day]
};

struct Combat {
  double effectiveness = 0.0;      // Lanchester kill rate [1/day (square law) or 1/(troop·day) (linear law)]
  double defence_advantage = 1.0;  // multiplier on effectiveness when defending [-]
};

struct Decision {
  double rationality = 1.0;                     // logit lambda [1/utils]; 0 = uniform, large = best response
  double patience_days = 30.0;                  // days of talks before impatience sets in [days]
  double ready_weight = 0.5;                    // weight of ready troops in force ratios [-]
  std::array<double, kFeatureCount> weights{};  // [utils per feature unit]
  // Bargaining and war (docs/model.md, "Bargaining and war"): costs in shares of the stake.
  bool war_forecast = false;     // attack's war_gain feature is the forecast war value W_i
  double war_cost = 0.0;         // mean private war cost c̄_i [share of the stake]
  double war_cost_spread = 0.0;  // c_i ~ U[c̄_i − h_i, c̄_i + h_i] per replication [share of the stake]
  double casualty_cost = 0.0;    // κ_i: cost per share of own forces lost [share of the stake]
};

// A private type (Fearon 1995): drawn per replication from the prior, known
// to the actor, inferred by everyone else from its actions.
struct ResolveType {
  std::string name;
  double prior = 1.0;                           // probability of this type [-]; an actor's priors sum to 1
  double resolve = 1.0;                         // willingness to fight and honour commitments [0..1]
  double war_cost = 0.0;                        // added to the actor's war cost when of this type [share of the stake]
  std::array<double, kFeatureCount> weights{};  // the actor's weights with this type's overrides
  // Bit k set: weights[k] was given for this type; the others follow the
  // actor's decision.weights (see derive_type_weights in fields.hpp).
  std::uint32_t own_weights = 0;
  // The prior was given from outside the file (FieldSpec::vary: --set, a
  // sweep axis, a calibrated parameter): another type's varied prior then
  // rescales only the priors not given so.
  bool prior_given = false;
  bool implied = false;  // not in the file: the reader's single default type (not a settable path)
};

struct Actor {
  std::string id;  // short code, e.g. "RUS"
  std::string name;
  Forces forces;
  Posture posture;
  Combat combat;
  Decision decision;
  std::vector<ActionSpec> actions;
  std::vector<ResolveType> types;  // at least one; a single type means no private information
};

inline constexpr int kMaxTypes = 8;
// Relations and the model's matrices grow as actors squared; a crisis has a
// handful of actors, and a file of 100,000 must not take minutes to refuse.
inline constexpr int kMaxActors = 256;
// Every action is a column of the decision pass and a dozen settable fields;
// the bound over all actors also stops a YAML alias from multiplying one
// actor's menu by 256 actors (a 1 MB file took gigabytes).
inline constexpr int kMaxActionsPerActor = 1024;
inline constexpr int kMaxActions = 16384;

struct Commitment {
  int from = -1;          // protector
  int to = -1;            // protected
  double strength = 0.0;  // 0 = none, 1 = treaty-bound collective defence [-]
};

struct Relations {
  // adversary[i][j]: i counts j's forces as a threat (symmetric).
  std::vector<std::vector<bool>> adversary;
  // ally[i][j]: i counts j's forces as its own side (symmetric).
  std::vector<std::vector<bool>> ally;
  std::vector<Commitment> commitments;
};

struct Incidents {
  double base_rate = 0.0;               // [1/day]
  double tension_rate = 0.0;            // [1/day per tension unit]
  double contact_rate = 0.0;            // [1/day per 100,000 troops in contact]
  double tension_jump = 0.0;            // tension added by an incident [tension]
  double escalation_probability = 0.0;  // chance an incident moves the ladder up a rung [-]
};

struct Escalation {
  std::vector<std::string> rungs;  // ordered, lowest first
  int initial_rung = 0;
  int limited_war_rung = 0;  // first rung at which fighting takes place
  int full_war_rung = 0;
  int alliance_war_rung = 0;
  double initial_tension = 0.0;   // [tension]
  double tension_decay = 0.0;     // [1/day]
  double agreement_relief = 0.0;  // tension removed when an issue is agreed [tension]
  Incidents incidents;
};

enum class LanchesterLaw : std::uint8_t { kSquare, kLinear };

// The scenario-level `combat:` section (the actors' own coefficients are Actor::combat).
struct CombatSettings {
  LanchesterLaw law = LanchesterLaw::kSquare;
  double limited_war_intensity = 0.3;  // share of forces engaged below full war [-]
  double collapse_fraction = 0.3;      // a side collapses below this share of its start strength [-]
};

struct Issue {
  std::string id;
  bool core = false;             // settlement needs every core issue agreed
  std::vector<double> position;  // per actor, 0..1
  std::vector<double> salience;  // per actor, 0..1; 0 = not a party, 1 = non-negotiable
};

struct Negotiation {
  double acceptance_window = 0.1;  // issue agreed when max - min position of parties <= this
  double drawdown = 0.5;           // after settlement, deployed forces fall to this share of their start [-]
  std::vector<Issue> issues;
};

// The bargaining game (docs/model.md, "Bargaining and war"): the proposer
// offers the receiver a share of the stake issues; the last rejection is war.
struct Bargaining {
  int proposer = -1;  // actor index; -1: no bargaining section (the mechanism is off)
  int receiver = -1;
  double first_day = 0.0;         // day of the first offer [days]
  double interval_days = 1.0;     // days between offers [days]
  int rounds = 1;                 // offers before the proposer fights
  double discount = 1.0;          // per-day discount of the prize of a war [-]
  double acceptance_noise = 0.0;  // logit scale of the receiver's acceptance; 0 = best response [share]
  double forecast_spread = 1.0;   // σ: smoothing of the Lanchester forecast into P(prevail) [-]
  // A scheduled shift in power (Powell 2006): from shift_day on, the receiver's
  // effectiveness multiplier grows by shift_growth (arms aid); 0: no shift.
  double shift_day = 0.0;     // [days]
  double shift_growth = 0.0;  // [fraction]
  bool enabled() const { return proposer >= 0; }
};

enum class EventKind : std::uint8_t { kDeploy, kWithdraw, kMobilize, kDemobilize, kReinforce, kAttack };
std::string_view to_string(EventKind kind);

struct Event {
  double day = 0.0;
  int actor = -1;
  EventKind kind = EventKind::kDeploy;
  double troops = 0.0;  // troop events [troops]
  int target = -1;      // attack: the actor attacked
  int rung = -1;        // attack: the rung the ladder rises to
  std::string date{};   // the ISO date given instead of `day`, as written; "" when given as a day
  double date_day = 0;  // the day `date` falls on (a --set of `day` can have moved `day` since)
};

// Replications per sweep point: a fixed count, or adaptive — more blocks until
// every outcome probability's 95% Wilson half-width is at most ci_halfwidth,
// or max is reached. A fixed count is min == max (run.replications sets both;
// validate refuses a fixed rule whose min and max differ), so `max` is what
// every point runs at most, fixed or adaptive.
struct ReplicationRule {
  bool adaptive = false;
  std::int64_t min = 1000;     // fixed: the count; adaptive: the first round
  std::int64_t max = 1000;     // fixed: the count; adaptive: never more than this
  double ci_halfwidth = 0.01;  // adaptive: target Wilson half-width [probability]
};

enum class SweepDesign : std::uint8_t { kGrid, kRandom, kLhs, kSobol, kMorris };
std::string_view to_string(SweepDesign design);

// One swept parameter: grid values, or a range for random/LHS/Sobol/Morris
// designs. A categorical field (combat.law, ...) holds its choices' indices.
struct SweepAxis {
  std::string path;            // a settable parameter path, e.g. "actors.RUS.forces.deployed"
  std::vector<double> values;  // grid
  double min = 0.0, max = 0.0;
  bool log = false;    // sample log-uniformly in [min, max]
  bool lever = false;  // mixed design: a grid axis crossed with every sampled point of the uncertainties
};

// A linear rule on a sampled point, declared in `sweep.constraints`:
// sum(coefficient · field) + constant is <= 0 (at_most) or >= 0. `clip` moves
// `target` (the left side, a swept range axis) onto the bound; `reject` drops
// the point. Both are functions of the design alone.
struct SweepConstraint {
  std::string rule;                                   // as written, for messages
  std::vector<std::pair<std::string, double>> terms;  // (path, coefficient) of left − right
  double constant = 0.0;
  bool at_most = true;
  bool reject = false;
  std::string target;  // the left side's path
};

struct SweepSpec {
  SweepDesign design = SweepDesign::kGrid;
  std::int64_t samples = 0;  // points for random/LHS/Sobol; base rows N for sensitivity; Morris trajectories
  bool sensitivity = false;  // Saltelli plan (N·(d+2) points) and Sobol indices
  int morris_levels = 4;     // Morris: grid levels p of each unit range
  std::vector<SweepAxis> axes;
  std::vector<SweepConstraint> constraints;
  std::vector<std::string> scenarios;  // scenario choices: files sharing actors, rungs, issues and types
  bool scenarios_lever = false;        // given with --lever: in a mixed design, a policy rather than a state
  bool empty() const { return axes.empty() && scenarios.empty(); }
  bool mixed() const {
    for (const SweepAxis& a : axes)
      if (a.lever) return true;
    return false;
  }
};

// The time grid's two rules, written once (Scenario::step_count, event_step,
// observation_step and validate all use them). Doubles: validate counts the
// steps of a horizon, and the step of a day far past it, before refusing them.
//
// The steps a horizon holds: horizon / dt rounded up, to within 1e-9 steps,
// so that a horizon of a whole number of steps up to rounding gives exactly
// that many.
inline double steps_in_horizon(double horizon_days, double dt_days) { return std::ceil(horizon_days / dt_days - 1e-9); }
// The step a day falls in: the one whose interval [s·dt, (s+1)·dt) covers it,
// with a tolerance of 1e-9 steps for decimal days such as 1.3. An event on the
// day fires in it; an observation of the day is read after it.
inline double step_of_day(double day, double dt_days) { return std::floor(day / dt_days + 1e-9); }

struct RunSettings {
  double horizon_days = 120.0;
  double dt_days = 1.0;
  ReplicationRule rule;  // run.replications
  std::uint64_t seed = 1;
  bool decisions = true;        // false: no actor chooses actions (analytic checks)
  bool common_random = false;   // replication r draws the same stream at every point
  bool revealed_types = false;  // every belief starts at, and stays on, each actor's true type
  std::string start_date;       // ISO date of day 0, "" if none (then observations are dated by day)
};

struct OutputSettings {
  int timeseries_every = 0;  // record time series every K steps; 0 = off
  bool runs = true;          // write per-replication variables (false: per-point summaries only)
};

// What brought NATO and Russia into direct fighting (DESIGN: only fighting
// that touches a covered actor, or escalation by incidents, can).
enum class AllianceWarCause : std::int8_t {
  kNone = 0,
  kAttackOnCovered = 1,  // an attack hit an actor under a commitment of strength >= 0.5
  kIntervention = 2,     // a protector joined a war to defend a partner (retaliate)
  kIncident = 3,         // an incident during a war pushed the ladder to the alliance rung
};
inline constexpr int kAllianceWarCauseCount = 4;
const std::array<std::string_view, kAllianceWarCauseCount>& alliance_war_cause_names();

enum class Outcome : std::int8_t {
  kSettlement = 0,
  kStandoff = 1,
  kLimitedWar = 2,
  kFullWar = 3,
  kAllianceWar = 4,
};
inline constexpr int kOutcomeCount = 5;
const std::array<std::string_view, kOutcomeCount>& outcome_names();

struct Scenario {
  std::string name;
  std::string description;
  std::vector<Actor> actors;
  Relations relations;
  Escalation escalation;
  CombatSettings combat;
  Negotiation negotiation;
  Bargaining bargaining;
  std::vector<Event> events;
  RunSettings run;
  OutputSettings output;
  SweepSpec sweep;
  std::vector<Observation> observations;  // used by `brink calibrate`, not by the model
  CalibrateSpec calibrate;

  int actor_count() const { return static_cast<int>(actors.size()); }
  // The most private types any actor has (at least 1): the length of every
  // per-type array in a block's results and of the files' type dimension.
  int type_slots() const;
  int step_count() const;
  // Returns -1 if no actor has this id.
  int actor_index(std::string_view id) const;
};

}  // namespace brink
