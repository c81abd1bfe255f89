// Effects of the chosen actions (docs/model.md, "Effects"), one actor at a
// time in index order; within an actor, each menu entry's effect is applied
// to the lanes that chose it, so every lane takes exactly its own action.
#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "brink/model/rules.hpp"
#include "lane_vector.hpp"

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
      const double raised = std::max(0.0, tension[l] + action_tension);
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
  for (int l = 0; l < width; ++l) last[l] = x.running[l] ? choice[l] : last[l];
  for (int m = 0; m < static_cast<int>(actor.actions.size()); ++m)
    if (lane_effect(i, m) != 0) marked_lane_effect(i, actor.actions[m], s);
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
      break;  // talk_effects, for every actor at once
    case ActionKind::kAttack:
      for_each_marked_lane(mask, width, [&](int l) {
        if (st.side.row(l).maxCoeff() == 0) start_war(l, i, a.target, s);
      });
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

namespace {

// One issue's talk effects on a vector of lanes whose positions `p` hold
// (one per party): each move in actor order, where its actor chose it, the
// lane runs and the issue is open. propose: every other party steps toward
// the actor's position; concede: the actor steps toward the mean of the
// others'. The arithmetic is the scalar rules' (rules::position_step), lane
// for lane. kParties > 0 fixes the number of parties, so the positions stay
// in registers; 0 takes it at run time.
template <int kParties>
[[gnu::always_inline]] inline void talk_moves(const TalkPlan& t, lane_vector::Floats* p, lane_vector::Ints run,
                                              lane_vector::Ints open, int g) {
  using namespace lane_vector;
  const int parties = kParties > 0 ? kParties : static_cast<int>(t.position.size());
  for (const TalkMove& move : t.moves) {
    const Ints go = (run != 0) & (load<Ints>(move.choice + g) == move.entry) & open;
    const int own = move.own;
    if (move.propose) {
      for (int o = 0; o < parties; ++o) {
        if (o == own) continue;
        const Floats moved = rules::position_step(p[o], p[own], move.concession, t.salience[o]);
        p[o] = go != 0 ? moved : p[o];
      }
      continue;
    }
    Floats mean = {};
    for (int o = 0; o < parties; ++o)
      if (o != own) mean += p[o];
    const Floats moved = rules::position_step(p[own], mean * move.inverse, move.concession, t.salience[own]);
    p[own] = go != 0 ? moved : p[own];
  }
}

template <int kParties>
void talk_pass(const TalkPlan& t, const LaneMask* running, unsigned char* spill, int width) {
  using namespace lane_vector;
  const int parties = kParties > 0 ? kParties : static_cast<int>(t.position.size());
  for (int g = 0; g < width; g += kLanes) {
    const Ints run = load<Ints>(running + g);
    const Ints open = load<Ints>(t.agreed + g) == 0;
    if constexpr (kParties > 0) {
      Floats p[kParties];
      for (int o = 0; o < kParties; ++o) p[o] = load<Floats>(t.position[o] + g);
      talk_moves<kParties>(t, p, run, open, g);
      for (int o = 0; o < kParties; ++o) store(t.position[o] + g, p[o]);
    } else {
      // Storage of unsigned char holds any object; the allocator aligns it as a vector.
      Floats* p = reinterpret_cast<Floats*>(spill);
      for (int o = 0; o < parties; ++o) p[o] = load<Floats>(t.position[o] + g);
      talk_moves<0>(t, p, run, open, g);
      for (int o = 0; o < parties; ++o) store(t.position[o] + g, p[o]);
    }
  }
}

}  // namespace

// Each issue's talk moves (talk_effects), fixed when the block is set up:
// actor i's propose and concede entries move issue k where i weighs it.
void BlockSimulator::plan_talk_effects() {
  Scratch& x = *scratch_;
  BlockState& st = state_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  x.talk_plans.clear();
  std::size_t most_parties = 0;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const auto& parties = model_.parties(static_cast<int>(k));
    TalkPlan plan;
    plan.agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    for (int j : parties) {
      plan.position.push_back(st.position.col(static_cast<Eigen::Index>(k) * n + j).data());
      plan.salience.push_back(static_cast<float>(issues[k].salience[j]));
    }
    for (int i = 0; i < n; ++i) {
      if (static_cast<float>(issues[k].salience[i]) <= 0.0f) continue;
      const int own = static_cast<int>(std::find(parties.begin(), parties.end(), i) - parties.begin());
      const int others = static_cast<int>(parties.size()) - 1;
      const auto& actions = sc_.actors[i].actions;
      for (int m = 0; m < static_cast<int>(actions.size()); ++m) {
        const ActionKind kind = actions[m].kind;
        if (kind != ActionKind::kPropose && (kind != ActionKind::kConcede || others == 0)) continue;
        plan.moves.push_back(TalkMove{.choice = x.choice.data() + static_cast<std::size_t>(i) * L,
                                      .entry = m,
                                      .own = own,
                                      .propose = kind == ActionKind::kPropose,
                                      .concession = static_cast<float>(actions[m].concession),
                                      .inverse = others > 0 ? 1.0f / static_cast<float>(others) : 0.0f});
      }
    }
    if (plan.moves.empty()) continue;
    most_parties = std::max(most_parties, parties.size());
    x.talk_plans.push_back(std::move(plan));
  }
  x.talk_positions.assign(most_parties * sizeof(lane_vector::Floats), 0);
}

// Every talk's effect on positions (docs/model.md, "Effects"): one pass per
// issue, every talking actor's moves applied in actor order within a vector
// of lanes, as the actors' effects are.
void BlockSimulator::talk_effects() {
  const int width = pass_width();
  Scratch& x = *scratch_;
  for (const TalkPlan& t : x.talk_plans) {
    switch (t.position.size()) {
      case 2:
        talk_pass<2>(t, x.running, nullptr, width);
        break;
      case 3:
        talk_pass<3>(t, x.running, nullptr, width);
        break;
      case 4:
        talk_pass<4>(t, x.running, nullptr, width);
        break;
      default:
        talk_pass<0>(t, x.running, x.talk_positions.data(), width);
    }
  }
}

}  // namespace brink
