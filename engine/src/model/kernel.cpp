// The vectorized kernel: the block's set-up, the step and its phases but
// the decisions (decide.cpp, choose.cpp, effects.cpp), combat (combat.cpp)
// and incidents and the ladder (escalation.cpp). Each phase is a few loops
// over the block's 256 lanes that call the per-lane rules of rules.hpp; the
// compiler vectorizes them (docs/performance.md).
#include "brink/model/kernel.hpp"

#include <algorithm>

#include "block_scratch.hpp"
#include "brink/model/rules.hpp"

namespace brink {

using Eigen::ArrayXd;
using Eigen::ArrayXi;
using Eigen::ArrayXXd;

BlockSimulator::Scratch::Scratch(const Scenario& sc) {
  const int n = sc.actor_count();
  for (const Actor& a : sc.actors) {
    menu_max = std::max(menu_max, static_cast<int>(a.actions.size()));
    types_max = std::max(types_max, static_cast<int>(a.types.size()));
  }
  believed_resolve.assign(static_cast<std::size_t>(n) * L, 0.0f);
  feasible.assign(static_cast<std::size_t>(menu_max) * L, 0);
  utility.assign(static_cast<std::size_t>(types_max) * menu_max * L, 0.0f);
  total.assign(static_cast<std::size_t>(types_max) * L, 0.0f);
  best.assign(L, 0.0f);
  choice.assign(static_cast<std::size_t>(n) * L, 0);
  taken.assign(static_cast<std::size_t>(n), ~std::uint32_t{0});
  decision_u.assign(static_cast<std::size_t>(n) * L, 0.0f);
  desired.assign(static_cast<std::size_t>(n) * L, 0.0);
  type_weights.assign(static_cast<std::size_t>(types_max), TypeWeights{});
  for (auto* v : {&reaction, &fatigue, &grievance, &start_deployed, &rate_dt, &mobilize_dt, &cap, &kill_rate, &defence})
    v->assign(static_cast<std::size_t>(n) * L, 0.0);
  rationality.assign(static_cast<std::size_t>(n) * L, 0.0f);
  combat_columns.resize(static_cast<std::size_t>(n));
}

BlockSimulator::~BlockSimulator() = default;

BlockSimulator::BlockSimulator(const Model& model, const BlockSpec& spec)
    : model_(model),
      sc_(model.scenario()),
      phases_(phases_of(model.scenario())),
      packed_(!spec.segments.empty()),
      spec_(spec),
      key_(model.stream(spec.point)),
      scratch_(std::make_unique<Scratch>(model.scenario())) {
  const int n = model.actors();
  const int issues = static_cast<int>(sc_.negotiation.issues.size());
  BlockState& st = state_;
  init_lane_fields();
  st.casualties = ArrayXXd::Zero(L, n);
  st.created = ArrayXXd::Zero(L, n);
  st.removed = ArrayXXd::Zero(L, n);
  st.effectiveness = ArrayXXd::Ones(L, n);
  st.side = Eigen::ArrayXXi::Zero(L, n);
  st.position.resize(L, std::max(issues * n, 0));
  for (int k = 0; k < issues; ++k)
    for (int i = 0; i < n; ++i)
      st.position.col(k * n + i).setConstant(static_cast<float>(sc_.negotiation.issues[k].position[i]));
  st.agreed = Eigen::ArrayXXi::Zero(L, issues);
  st.last_action = Eigen::ArrayXXi::Constant(L, n, -1);
  st.action_count = Eigen::ArrayXXi::Zero(L, n * kActionKindCount);
  st.start_strength_attacker = ArrayXd::Zero(L);
  st.start_strength_defender = ArrayXd::Zero(L);
  st.rung = ArrayXi::Constant(L, sc_.escalation.initial_rung);
  st.peak_rung = st.rung;
  st.outcome = ArrayXi::Constant(L, -1);
  st.end_step = ArrayXi::Constant(L, -1);
  st.war_start_step = ArrayXi::Constant(L, -1);
  st.war_end_step = ArrayXi::Constant(L, -1);
  st.moved = ArrayXXd::Zero(L, n);
  st.first_incident_step = ArrayXi::Constant(L, -1);
  st.incidents = ArrayXi::Zero(L);
  st.alliance_war_cause = ArrayXi::Zero(L);
  init_pools_and_types();
  init_bargaining();
  plan_issue_passes();
  // Padding past the kept lanes' last group is never simulated.
  if (spec_.retire_finished) width_ = std::min((spec_.count + kLaneGroup - 1) / kLaneGroup * kLaneGroup, L);
  std::fill(std::begin(scratch_->active), std::end(scratch_->active), 0.0);
  std::fill(std::begin(scratch_->running), std::end(scratch_->running), LaneMask{0});
}

BlockSimulator::Phases BlockSimulator::phases_of(const Scenario& sc) {
  Phases p;
  p.events = !sc.events.empty();
  p.negotiation = !sc.negotiation.issues.empty();
  const bool settlement = std::any_of(sc.negotiation.issues.begin(), sc.negotiation.issues.end(),
                                      [](const Issue& issue) { return issue.core; });
  p.posture = settlement || std::any_of(sc.actors.begin(), sc.actors.end(), [](const Actor& a) {
                return a.posture.reaction != 0.0 || a.posture.fatigue != 0.0 || a.posture.grievance != 0.0;
              });
  return p;
}

void BlockSimulator::step(int s) {
  Scratch& x = *scratch_;
  retire_finished();
  const int width = pass_width();
  const int* outcome = state_.outcome.data();
  for (int l = 0; l < width; ++l) {
    x.active[l] = outcome[l] < 0 ? 1.0 : 0.0;
    x.running[l] = outcome[l] < 0 ? 1 : 0;
  }
  // `moved` is the step's transport budget used, read only by posture.
  if (phases_.posture) state_.moved.setZero();
  draw_step_uniforms(s);
  if (phases_.events) apply_events(s);
  if (sc_.run.decisions && sc_.bargaining.enabled()) bargain(s);
  if (sc_.run.decisions) decide_and_act(s);
  if (phases_.posture) posture();
  combat(s);
  incidents(s);
  decay_tension();
  if (phases_.negotiation) negotiate(s);
  next_step_ = s + 1;
}

void BlockSimulator::apply_events(int s) {
  const int width = pass_width();
  BlockState& st = state_;
  const double* active = scratch_->active;
  for (std::size_t e_index = 0; e_index < sc_.events.size(); ++e_index) {
    // Each event belongs to exactly one step, computed once from its day.
    if (model_.event_step_of(static_cast<int>(e_index)) != s) continue;
    const Event& e = sc_.events[e_index];
    const int i = e.actor;
    const double* cap = scratch_->lane_column(scratch_->cap, i);
    const double troops = e.troops;
    double* deployed = st.deployed.col(i).data();
    double* ready = st.ready.col(i).data();
    double* reserve = st.reserve.col(i).data();
    double* removed = st.removed.col(i).data();
    double* created = st.created.col(i).data();
    switch (e.kind) {
      case EventKind::kDeploy:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_deploy_amount(ready[l], deployed[l], cap[l], troops) * active[l];
          ready[l] -= x;
          deployed[l] += x;
        }
        break;
      case EventKind::kWithdraw:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(deployed[l], troops) * active[l];
          deployed[l] -= x;
          ready[l] += x;
        }
        break;
      case EventKind::kMobilize:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(reserve[l], troops) * active[l];
          reserve[l] -= x;
          ready[l] += x;
        }
        break;
      case EventKind::kDemobilize:
        for (int l = 0; l < width; ++l) {
          const double x = rules::event_draw_amount(ready[l], troops) * active[l];
          ready[l] -= x;
          removed[l] += x;
        }
        break;
      case EventKind::kReinforce:
        for (int l = 0; l < width; ++l) {
          const double x = troops * active[l];
          deployed[l] += x;
          created[l] += x;
        }
        break;
      case EventKind::kAttack:
        for (int l = 0; l < width; ++l) {
          if (active[l] < 0.5) continue;
          start_war(l, i, e.target, s);
          raise_rung(l, e.rung, s, AllianceWarCause::kNone);
        }
        break;
    }
  }
}

void BlockSimulator::posture() {
  const int width = pass_width();
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  const int* outcome = st.outcome.data();
  // After a settlement forces stand down toward a share of their start.
  int any_settled = 0;  // an int reduction: a bool one keeps the loop scalar
  for (int l = 0; l < width; ++l) any_settled |= outcome[l] == static_cast<int>(Outcome::kSettlement) ? 1 : 0;
  if (any_settled != 0) {
    for (int i = 0; i < n; ++i) {
      const double* rate_dt = x.lane_column(x.rate_dt, i);
      const double drawdown = sc_.negotiation.drawdown;
      const double* start = x.lane_column(x.start_deployed, i);
      double* deployed = st.deployed.col(i).data();
      double* ready = st.ready.col(i).data();
      for (int l = 0; l < width; ++l) {
        const bool settled = outcome[l] == static_cast<int>(Outcome::kSettlement);
        const double floor = drawdown * start[l];
        const double m = settled ? rules::drawdown_move(deployed[l], floor, rate_dt[l]) : 0.0;
        deployed[l] -= m;
        ready[l] += m;
      }
    }
  }
  // Synchronous update: every actor reacts to the same deployed forces.
  for (int i = 0; i < n; ++i) {
    const double* reaction = x.lane_column(x.reaction, i);
    const double* fatigue = x.lane_column(x.fatigue, i);
    const double* grievance = x.lane_column(x.grievance, i);
    // __restrict: the stores to `desired` do not alias the lane parameters, so the loops vectorize without checks.
    double* __restrict desired = x.desired.data() + static_cast<std::size_t>(i) * L;
    const double* own = st.deployed.col(i).data();
    const auto& adversaries = model_.adversaries(i);
    if (adversaries.size() == 1) {
      // The common case in one pass: the threat is the one adversary's deployed forces (0 + D_j = D_j).
      const double* dj = st.deployed.col(adversaries[0]).data();
      for (int l = 0; l < width; ++l)
        desired[l] = rules::richardson_drift(dj[l], own[l], reaction[l], fatigue[l], grievance[l], dt) * x.active[l];
      continue;
    }
    for (int l = 0; l < width; ++l) desired[l] = 0.0;
    for (int j : adversaries) {
      const double* dj = st.deployed.col(j).data();
      for (int l = 0; l < width; ++l) desired[l] += dj[l];
    }
    for (int l = 0; l < width; ++l)
      desired[l] = rules::richardson_drift(desired[l], own[l], reaction[l], fatigue[l], grievance[l], dt) * x.active[l];
  }
  for (int i = 0; i < n; ++i) {
    const double* rate_dt = x.lane_column(x.rate_dt, i);
    const double* cap = x.lane_column(x.cap, i);
    const double* desired = x.desired.data() + static_cast<std::size_t>(i) * L;
    const double* moved = st.moved.col(i).data();
    double* deployed = st.deployed.col(i).data();
    double* ready = st.ready.col(i).data();
    for (int l = 0; l < width; ++l) {
      const double budget = std::max(rate_dt[l] - moved[l], 0.0);
      const double m = rules::drift_move(desired[l], budget, ready[l], deployed[l], cap[l]);
      deployed[l] += m;
      ready[l] -= m;
    }
  }
}

namespace {

// now[l] = 1 where the parties' positions lie within the window (the lowest
// and highest position over the parties, in party order), in one pass:
// kParties > 0 fixes the number of parties so that the lane loop vectorizes.
template <int kParties>
void window_pass(const std::vector<int>& parties, const float* issue_positions, float window, int width,
                 int* __restrict now) {
  constexpr int kSlots = kParties > 0 ? kParties : 1;
  const float* p[kSlots] = {};
  for (int o = 0; o < kSlots && o < static_cast<int>(parties.size()); ++o)
    p[o] = issue_positions + static_cast<std::ptrdiff_t>(parties[o]) * L;
  for (int l = 0; l < width; ++l) {
    float lo = 1.0f, hi = 0.0f;
    for (int o = 0; o < kParties; ++o) {
      lo = rules::lmin(lo, p[o][l]);
      hi = rules::lmax(hi, p[o][l]);
    }
    now[l] = rules::within_window(lo, hi, window) ? 1 : 0;
  }
}

void agreement_window(const std::vector<int>& parties, const float* issue_positions, float window, int width,
                      int* now) {
  switch (parties.size()) {
    case 2:
      return window_pass<2>(parties, issue_positions, window, width, now);
    case 3:
      return window_pass<3>(parties, issue_positions, window, width, now);
    case 4:
      return window_pass<4>(parties, issue_positions, window, width, now);
    default:
      break;
  }
  // Any other number of parties: the same minimum and maximum, a party at a time.
  float lo[L], hi[L];
  for (int l = 0; l < width; ++l) {
    lo[l] = 1.0f;
    hi[l] = 0.0f;
  }
  for (int j : parties) {
    const float* p = issue_positions + static_cast<std::ptrdiff_t>(j) * L;
    for (int l = 0; l < width; ++l) {
      lo[l] = rules::lmin(lo[l], p[l]);
      hi[l] = rules::lmax(hi[l], p[l]);
    }
  }
  for (int l = 0; l < width; ++l) now[l] = rules::within_window(lo[l], hi[l], window) ? 1 : 0;
}

}  // namespace

void BlockSimulator::negotiate(int s) {
  const int width = pass_width();
  BlockState& st = state_;
  Scratch& x = *scratch_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  const float window = static_cast<float>(sc_.negotiation.acceptance_window);
  const double relief = sc_.escalation.agreement_relief;
  const int floor_rung = sc_.escalation.initial_rung;
  int* outcome = st.outcome.data();
  int* rung = st.rung.data();
  double* tension = st.tension.data();
  const int* war_start = st.war_start_step.data();
  // Masks as int, the width of the state they select (mixed widths keep loops scalar).
  int* live = x.live;
  int* all_core = x.all_core;
  for (int l = 0; l < width; ++l) {
    live[l] = (x.running[l] != 0) & (outcome[l] < 0);
    all_core[l] = 1;  // every core issue agreed so far (in issue order, as agreements land)
  }
  bool any_core = false;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const auto& parties = model_.parties(static_cast<int>(k));
    int* agreed = st.agreed.col(static_cast<Eigen::Index>(k)).data();
    int* now = x.now;
    agreement_window(parties, st.position.data() + static_cast<Eigen::Index>(k) * n * L, window, width, now);
    for (int l = 0; l < width; ++l) {
      now[l] &= live[l] & (agreed[l] == 0);
      agreed[l] |= now[l];
      const int lowered = rules::lmax(floor_rung, rung[l] - 1);
      rung[l] = now[l] & (war_start[l] < 0) ? lowered : rung[l];
    }
    for (int l = 0; l < width; ++l) {
      const double relieved = rules::tension_after(tension[l], -relief);
      tension[l] = now[l] ? relieved : tension[l];
    }
    if (issues[k].core) {
      any_core = true;
      for (int l = 0; l < width; ++l) all_core[l] &= agreed[l];
    }
  }
  if (!any_core) return;
  int* end_step = st.end_step.data();
  for (int l = 0; l < width; ++l) {
    const int settle = live[l] & all_core[l] & (war_start[l] < 0);
    outcome[l] = settle ? static_cast<int>(Outcome::kSettlement) : outcome[l];
    end_step[l] = settle ? s : end_step[l];
  }
}

bool BlockSimulator::frozen() const {
  const int* outcome = state_.outcome.data();
  int open = 0;
  for (int l = 0; l < width_; ++l) open += rules::lane_in_play(outcome[l]);
  return open == 0;
}

void BlockSimulator::finish() {
  const int width = pass_width();
  BlockState& st = state_;
  const Escalation& esc = sc_.escalation;
  for (int r = 0; r < width; ++r) {
    if (st.outcome(r) >= 0) continue;
    const int peak = st.peak_rung(r);
    if (peak >= esc.limited_war_rung) {
      st.outcome(r) = static_cast<int>(rules::war_outcome(peak, esc));
    } else {
      st.outcome(r) = static_cast<int>(Outcome::kStandoff);
      st.end_step(r) = model_.steps();
    }
  }
}

}  // namespace brink
