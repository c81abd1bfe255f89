// The field table and the registry of concrete paths built from it.
#include "brink/scenario/fields.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "number_text.hpp"

namespace brink {
namespace {

// Field values travel as doubles; each member type takes them back here.
void assign(double& member, double v) { member = v; }
void assign(bool& member, double v) { member = v != 0.0; }
void assign(int& member, double v) { member = static_cast<int>(v); }
void assign(std::int64_t& member, double v) { member = static_cast<std::int64_t>(v); }
void assign(std::uint64_t& member, double v) { member = static_cast<std::uint64_t>(v); }
void assign(LanchesterLaw& member, double v) { member = static_cast<LanchesterLaw>(static_cast<int>(v)); }
double value_of(LanchesterLaw law) { return static_cast<double>(static_cast<int>(law)); }
template <typename T>
double value_of(T v) {
  return static_cast<double>(v);
}

// `expr` names the member through `s` (the scenario) and `i` (the FieldIndex).
#define BRINK_MEMBER(expr)                               \
  .get = [](const Scenario& s, FieldIndex i) -> double { \
    (void)i;                                             \
    return value_of(expr);                               \
  },                                                     \
  .set = [](Scenario& s, FieldIndex i, double v) {       \
    (void)i;                                             \
    assign(expr, v);                                     \
  }

constexpr std::string_view kBooleans[] = {"false", "true"};
constexpr std::string_view kLaws[] = {"square", "linear"};
constexpr std::string_view kRandomNumbers[] = {"independent", "common"};
constexpr std::string_view kInformation[] = {"private", "revealed"};

bool is_troop_action(const Scenario& s, FieldIndex i) {
  const ActionKind k = s.actors[i[0]].actions[i[1]].kind;
  return k == ActionKind::kMobilize || k == ActionKind::kDeploy || k == ActionKind::kWithdraw ||
         k == ActionKind::kRaiseReadiness;
}
bool is_position_action(const Scenario& s, FieldIndex i) {
  const ActionKind k = s.actors[i[0]].actions[i[1]].kind;
  return k == ActionKind::kPropose || k == ActionKind::kConcede;
}
bool is_effect_action(const Scenario& s, FieldIndex i) {
  const ActionKind k = s.actors[i[0]].actions[i[1]].kind;
  return k == ActionKind::kSanction || k == ActionKind::kArmPartner;
}
bool is_adaptive(const Scenario& s, FieldIndex) { return s.run.rule.adaptive; }
bool is_troop_event(const Scenario& s, FieldIndex i) { return s.events[i[0]].kind != EventKind::kAttack; }
bool has_bargaining(const Scenario& s, FieldIndex) { return s.bargaining.enabled(); }

// A fixed count replaces an adaptive rule (as --replications N does).
void set_replications(Scenario& s, FieldIndex, double v) {
  s.run.rule.adaptive = false;
  s.run.rule.min = s.run.rule.max = static_cast<std::int64_t>(v);
}
void set_actor_weight(Scenario& s, FieldIndex i, double v) {
  Actor& a = s.actors[i[0]];
  a.decision.weights[i[1]] = v;
  for (ResolveType& t : a.types)
    if (!((t.own_weights >> i[1]) & 1u)) t.weights[i[1]] = v;
}
// One type's prior given from outside the file: the actor's priors not so
// given keep their proportions and share what the given ones leave (evenly,
// if they all had 0), so the priors still sum to 1; a two-type actor's other
// prior becomes exactly the complement. Priors given together must sum to 1
// themselves where no other is left to take the rest (priors_sum_to_one says
// so). The parser sets each prior as the file gives it instead.
void vary_type_prior(Scenario& s, FieldIndex i, double v) {
  std::vector<ResolveType>& types = s.actors[i[0]].types;
  const auto varied = static_cast<std::size_t>(i[1]);
  types[varied].prior = v;
  types[varied].prior_given = true;
  double given = 0.0, rest = 0.0;
  int free = 0;
  for (const ResolveType& t : types) {
    if (&t == &types[varied]) continue;
    (t.prior_given ? given : rest) += t.prior;
    free += t.prior_given ? 0 : 1;
  }
  const double left = std::max(0.0, 1.0 - v - given);
  for (ResolveType& t : types) {
    if (&t == &types[varied] || t.prior_given) continue;
    t.prior = free == 1 ? left : rest > 0.0 ? t.prior * (left / rest) : left / free;
  }
}
void set_type_weight(Scenario& s, FieldIndex i, double v) {
  ResolveType& t = s.actors[i[0]].types[i[1]];
  t.weights[i[2]] = v;
  t.own_weights |= 1u << i[2];
}

constexpr double kTroops = 1e8;
constexpr double kMaxSeed = 9007199254740991.0;  // 2^53 - 1: every seed is exact in a double

// One row per field, kept on few lines so the table reads as a table.
// clang-format off
const FieldSpec kFields[] = {
    // run
    {.section = "run", .key = "horizon_days", .fallback = 120, .min = 1e-6, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "$H$", .meaning = "simulated time span; at least one `dt_days`", .required = true, .sweepable = false, BRINK_MEMBER(s.run.horizon_days)},
    {.section = "run", .key = "dt_days", .fallback = 1, .min = 1e-6, .max = 365, .unit = "days",
     .udunits = "day", .symbol = "$\\Delta t$", .meaning = "step length, and the decision period (one action per actor per step: a model parameter, not only an accuracy: see model.md, Conventions); at most `horizon_days`, and `horizon_days / dt_days` must not exceed 1,000,000", .required = true, .sweepable = false, BRINK_MEMBER(s.run.dt_days)},
    {.section = "run", .key = "replications", .kind = FieldKind::kInteger, .fallback = 1000, .min = 1, .max = 4e9,
     .unit = "replications", .udunits = "1", .symbol = "", .meaning = "replications per sweep point (`-n` overrides); a mapping `{min, max, ci_halfwidth}` makes the count adaptive", .sweepable = false,
     .get = [](const Scenario& s, FieldIndex) { return static_cast<double>(s.run.rule.min); },
     .set = set_replications},
    {.section = "run.replications", .key = "min", .kind = FieldKind::kInteger, .fallback = 1000, .min = 1, .max = 4e9,
     .unit = "replications", .udunits = "1", .symbol = "", .meaning = "adaptive: the first round, rounded up to whole blocks of 256 (at most `max`)", .required = true, .sweepable = false,
     BRINK_MEMBER(s.run.rule.min), .applies = is_adaptive},
    {.section = "run.replications", .key = "max", .kind = FieldKind::kInteger, .fallback = 1000, .min = 1,
     .max = 4e9, .unit = "replications", .udunits = "1", .symbol = "", .meaning = "adaptive: never more than this; at least `min`", .required = true,
     .sweepable = false, BRINK_MEMBER(s.run.rule.max), .applies = is_adaptive},
    {.section = "run.replications", .key = "ci_halfwidth", .fallback = 0.01, .min = 1e-6, .max = 0.5,
     .unit = "probability", .udunits = "1", .symbol = "", .meaning = "adaptive: stop once every outcome probability's 95% Wilson half-width is at most this",
     .required = true, .sweepable = false, BRINK_MEMBER(s.run.rule.ci_halfwidth), .applies = is_adaptive},
    {.section = "run", .key = "seed", .kind = FieldKind::kInteger, .fallback = 1, .min = 0, .max = kMaxSeed,
     .udunits = "1", .symbol = "", .meaning = "Philox key (`--seed` overrides); at most 2^53 - 1", .sweepable = false, BRINK_MEMBER(s.run.seed)},
    {.section = "run", .key = "decisions", .kind = FieldKind::kBoolean, .fallback = 1,
     .udunits = "1", .symbol = "", .meaning = "`false` switches all actor decisions off (analytic checks)", .sweepable = false,
     .choices = kBooleans, BRINK_MEMBER(s.run.decisions)},
    {.section = "run", .key = "random_numbers", .kind = FieldKind::kChoice, .fallback = 0,
     .udunits = "1", .symbol = "", .meaning = "`common`: replication r draws the same stream at every sweep point (`sweep.random_numbers`, if given, replaces it in the file; `--set run.random_numbers` replaces both)", .sweepable = false,
     .choices = kRandomNumbers, BRINK_MEMBER(s.run.common_random)},
    {.section = "run", .key = "information", .kind = FieldKind::kChoice, .fallback = 0,
     .udunits = "1", .symbol = "", .meaning = "`revealed`: every observer's belief starts at, and stays on, each actor's true type (and a bargaining receiver's drawn war cost); `private`: beliefs start at the prior", .sweepable = false,
     .choices = kInformation, BRINK_MEMBER(s.run.revealed_types)},
    // output
    {.section = "output", .key = "runs", .kind = FieldKind::kBoolean, .fallback = 1,
     .udunits = "1", .symbol = "", .meaning = "`false`: per-point summaries only, no per-replication variables and no time series (`--summary-only`)", .sweepable = false,
     .choices = kBooleans, BRINK_MEMBER(s.output.runs)},
    {.section = "output", .key = "timeseries_every", .kind = FieldKind::kInteger, .fallback = 0, .min = 0,
     .max = 1e6, .unit = "steps", .udunits = "1", .symbol = "", .meaning = "0 = no per-replication time series; K records every replication's state every K steps and puts the file's `step` axis on every K-th step", .sweepable = false,
     BRINK_MEMBER(s.output.timeseries_every)},
    // escalation
    {.section = "escalation.tension", .key = "initial", .min = 0, .max = 1e3, .unit = "tension",
     .udunits = "1", .symbol = "$T$ at step 0", .meaning = "tension at step 0", BRINK_MEMBER(s.escalation.initial_tension), .per_lane = true},
    {.section = "escalation.tension", .key = "decay", .min = 0, .max = 10, .unit = "1/day",
     .udunits = "1/day", .symbol = "", .meaning = "exponential decay rate of tension", BRINK_MEMBER(s.escalation.tension_decay), .per_lane = true},
    {.section = "escalation.tension", .key = "agreement_relief", .min = 0, .max = 1e3, .unit = "tension",
     .udunits = "1", .symbol = "", .meaning = "tension removed per agreed issue", BRINK_MEMBER(s.escalation.agreement_relief)},
    {.section = "escalation.incidents", .key = "base_rate", .min = 0, .max = 100, .unit = "1/day",
     .udunits = "1/day", .symbol = "$b$", .meaning = "incident hazard at zero tension and no contact", BRINK_MEMBER(s.escalation.incidents.base_rate), .per_lane = true},
    {.section = "escalation.incidents", .key = "tension_rate", .min = 0, .max = 100, .unit = "1/day/tension",
     .udunits = "1/day", .symbol = "$r_T$", .meaning = "incident hazard per unit of tension", BRINK_MEMBER(s.escalation.incidents.tension_rate), .per_lane = true},
    {.section = "escalation.incidents", .key = "contact_rate", .min = 0, .max = 100,
     .unit = "1/day per 100,000 troops", .udunits = "1/day", .symbol = "$r_C$", .meaning = "incident hazard per 100,000 troops of adversaries in contact",
     BRINK_MEMBER(s.escalation.incidents.contact_rate), .per_lane = true},
    {.section = "escalation.incidents", .key = "tension_jump", .min = 0, .max = 1e3, .unit = "tension",
     .udunits = "1", .symbol = "", .meaning = "tension added by an incident", BRINK_MEMBER(s.escalation.incidents.tension_jump), .per_lane = true},
    {.section = "escalation.incidents", .key = "escalation_probability", .min = 0, .max = 1, .unit = "probability",
     .udunits = "1", .symbol = "", .meaning = "chance that an incident raises the ladder a rung",
     BRINK_MEMBER(s.escalation.incidents.escalation_probability), .per_lane = true},
    // actors
    {.section = "actors.*.forces", .key = "deployed", .min = 0, .max = kTroops, .unit = "troops",
     .udunits = "1", .symbol = "$D_i^0$", .meaning = "troops in theatre", .required = true, BRINK_MEMBER(s.actors[i[0]].forces.deployed), .per_lane = true},
    {.section = "actors.*.forces", .key = "ready", .min = 0, .max = kTroops, .unit = "troops",
     .udunits = "1", .symbol = "$R_i^0$", .meaning = "troops deployable at short notice", BRINK_MEMBER(s.actors[i[0]].forces.ready), .per_lane = true},
    {.section = "actors.*.forces", .key = "reserve", .min = 0, .max = kTroops, .unit = "troops",
     .udunits = "1", .symbol = "$V_i^0$", .meaning = "mobilizable troops", BRINK_MEMBER(s.actors[i[0]].forces.reserve), .per_lane = true},
    {.section = "actors.*.forces", .key = "mobilization_rate", .min = 0, .max = kTroops, .unit = "troops/day",
     .udunits = "1/day", .symbol = "$\\mu_i$", .meaning = "most troops moved from reserve to ready per day (bounds `mobilize`)",
     BRINK_MEMBER(s.actors[i[0]].forces.mobilization_rate), .per_lane = true},
    {.section = "actors.*.forces", .key = "deployment_rate", .min = 0, .max = kTroops, .unit = "troops/day",
     .udunits = "1/day", .symbol = "$\\delta_i$", .meaning = "per step, $\\delta_i\\Delta t$ is the transport budget shared by `deploy`/`withdraw` actions and drift",
     BRINK_MEMBER(s.actors[i[0]].forces.deployment_rate), .per_lane = true},
    {.section = "actors.*.forces", .key = "deployed_cap", .fallback = kTroops, .min = 0, .max = kTroops,
     .unit = "troops", .udunits = "1", .symbol = "$\\bar D_i$", .meaning = "most troops in theatre; at least `deployed`",
     BRINK_MEMBER(s.actors[i[0]].forces.deployed_cap), .per_lane = true},
    {.section = "actors.*.posture", .key = "reaction", .min = 0, .max = 10, .unit = "1/day",
     .udunits = "1/day", .symbol = "$k_i$", .meaning = "Richardson reaction to adversaries' deployed forces", BRINK_MEMBER(s.actors[i[0]].posture.reaction), .per_lane = true},
    {.section = "actors.*.posture", .key = "fatigue", .min = 0, .max = 10, .unit = "1/day",
     .udunits = "1/day", .symbol = "$f_i$", .meaning = "Richardson fatigue on own deployed forces", BRINK_MEMBER(s.actors[i[0]].posture.fatigue), .per_lane = true},
    {.section = "actors.*.posture", .key = "grievance", .min = -1e7, .max = 1e7, .unit = "troops/day",
     .udunits = "1/day", .symbol = "$g_i$", .meaning = "Richardson grievance: constant drift of deployed forces",
     BRINK_MEMBER(s.actors[i[0]].posture.grievance), .per_lane = true},
    {.section = "actors.*.combat", .key = "effectiveness", .min = 0, .max = 10,
     .unit = "1/day (square) or 1/(troop day) (linear)", .udunits = "1/day", .symbol = "$e_i$", .meaning = "Lanchester kill rate",
     BRINK_MEMBER(s.actors[i[0]].combat.effectiveness), .per_lane = true},
    {.section = "actors.*.combat", .key = "defence_advantage", .fallback = 1, .min = 1e-3, .max = 1e3,
     .udunits = "1", .symbol = "$d_i$", .meaning = "multiplier on effectiveness when on the defending side", BRINK_MEMBER(s.actors[i[0]].combat.defence_advantage), .per_lane = true},
    {.section = "actors.*.decision", .key = "rationality", .fallback = 1, .min = 0, .max = 1e6, .unit = "1/utils",
     .udunits = "1", .symbol = "$\\lambda_i$", .meaning = "logit rationality; 0 = uniform choice, large = best response",
     BRINK_MEMBER(s.actors[i[0]].decision.rationality), .per_lane = true},
    {.section = "actors.*.decision", .key = "patience_days", .fallback = 30, .min = 1e-3, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "$P_i$", .meaning = "days of talks before impatience sets in", BRINK_MEMBER(s.actors[i[0]].decision.patience_days)},
    {.section = "actors.*.decision", .key = "ready_weight", .fallback = 0.5, .min = 0, .max = 1,
     .udunits = "1", .symbol = "$\\omega_i$", .meaning = "weight of ready troops in force ratios", BRINK_MEMBER(s.actors[i[0]].decision.ready_weight)},
    {.section = "actors.*.decision.weights", .key = "*", .min = -1e6, .max = 1e6, .unit = "utils",
     .udunits = "1", .symbol = "", .meaning = "the actor's weight of a feature (`security`, `cost`, `escalation`, `issue_gain`, `settlement`, `war_gain`, `credibility`, `impatience`); the default for every type",
     .get = [](const Scenario& s, FieldIndex i) { return s.actors[i[0]].decision.weights[i[1]]; },
     .set = set_actor_weight, .per_lane = true},
    {.section = "actors.*.types.*", .key = "prior", .fallback = 1, .min = 0, .max = 1, .unit = "probability",
     .udunits = "1", .symbol = "$\\pi_{ik}$", .meaning = "probability of the type; an actor's priors must sum to 1 (within 1e-6). Varied by `--set`, a sweep or a calibration, a type's prior rescales the actor's priors not so varied in proportion (a two-type actor's other prior becomes its complement)", .required = true,
     BRINK_MEMBER(s.actors[i[0]].types[i[1]].prior), .vary = vary_type_prior, .per_lane = true},
    {.section = "actors.*.types.*", .key = "resolve", .fallback = 1, .min = 0, .max = 1,
     .udunits = "1", .symbol = "$r_{ik}$", .meaning = "scales how much others' security and settlement terms, and an attacker's fear of this actor as a protector, weigh", BRINK_MEMBER(s.actors[i[0]].types[i[1]].resolve)},
    {.section = "actors.*.types.*.weights", .key = "*", .min = -1e6, .max = 1e6, .unit = "utils",
     .udunits = "1", .symbol = "$w_{ik,F}$", .meaning = "the type's weight of a feature; only the keys given replace the actor's `decision.weights`",
     .get = [](const Scenario& s, FieldIndex i) { return s.actors[i[0]].types[i[1]].weights[i[2]]; },
     .set = set_type_weight, .per_lane = true},
    {.section = "actors.*.actions.*", .key = "cost", .min = -1e6, .max = 1e6, .unit = "utils",
     .udunits = "1", .symbol = "$c_a$", .meaning = "cost of taking the action once", BRINK_MEMBER(s.actors[i[0]].actions[i[1]].cost)},
    {.section = "actors.*.actions.*", .key = "tension", .min = -1e3, .max = 1e3, .unit = "tension",
     .udunits = "1", .symbol = "$\\tau_a$", .meaning = "added to tension when taken", BRINK_MEMBER(s.actors[i[0]].actions[i[1]].tension)},
    {.section = "actors.*.actions.*", .key = "amount", .min = 0, .max = kTroops, .unit = "troops",
     .udunits = "1", .symbol = "$N_a$", .meaning = "troops moved (mobilize, deploy, withdraw, raise_readiness only)", .required = true,
     BRINK_MEMBER(s.actors[i[0]].actions[i[1]].amount), .applies = is_troop_action},
    {.section = "actors.*.actions.*", .key = "concession", .fallback = 0.1, .min = 0, .max = 1, .unit = "position",
     .udunits = "1", .symbol = "$\\kappa_a$", .meaning = "position step (propose, concede only)", BRINK_MEMBER(s.actors[i[0]].actions[i[1]].concession),
     .applies = is_position_action},
    {.section = "actors.*.actions.*", .key = "effect", .fallback = 0.1, .min = 0, .max = 1, .unit = "fraction",
     .udunits = "1", .symbol = "$\\epsilon_a$", .meaning = "target's effectiveness loss (sanction) or gain (arm_partner) (those kinds only)",
     BRINK_MEMBER(s.actors[i[0]].actions[i[1]].effect), .applies = is_effect_action},
    // relations
    {.section = "relations.commitments.*", .key = "strength", .min = 0, .max = 1,
     .udunits = "1", .symbol = "$c_{ji}$", .meaning = "0 = none, 1 = treaty-bound collective defence", .required = true,
     BRINK_MEMBER(s.relations.commitments[i[0]].strength)},
    // combat
    {.section = "combat", .key = "law", .kind = FieldKind::kChoice, .fallback = 0,
     .udunits = "1", .symbol = "", .meaning = "Lanchester aimed fire (square) or area fire (linear); it sets the unit of every `combat.effectiveness` (1/day or 1/(troop·day)), so a sweep of the law alone compares kill rates of different scales", .choices = kLaws, BRINK_MEMBER(s.combat.law)},
    {.section = "combat", .key = "limited_war_intensity", .fallback = 0.3, .min = 0, .max = 1,
     .udunits = "1", .symbol = "$\\iota$", .meaning = "share of the kill rates below `full_war`", BRINK_MEMBER(s.combat.limited_war_intensity)},
    {.section = "combat", .key = "collapse_fraction", .fallback = 0.3, .min = 0, .max = 1,
     .udunits = "1", .symbol = "$\\chi$", .meaning = "a side collapses at or below this share of its starting strength", BRINK_MEMBER(s.combat.collapse_fraction)},
    // negotiation
    {.section = "negotiation", .key = "acceptance_window", .fallback = 0.1, .min = 0, .max = 1, .unit = "position",
     .udunits = "1", .symbol = "$\\Omega$", .meaning = "an issue is agreed when max - min of the parties' positions is at most this",
     BRINK_MEMBER(s.negotiation.acceptance_window)},
    {.section = "negotiation", .key = "drawdown", .fallback = 0.5, .min = 0, .max = 1,
     .udunits = "1", .symbol = "$\\eta$", .meaning = "after a settlement each actor's deployed forces fall, at `deployment_rate`, to this share of its starting `forces.deployed`",
     BRINK_MEMBER(s.negotiation.drawdown)},
    {.section = "negotiation.issues.*", .key = "core", .kind = FieldKind::kBoolean, .fallback = 0,
     .udunits = "1", .symbol = "", .meaning = "settlement needs every core issue agreed", .choices = kBooleans,
     BRINK_MEMBER(s.negotiation.issues[i[0]].core)},
    {.section = "negotiation.issues.*.positions", .key = "*", .min = 0, .max = 1,
     .udunits = "1", .symbol = "$p_{ki}$", .meaning = "an actor's starting position; an actor left out has 0", BRINK_MEMBER(s.negotiation.issues[i[0]].position[i[1]])},
    {.section = "negotiation.issues.*.salience", .key = "*", .min = 0, .max = 1,
     .udunits = "1", .symbol = "$s_{ki}$", .meaning = "0 = not a party, 1 = non-negotiable (never moves); an actor left out has 0", BRINK_MEMBER(s.negotiation.issues[i[0]].salience[i[1]])},
    // events
    {.section = "events.*", .key = "day", .min = 0, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "", .meaning = "the model day, or instead `date`, an ISO date (needs `run.start_date`; the day is its difference from it); fires in the step with step·dt <= day < (step+1)·dt; before the end of the last step, S·dt (S = `horizon_days / dt_days` rounded up): an event on the horizon day is refused", .required = true,
     BRINK_MEMBER(s.events[i[0]].day)},
    {.section = "events.*", .key = "*", .min = 0, .max = kTroops, .unit = "troops",
     .udunits = "1", .symbol = "$N_e$", .meaning = "troops of a deploy, withdraw, mobilize, demobilize or reinforce event (the verb the event has)",
     BRINK_MEMBER(s.events[i[0]].troops), .applies = is_troop_event},
    // bargaining and war (docs/model.md, "Bargaining and war"; issue 12)
    {.section = "actors.*.decision", .key = "war_forecast", .kind = FieldKind::kBoolean, .fallback = 0,
     .udunits = "1", .symbol = "", .meaning = "`true`: an attack's `war_gain` feature is the forecast war value $W_i$ instead of the log force ratio",
     .choices = kBooleans, BRINK_MEMBER(s.actors[i[0]].decision.war_forecast)},
    {.section = "actors.*.decision", .key = "war_cost", .min = -10, .max = 10, .unit = "share of the stake",
     .udunits = "1", .symbol = "$\\bar c_i$", .meaning = "mean of the actor's private cost of war; read only by a war-forecast attack (`war_forecast: true`) and by the bargaining pair, so without either it changes nothing (as `casualty_cost` and a type's `war_cost`)", BRINK_MEMBER(s.actors[i[0]].decision.war_cost)},
    {.section = "actors.*.decision", .key = "war_cost_spread", .min = 0, .max = 10, .unit = "share of the stake",
     .udunits = "1", .symbol = "$h_i$", .meaning = "the private war cost is drawn uniformly on [war_cost - spread, war_cost + spread]; 0 = known to all; must be 0 for a bargaining receiver whose types carry war costs, and for an actor with several private types and a war-forecast attack",
     BRINK_MEMBER(s.actors[i[0]].decision.war_cost_spread)},
    {.section = "actors.*.decision", .key = "casualty_cost", .min = 0, .max = 100, .unit = "share of the stake",
     .udunits = "1", .symbol = "$\\kappa_i$", .meaning = "cost of war per share of own forces lost in the forecast", BRINK_MEMBER(s.actors[i[0]].decision.casualty_cost)},
    {.section = "actors.*.types.*", .key = "war_cost", .min = -10, .max = 10, .unit = "share of the stake",
     .udunits = "1", .symbol = "$\\Delta c_{ik}$", .meaning = "added to the actor's war cost when it is of this type; with a bargaining section, offers to a receiver whose types differ here use the public belief over its types", BRINK_MEMBER(s.actors[i[0]].types[i[1]].war_cost)},
    {.section = "bargaining", .key = "first_day", .min = 0, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "", .meaning = "day of the first offer; none is made if it falls after the last simulated day (a shortened horizon)", BRINK_MEMBER(s.bargaining.first_day), .applies = has_bargaining},
    {.section = "bargaining", .key = "interval_days", .fallback = 1, .min = 1e-6, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "", .meaning = "days between offers", BRINK_MEMBER(s.bargaining.interval_days), .applies = has_bargaining},
    {.section = "bargaining", .key = "rounds", .kind = FieldKind::kInteger, .fallback = 1, .min = 1, .max = 1e6,
     .udunits = "1", .symbol = "", .meaning = "offers the proposer makes; the last rejection starts the war (rounds after the last simulated day are not made, and then no war starts)", BRINK_MEMBER(s.bargaining.rounds), .applies = has_bargaining},
    {.section = "bargaining", .key = "discount", .fallback = 1, .min = 1e-6, .max = 1, .unit = "per day",
     .udunits = "1", .symbol = "$\\delta$", .meaning = "per-day discount factor of the prize of a war (won when the forecast war ends)", BRINK_MEMBER(s.bargaining.discount), .applies = has_bargaining},
    {.section = "bargaining", .key = "acceptance_noise", .min = 0, .max = 100, .unit = "share of the stake",
     .udunits = "1", .symbol = "$\\nu$", .meaning = "logit scale of the receiver's acceptance, which the proposer anticipates; 0 = best response", BRINK_MEMBER(s.bargaining.acceptance_noise), .applies = has_bargaining},
    {.section = "bargaining", .key = "forecast_spread", .fallback = 1, .min = 1e-3, .max = 100,
     .udunits = "1", .symbol = "$\\sigma$", .meaning = "P(prevail) = 1/(1 + Phi^(-1/sigma)) from the Lanchester fighting-strength ratio Phi", BRINK_MEMBER(s.bargaining.forecast_spread), .applies = has_bargaining},
    {.section = "bargaining", .key = "shift_day", .min = 0, .max = 1e6, .unit = "days",
     .udunits = "day", .symbol = "$T_s$", .meaning = "day of a scheduled shift in power: the receiver's effectiveness multiplier grows by `shift_growth` (arms aid)", BRINK_MEMBER(s.bargaining.shift_day), .applies = has_bargaining},
    {.section = "bargaining", .key = "shift_growth", .min = 0, .max = 10, .unit = "fraction",
     .udunits = "1", .symbol = "$g$", .meaning = "growth of the receiver's effectiveness multiplier on `shift_day` (capped at 3 like arms aid); 0 = no shift", BRINK_MEMBER(s.bargaining.shift_growth), .applies = has_bargaining},
};

// clang-format on

#undef BRINK_MEMBER

std::string join_names(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += fmt::format("{}'{}'", i == 0 ? "" : (i + 1 == names.size() ? " or " : ", "), names[i]);
  return out;
}

// What a text that is no number was probably meant as: a number with
// thousands separators (10,000 or 1,000,000.5) or a percentage (5%), as
// " (... write N)"; "" otherwise.
std::string number_hint(std::string_view text) {
  const auto number = [](std::string_view t, double* v) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return !t.empty() && ec == std::errc() && end == t.data() + t.size() && std::isfinite(*v);
  };
  double v = 0.0;
  if (text.size() > 1 && text.back() == '%' && number(text.substr(0, text.size() - 1), &v))
    return fmt::format(" (a percentage? write the fraction, {})", v / 100.0);
  const std::string digits = without_thousands_separators(text);
  if (digits.empty()) return {};
  return fmt::format(" (a number with a thousands separator? write {})", digits);
}

}  // namespace

std::string unreached_reason(const Scenario& s, const FieldRef& ref) {
  if (ref.spec->set != set_actor_weight) return {};
  const Actor& a = s.actors[static_cast<std::size_t>(ref.index[0])];
  const auto bit = 1u << ref.index[1];
  const bool every =
      std::all_of(a.types.begin(), a.types.end(), [&](const ResolveType& t) { return t.own_weights & bit; });
  if (a.types.empty() || !every) return {};
  std::vector<std::string> names;
  for (const ResolveType& t : a.types) names.push_back(t.name);
  const std::string_view key = feature_names()[static_cast<std::size_t>(ref.index[1])];
  return fmt::format(
      "reaches no replication: every type of {} ({}) gives its own '{}', which the actor's weight does not replace; "
      "vary the types' weights instead (actors.{}.types.TYPE.weights.{})",
      a.id, fmt::join(names, ", "), key, a.id, key);
}

namespace {

// The action kinds whose value of a feature can be nonzero (docs/model.md,
// "The eight features"); empty: every kind (cost, escalation, impatience).
std::vector<ActionKind> kinds_with_feature(int feature) {
  using enum ActionKind;
  switch (feature) {
    case kSecurity:
      return {kMobilize, kRaiseReadiness, kDeploy, kWithdraw};
    case kIssueGain:
    case kSettlement:
      return {kPropose, kConcede};
    case kWarGain:
      return {kAttack};
    case kCredibility:
      return {kAttack, kRetaliate};
    default:
      return {};
  }
}

bool has_kind(const Actor& a, std::span<const ActionKind> kinds) {
  return std::any_of(a.actions.begin(), a.actions.end(),
                     [&](const ActionSpec& x) { return std::find(kinds.begin(), kinds.end(), x.kind) != kinds.end(); });
}

// A weight of a feature that no action of the actor's menu can have.
std::string inert_weight_reason(const Actor& a, int feature) {
  const std::vector<ActionKind> kinds = kinds_with_feature(feature);
  if (kinds.empty() || has_kind(a, kinds)) return {};
  std::vector<std::string_view> names;
  for (ActionKind k : kinds) names.push_back(to_string(k));
  return fmt::format(
      "changes nothing as the file reads: only {} actions give the '{}' feature a value (docs/model.md, 'Utility'), "
      "and {}'s menu has none",
      join_names(names), feature_names()[static_cast<std::size_t>(feature)], a.id);
}

// A war cost of an actor whose war values nothing computes.
std::string inert_war_cost_reason(const Scenario& s, int actor) {
  const Actor& a = s.actors[static_cast<std::size_t>(actor)];
  const bool forecast = a.decision.war_forecast && has_kind(a, std::array{ActionKind::kAttack});
  const bool bargains = s.bargaining.enabled() && (s.bargaining.proposer == actor || s.bargaining.receiver == actor);
  if (forecast || bargains) return {};
  return fmt::format(
      "changes nothing as the file reads: war costs enter only the war value of a war-forecast attack "
      "(decision.war_forecast: true and an attack action) and of the bargaining pair, and {} has {}",
      a.id,
      a.decision.war_forecast ? "war_forecast but no attack action and is in no bargaining pair"
                              : "neither war_forecast nor a place in a bargaining pair");
}

bool is_war_cost(const FieldSpec& f) {
  return (f.section == "actors.*.decision" &&
          (f.key == "war_cost" || f.key == "war_cost_spread" || f.key == "casualty_cost")) ||
         (f.section == "actors.*.types.*" && f.key == "war_cost");
}

}  // namespace

std::string inert_reason(const Scenario& s, const FieldRef& ref) {
  if (!unreached_reason(s, ref).empty()) return {};
  const FieldSpec& f = *ref.spec;
  if (f.set == set_actor_weight || f.set == set_type_weight)
    return inert_weight_reason(s.actors[static_cast<std::size_t>(ref.index[0])],
                               f.set == set_actor_weight ? ref.index[1] : ref.index[2]);
  if (is_war_cost(f)) return inert_war_cost_reason(s, ref.index[0]);
  return {};
}

std::string commitment_note(const Scenario& s, const FieldRef& ref) {
  if (ref.spec->section != "relations.commitments.*" || ref.spec->key != "strength") return {};
  const Commitment& c = s.relations.commitments[static_cast<std::size_t>(ref.index[0])];
  const Actor& from = s.actors[static_cast<std::size_t>(c.from)];
  const Forces& f = from.forces;
  const bool reinforced = std::any_of(s.events.begin(), s.events.end(), [&](const Event& e) {
    return e.actor == c.from && e.kind == EventKind::kReinforce;
  });
  if (f.deployed != 0.0 || f.ready != 0.0 || f.reserve != 0.0 || reinforced) return {};
  const std::string& to = s.actors[static_cast<std::size_t>(c.to)].id;
  return fmt::format(
      "{} has no troops (forces.deployed, ready and reserve 0, no reinforce event), so its commitment to {} "
      "deters no attacker: the attacker's credibility and war_gain terms and the war forecast count a protector "
      "by its forces; below 0.5 it acts only through {}'s own retaliate action{}; at 0.5 or more {}, if neutral, "
      "joins the defenders of every war started against {}, bringing no troops, and the war becomes an "
      "alliance_war (docs/model.md, 'The escalation ladder')",
      from.id, to, from.id, has_kind(from, std::array{ActionKind::kRetaliate}) ? "" : " (it has none)", from.id, to);
}

namespace {

// Calls emit(spec, index, path) for every field of one section element.
template <typename Emit>
void emit_section(const Scenario& s, std::string_view section, const std::string& path, FieldIndex index, Emit& emit) {
  for (const FieldSpec& f : kFields) {
    if (f.section != section) continue;
    if (f.applies && !f.applies(s, index)) continue;
    if (f.key != "*") {
      emit(f, index, path + "." + std::string(f.key));
      continue;
    }
    // Data-named keys fill the first free index slot.
    const auto slot = static_cast<std::size_t>(std::find(index.begin(), index.end(), -1) - index.begin());
    FieldIndex at = index;
    if (section.ends_with(".weights")) {
      for (int k = 0; k < kFeatureCount; ++k) {
        at[slot] = k;
        emit(f, at, path + "." + std::string(feature_names()[k]));
      }
    } else if (section.starts_with("negotiation.issues")) {
      for (int a = 0; a < s.actor_count(); ++a) {
        at[slot] = a;
        emit(f, at, path + "." + s.actors[a].id);
      }
    } else if (section == "events.*") {
      emit(f, index, path + "." + std::string(to_string(s.events[index[0]].kind)));
    }
  }
}

// Every field of a scenario in file order (the order of its sections in a
// scenario file and of the elements within them).
template <typename Emit>
void for_each_field(const Scenario& s, Emit emit) {
  emit_section(s, "run", "run", {-1, -1, -1}, emit);
  emit_section(s, "run.replications", "run.replications", {-1, -1, -1}, emit);
  emit_section(s, "output", "output", {-1, -1, -1}, emit);
  emit_section(s, "escalation.tension", "escalation.tension", {-1, -1, -1}, emit);
  emit_section(s, "escalation.incidents", "escalation.incidents", {-1, -1, -1}, emit);
  for (int a = 0; a < s.actor_count(); ++a) {
    const Actor& actor = s.actors[a];
    const std::string ap = "actors." + actor.id;
    for (const char* part : {"forces", "posture", "combat", "decision", "decision.weights"})
      emit_section(s, std::string("actors.*.") + part, ap + "." + part, {a, -1, -1}, emit);
    for (int t = 0; t < static_cast<int>(actor.types.size()); ++t) {
      if (actor.types[t].implied) continue;
      const std::string tp = ap + ".types." + actor.types[t].name;
      emit_section(s, "actors.*.types.*", tp, {a, t, -1}, emit);
      emit_section(s, "actors.*.types.*.weights", tp + ".weights", {a, t, -1}, emit);
    }
    for (int x = 0; x < static_cast<int>(actor.actions.size()); ++x)
      if (!actor.actions[x].implied)
        emit_section(s, "actors.*.actions.*", ap + ".actions." + actor.actions[x].name, {a, x, -1}, emit);
  }
  for (int c = 0; c < static_cast<int>(s.relations.commitments.size()); ++c)
    emit_section(s, "relations.commitments.*", fmt::format("relations.commitments.{}", c), {c, -1, -1}, emit);
  emit_section(s, "combat", "combat", {-1, -1, -1}, emit);
  emit_section(s, "negotiation", "negotiation", {-1, -1, -1}, emit);
  for (int k = 0; k < static_cast<int>(s.negotiation.issues.size()); ++k) {
    const std::string ip = "negotiation.issues." + s.negotiation.issues[k].id;
    emit_section(s, "negotiation.issues.*", ip, {k, -1, -1}, emit);
    emit_section(s, "negotiation.issues.*.positions", ip + ".positions", {k, -1, -1}, emit);
    emit_section(s, "negotiation.issues.*.salience", ip + ".salience", {k, -1, -1}, emit);
  }
  emit_section(s, "bargaining", "bargaining", {-1, -1, -1}, emit);
  for (int e = 0; e < static_cast<int>(s.events.size()); ++e)
    emit_section(s, "events.*", fmt::format("events.{}", e), {e, -1, -1}, emit);
}

}  // namespace

std::span<const FieldSpec> field_table() { return kFields; }

const FieldSpec& field_row(std::string_view pattern) {
  for (const FieldSpec& f : kFields)
    if (f.pattern() == pattern) return f;
  throw std::logic_error(fmt::format("the field table has no row '{}'", pattern));
}

std::string_view udunits_of_unit(std::string_view unit) {
  for (const FieldSpec& f : kFields)
    if (f.unit == unit) return f.udunits;
  return "1";
}

bool shares_blocks_exactly(const FieldSpec& spec) { return spec.per_lane && !spec.section.ends_with(".weights"); }

std::vector<const FieldSpec*> section_fields(std::string_view section) {
  std::vector<const FieldSpec*> out;
  for (const FieldSpec& f : kFields)
    if (f.section == section) out.push_back(&f);
  return out;
}

bool is_run_setting(std::string_view path) { return path.starts_with("run.") || path.starts_with("output."); }

FieldRegistry::FieldRegistry(const Scenario& scenario) {
  for_each_field(scenario, [&](const FieldSpec& f, FieldIndex index, std::string path) {
    const bool numeric = f.kind == FieldKind::kNumber || f.kind == FieldKind::kInteger;
    parameters_.push_back({std::move(path), numeric ? f.min : 0.0, numeric ? f.max : 0.0, f.kind == FieldKind::kInteger,
                           numeric ? std::string(f.unit) : std::string(), numeric, f.choices});
    refs_.push_back({&f, index});
  });
  by_path_.reserve(parameters_.size());
  for (std::size_t i = 0; i < parameters_.size(); ++i) by_path_.emplace(parameters_[i].path, i);
}

const FieldRef* FieldRegistry::find(std::string_view path) const {
  const auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : &refs_[it->second];
}

std::string field_value_from_text(const FieldSpec& spec, const std::string& text, double* value) {
  if (spec.kind == FieldKind::kBoolean || spec.kind == FieldKind::kChoice) {
    const auto it = std::find(spec.choices.begin(), spec.choices.end(), text);
    if (it == spec.choices.end())
      return spec.kind == FieldKind::kBoolean ? "must be true or false"
                                              : fmt::format("must be {}", join_names(spec.choices));
    *value = static_cast<double>(it - spec.choices.begin());
    return {};
  }
  const std::string cleaned = without_digit_separators(text).value_or("");
  const char* first = cleaned.data();
  const char* last = cleaned.data() + cleaned.size();
  if (first != last && *first == '+') ++first;
  const auto [end, ec] = std::from_chars(first, last, *value);
  if (ec == std::errc::result_out_of_range && end == last) {
    // Out of a double's range: too close to 0 (1e-400) reads as 0 elsewhere, too large as infinity.
    const bool tiny = std::abs(std::strtod(cleaned.c_str(), nullptr)) < 1.0;
    return tiny ? std::string(kCloserToZeroThanADouble)
                : fmt::format("must be a finite number{} (this one is beyond a double's range, about 1.8e308)",
                              spec.unit.empty() ? std::string() : fmt::format(" [{}]", spec.unit));
  }
  if (cleaned.empty() || ec != std::errc() || end != last || !std::isfinite(*value))
    return fmt::format("must be a finite number{}{}",
                       spec.unit.empty() ? std::string() : fmt::format(" [{}]", spec.unit), number_hint(text));
  return {};
}

std::string field_value_problem(const FieldSpec& spec, const std::string& path, double value,
                                std::string_view as_written) {
  if (spec.kind == FieldKind::kBoolean || spec.kind == FieldKind::kChoice) {
    if (value != std::floor(value) || value < 0 || value >= static_cast<double>(spec.choices.size()))
      return fmt::format("'{}' must be {}", path, join_names(spec.choices));
    return {};
  }
  // Formatted only for a message: validating a point's scenario checks every field.
  auto shown = [&] { return as_written.empty() ? fmt::format("{}", value) : std::string(as_written); };
  if (!std::isfinite(value)) return fmt::format("'{}' must be a finite number, got {}", path, shown());
  if (spec.kind == FieldKind::kInteger && value != std::floor(value))
    return fmt::format("'{}' must be a whole number, got '{}'", path, shown());
  if (value < spec.min || value > spec.max)
    return fmt::format("'{}' must be in [{}, {}]{}, got {}", path, spec.min, spec.max,
                       spec.unit.empty() ? std::string() : fmt::format(" {}", spec.unit), shown());
  return {};
}

void derive_type_weights(Scenario& scenario) {
  for (Actor& a : scenario.actors)
    for (ResolveType& t : a.types)
      for (int k = 0; k < kFeatureCount; ++k)
        if (!((t.own_weights >> k) & 1u)) t.weights[k] = a.decision.weights[k];
}

std::vector<Problem> validate(const Scenario& scenario, std::span<const std::string> swept) {
  std::vector<Problem> problems;
  for (const Rule& rule : validation_rules())
    if (rule.inputs.empty()) rule.check(scenario, &problems);
  if (!problems.empty()) return problems;  // field paths need a sound structure
  for_each_field(scenario, [&](const FieldSpec& f, FieldIndex index, const std::string& path) {
    if (std::string problem = field_value_problem(f, path, f.get(scenario, index)); !problem.empty())
      problems.push_back({{path}, std::move(problem)});
  });
  std::vector<Problem> rules = validate_values(scenario, swept);
  problems.insert(problems.end(), rules.begin(), rules.end());
  return problems;
}

std::vector<Problem> validate_values(const Scenario& scenario, std::span<const std::string> swept) {
  std::vector<Problem> problems;
  for (const Rule& rule : validation_rules())
    if (!rule.inputs.empty()) rule.check(scenario, &problems);
  std::erase_if(problems, [&](const Problem& p) {
    return std::any_of(p.paths.begin(), p.paths.end(), [&](const std::string& path) {
      return std::find(swept.begin(), swept.end(), path) != swept.end();
    });
  });
  return problems;
}

std::vector<Problem> validate_partly_read(const Scenario& scenario, std::span<const std::string> swept) {
  std::vector<Problem> problems = validate_values(scenario, swept);
  for (const Rule& rule : validation_rules())
    if (rule.names_only) rule.check(scenario, &problems);
  return problems;
}

}  // namespace brink
