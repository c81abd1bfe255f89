// War values from the model's own combat forecast (docs/model.md, "Bargaining
// and war", "War values from the combat forecast"): the closed-form Lanchester
// outcome of the forces each side can bring, turned into the probability of
// prevailing, expected losses and the war's duration. Per-lane rules in the
// style of rules.hpp, used by the vectorized kernel (war_value.cpp,
// bargaining.cpp) and by the scalar twin.
#pragma once

#include <cmath>

#include "brink/model/model.hpp"
#include "brink/model/rules.hpp"

namespace brink::rules {

// What the decider expects of a war between side A (its own) and side B.
struct WarForecast {
  double prevail = 0.5;   // p: probability that side A prevails
  double loss_a = 0.0;    // expected share of A's forces lost
  double loss_b = 0.0;    // expected share of B's forces lost
  double duration = 0.0;  // τ: days until the losing side collapses (capped at the horizon)
};

// How actor j enters the forecast of i attacking t: on the attacking side,
// on the defending side, as a protector of t weighted by its commitment
// (written to *commitment) times its believed resolve, or not at all. The
// deterrence terms of an attack without the forecast count the same protectors.
inline constexpr int kOutside = 0, kAttackingSide = 1, kDefendingSide = 2, kProtector = 3;
inline int forecast_side(const Model& model, int i, int t, int j, double* commitment) {
  const Scenario& sc = model.scenario();
  *commitment = 0.0;
  if (j == i || sc.relations.ally[i][j]) return kAttackingSide;
  if (j == t || sc.relations.ally[t][j]) return kDefendingSide;
  *commitment = model.commitment(j, t);
  return *commitment > 0.0 ? kProtector : kOutside;
}

// The duration of a square-law war won by the side with strength ratio k =
// sqrt(Φ) >= 1 until the loser falls to `chi` of its start: the root of
// cosh u − k sinh u = χ, written so that it is stable at k = 1.
inline double square_collapse_time(double k, double chi, double gamma) {
  const double u = std::log((k + 1.0) / (std::sqrt(chi * chi + k * k - 1.0) + chi));
  return gamma > 0.0 ? u / gamma : INFINITY;
}

// The duration of a linear-law war: the loser (strength y0, kill rate on it
// `rate`) falls to `chi` of its start; `margin` = winner's α·x0 − loser's β·y0 >= 0.
// A loser that cannot kill (rate 0) decays as e^(−margin·t): ln(1/χ)/margin.
// τ = ln(1 + margin·(1 − χ)/(χ·(margin + rate·y0)))/margin, by log1p: the
// ratio inside the log is 1 plus rounding near parity, where ln of it lost
// every digit (τ 139 days against the limit's 117 in an outside review).
inline double linear_collapse_time(double margin, double rate, double y0, double chi) {
  if (rate < 0.0 || y0 <= 0.0 || (rate == 0.0 && margin <= 0.0)) return INFINITY;
  if (margin <= 0.0) return (1.0 / chi - 1.0) / (rate * y0);
  return std::log1p(margin * (1.0 - chi) / (chi * (margin + rate * y0))) / margin;
}

// Φ = n/d, side A's fighting strength over side B's, from the side
// strengths and summed kill rates (α = Σ e·m·F / a): αa²/(βb²) = (Σα)·a /
// ((Σβ)·b) under the square law, α/β under the linear law. A side that
// cannot kill (a zero kill rate against a positive one) cannot win: Φ = 0 or
// ∞, the limit as its rate goes to 0. Without any kill rate, by numbers
// alone, (a/b)² or a/b. A ratio, so that p needs one division, not the six
// of forming α, β and Φ.
struct StrengthRatio {
  double n, d;
};
inline StrengthRatio strength_ratio(double a0, double b0, double alpha_sum, double beta_sum, bool square) {
  const double a = lmax(a0, 1e-9), b = lmax(b0, 1e-9);
  if (alpha_sum > 0.0 || beta_sum > 0.0)
    return square ? StrengthRatio{alpha_sum * a, beta_sum * b} : StrengthRatio{alpha_sum, beta_sum};
  return square ? StrengthRatio{a * a, b * b} : StrengthRatio{a, b};
}

// p = 1/(1 + Φ^(−1/σ)): at σ = 1 (the default) the fighting-strength share
// n/(n + d), without a pow per lane.
inline double prevail_probability(double a0, double b0, double alpha_sum, double beta_sum, bool square, double spread) {
  const StrengthRatio r = strength_ratio(a0, b0, alpha_sum, beta_sum, square);
  return spread == 1.0 ? r.n / (r.n + r.d) : 1.0 / (1.0 + std::pow(r.d / r.n, 1.0 / spread));
}

// The forecast from side strengths a0, b0 and their summed kill rates
// (Σ e·m·F, and Σ w·e·m·d·F for the defenders); `intensity` scales only the
// duration; `spread` is σ of p = 1/(1 + Φ^(−1/σ)).
inline WarForecast war_forecast(double a0, double b0, double alpha_sum, double beta_sum, bool square, double chi,
                                double intensity, double horizon, double spread) {
  WarForecast f;
  const double a = lmax(a0, 1e-9), b = lmax(b0, 1e-9);
  const double alpha = alpha_sum / a, beta = beta_sum / b;
  const bool rates = alpha_sum > 0.0 && beta_sum > 0.0;
  const bool one_sided = (alpha_sum > 0.0) != (beta_sum > 0.0);  // only the winner kills
  const StrengthRatio r = strength_ratio(a0, b0, alpha_sum, beta_sum, square);
  const double phi = r.n / r.d;
  f.prevail = prevail_probability(a0, b0, alpha_sum, beta_sum, square, spread);
  const bool a_wins = phi >= 1.0;
  double win_a = chi, win_b = chi, tau = INFINITY;
  if (square) {
    const double k = std::sqrt(a_wins ? phi : 1.0 / phi);
    (a_wins ? win_a : win_b) = std::sqrt(lmax(0.0, 1.0 - (1.0 - chi * chi) / (k * k)));
    if (rates && std::isfinite(k)) tau = square_collapse_time(k, chi, intensity * std::sqrt(alpha * beta));
    // One-sided fire at a constant rate: the loser falls linearly, (1 − χ) of its start.
    if (one_sided) tau = (1.0 - chi) * (a_wins ? b : a) / (intensity * (a_wins ? alpha_sum : beta_sum));
  } else {
    (a_wins ? win_a : win_b) = 1.0 - (1.0 - chi) * (a_wins ? 1.0 / phi : phi);
    if (rates || one_sided)
      tau = a_wins ? linear_collapse_time(intensity * (alpha * a - beta * b), intensity * beta, b, chi)
                   : linear_collapse_time(intensity * (beta * b - alpha * a), intensity * alpha, a, chi);
  }
  f.loss_a = f.prevail * (1.0 - win_a) + (1.0 - f.prevail) * (1.0 - chi);
  f.loss_b = (1.0 - f.prevail) * (1.0 - win_b) + f.prevail * (1.0 - chi);
  f.duration = std::isfinite(tau) && tau >= 0.0 ? lmin(tau, horizon) : horizon;
  return f;
}

// δ^τ: the prize of a war is held only once it is over.
inline double war_discount(double discount, double duration) { return std::exp(duration * std::log(discount)); }

// W = δ^τ·(share of the stake won) − private cost − κ·expected losses.
inline double war_value(double discount_factor, double prevail, double cost, double casualty_cost, double loss) {
  return discount_factor * prevail - cost - casualty_cost * loss;
}

// The private war cost c_i = c̄_i + h_i(2u − 1), uniform on [c̄_i − h_i, c̄_i + h_i].
inline double private_war_cost(double mean, double spread, double u) { return mean + spread * (2.0 * u - 1.0); }

// The war cost an actor of lane cost `lane_cost` (its own type's share
// `own_share` included) would have as type k of share `type_share`: what
// observers' Bayes' rule prices type k's attacks with. The own type's is the
// lane's cost itself, bit for bit, so one logit per type still serves the
// lane's own choice.
inline double cost_as_type(double lane_cost, double own_share, double type_share, bool own_type) {
  return own_type ? lane_cost : lane_cost - own_share + type_share;
}

}  // namespace brink::rules
