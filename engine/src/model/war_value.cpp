// War values from the combat forecast, over a block's lanes (docs/model.md,
// "War values from the combat forecast"). The side sums are column loops over
// actors; the forecast itself is rules::war_forecast per lane.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/scalar_twin.hpp"
#include "brink/model/war_value.hpp"

namespace brink {

// The forecast of actor i attacking t in every lane: forces F_j = D_j + ω_i R_j,
// protectors weighted by commitment × believed resolve, kill rates with
// sanctions/arms aid (m_j) and, for the defenders, the defence advantage.
void BlockSimulator::forecast(int i, int t, double intensity, double* prevail, double* loss_a, double* loss_b,
                              double* duration, double growth) {
  const int width = pass_width();
  const BlockState& st = state_;
  const int n = model_.actors();
  const double omega = sc_.actors[i].decision.ready_weight;
  alignas(64) double a0[L], b0[L], alpha[L], beta[L], weight[L];
  std::fill(a0, a0 + width, 0.0);
  std::fill(b0, b0 + width, 0.0);
  std::fill(alpha, alpha + width, 0.0);
  std::fill(beta, beta + width, 0.0);
  for (int j = 0; j < n; ++j) {
    double commitment = 0.0;
    const int side = rules::forecast_side(model_, i, t, j, &commitment);
    if (side == rules::kOutside) continue;
    std::fill(weight, weight + width, side == rules::kProtector ? 0.0 : 1.0);
    if (side == rules::kProtector) {  // a protector counts by commitment × believed resolve
      const auto& types = sc_.actors[j].types;
      for (std::size_t k = 0; k < types.size(); ++k) {
        const double r = commitment * types[k].resolve;
        const float* b = st.belief.col(j * kMaxTypes + static_cast<int>(k)).data();
        for (int l = 0; l < width; ++l) weight[l] += r * static_cast<double>(b[l]);
      }
    }
    const double* d = st.deployed.col(j).data();
    const double* r = st.ready.col(j).data();
    const double* m = st.effectiveness.col(j).data();
    const double* e = scratch_->lane_column(scratch_->kill_rate, j);
    const double* advantage = scratch_->lane_column(scratch_->defence, j);
    const bool attacker = side == rules::kAttackingSide;
    double* force = side == rules::kAttackingSide ? a0 : b0;
    double* kill = side == rules::kAttackingSide ? alpha : beta;
    const bool grows = j == t && growth > 0.0;  // the target's projected arms aid (a shift in power)
    for (int l = 0; l < width; ++l) {
      const double f = weight[l] * (d[l] + omega * r[l]);
      force[l] += f;
      const double rate = e[l] * (attacker ? 1.0 : advantage[l]);
      kill[l] += rate * (grows ? rules::armed(m[l], growth) : m[l]) * f;
    }
  }
  const bool square = sc_.combat.law == LanchesterLaw::kSquare;
  const double chi = sc_.combat.collapse_fraction, horizon = sc_.run.horizon_days;
  const double spread = sc_.bargaining.forecast_spread;
  if (loss_a == nullptr) {  // p alone: no losses or duration asked for
    for (int l = 0; l < width; ++l)
      prevail[l] = rules::prevail_probability(a0[l], b0[l], alpha[l], beta[l], square, spread);
    return;
  }
  for (int l = 0; l < width; ++l) {
    const rules::WarForecast f =
        rules::war_forecast(a0[l], b0[l], alpha[l], beta[l], square, chi, intensity, horizon, spread);
    prevail[l] = f.prevail;
    loss_a[l] = f.loss_a;
    loss_b[l] = f.loss_b;
    duration[l] = f.duration;
  }
}

// With decision.war_forecast, an attack's war_gain feature is the attacker's
// war value W_i against its target, with its own private cost.
bool BlockSimulator::attack_features_depend_on_rung(int i) const {
  // The intensity scales only the forecast's duration.
  return sc_.actors[i].decision.war_forecast && war_value_needs_duration(i);
}

bool BlockSimulator::war_value_needs_duration(int i) const {
  return !(sc_.bargaining.discount == 1.0 && sc_.actors[i].decision.casualty_cost == 0.0);
}

void BlockSimulator::attack_war_value(int i, const ActionSpec& a) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const Decision& dec = sc_.actors[i].decision;
  const double intensity = a.rung >= sc_.escalation.full_war_rung ? 1.0 : sc_.combat.limited_war_intensity;
  alignas(64) double loss_b[L], duration[L];
  double* prevail = x.war_prevail;
  const double* cost = state_.war_cost.col(i).data();
  if (!war_value_needs_duration(i)) {
    // Exactly W = p - c here (δ^τ = e^0 = 1, κλ = 0): the losses and duration
    // (a log, an exp and square roots per lane) are not needed.
    forecast(i, a.target, intensity, prevail, nullptr, nullptr, nullptr);
    for (int l = 0; l < width; ++l) x.feature_a[l] = static_cast<float>(prevail[l] - cost[l]);
    return;
  }
  forecast(i, a.target, intensity, prevail, x.war_loss, loss_b, duration);
  for (int l = 0; l < width; ++l) {
    x.war_delta[l] = rules::war_discount(sc_.bargaining.discount, duration[l]);
    x.feature_a[l] =
        static_cast<float>(rules::war_value(x.war_delta[l], prevail[l], cost[l], dec.casualty_cost, x.war_loss[l]));
  }
}

void BlockSimulator::war_gain_as_type(int i, int k) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const Actor& actor = sc_.actors[i];
  const double* cost = state_.war_cost.col(i).data();
  const int* type = state_.type.col(i).data();
  const double share = actor.types[static_cast<std::size_t>(k)].war_cost;
  const bool exact = !war_value_needs_duration(i);  // W = p - c, as attack_war_value computed it
  for (int l = 0; l < width; ++l) {
    const double c =
        rules::cost_as_type(cost[l], actor.types[static_cast<std::size_t>(type[l])].war_cost, share, type[l] == k);
    x.feature_a[l] = static_cast<float>(
        exact ? x.war_prevail[l] - c
              : rules::war_value(x.war_delta[l], x.war_prevail[l], c, actor.decision.casualty_cost, x.war_loss[l]));
  }
}

}  // namespace brink

namespace brink {

// The scalar twin's forecast: the same sums as BlockSimulator::forecast, in the same order.
rules::WarForecast ScalarTwin::forecast(int i, int t, double intensity, double growth) const {
  const ReplicationState& st = st_;
  const double omega = sc_.actors[i].decision.ready_weight;
  double a0 = 0.0, b0 = 0.0, alpha = 0.0, beta = 0.0;
  for (int j = 0; j < model_.actors(); ++j) {
    double commitment = 0.0;
    const int side = rules::forecast_side(model_, i, t, j, &commitment);
    if (side == rules::kOutside) continue;
    double weight = side == rules::kProtector ? 0.0 : 1.0;
    if (side == rules::kProtector) {
      const auto& types = sc_.actors[j].types;
      for (std::size_t k = 0; k < types.size(); ++k)
        weight += commitment * types[k].resolve * static_cast<double>(st.belief[j * kMaxTypes + k]);
    }
    const Combat& c = sc_.actors[j].combat;
    const double rate = c.effectiveness * (side == rules::kAttackingSide ? 1.0 : c.defence_advantage);
    const double f = weight * (st.deployed[j] + omega * st.ready[j]);
    (side == rules::kAttackingSide ? a0 : b0) += f;
    const bool grows = j == t && growth > 0.0;
    (side == rules::kAttackingSide ? alpha : beta) +=
        rate * (grows ? rules::armed(st.effectiveness[j], growth) : st.effectiveness[j]) * f;
  }
  return rules::war_forecast(a0, b0, alpha, beta, sc_.combat.law == LanchesterLaw::kSquare,
                             sc_.combat.collapse_fraction, intensity, sc_.run.horizon_days,
                             sc_.bargaining.forecast_spread);
}

}  // namespace brink
