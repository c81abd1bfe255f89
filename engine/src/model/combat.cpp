// Combat (docs/model.md, phase 4): Lanchester attrition over the lanes at
// war, gathered into a dense list.
#include <algorithm>
#include <cmath>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/lanchester.hpp"
#include "brink/model/rules.hpp"
#include "lane_vector.hpp"

namespace brink {

// Combat in the fighting lanes, gathered into a dense list (a fraction of a
// block fights, so passes over every lane would cost more than they save):
// the sides per fighting lane, the strengths after the step over the list,
// then the losses and collapses per fighting lane. Every lane's arithmetic
// is rules::attrition's.
void BlockSimulator::combat(int s) {
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int count = fighting_sides();
  if (count == 0) return;
  attrition_of_list(count);
  const int n = model_.actors();
  for (int c = 0; c < count; ++c) {
    const int r = x.fighting_lane[c];
    // Losses fall on each side's actors in proportion to their deployed troops.
    const double keep_a = x.side_a[c] > 0.0 ? x.after_a[c] / x.side_a[c] : 0.0;
    const double keep_b = x.side_b[c] > 0.0 ? x.after_b[c] / x.side_b[c] : 0.0;
    for (int j = 0; j < n; ++j) {
      if (st.side(r, j) == 0) continue;
      const double keep = st.side(r, j) == 1 ? keep_a : keep_b;
      const double loss = st.deployed(r, j) * (1.0 - keep);
      st.deployed(r, j) -= loss;
      st.casualties(r, j) += loss;
    }
    if (rules::collapsed(sc_.combat, {x.after_a[c], x.after_b[c]}, st.start_strength_attacker(r),
                         st.start_strength_defender(r))) {
      st.war_end_step(r) = s;
      st.outcome(r) = static_cast<int>(rules::war_outcome(st.peak_rung(r), sc_.escalation));
    }
  }
}

// Lists the fighting lanes (open, at war) and gathers each one's side
// strengths, summed kill rates and rung; returns how many there are.
int BlockSimulator::fighting_sides() {
  const int width = pass_width();
  const BlockState& st = state_;
  Scratch& x = *scratch_;
  const int* outcome = st.outcome.data();
  const int* war_start = st.war_start_step.data();
  LaneMask* fighting = x.mask;
  for (int r = 0; r < width; ++r) fighting[r] = (outcome[r] < 0) & (war_start[r] >= 0);
  int* lane = x.fighting_lane;
  const int count = lane_vector::list_marked(fighting, width, lane);
  const int n = model_.actors();
  CombatColumns* columns = x.combat_columns.data();
  for (int j = 0; j < n; ++j)
    columns[j] = {st.deployed.col(j).data(), x.lane_column(x.kill_rate, j), st.effectiveness.col(j).data(),
                  x.lane_column(x.defence, j), st.side.col(j).data()};
  if (count == 0) return 0;
  // A register of listed lanes at a time, each actor's columns gathered:
  // the attackers' (side 1) troops into a and their fire into alpha, the
  // defenders' (side 2) into b and beta, in actor order, as
  // rules::attrition's sums; the list's last register is padded with its
  // first lane (the arrays have room for it, and the entries past `count`
  // are never read).
  using namespace lane_vector;
  for (int c = count; c < count + kDoubleLanes; ++c) lane[c] = lane[0];
  const int* rung = st.rung.data();
  for (int c = 0; c < count; c += kDoubleLanes) {
    const std::int32_t* at = lane + c;
    Doubles a = {}, b = {}, alpha = {}, beta = {};
    for (int j = 0; j < n; ++j) {
      const CombatColumns& q = columns[j];
      const Longs side = gather_wide(q.side, at);
      const Doubles d = gather(q.deployed, at);
      const Doubles fire = gather(q.kill_rate, at) * gather(q.effectiveness, at);
      const Doubles defended = fire * gather(q.defence, at);
      a = side == 1 ? a + d : a;
      alpha = side == 1 ? fma(fire, d, alpha) : alpha;
      b = side > 1 ? b + d : b;
      beta = side > 1 ? fma(defended, d, beta) : beta;
    }
    store(x.side_a + c, a);
    store(x.side_b + c, b);
    store(x.alpha_sum + c, alpha);
    store(x.beta_sum + c, beta);
    for (int k = 0; k < kDoubleLanes; ++k) x.fighting_rung[c + k] = rung[at[k]];
  }
  return count;
}

// The strengths after the step of the first `count` fighting lanes, into
// after_a/after_b: the coefficients and the square law's terms, their expm1
// (expm1_nonneg), then the square law's general case, in loops over the
// list that vectorize. The rare other cases (a side without troops or fire,
// exactly matched sides, the linear law) take rules::attrition.
void BlockSimulator::attrition_of_list(int count) {
  Scratch& x = *scratch_;
  const double* __restrict a = x.side_a;
  const double* __restrict b = x.side_b;
  const int full_war_rung = sc_.escalation.full_war_rung;
  const double limited_intensity = sc_.combat.limited_war_intensity, dt = sc_.run.dt_days;
  const bool square = sc_.combat.law == LanchesterLaw::kSquare;
  double* __restrict worth = x.worth;
  double* __restrict gamma_t = x.gamma_t;
  double* __restrict general = x.square_general;
  for (int c = 0; c < count; ++c) {
    const rules::AttritionRates q = rules::attrition_rates(full_war_rung, limited_intensity, a[c], b[c], x.alpha_sum[c],
                                                           x.beta_sum[c], x.fighting_rung[c]);
    const SquareLawTerms terms = square_law_terms({a[c], b[c]}, q.alpha, q.beta, dt);
    worth[c] = terms.k;
    gamma_t[c] = terms.g;
    general[c] = square && terms.general ? 1.0 : 0.0;
  }
  double* __restrict after_a = x.after_a;
  double* __restrict after_b = x.after_b;
  double* __restrict em = x.expm1_of;
  for (int c = 0; c < count; ++c) em[c] = general[c] != 0.0 ? expm1_nonneg(square_law_exponent(gamma_t[c])) : 0.0;
  for (int c = 0; c < count; ++c) {
    if (general[c] != 0.0) continue;
    const Strengths after = rules::attrition(sc_, a[c], b[c], x.alpha_sum[c], x.beta_sum[c], x.fighting_rung[c]);
    after_a[c] = after.a;
    after_b[c] = after.b;
  }
  for (int c = 0; c < count; ++c) {
    const Strengths stepped = square_law_step({a[c], b[c]}, worth[c], gamma_t[c], em[c]);
    after_a[c] = general[c] != 0.0 ? stepped.a : after_a[c];
    after_b[c] = general[c] != 0.0 ? stepped.b : after_b[c];
  }
}

}  // namespace brink
