// Effects of the chosen actions (docs/model.md, "Effects"), one actor at a
// time in index order; within an actor, each menu entry's effect is applied
// to the lanes that chose it, so every lane takes exactly its own action.
#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"

namespace brink {

namespace {

// What every action does in the lanes that took it, in the pass of its own
// effect: marks them, counts them by kind and raises tension by the action's
// own (tension is never negative, so an action without tension leaves it
// exactly as it is). Effect(l, took) adds the kind's own arithmetic to the
// same pass. Returns how many lanes took the action.
template <bool kTension, class Effect>
int take_action(int m, double action_tension, int width, const LaneMask* __restrict running,
                const int* __restrict choice, LaneMask* __restrict mask, int* __restrict count,
                double* __restrict tension, Effect&& effect) {
  int chosen = 0;
  // Every array is indexed by the lane alone, and no two of them overlap.
#pragma GCC ivdep
  for (int l = 0; l < width; ++l) {
    const int took = (running[l] != 0) & (choice[l] == m) ? 1 : 0;
    mask[l] = took;
    count[l] += took;
    chosen += took;
    if (kTension) {
      const double raised = rules::tension_after(tension[l], action_tension);
      tension[l] = took ? raised : tension[l];
    }
    effect(l, took != 0);
  }
  return chosen;
}

}  // namespace

// Actor i's chosen actions take effect, one menu entry at a time; its last
// action is recorded where the lane runs.
void BlockSimulator::apply_effects(int i, int s) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  const Actor& actor = sc_.actors[i];
  const int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
  int* last = state_.last_action.col(i).data();
  for (int l = 0; l < width; ++l) last[l] = x.running[l] && choice[l] >= 0 ? choice[l] : last[l];
  const std::uint32_t taken = scratch_->taken[static_cast<std::size_t>(i)];
  for (int m = 0; m < static_cast<int>(actor.actions.size()); ++m) {
    // An entry no running lane chose changes nothing: its pass is skipped.
    if (m < 32 && ((taken >> m) & 1u) == 0) continue;
    if (lane_effect(i, m) != 0) marked_lane_effect(i, actor.actions[m], s);
  }
}

// Action m's effect that is arithmetic on the lanes that took it, in one pass
// with what every action does (take_action); marks those lanes in `mask` and
// returns how many there are.
int BlockSimulator::lane_effect(int i, int m) {
  const int width = pass_width();
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const ActionSpec& a = sc_.actors[i].actions[m];
  const int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
  LaneMask* mask = x.mask;
  double* __restrict tension = st.tension.data();
  double* __restrict deployed = st.deployed.col(i).data();
  double* __restrict ready = st.ready.col(i).data();
  double* __restrict reserve = st.reserve.col(i).data();
  double* __restrict budget_used = st.moved.col(i).data();
  int* count = st.action_count.col(i * kActionKindCount + static_cast<int>(a.kind)).data();
  auto take = [&](auto&& effect) {
    return a.tension != 0.0 ? take_action<true>(m, a.tension, width, x.running, choice, mask, count, tension, effect)
                            : take_action<false>(m, 0.0, width, x.running, choice, mask, count, tension, effect);
  };
  // Scenario values are copied to locals: stores to the double pools could alias them.
  const double size = a.amount;
  switch (a.kind) {
    case ActionKind::kMobilize:
    case ActionKind::kRaiseReadiness: {
      const double* __restrict mobilize_dt = x.lane_column(x.mobilize_dt, i);
      const bool rated = a.kind == ActionKind::kMobilize;
      return take([&](int l, bool took) {
        const double amount = rules::mobilize_amount(reserve[l], size, rated ? mobilize_dt[l] : size);
        const double moved = took ? amount : 0.0;
        reserve[l] -= moved;
        ready[l] += moved;
      });
    }
    case ActionKind::kDeploy: {
      const double* __restrict rate_dt = x.lane_column(x.rate_dt, i);
      const double* __restrict cap = x.lane_column(x.cap, i);
      return take([&](int l, bool took) {
        const double amount = rules::deploy_amount(ready[l], deployed[l], size, rate_dt[l], cap[l]);
        const double moved = took ? amount : 0.0;
        ready[l] -= moved;
        deployed[l] += moved;
        budget_used[l] += moved;
      });
    }
    case ActionKind::kWithdraw: {
      const double* __restrict rate_dt = x.lane_column(x.rate_dt, i);
      return take([&](int l, bool took) {
        const double amount = rules::withdraw_amount(deployed[l], size, rate_dt[l]);
        const double moved = took ? amount : 0.0;
        deployed[l] -= moved;
        ready[l] += moved;
        budget_used[l] += moved;
      });
    }
    case ActionKind::kSanction:
    case ActionKind::kArmPartner: {
      double* __restrict eff = st.effectiveness.col(a.target).data();
      const bool sanction = a.kind == ActionKind::kSanction;
      const double effect = a.effect;
      return take([&](int l, bool took) {
        const double changed = sanction ? rules::sanctioned(eff[l], effect) : rules::armed(eff[l], effect);
        eff[l] = took ? changed : eff[l];
      });
    }
    default:
      return take([](int, bool) {});
  }
}

// The effects of actor i's action `a` that are not lane arithmetic, on the
// lanes `mask` marks (some lane took it): talks, a war starting, joining a
// war, the ladder rising to the action's rung.
void BlockSimulator::marked_lane_effect(int i, const ActionSpec& a, int s) {
  const int width = pass_width();
  BlockState& st = state_;
  const LaneMask* mask = scratch_->mask;
  switch (a.kind) {
    case ActionKind::kPropose:
    case ActionKind::kConcede:
      talk_effect(i, a, mask);
      break;
    case ActionKind::kAttack:
      for_each_marked_lane(mask, width, [&](int l) { start_war(l, i, a.target, s); });
      break;
    case ActionKind::kRetaliate: {
      const int q = a.rung >= 0 ? a.rung : sc_.escalation.alliance_war_rung;
      for_each_marked_lane(mask, width, [&](int l) {
        if (st.side(l, i) == 0) {
          st.side(l, i) = 2;
          st.start_strength_defender(l) += st.deployed(l, i);
        }
        raise_rung(l, q, s, AllianceWarCause::kIntervention);
      });
      break;
    }
    default:
      break;
  }
  if (a.rung >= 0 && a.kind != ActionKind::kRetaliate) raise_rung_masked(mask, a.rung, s, AllianceWarCause::kNone);
}

// propose: every other party moves toward i's position; concede: i moves
// toward the mean of the others' positions (open issues where i is a party).
void BlockSimulator::talk_effect(int i, const ActionSpec& a, const std::int32_t* mask) {
  const int width = pass_width();
  BlockState& st = state_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  // The lanes an issue moves in, as floats: one width with the positions,
  // so each pass over a party's positions vectorizes fully.
  float* go = scratch_->talk_lanes;
  const float concession = static_cast<float>(a.concession);
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const float s_own = static_cast<float>(issues[k].salience[i]);
    if (s_own <= 0.0f) continue;
    // A party whose step is zero (salience 1: non-negotiable) is not moved:
    // its position would stay where it is. An issue on which the action
    // moves no one is skipped.
    const auto& parties = model_.parties(static_cast<int>(k));
    const bool propose = a.kind == ActionKind::kPropose;
    const bool moves_someone =
        propose ? std::any_of(parties.begin(), parties.end(),
                              [&](int j) {
                                return j != i &&
                                       rules::step_size(concession, static_cast<float>(issues[k].salience[j])) != 0.0f;
                              })
                : rules::step_size(concession, s_own) != 0.0f;
    if (!moves_someone) continue;
    const int* agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    int any = 0;
    for (int l = 0; l < width; ++l) {
      const int moves = (mask[l] != 0) & (agreed[l] == 0);
      go[l] = moves ? 1.0f : 0.0f;
      any |= moves;
    }
    if (any == 0) continue;  // agreed wherever the action was chosen
    float* p_own = st.position.col(static_cast<Eigen::Index>(k) * n + i).data();
    if (propose) {
      for (int j : parties) {
        if (j == i) continue;
        const float s_j = static_cast<float>(issues[k].salience[j]);
        if (rules::step_size(concession, s_j) == 0.0f) continue;
        float* p = st.position.col(static_cast<Eigen::Index>(k) * n + j).data();
        for (int l = 0; l < width; ++l) {
          const float moved = rules::position_step(p[l], p_own[l], concession, s_j);
          p[l] = go[l] != 0.0f ? moved : p[l];
        }
      }
      continue;
    }
    float* mean = scratch_->talk_mean;
    std::fill(mean, mean + width, 0.0f);
    int others = 0;
    for (int j : parties) {
      if (j == i) continue;
      ++others;
      const float* p = st.position.col(static_cast<Eigen::Index>(k) * n + j).data();
      for (int l = 0; l < width; ++l) mean[l] += p[l];
    }
    if (others == 0) continue;
    const float inverse = 1.0f / static_cast<float>(others);
    for (int l = 0; l < width; ++l) {
      const float moved = rules::position_step(p_own[l], mean[l] * inverse, concession, s_own);
      p_own[l] = go[l] != 0.0f ? moved : p_own[l];
    }
  }
}

}  // namespace brink
