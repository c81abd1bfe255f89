// Bargaining from beliefs (docs/model.md, "Bargaining and war"; Fearon 1995):
// the proposer's optimal demand against a receiver whose war cost it believes
// uniform on [low, high], the receiver's acceptance, and the screening update
// a rejection makes. Per-lane rules in the style of rules.hpp, used by the
// vectorized kernel (bargaining.cpp) and the scalar twin.
#pragma once

#include <cmath>
#include <vector>

#include "brink/model/rules.hpp"
#include "brink/model/war_value.hpp"

namespace brink::rules {

// Ties are accepted: under complete information the optimal demand leaves the
// receiver exactly indifferent, and rounding must not start a war.
inline constexpr double kAcceptTolerance = 1e-12;

// The offer round of step s (offers on days first + n·interval, n < rounds,
// each in the step event_step of its day), or -1. interval >= dt (validated),
// so at most one offer falls in a step.
inline int offer_round(int s, double dt, const Bargaining& b) {
  const double n0 = std::floor((s * dt - b.first_day) / b.interval_days);
  for (double n = n0 - 1.0; n <= n0 + 1.0; n += 1.0) {
    if (n < 0.0 || n >= static_cast<double>(b.rounds)) continue;
    if (event_step(b.first_day + n * b.interval_days, dt) == s) return static_cast<int>(n);
  }
  return -1;
}

// The scheduled power shift (docs/model.md, "Commitment problem"). It comes in
// the step event_step of its day, before that step's offer, so an offer in
// its step is made at the shifted balance; only a shift of a later step is
// still ahead of an offer.
inline bool shifts_in(int s, double dt, const Bargaining& b) {
  return b.shift_growth > 0.0 && event_step(b.shift_day, dt) == s;
}
// The days from step s's offer to a shift still ahead of it, which comes at
// the start of its step (shifts_in), not on its nominal day; 0 for none.
inline double days_to_shift(int s, double dt, const Bargaining& b) {
  const int shift_step = event_step(b.shift_day, dt);
  if (b.shift_growth <= 0.0 || shift_step <= s) return 0.0;
  return (shift_step - s) * dt;
}

// Whether offers to the receiver are made from the public belief over its types
// (discrete_demand) rather than from the uniform interval: it has several types
// and they carry war costs of their own (docs/model.md, "Costly signals").
inline bool priced_by_type(const std::vector<ResolveType>& types) {
  if (types.size() < 2) return false;
  for (const ResolveType& t : types)
    if (t.war_cost != 0.0) return true;
  return false;
}

// The public prior interval [low, high] about the receiver's war cost: its mean
// ± its spread, shifted by its type's share when it has one type only (then its
// type, and that share, are known to all); under revealed types, the cost it
// drew. Several types that differ in war cost are priced by belief instead.
struct CostInterval {
  double low, high;
};
inline CostInterval public_cost_prior(const Decision& receiver, const std::vector<ResolveType>& types, bool revealed,
                                      double drawn_cost) {
  if (revealed && receiver.war_cost_spread > 0.0) return {drawn_cost, drawn_cost};
  const double mean = receiver.war_cost + (types.size() == 1 ? types[0].war_cost : 0.0);
  return {mean - receiver.war_cost_spread, mean + receiver.war_cost_spread};
}

// x0: the proposer's share that leaves a receiver with zero private cost
// indifferent between the offer and war (1 − the public part of its war value).
inline double reservation_share(double receiver_public_value) { return 1.0 - receiver_public_value; }

// x* = argmax P(c_B >= x − x0)·x + (1 − P)·W_A over x in [0, 1], c_B ~ U[low, high]:
// the top of the parabola at y = (high − C)/2, C = x0 − W_A, clipped to the
// belief's support (outside it the objective is monotone) and to the stake.
inline double optimal_demand(double x0, double proposer_war_value, double low, double high) {
  const double y = lmin(lmax(0.5 * (high - (x0 - proposer_war_value)), low), high);
  return lmin(1.0, lmax(0.0, x0 + y));
}

// The receiver's margin: what it keeps under the offer minus its war value.
inline double acceptance_margin(double offer, double receiver_war_value) { return (1.0 - offer) - receiver_war_value; }

// Best response (noise 0, ties accepted) or logit acceptance with scale `noise`, drawn with u.
inline bool accepts(double margin, double noise, double u) {
  return noise > 0.0 ? u * (1.0 + std::exp(-margin / noise)) < 1.0 : margin >= -kAcceptTolerance;
}

// Screening: a rejection of `offer` reveals c_B < offer − x0; the uniform
// belief is truncated there (kept inside its support).
inline double screened_high(double offer, double x0, double low, double high) {
  return lmin(lmax(offer - x0, low), high);
}

// Offers to a receiver whose discrete types carry war costs c_k (believed
// with b_k): the best demand is one of the reservation shares x0 + c_k of the
// types believed possible (b_k > 0), each accepted by the types at least that
// costly (Fearon 1995 with discrete types). A type believed impossible offers
// no demand: its share would be accepted by no type it adds, so a prior of 0
// changes nothing (whether war beats every demand is no_bargaining_range's,
// at highest_believed_cost).
struct Demand {
  double offer = 0.0;
  double value = 0.0;  // the proposer's expected value of it
};
inline Demand discrete_demand(double x0, double proposer_war_value, const double* cost, const double* belief,
                              int types) {
  Demand best{0.0, -1e300};
  for (int k = 0; k < types; ++k) {
    if (!(belief[k] > 0.0)) continue;
    const double x = lmin(1.0, lmax(0.0, x0 + cost[k]));
    double accept = 0.0;
    for (int j = 0; j < types; ++j) accept += cost[j] >= x - x0 - kAcceptTolerance ? belief[j] : 0.0;
    const double value = accept * x + (1.0 - accept) * proposer_war_value;
    // Ties go to the smaller demand, the one more types accept.
    if (value > best.value + 1e-12 || (value > best.value - 1e-12 && x < best.offer)) best = {x, value};
  }
  return best;
}
// The top of the belief's support over discrete types, the counterpart of
// the uniform belief's `high` in no_bargaining_range: the highest cost among
// the types believed possible (b_k > 0; all of them if none is).
inline double highest_believed_cost(const double* cost, const double* belief, int types) {
  double high = -1e300, any = -1e300;
  for (int k = 0; k < types; ++k) {
    any = lmax(any, cost[k]);
    high = belief[k] > 0.0 ? lmax(high, cost[k]) : high;
  }
  return high > -1e300 ? high : any;
}
// Screening over discrete types, Bayes' rule under best responses: the
// answer to x keeps the types that would have given it (a rejection rules
// out every type that would have accepted, an acceptance every type that
// would have refused), renormalized. If no type is left (an answer only
// acceptance noise explains) the belief is kept.
inline void screen_types(double* belief, const double* cost, int types, double offer, double x0, bool accepted) {
  double kept[kMaxTypes], total = 0.0;
  for (int k = 0; k < types; ++k) {
    const bool would_accept = cost[k] >= offer - x0 - kAcceptTolerance;
    kept[k] = would_accept == accepted ? belief[k] : 0.0;
    total += kept[k];
  }
  if (!(total > 0.0)) return;
  for (int k = 0; k < types; ++k) belief[k] = kept[k] / total;
}

// Powell's (2006) commitment problem, in its two-period form (Fearon 1995 on
// preventive war): the proposer, whose position declines at the shift, fights
// now when its war value beats the best peace the rising side can credibly
// promise — the whole stake until the shift, weight 1 − w, then the
// proposer's war value after the shift, weight w = δ^(days to the shift)
// (once stronger, the rising side would renegotiate any better terms). The
// rising side, foreseeing its gain, accepts that whenever war is costly
// (W_A + W_B <= 1). Without a shift (w = 0) it reads W_A > 1: war beats the
// whole stake.
inline bool prefers_preventive_war(double value_now, double value_later, double weight_later) {
  return value_now > (1.0 - weight_later) + weight_later * value_later;
}

// No bargaining range: the most the receiver might accept, its reservation
// share at the highest cost the proposer believes possible (x0 + c_hi, at
// most the whole stake), is worth less to the proposer than war (in Fearon's
// game: the two sides' costs of war sum below zero). Every demand the
// receiver might accept is then worse than war for the proposer, and the
// best demand would be refused for sure, so the proposer fights at once. It
// is decided from the belief's bound, not from that demand's chance of
// acceptance, which rounding leaves just above zero or at zero. One rule for
// both beliefs: c_hi is the uniform belief's `high`, or, over discrete
// types, highest_believed_cost (where every demand x0 + c_k < W_A has an
// expected value below W_A, and x0 + c_hi >= W_A one at least W_A).
inline bool no_bargaining_range(double x0, double proposer_war_value, double high) {
  return lmin(1.0, x0 + high) < proposer_war_value;
}

// Where an accepted offer settles a stake issue: the share x of the way from
// the receiver's starting position to the proposer's.
inline double settled_position(double receiver_start, double proposer_start, double offer) {
  return receiver_start + offer * (proposer_start - receiver_start);
}

}  // namespace brink::rules
