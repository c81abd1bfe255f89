// Bargaining from beliefs (docs/model.md, "Bargaining and war"; Fearon 1995):
// the proposer's optimal demand against a receiver whose war cost it believes
// uniform on [low, high], the receiver's acceptance, and the screening update
// a rejection makes. Per-lane rules in the style of rules.hpp, used by the
// vectorized kernel (bargaining.cpp) and the scalar twin.
#pragma once

#include <cmath>
#include <utility>
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

// The receiver's logit acceptance probability 1/(1 + e^(−margin/noise)) at noise > 0, without overflow.
inline double acceptance_probability(double margin, double noise) {
  const double z = margin / noise;
  return z >= 0.0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

// Best response (noise 0, ties accepted) or logit acceptance with scale `noise`, drawn with u.
inline bool accepts(double margin, double noise, double u) {
  return noise > 0.0 ? u < acceptance_probability(margin, noise) : margin >= -kAcceptTolerance;
}

// ln(1 + e^z) without overflow.
inline double softplus(double z) { return lmax(z, 0.0) + std::log1p(std::exp(-std::abs(z))); }

// The proposer's belief about the receiver's war cost: uniform on [low, high]
// (a point when low == high), or discrete types with costs c_k believed with b_k.
struct CostBelief {
  double low = 0.0, high = 0.0;
  const double* cost = nullptr;  // null: the uniform belief
  const double* belief = nullptr;
  int types = 0;
};

// The chance that the receiver accepts demand x at noise > 0 under the
// belief: E[1/(1 + e^(−(x0 + c − x)/noise))]. Over a uniform belief the
// integral of the logistic is a difference of softplus terms.
inline double expected_acceptance(double x, double x0, const CostBelief& b, double noise) {
  if (b.cost != nullptr) {
    double p = 0.0;
    for (int k = 0; k < b.types; ++k) p += b.belief[k] * acceptance_probability(x0 + b.cost[k] - x, noise);
    return p;
  }
  if (!(b.high > b.low)) return acceptance_probability(x0 + b.low - x, noise);
  const double p =
      noise * (softplus((x0 + b.high - x) / noise) - softplus((x0 + b.low - x) / noise)) / (b.high - b.low);
  return lmin(1.0, lmax(0.0, p));
}

// The demand of a proposer that anticipates the receiver's logit noise (as in
// a quantal response equilibrium; McKelvey and Palfrey 1995):
// x* = argmax over x in [0, 1] of W_A + P(x)(x − W_A), P = expected_acceptance.
// P falls smoothly from 1 to 0 around each reservation share x0 + c the
// belief holds possible, so the objective is searched between consecutive
// such shares (and 0, W_A and 1) by golden sections, a fixed number of them
// (the same bits everywhere); over a uniform belief P is log-concave, so the
// objective has one peak above W_A and the search finds it. As noise → 0 the
// demand tends to the best-response one (optimal_demand, discrete_demand), and
// its chance of acceptance to that one's: a proposer blind to the noise would
// leave the indifferent receiver refusing half the time at any noise.
inline double noisy_demand(double x0, double proposer_war_value, const CostBelief& b, double noise) {
  double ends[kMaxTypes + 5];
  int count = 0;
  auto add = [&](double x) { ends[count++] = lmin(1.0, lmax(0.0, x)); };
  add(0.0);
  add(1.0);
  add(proposer_war_value);
  if (b.cost != nullptr) {
    for (int k = 0; k < b.types; ++k)
      if (b.belief[k] > 0.0) add(x0 + b.cost[k]);
  } else {
    add(x0 + b.low);
    add(x0 + b.high);
  }
  for (int e = 1; e < count; ++e)  // insertion sort: a handful of ends
    for (int f = e; f > 0 && ends[f] < ends[f - 1]; --f) std::swap(ends[f], ends[f - 1]);
  auto value = [&](double x) { return (x - proposer_war_value) * expected_acceptance(x, x0, b, noise); };
  double best_x = ends[0], best = value(ends[0]);
  auto consider = [&](double x) {
    const double v = value(x);
    if (v > best) {  // ties keep the smaller demand (ends and peaks are visited in rising order)
      best = v;
      best_x = x;
    }
  };
  constexpr double kGolden = 0.6180339887498949;
  constexpr int kSections = 80;  // 0.618^80 < 1e-16 of a stake
  for (int e = 0; e + 1 < count; ++e) {
    double lo = ends[e], hi = ends[e + 1];
    if (!(hi > lo)) continue;
    double a = hi - kGolden * (hi - lo), c = lo + kGolden * (hi - lo);
    double va = value(a), vc = value(c);
    for (int it = 0; it < kSections; ++it) {
      if (va >= vc) {
        hi = c;
        c = a;
        vc = va;
        a = hi - kGolden * (hi - lo);
        va = value(a);
      } else {
        lo = a;
        a = c;
        va = vc;
        c = lo + kGolden * (hi - lo);
        vc = value(c);
      }
    }
    consider(va >= vc ? a : c);
    consider(ends[e + 1]);
  }
  return best_x;
}

// Screening: under best responses a rejection of `offer` reveals
// c_B < offer − x0, and the uniform belief is truncated there (kept inside its
// support). A noisy rejection reveals no bound: the belief is kept (the
// validation refuses later rounds there, whose belief would not be uniform).
inline double screened_high(double offer, double x0, double low, double high, double noise) {
  return noise > 0.0 ? high : lmin(lmax(offer - x0, low), high);
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
// Screening over discrete types, Bayes' rule on the answer: under best
// responses (noise 0) the answer to x keeps the types that would have given it
// (a rejection rules out every type that would have accepted, an acceptance
// every type that would have refused), renormalized; under logit noise each
// type's belief is weighted by its chance of giving the answer, so no type is
// ruled out. If no type is left the belief is kept.
inline void screen_types(double* belief, const double* cost, int types, double offer, double x0, bool accepted,
                         double noise) {
  double kept[kMaxTypes], total = 0.0;
  for (int k = 0; k < types; ++k) {
    const double margin = x0 + cost[k] - offer;
    const double likelihood = noise > 0.0 ? acceptance_probability(accepted ? margin : -margin, noise)
                              : (margin >= -kAcceptTolerance) == accepted ? 1.0
                                                                          : 0.0;
    kept[k] = belief[k] * likelihood;
    total += kept[k];
  }
  if (!(total > 0.0)) return;
  for (int k = 0; k < types; ++k) belief[k] = kept[k] / total;
}

// The proposer's demand from its belief (noisy_demand when it anticipates
// acceptance noise, else optimal_demand or, over discrete types,
// discrete_demand), and the highest cost the belief holds possible (the top
// no_bargaining_range reads).
struct Proposal {
  double offer = 0.0;
  double top = 0.0;
};
inline Proposal proposal(double x0, double proposer_war_value, const CostBelief& b, double noise) {
  const bool by_type = b.cost != nullptr;
  const double top = by_type ? highest_believed_cost(b.cost, b.belief, b.types) : b.high;
  if (noise > 0.0) return {noisy_demand(x0, proposer_war_value, b, noise), top};
  if (by_type) return {discrete_demand(x0, proposer_war_value, b.cost, b.belief, b.types).offer, top};
  return {optimal_demand(x0, proposer_war_value, b.low, b.high), top};
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
