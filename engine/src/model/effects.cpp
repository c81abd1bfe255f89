// Effects of the chosen actions (docs/model.md, "Effects"), one actor at a
// time in index order; within an actor, each menu entry's effect is applied
// to the lanes that chose it, so every lane takes exactly its own action.
#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"

namespace brink {

void BlockSimulator::apply_effects(int i, int s) {
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const Actor& actor = sc_.actors[i];
  const Forces& f = actor.forces;
  const double dt = sc_.run.dt_days;
  const int* choice = x.choice.data() + static_cast<std::size_t>(i) * L;
  std::uint8_t* mask = x.mask;
  int* last = st.last_action.col(i).data();
  for (int l = 0; l < L; ++l) last[l] = x.running[l] ? choice[l] : last[l];
  double* tension = st.tension.data();
  double* deployed = st.deployed.col(i).data();
  double* ready = st.ready.col(i).data();
  double* reserve = st.reserve.col(i).data();
  double* budget_used = st.moved.col(i).data();
  for (int m = 0; m < static_cast<int>(actor.actions.size()); ++m) {
    const ActionSpec& a = actor.actions[m];
    bool any = false;
    for (int l = 0; l < L; ++l) {
      mask[l] = (x.running[l] != 0) & (choice[l] == m);
      any |= mask[l] != 0;
    }
    if (!any) continue;
    int* count = st.action_count.col(i * kActionKindCount + static_cast<int>(a.kind)).data();
    for (int l = 0; l < L; ++l) {
      count[l] += mask[l];
      tension[l] = mask[l] ? std::max(0.0, tension[l] + a.tension) : tension[l];
    }
    switch (a.kind) {
      case ActionKind::kMobilize:
      case ActionKind::kRaiseReadiness: {
        const double rate_cap = a.kind == ActionKind::kMobilize ? f.mobilization_rate * dt : a.amount;
        for (int l = 0; l < L; ++l) {
          const double moved = mask[l] ? rules::mobilize_amount(reserve[l], a.amount, rate_cap) : 0.0;
          reserve[l] -= moved;
          ready[l] += moved;
        }
        break;
      }
      case ActionKind::kDeploy:
        for (int l = 0; l < L; ++l) {
          const double moved =
              mask[l] ? rules::deploy_amount(ready[l], deployed[l], a.amount, f.deployment_rate * dt, f.deployed_cap)
                      : 0.0;
          ready[l] -= moved;
          deployed[l] += moved;
          budget_used[l] += moved;
        }
        break;
      case ActionKind::kWithdraw:
        for (int l = 0; l < L; ++l) {
          const double moved = mask[l] ? rules::withdraw_amount(deployed[l], a.amount, f.deployment_rate * dt) : 0.0;
          deployed[l] -= moved;
          ready[l] += moved;
          budget_used[l] += moved;
        }
        break;
      case ActionKind::kPropose:
      case ActionKind::kConcede:
        talk_effect(i, a, mask);
        break;
      case ActionKind::kSanction:
      case ActionKind::kArmPartner: {
        double* eff = st.effectiveness.col(a.target).data();
        const bool sanction = a.kind == ActionKind::kSanction;
        for (int l = 0; l < L; ++l)
          eff[l] = mask[l] ? (sanction ? rules::sanctioned(eff[l], a.effect) : rules::armed(eff[l], a.effect)) : eff[l];
        break;
      }
      case ActionKind::kAttack:
        for (int l = 0; l < L; ++l)
          if (mask[l] && st.side.row(l).maxCoeff() == 0) start_war(l, i, a.target, s);
        break;
      case ActionKind::kRetaliate: {
        const int q = a.rung >= 0 ? a.rung : sc_.escalation.alliance_war_rung;
        for (int l = 0; l < L; ++l) {
          if (!mask[l]) continue;
          if (st.side(l, i) == 0) {
            st.side(l, i) = 2;
            st.start_strength_defender(l) += st.deployed(l, i);
          }
          raise_rung(l, q, s, AllianceWarCause::kIntervention);
        }
        break;
      }
      default:
        break;
    }
    if (a.rung >= 0 && a.kind != ActionKind::kRetaliate) raise_rung_masked(mask, a.rung, s, AllianceWarCause::kNone);
  }
}

// propose: every other party moves toward i's position; concede: i moves
// toward the mean of the others' positions (open issues where i is a party).
void BlockSimulator::talk_effect(int i, const ActionSpec& a, const std::uint8_t* mask) {
  BlockState& st = state_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const double s_own = issues[k].salience[i];
    if (s_own <= 0.0) continue;
    const int* agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    double* p_own = st.position.col(static_cast<Eigen::Index>(k) * n + i).data();
    const auto& parties = model_.parties(static_cast<int>(k));
    if (a.kind == ActionKind::kPropose) {
      for (int j : parties) {
        if (j == i) continue;
        const double s_j = issues[k].salience[j];
        double* p = st.position.col(static_cast<Eigen::Index>(k) * n + j).data();
        for (int l = 0; l < L; ++l)
          p[l] = mask[l] && !agreed[l] ? rules::position_step(p[l], p_own[l], a.concession, s_j) : p[l];
      }
      continue;
    }
    double* mean = scratch_->draw;
    std::fill(mean, mean + L, 0.0);
    int others = 0;
    for (int j : parties) {
      if (j == i) continue;
      ++others;
      const double* p = st.position.col(static_cast<Eigen::Index>(k) * n + j).data();
      for (int l = 0; l < L; ++l) mean[l] += p[l];
    }
    if (others == 0) continue;
    for (int l = 0; l < L; ++l)
      p_own[l] = mask[l] && !agreed[l] ? rules::position_step(p_own[l], mean[l] / others, a.concession, s_own)
                                       : p_own[l];
  }
}

}  // namespace brink
