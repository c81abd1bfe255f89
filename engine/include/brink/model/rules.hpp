// The model's per-replication rules, written once for one lane.
//
// Both kernels are built from these functions: the vectorized kernel calls
// them inside loops over a block's lanes (they are inline, branch-free and
// take plain values, so the compiler turns each loop into SIMD code), and the
// scalar twin calls them for one replication at a time. A rule that exists
// here must not be re-derived anywhere else; docs/model.md names them.
//
// Precision (docs/performance.md, "Precision"): troop pools, Lanchester and
// Richardson are double; features, utilities, the logit and beliefs are float.
#pragma once

#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include <vector>

#include "brink/model/lanchester.hpp"
#include "brink/model/model.hpp"
#include "brink/scenario/scenario.hpp"

namespace brink::rules {

// min and max by value (std::min/max return references, which keeps GCC from
// turning lane loops into SIMD selects); same semantics as std::min/max.
template <class T>
inline T lmin(T a, T b) {
  return b < a ? b : a;
}
template <class T>
inline T lmax(T a, T b) {
  return a < b ? b : a;
}

// The natural log of a float: Eigen's vectorized plog_float (Cephes: the
// exponent split off, a degree-8 polynomial on [√½, √2)) one value at a time,
// operation for operation, so that it gives Eigen's bits for every input
// from 1e-37 up (Eigen treats the smallest normals apart) and zero, negative,
// infinite and NaN inputs as it does. Written for one lane so that a loop
// over lanes vectorizes (2.4 times faster than Eigen's log on the AVX-512
// path, where Eigen's exponent extraction is slow) and so that the scalar
// twin computes the kernel's very bits.
[[gnu::always_inline]] inline float log_float(float v) {
  const float x0 = lmax(v, 0x1p-126f);  // the smallest normal
  std::uint32_t bits;
  std::memcpy(&bits, &x0, sizeof bits);
  float e = static_cast<float>(static_cast<std::int32_t>(bits >> 23)) - 126.0f;
  const std::uint32_t mantissa_bits = (bits & 0x807fffffu) | 0x3f000000u;  // the mantissa in [0.5, 1)
  float x;
  std::memcpy(&x, &mantissa_bits, sizeof x);
  const bool below = x < 0.707106781186547524f;  // [√½, √2): x ← 2x, e ← e − 1
  const float tmp = below ? x : 0.0f;
  x = x - 1.0f;
  e = e - (below ? 1.0f : 0.0f);
  x = x + tmp;
  const float x2 = x * x, x3 = x2 * x;
  float y = std::fma(7.0376836292E-2f, x, -1.1514610310E-1f);
  float y1 = std::fma(-1.2420140846E-1f, x, +1.4249322787E-1f);
  float y2 = std::fma(+2.0000714765E-1f, x, -2.4999993993E-1f);
  y = std::fma(y, x, 1.1676998740E-1f);
  y1 = std::fma(y1, x, -1.6668057665E-1f);
  y2 = std::fma(y2, x, +3.3333331174E-1f);
  y = std::fma(y, x3, y1);
  y = std::fma(y, x3, y2);
  y = y * x3;
  y = std::fma(-0.5f, x2, y);
  x = x + y;
  x = std::fma(e, 0.693147180559945309417232121458176568f, x);
  x = v == std::numeric_limits<float>::infinity() ? v : x;
  x = (v < 0.0f) | (v != v) ? std::numeric_limits<float>::quiet_NaN() : x;
  return v == 0.0f ? -std::numeric_limits<float>::infinity() : x;
}

inline constexpr double kTroopEpsilon = 0.5;    // below half a soldier a pool counts as empty
inline constexpr double kSanctionFloor = 0.2;   // sanctions cannot cut effectiveness below this share
inline constexpr double kArmsAidCeiling = 3.0;  // arms aid cannot raise effectiveness above this multiple
inline constexpr double kContactScale = 1e5;    // contact is measured per 100,000 troops
// Logit weights below e^kLogitFloor are exactly 0 (float exp underflows near -87.3;
// a hard floor keeps λ → ∞ an exact best response and infeasible actions impossible).
inline constexpr float kLogitFloor = -80.0f;

// ---- Amounts: the troops an action moves (the same number for its utility and its effect).

// mobilize (rate-limited) and raise_readiness (limited only by its amount): reserve -> ready.
inline double mobilize_amount(double reserve, double amount, double rate_cap) {
  return lmin(reserve, lmin(amount, rate_cap));
}
// deploy: ready -> deployed, within the step's transport budget and the theatre cap.
inline double deploy_amount(double ready, double deployed, double amount, double rate_dt, double cap) {
  return lmax(0.0, lmin(lmin(ready, lmin(amount, rate_dt)), cap - deployed));
}
// withdraw: deployed -> ready, within the transport budget.
inline double withdraw_amount(double deployed, double amount, double rate_dt) {
  return lmin(deployed, lmin(amount, rate_dt));
}
// A troop move is possible only if it moves at least half a soldier.
inline bool moves_troops(double moved) { return moved > kTroopEpsilon; }

// Whether an action kind is feasible wherever the lane runs (docs/model.md,
// "Feasibility"): the kinds whose feature computation sets no condition.
inline bool always_feasible(ActionKind kind) {
  return kind == ActionKind::kHold || kind == ActionKind::kExercise || kind == ActionKind::kEvacuate;
}

// ---- Events: the troops a scheduled event moves (docs/model.md, "1. Events").
// Unbounded by rates; a deploy fills the theatre up to its cap.
inline double event_deploy_amount(double ready, double deployed, double cap, double troops) {
  return lmin(lmax(lmin(ready, cap - deployed), 0.0), troops);
}
// withdraw (deployed), mobilize (reserve) and demobilize (ready) take what the pool holds.
inline double event_draw_amount(double pool, double troops) { return lmin(pool, troops); }

// ---- Feature terms (float): see docs/model.md, "Utility".

// Tension after a change (an action's tension, negative for a calming one; an agreement's relief): never below 0.
inline double tension_after(double tension, double change) { return lmax(0.0, tension + change); }

// Escalation of an action: its tension plus the rungs it climbs.
inline float escalation_of(float action_tension, int action_rung, int rung) {
  return action_tension + (action_rung >= 0 ? static_cast<float>(lmax(action_rung - rung, 0)) : 0.0f);
}
// The security gain of a troop move: r̂ · ln((Own + Δ)/Own). The common term
// r̂ · ln(Own/Threat) is the same for every action of the actor and cancels in
// the logit, so it is not computed; `log_ratio` is ln((Own + Δ)/Own).
inline float security_of(float threat_resolve, float log_ratio) { return threat_resolve * log_ratio; }

// ---- Utility (docs/model.md, "Utility"): Σ_F w_F F in the order of the
// Feature enum. Features an action does not have enter as 0 with weight 0,
// which adds exactly nothing.
inline float utility(float w_security, float security, float w_cost, float cost, float w_escalation, float escalation,
                     float tension_factor, float w_a, float feature_a, float w_b, float feature_b, float w_impatience,
                     float impatience) {
  float u = w_security * security;
  u += w_cost * cost;
  u += w_escalation * -(escalation * tension_factor);
  u += w_a * feature_a;
  u += w_b * feature_b;
  u += w_impatience * (impatience * escalation);
  return u;
}

// ---- Logit quantal response (McKelvey & Palfrey 1995), one lane.

// exp argument of an action's weight: λ·(U − U_best), floored.
inline float logit_exponent(float utility, float best, float lambda) {
  return lmax((utility - best) * lambda, kLogitFloor - 1.0f);
}
// The unnormalized weight exp(λ·(U − U_best)); exactly 0 for infeasible
// actions and below e^kLogitFloor.
inline constexpr float kWeightFloor = 1.8e-35f;  // about e^-80
inline float logit_weight(float exp_value, bool feasible) {
  return feasible && exp_value > kWeightFloor ? exp_value : 0.0f;
}
// Inverse-CDF sampling: the chosen action is the number of actions whose
// cumulative weight is at most u·Σw (then capped at the last possible action).
// A template, so that a vector of lanes (lane_vector.hpp) takes the same rule.
template <class Lanes>
inline auto passed(Lanes cumulative, Lanes target) {
  return cumulative <= target ? 1 : 0;
}

// ---- Bayes' rule for one type's belief: b_k ← b_k·P_k(a)/Σ_l b_l·P_l(a), kept if the sum is not positive.
inline float posterior(float belief, float likelihood, float evidence) {
  return evidence > 0.0f ? belief * likelihood / evidence : belief;
}

// ---- Effectiveness after sanctions and arms aid.
inline double sanctioned(double effectiveness, double effect) {
  return lmax(kSanctionFloor, effectiveness * (1.0 - effect));
}
inline double armed(double effectiveness, double effect) {
  return lmin(kArmsAidCeiling, effectiveness * (1.0 + effect));
}
inline bool can_sanction(double effectiveness) { return effectiveness > kSanctionFloor + 1e-9; }
inline bool can_arm(double effectiveness) { return effectiveness < kArmsAidCeiling - 1e-9; }

// ---- Negotiation: positions are floats (docs/performance.md, "Precision").
// A step of `concession` scaled by flexibility (1 − salience) toward `target`.
inline float step_size(float concession, float salience) { return concession * (1.0f - salience); }
inline float position_step(float position, float target, float concession, float salience) {
  const float step = step_size(concession, salience);
  return position + lmin(lmax(target - position, -step), step);
}
// An issue is agreed when the parties' positions lie within the window. A
// float position carries a rounding of about 6e-8 per move; the slack lets
// positions that exact arithmetic puts exactly a window apart (0.8 and 0.7
// with the flagship's 0.1) count as agreed after many moves. It is a
// ten-thousandth of the flagship's window.
inline constexpr float kWindowSlack = 1e-5f;
inline bool within_window(float lowest, float highest, float window) {
  return highest - lowest <= window + kWindowSlack;
}

// ---- Posture (Richardson 1960): the desired change of deployed forces over one step.
inline double richardson_drift(double threat, double deployed, double reaction, double fatigue, double grievance,
                               double dt) {
  return dt * (reaction * threat - fatigue * deployed + grievance);
}
inline double richardson_drift(double threat, double deployed, const Posture& p, double dt) {
  return richardson_drift(threat, deployed, p.reaction, p.fatigue, p.grievance, dt);
}
// The drift actually applied: within the transport budget left, ready troops and the cap.
inline double drift_move(double desired, double budget_left, double ready, double deployed, double cap) {
  const double up = lmin(lmin(lmax(desired, 0.0), budget_left), lmin(ready, lmax(cap - deployed, 0.0)));
  const double down = lmin(lmin(lmax(-desired, 0.0), budget_left), deployed);
  return up - down;
}
// After a settlement, deployed forces stand down toward a floor as fast as they can be moved.
inline double drawdown_move(double deployed, double floor, double rate_dt) {
  return lmin(lmax(deployed - floor, 0.0), rate_dt);
}

// ---- Incidents: the contact of two adversaries' deployed forces, per
// kContactScale troops (a product by the constant 1/kContactScale, not a division).
inline double contact_of(double deployed_i, double deployed_j) {
  constexpr double kPerTroop = 1.0 / kContactScale;
  return std::sqrt(deployed_i * deployed_j) * kPerTroop;
}
// An upper bound of contact_of without its square root: the arithmetic mean
// (D_i + D_j)/2 ≥ √(D_i·D_j).
inline double contact_bound_of(double deployed_i, double deployed_j) {
  constexpr double kHalfPerTroop = 0.5 / kContactScale;
  return (deployed_i + deployed_j) * kHalfPerTroop;
}
// The chance of at least one incident in a step of `dt` days.
inline double incident_hazard(double base_rate, double tension_rate, double contact_rate, double tension,
                              double contact) {
  return base_rate + tension_rate * tension + contact_rate * contact;
}
inline double incident_hazard(const Incidents& inc, double tension, double contact) {
  return incident_hazard(inc.base_rate, inc.tension_rate, inc.contact_rate, tension, contact);
}
// Bounds on the computed probability of an incident, 1 − exp(−h) for the
// hazard h of a step: h − h²/2 ≤ 1 − e^−h ≤ h for h ≥ 0, widened by a margin
// far above exp's rounding, so that a draw outside them is decided without exp.
struct Bounds {
  double lower, upper;
};
inline Bounds incident_probability_bounds(double h) {
  constexpr double kRoundingMargin = 1e-12;
  return {h - 0.5 * h * h - kRoundingMargin, h + kRoundingMargin};
}

// ---- Private types: the type a uniform u draws by inverse CDF over the priors
// in file order. Priors may sum to 1 within 1e-6: a u above the cumulative sum
// goes to the last type of positive prior, never to one of prior 0, which
// every observer holds impossible.
inline int draw_type(const std::vector<ResolveType>& types, double u) {
  double cumulative = 0.0;
  int last_possible = 0;
  for (std::size_t k = 0; k < types.size(); ++k) {
    cumulative += types[k].prior;
    if (types[k].prior > 0.0) last_possible = static_cast<int>(k);
    if (u < cumulative) return static_cast<int>(k);
  }
  return last_possible;
}

// ---- Combat (Lanchester 1916): one step of attrition between the sides'
// deployed strengths a, b with mean effectiveness alpha/a, beta/b (sums of
// effectiveness × troops), at full intensity from the full-war rung on.
// The coefficients alpha, beta of the step (scalars, not the scenario, so
// that a loop over lanes storing doubles vectorizes without alias checks).
struct AttritionRates {
  double alpha, beta;
};
inline AttritionRates attrition_rates(int full_war_rung, double limited_war_intensity, double a, double b,
                                      double alpha_sum, double beta_sum, int rung) {
  const double alpha = a > 0.0 ? alpha_sum / a : alpha_sum;
  const double beta = b > 0.0 ? beta_sum / b : beta_sum;
  const double intensity = rung >= full_war_rung ? 1.0 : limited_war_intensity;
  return {intensity * alpha, intensity * beta};
}
inline Strengths attrition(const Scenario& sc, double a, double b, double alpha_sum, double beta_sum, int rung) {
  const AttritionRates q =
      attrition_rates(sc.escalation.full_war_rung, sc.combat.limited_war_intensity, a, b, alpha_sum, beta_sum, rung);
  const double dt = sc.run.dt_days;
  return sc.combat.law == LanchesterLaw::kSquare ? lanchester_square({a, b}, q.alpha, q.beta, dt)
                                                 : lanchester_linear({a, b}, q.alpha, q.beta, dt);
}
// A side collapses below collapse_fraction of its strength when the war started.
inline bool collapsed(const CombatSettings& combat, Strengths after, double start_attacker, double start_defender) {
  return after.a <= combat.collapse_fraction * start_attacker || after.b <= combat.collapse_fraction * start_defender;
}

// ---- Outcomes: the war outcome of a peak rung.
inline Outcome war_outcome(int peak, const Escalation& esc) {
  return peak >= esc.alliance_war_rung ? Outcome::kAllianceWar
         : peak >= esc.full_war_rung   ? Outcome::kFullWar
                                       : Outcome::kLimitedWar;
}
// Whether a lane with this outcome code (-1 while open) can still change: it
// is open, or settled (settled forces keep drawing down).
inline int lane_in_play(int outcome) { return (outcome < 0) | (outcome == static_cast<int>(Outcome::kSettlement)); }

// Who an attack of i on t brings into the war (docs/model.md, "The escalation
// ladder", start_war): the attacker and its allies, the target, and everyone
// bound to defend the target (an ally of it, or a commitment of at least 0.5),
// each only if on no side yet. With no war on this starts one; during a war
// it joins that war (a lane holds one war). Whoever of the two already fights
// fixes the sides: the target and its defenders stay on the target's side,
// or, if the target was neutral, take the side opposite the attacker's (the
// defending one if both were neutral); the attacker and its allies take the
// other. An attack on an actor of one's own side brings no one in. side(j) is
// actor j's side code; join(j, code) puts it on a side, attackers first,
// then the target, then its defenders in index order. Returns whether
// someone bound to defend the target joined (the war touches a covered actor).
template <class Side, class Join>
bool enter_war(const Model& model, int attacker, int target, Side side, Join join) {
  const Relations& relations = model.scenario().relations;
  const int attacker_was = side(attacker), target_was = side(target);
  if (attacker_was != 0 && attacker_was == target_was) return false;
  const int target_side = target_was != 0 ? target_was : attacker_was != 0 ? 3 - attacker_was : 2;
  const int attacker_side = 3 - target_side;
  if (side(attacker) == 0) join(attacker, attacker_side);
  for (int j : model.allies(attacker))
    if (side(j) == 0) join(j, attacker_side);
  if (side(target) == 0) join(target, target_side);
  bool covered = false;
  for (int j = 0; j < model.actors(); ++j)
    if (side(j) == 0 && (relations.ally[j][target] || model.commitment(j, target) >= 0.5)) {
      join(j, target_side);
      covered = true;
    }
  return covered;
}

// join_alliance_war (docs/model.md, "The escalation ladder"): the alliance
// rung brings in every neutral actor tied to the attacking side, in rounds
// until no one moves, each round against the side as it stood when the round
// began, so that the order actors are listed in decides nothing. An adversary
// of an attacker joins the defenders (also when it is an ally of another
// attacker), an ally of an attacker the attackers. side(j) is actor j's side
// code; join(j, code) puts it on a side.
template <class Side, class Join>
void join_alliance_war(const Relations& relations, int actors, Side side, Join join) {
  for (bool moved = true; moved;) {
    moved = false;
    std::bitset<kMaxActors> attacking;
    for (int k = 0; k < actors; ++k) attacking[static_cast<std::size_t>(k)] = side(k) == 1;
    for (int j = 0; j < actors; ++j) {
      if (side(j) != 0) continue;
      bool adversary = false, ally = false;
      for (int k = 0; k < actors; ++k)
        if (attacking[static_cast<std::size_t>(k)]) {
          adversary = adversary || relations.adversary[j][k];
          ally = ally || relations.ally[j][k];
        }
      if (!adversary && !ally) continue;
      join(j, adversary ? 2 : 1);
      moved = true;
    }
  }
}

}  // namespace brink::rules
