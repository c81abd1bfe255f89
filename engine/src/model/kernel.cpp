#include "brink/model/kernel.hpp"

#include <algorithm>
#include <cmath>

#include "brink/model/lanchester.hpp"
#include "brink/model/logit.hpp"

namespace brink {

using Eigen::ArrayXd;
using Eigen::ArrayXi;
using Eigen::ArrayXXd;
using Eigen::Index;

namespace {
constexpr double kTroopEpsilon = 0.5;    // below half a soldier a pool counts as empty
constexpr double kSanctionFloor = 0.2;   // sanctions cannot cut effectiveness below this share
constexpr double kArmsAidCeiling = 3.0;  // arms aid cannot raise effectiveness above this multiple
constexpr double kContactScale = 1e5;    // contact is measured per 100,000 troops
}  // namespace

Model::Model(Scenario scenario) : scenario_(std::move(scenario)) {
  const int n = scenario_.actor_count();
  steps_ = scenario_.step_count();
  adversaries_.resize(n);
  allies_.resize(n);
  commitment_.assign(n, std::vector<double>(n, 0.0));
  protection_.assign(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (scenario_.relations.adversary[i][j]) adversaries_[i].push_back(j);
      if (scenario_.relations.ally[i][j]) allies_[i].push_back(j);
    }
  for (const Commitment& c : scenario_.relations.commitments) {
    commitment_[c.from][c.to] = std::max(commitment_[c.from][c.to], c.strength);
    protection_[c.to] = std::max(protection_[c.to], c.strength);
  }
}

int Model::record_every() const {
  const int every = scenario_.output.timeseries_every;
  return every > 0 ? every : 1;
}

int Model::records() const { return (steps_ + record_every() - 1) / record_every() + 1; }

BlockSimulator::BlockSimulator(const Model& model, const BlockSpec& spec, const RunOptions& options, int lanes)
    : model_(model), sc_(model.scenario()), spec_(spec), options_(options) {
  key_ = {options.seed, options.common_random ? 0u : static_cast<std::uint32_t>(spec.point)};
  const int n = model.actors();
  const int issues = static_cast<int>(sc_.negotiation.issues.size());
  BlockState& st = state_;
  st.deployed.resize(lanes, n);
  st.ready.resize(lanes, n);
  st.reserve.resize(lanes, n);
  for (int i = 0; i < n; ++i) {
    st.deployed.col(i).setConstant(sc_.actors[i].forces.deployed);
    st.ready.col(i).setConstant(sc_.actors[i].forces.ready);
    st.reserve.col(i).setConstant(sc_.actors[i].forces.reserve);
  }
  st.casualties = ArrayXXd::Zero(lanes, n);
  st.created = ArrayXXd::Zero(lanes, n);
  st.removed = ArrayXXd::Zero(lanes, n);
  st.effectiveness = ArrayXXd::Ones(lanes, n);
  st.side = Eigen::ArrayXXi::Zero(lanes, n);
  st.position.resize(lanes, std::max(issues * n, 0));
  for (int k = 0; k < issues; ++k)
    for (int i = 0; i < n; ++i) st.position.col(k * n + i).setConstant(sc_.negotiation.issues[k].position[i]);
  st.agreed = Eigen::ArrayXXi::Zero(lanes, issues);
  st.last_action = Eigen::ArrayXXi::Constant(lanes, n, -1);
  st.action_count = Eigen::ArrayXXi::Zero(lanes, n * kActionKindCount);
  st.tension = ArrayXd::Constant(lanes, sc_.escalation.initial_tension);
  st.start_strength_attacker = ArrayXd::Zero(lanes);
  st.start_strength_defender = ArrayXd::Zero(lanes);
  st.rung = ArrayXi::Constant(lanes, sc_.escalation.initial_rung);
  st.peak_rung = st.rung;
  st.outcome = ArrayXi::Constant(lanes, -1);
  st.end_step = ArrayXi::Constant(lanes, -1);
  st.war_start_step = ArrayXi::Constant(lanes, -1);
  st.war_end_step = ArrayXi::Constant(lanes, -1);
  st.moved = ArrayXXd::Zero(lanes, n);
  st.first_incident_step = ArrayXi::Constant(lanes, -1);
  st.incidents = ArrayXi::Zero(lanes);
  st.alliance_war_cause = ArrayXi::Zero(lanes);
  st.type = Eigen::ArrayXXi::Zero(lanes, n);
  st.belief = ArrayXXd::Zero(lanes, n * kMaxTypes);
  for (int i = 0; i < n; ++i) {
    const auto& types = sc_.actors[i].types;
    for (std::size_t k = 0; k < types.size(); ++k)
      st.belief.col(i * kMaxTypes + static_cast<int>(k)).setConstant(types[k].prior);
    if (types.size() < 2) continue;
    // Nature draws each actor's type once per replication, from the prior.
    for (Index r = 0; r < lanes; ++r) {
      double u = 0.0, unused = 0.0;
      uniform_pair(key_, static_cast<std::uint32_t>(spec.first_replication + r), 0, static_cast<std::uint32_t>(i),
                   Purpose::kResolve, &u, &unused);
      double cumulative = 0.0;
      int drawn = static_cast<int>(types.size()) - 1;
      for (std::size_t k = 0; k < types.size(); ++k) {
        cumulative += types[k].prior;
        if (u < cumulative) {
          drawn = static_cast<int>(k);
          break;
        }
      }
      st.type(r, i) = drawn;
    }
  }
}

void BlockSimulator::step(int s) {
  const ArrayXd active = (state_.outcome < 0).cast<double>();
  state_.moved.setZero();
  apply_events(s, active);
  if (sc_.run.decisions) decide_and_act(s, active);
  posture(active);
  combat(s);
  incidents(s, active);
  const double decay = std::exp(-sc_.escalation.tension_decay * sc_.run.dt_days);
  state_.tension = (active > 0.5).select((state_.tension * decay).max(0.0), state_.tension);
  negotiate(s, active);
  next_step_ = s + 1;
}

void BlockSimulator::apply_events(int s, const ArrayXd& active) {
  BlockState& st = state_;
  for (const Event& e : sc_.events) {
    // Each event belongs to exactly one step, computed once from its day
    // (comparing day windows would let rounding fire it twice or never).
    if (event_step(e.day, sc_.run.dt_days) != s) continue;
    const int i = e.actor;
    const double cap = sc_.actors[i].forces.deployed_cap;
    ArrayXd moved;
    switch (e.kind) {
      case EventKind::kDeploy:
        moved = st.ready.col(i).min(cap - st.deployed.col(i)).max(0.0).min(e.troops) * active;
        st.ready.col(i) -= moved;
        st.deployed.col(i) += moved;
        break;
      case EventKind::kWithdraw:
        moved = st.deployed.col(i).min(e.troops) * active;
        st.deployed.col(i) -= moved;
        st.ready.col(i) += moved;
        break;
      case EventKind::kMobilize:
        moved = st.reserve.col(i).min(e.troops) * active;
        st.reserve.col(i) -= moved;
        st.ready.col(i) += moved;
        break;
      case EventKind::kDemobilize:
        moved = st.ready.col(i).min(e.troops) * active;
        st.ready.col(i) -= moved;
        st.removed.col(i) += moved;
        break;
      case EventKind::kReinforce:
        moved = e.troops * active;
        st.deployed.col(i) += moved;
        st.created.col(i) += moved;
        break;
      case EventKind::kAttack:
        for (Index r = 0; r < st.lanes(); ++r) {
          if (active(r) < 0.5) continue;
          if (st.side.row(r).maxCoeff() == 0) start_war(r, i, e.target, s);
          raise_rung(r, e.rung, s, AllianceWarCause::kNone);
        }
        break;
    }
  }
}

void BlockSimulator::decide_and_act(int s, const ArrayXd& active) {
  BlockState& st = state_;
  const int n = model_.actors();
  const Index lanes = st.lanes();
  const double dt = sc_.run.dt_days;
  const double day = s * dt;
  const auto& issues = sc_.negotiation.issues;
  const int issue_count = static_cast<int>(issues.size());

  const ArrayXd at_war = (st.side.rowwise().maxCoeff() > 0).cast<double>();
  const ArrayXd rung = st.rung.cast<double>();
  // What everyone believes about everyone's resolve, before this step's actions.
  ArrayXXd believed_resolve = ArrayXXd::Zero(lanes, n);
  for (int i = 0; i < n; ++i)
    for (std::size_t k = 0; k < sc_.actors[i].types.size(); ++k)
      believed_resolve.col(i) += sc_.actors[i].types[k].resolve * st.belief.col(i * kMaxTypes + static_cast<int>(k));

  std::vector<ArrayXi>& choices = scratch_.choices;
  choices.resize(n);
  auto& features = scratch_.features;
  ArrayXXd& feasible = scratch_.feasible;
  ArrayXXd& probabilities = scratch_.probabilities;
  auto& type_utilities = scratch_.type_utilities;
  auto& type_probabilities = scratch_.type_probabilities;

  for (int i = 0; i < n; ++i) {
    const Actor& actor = sc_.actors[i];
    const Decision& dec = actor.decision;
    const Forces& f = actor.forces;
    const int menu = static_cast<int>(actor.actions.size());
    const double rho = dec.ready_weight;
    if (menu == 1) {
      // Nothing to choose, and nothing for others to learn from the choice.
      choices[i].setZero(lanes);
      continue;
    }

    ArrayXd own = ArrayXd::Ones(lanes);
    ArrayXd own_deployed = ArrayXd::Ones(lanes);
    own += st.deployed.col(i) + rho * st.ready.col(i);
    own_deployed += st.deployed.col(i);
    for (int j : model_.allies(i)) {
      own += st.deployed.col(j) + rho * st.ready.col(j);
      own_deployed += st.deployed.col(j);
    }
    ArrayXd threat = ArrayXd::Ones(lanes);
    // Military security and a settlement matter as much as the most resolved
    // adversary is believed to be (1 when no adversary has private types).
    ArrayXd threat_resolve = ArrayXd::Zero(lanes);
    for (int j : model_.adversaries(i)) {
      threat += st.deployed.col(j) + rho * st.ready.col(j);
      threat_resolve = threat_resolve.max(believed_resolve.col(j));
    }
    if (model_.adversaries(i).empty()) threat_resolve.setOnes();
    const ArrayXd log_threat = threat.log();
    const double impatience = std::max(0.0, day - dec.patience_days) / dec.patience_days;

    // Open issues where this actor is a party, and what talks could move.
    ArrayXd open_party = ArrayXd::Zero(lanes);
    ArrayXd open_movable = ArrayXd::Zero(lanes);
    ArrayXd propose_gain = ArrayXd::Zero(lanes), concede_gain = ArrayXd::Zero(lanes);
    ArrayXd propose_settle = ArrayXd::Zero(lanes), concede_settle = ArrayXd::Zero(lanes);
    for (int k = 0; k < issue_count; ++k) {
      const Issue& issue = issues[k];
      const double s_own = issue.salience[i];
      if (s_own <= 0.0) continue;
      const ArrayXd open = 1.0 - st.agreed.col(k).cast<double>();
      open_party += open;
      if (s_own < 1.0) open_movable += open;
      const ArrayXd p_own = st.position.col(k * n + i);
      ArrayXd others_mean = ArrayXd::Zero(lanes);
      ArrayXd others_move = ArrayXd::Zero(lanes);
      double others_flex = 0.0;
      int parties = 0;
      for (int j = 0; j < n; ++j) {
        if (j == i || issue.salience[j] <= 0.0) continue;
        ++parties;
        others_mean += st.position.col(k * n + j);
        others_flex += 1.0 - issue.salience[j];
        // How far j would move toward us under a proposal of unit concession.
        others_move += (st.position.col(k * n + j) - p_own).abs().min(1.0 - issue.salience[j]);
      }
      if (parties == 0) continue;
      others_mean /= parties;
      others_flex /= parties;
      others_move /= parties;
      propose_gain += open * s_own * others_flex;
      concede_gain -= open * s_own * (1.0 - s_own);
      if (issue.core) {
        propose_settle += open * others_move;
        concede_settle += open * (others_mean - p_own).abs().min(1.0 - s_own);
      }
    }

    // Features of one action at a time (a few lanes-long columns that stay in
    // cache), weighed at once by every type: the features do not depend on
    // the actor's type, so the likelihood of an observed action under every
    // type reuses them.
    const auto& types = actor.types;
    const int type_count = static_cast<int>(types.size());
    type_utilities.resize(type_count);
    for (auto& u : type_utilities) u.resize(lanes, menu);
    feasible.resize(lanes, menu);
    const ArrayXd log_own = own.log();
    for (int m = 0; m < menu; ++m) {
      const ActionSpec& a = actor.actions[m];
      for (auto& feature : features) feature.setZero(lanes);
      auto ok = feasible.col(m);
      ok.setOnes();
      ArrayXd escalation = ArrayXd::Constant(lanes, a.tension);
      if (a.rung >= 0) escalation += (a.rung - rung).max(0.0);
      features[kEscalation] = -escalation * (1.0 + st.tension);
      features[kImpatience] = impatience * escalation;
      features[kCost].setConstant(-a.cost);
      ArrayXd& security = features[kSecurity];
      switch (a.kind) {
        case ActionKind::kMobilize:
        case ActionKind::kRaiseReadiness: {
          const double rate_cap = a.kind == ActionKind::kMobilize ? f.mobilization_rate * dt : a.amount;
          const ArrayXd moved = st.reserve.col(i).min(std::min(a.amount, rate_cap));
          security = threat_resolve * ((own + rho * moved).log() - log_threat);
          ok = (moved > kTroopEpsilon).cast<double>();
          break;
        }
        case ActionKind::kDeploy: {
          const ArrayXd moved =
              st.ready.col(i).min(std::min(a.amount, f.deployment_rate * dt)).min(f.deployed_cap - st.deployed.col(i));
          security = threat_resolve * ((own + (1.0 - rho) * moved).log() - log_threat);
          ok = (moved > kTroopEpsilon).cast<double>();
          break;
        }
        case ActionKind::kWithdraw: {
          const ArrayXd moved = st.deployed.col(i).min(std::min(a.amount, f.deployment_rate * dt));
          security = threat_resolve * ((own - (1.0 - rho) * moved).log() - log_threat);
          ok = (moved > kTroopEpsilon).cast<double>();
          break;
        }
        default:
          security = threat_resolve * (log_own - log_threat);
          break;
      }
      switch (a.kind) {
        case ActionKind::kPropose:
          features[kIssueGain] = a.concession * propose_gain;
          features[kSettlement] = threat_resolve * a.concession * propose_settle;
          ok = (open_party > 0.5).cast<double>() * (1.0 - at_war);
          break;
        case ActionKind::kConcede:
          features[kIssueGain] = a.concession * concede_gain;
          features[kSettlement] = threat_resolve * a.concession * concede_settle;
          ok = (open_movable > 0.5).cast<double>() * (1.0 - at_war);
          break;
        case ActionKind::kSanction:
          ok = (st.effectiveness.col(a.target) > kSanctionFloor + 1e-9).cast<double>();
          break;
        case ActionKind::kArmPartner:
          ok = (st.effectiveness.col(a.target) < kArmsAidCeiling - 1e-9).cast<double>();
          break;
        case ActionKind::kAttack: {
          ArrayXd defenders = 1.0 + st.deployed.col(a.target) * sc_.actors[a.target].combat.defence_advantage;
          for (int j : model_.allies(a.target)) defenders += st.deployed.col(j);
          // Extended deterrence: the protectors' forces, weighted by their
          // commitment and by how resolved they are believed to be, relative
          // to the attacker's own deployed force.
          ArrayXd protectors = ArrayXd::Zero(lanes);
          for (int j = 0; j < n; ++j) {
            const double c = model_.commitment(j, a.target);
            if (j == a.target || c <= 0.0) continue;
            defenders += c * st.deployed.col(j);
            protectors += c * believed_resolve.col(j) * (st.deployed.col(j) + rho * st.ready.col(j));
          }
          features[kWarGain] = own_deployed.log() - defenders.log();
          features[kCredibility] = -protectors / own_deployed;
          ok = (rung < a.rung).cast<double>() * (st.side.col(i) != 2).cast<double>() *
               (st.side.col(a.target) != 1).cast<double>();
          break;
        }
        case ActionKind::kRetaliate: {
          // Joining a war on the defending side of an actor one protects keeps
          // one's commitments credible.
          ArrayXd honoured = ArrayXd::Zero(lanes);
          for (int j = 0; j < n; ++j) {
            const double c = std::max(model_.commitment(i, j), sc_.relations.ally[i][j] ? 1.0 : 0.0);
            if (c <= 0.0) continue;
            honoured = honoured.max(c * (st.side.col(j) == 2).cast<double>());
          }
          features[kCredibility] = honoured;
          ok = (honoured > 0.0).cast<double>() * (st.side.col(i) == 0).cast<double>();
          break;
        }
        default:
          break;
      }
      // Lanes that have ended only "hold".
      ok = ok * active + (1.0 - active) * (a.kind == ActionKind::kHold ? 1.0 : 0.0);
      for (int k = 0; k < type_count; ++k) {
        const auto& w = types[k].weights;
        auto u = type_utilities[k].col(m);
        u = w[0] * features[0];
        for (int f_index = 1; f_index < kFeatureCount; ++f_index)
          if (w[f_index] != 0.0) u += w[f_index] * features[f_index];
      }
    }
    // Every lane must keep one feasible action: fall back to the first entry.
    const ArrayXd any = feasible.rowwise().maxCoeff();
    feasible.col(0) = (any > 0.5).select(feasible.col(0), 1.0);

    // Every type's policy: the lanes' own choice probabilities are their
    // type's, and the same policies give the likelihoods for Bayes' rule.
    type_probabilities.resize(type_count);
    for (int k = 0; k < type_count; ++k)
      logit_probabilities(type_utilities[k], feasible, dec.rationality, &type_probabilities[k]);
    if (type_count == 1) {
      probabilities.swap(type_probabilities[0]);
    } else {
      probabilities.resize(lanes, menu);
      for (Index r = 0; r < lanes; ++r) probabilities.row(r) = type_probabilities[st.type(r, i)].row(r);
    }
    ArrayXd u(lanes);
    double unused = 0.0;
    for (Index r = 0; r < lanes; ++r)
      uniform_pair(key_, static_cast<std::uint32_t>(spec_.first_replication + r), static_cast<std::uint32_t>(s),
                   static_cast<std::uint32_t>(i), Purpose::kDecision, &u(r), &unused);
    logit_choose(probabilities, u, &choices[i]);

    if (type_count > 1) {
      // Bayes' rule: everyone observes the action and knows each type's logit
      // policy, so the public belief is reweighted by each type's likelihood
      // of what was done (costly actions separate types; cheap talk barely).
      ArrayXXd likelihood(lanes, type_count);
      for (int k = 0; k < type_count; ++k)
        for (Index r = 0; r < lanes; ++r) likelihood(r, k) = type_probabilities[k](r, choices[i](r));
      for (Index r = 0; r < lanes; ++r) {
        if (active(r) < 0.5) continue;
        double total = 0.0;
        for (int k = 0; k < type_count; ++k) total += st.belief(r, i * kMaxTypes + k) * likelihood(r, k);
        if (!(total > 0.0)) continue;  // an action no type would take (underflow): keep the belief
        for (int k = 0; k < type_count; ++k)
          st.belief(r, i * kMaxTypes + k) = st.belief(r, i * kMaxTypes + k) * likelihood(r, k) / total;
      }
    }
  }

  // Decisions are simultaneous: all actors chose on the same state; effects apply in actor order.
  for (int i = 0; i < n; ++i) {
    const Actor& actor = sc_.actors[i];
    const Forces& f = actor.forces;
    for (Index r = 0; r < lanes; ++r) {
      if (active(r) < 0.5) continue;
      const int m = choices[i](r);
      st.last_action(r, i) = m;
      const ActionSpec& a = actor.actions[m];
      ++st.action_count(r, i * kActionKindCount + static_cast<int>(a.kind));
      st.tension(r) = std::max(0.0, st.tension(r) + a.tension);
      switch (a.kind) {
        case ActionKind::kMobilize:
        case ActionKind::kRaiseReadiness: {
          const double rate_cap = a.kind == ActionKind::kMobilize ? f.mobilization_rate * dt : a.amount;
          const double moved = std::min({st.reserve(r, i), a.amount, rate_cap});
          st.reserve(r, i) -= moved;
          st.ready(r, i) += moved;
          break;
        }
        case ActionKind::kDeploy: {
          const double moved = std::max(
              0.0, std::min({st.ready(r, i), a.amount, f.deployment_rate * dt, f.deployed_cap - st.deployed(r, i)}));
          st.ready(r, i) -= moved;
          st.deployed(r, i) += moved;
          st.moved(r, i) += moved;
          break;
        }
        case ActionKind::kWithdraw: {
          const double moved = std::min({st.deployed(r, i), a.amount, f.deployment_rate * dt});
          st.deployed(r, i) -= moved;
          st.ready(r, i) += moved;
          st.moved(r, i) += moved;
          break;
        }
        case ActionKind::kPropose:
          for (int k = 0; k < issue_count; ++k) {
            if (st.agreed(r, k) || issues[k].salience[i] <= 0.0) continue;
            const double target = st.position(r, k * n + i);
            for (int j = 0; j < n; ++j) {
              const double sj = issues[k].salience[j];
              if (j == i || sj <= 0.0) continue;
              double& p = st.position(r, k * n + j);
              const double step = a.concession * (1.0 - sj);
              p += std::clamp(target - p, -step, step);
            }
          }
          break;
        case ActionKind::kConcede:
          for (int k = 0; k < issue_count; ++k) {
            const double si = issues[k].salience[i];
            if (st.agreed(r, k) || si <= 0.0) continue;
            double mean = 0.0;
            int parties = 0;
            for (int j = 0; j < n; ++j)
              if (j != i && issues[k].salience[j] > 0.0) {
                mean += st.position(r, k * n + j);
                ++parties;
              }
            if (parties == 0) continue;
            double& p = st.position(r, k * n + i);
            const double step = a.concession * (1.0 - si);
            p += std::clamp(mean / parties - p, -step, step);
          }
          break;
        case ActionKind::kSanction:
          st.effectiveness(r, a.target) = std::max(kSanctionFloor, st.effectiveness(r, a.target) * (1.0 - a.effect));
          break;
        case ActionKind::kArmPartner:
          st.effectiveness(r, a.target) = std::min(kArmsAidCeiling, st.effectiveness(r, a.target) * (1.0 + a.effect));
          break;
        case ActionKind::kAttack:
          if (st.side.row(r).maxCoeff() == 0) start_war(r, i, a.target, s);
          break;
        case ActionKind::kRetaliate:
          if (st.side(r, i) == 0) {
            st.side(r, i) = 2;
            st.start_strength_defender(r) += st.deployed(r, i);
          }
          raise_rung(r, a.rung >= 0 ? a.rung : sc_.escalation.alliance_war_rung, s, AllianceWarCause::kIntervention);
          break;
        default:
          break;
      }
      if (a.rung >= 0 && a.kind != ActionKind::kRetaliate) raise_rung(r, a.rung, s, AllianceWarCause::kNone);
    }
  }
}

void BlockSimulator::start_war(Index r, int attacker, int target, int s) {
  BlockState& st = state_;
  const int n = model_.actors();
  st.side(r, attacker) = 1;
  for (int j : model_.allies(attacker)) st.side(r, j) = 1;
  st.side(r, target) = 2;
  // The war touches a covered actor when someone outside the attacking side
  // is bound (ally, or commitment >= 0.5) to defend the target: they join.
  bool alliance = false;
  for (int j = 0; j < n; ++j)
    if (st.side(r, j) == 0 && (sc_.relations.ally[j][target] || model_.commitment(j, target) >= 0.5)) {
      st.side(r, j) = 2;
      alliance = true;
    }
  st.war_start_step(r) = s;
  double a = 0.0, b = 0.0;
  for (int j = 0; j < n; ++j) {
    if (st.side(r, j) == 1) a += st.deployed(r, j);
    if (st.side(r, j) == 2) b += st.deployed(r, j);
  }
  st.start_strength_attacker(r) = a;
  st.start_strength_defender(r) = b;
  if (alliance) raise_rung(r, sc_.escalation.alliance_war_rung, s, AllianceWarCause::kAttackOnCovered);
}

void BlockSimulator::raise_rung(Index r, int rung, int s, AllianceWarCause cause) {
  BlockState& st = state_;
  if (rung <= st.rung(r)) return;
  if (rung >= sc_.escalation.alliance_war_rung && st.alliance_war_cause(r) == 0)
    st.alliance_war_cause(r) = static_cast<int>(cause);
  st.rung(r) = rung;
  if (rung > st.peak_rung(r)) {
    st.peak_rung(r) = rung;
    // The outcome of a war is its highest war rung; its step is when that rung was reached.
    if (rung >= sc_.escalation.limited_war_rung) st.end_step(r) = s;
  }
  if (rung >= sc_.escalation.alliance_war_rung && st.side.row(r).maxCoeff() > 0) join_alliance_war(r);
}

void BlockSimulator::join_alliance_war(Index r) {
  BlockState& st = state_;
  const int n = model_.actors();
  for (int j = 0; j < n; ++j) {
    if (st.side(r, j) != 0) continue;
    for (int k = 0; k < n; ++k) {
      if (st.side(r, k) != 1) continue;
      if (sc_.relations.adversary[j][k]) {
        st.side(r, j) = 2;
        st.start_strength_defender(r) += st.deployed(r, j);
        break;
      }
      if (sc_.relations.ally[j][k]) {
        st.side(r, j) = 1;
        st.start_strength_attacker(r) += st.deployed(r, j);
        break;
      }
    }
  }
}

void BlockSimulator::posture(const ArrayXd& active) {
  BlockState& st = state_;
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  // After a settlement forces stand down toward a share of their start, as
  // fast as they can be moved.
  const ArrayXd settled = (st.outcome == static_cast<int>(Outcome::kSettlement)).cast<double>();
  if (settled.maxCoeff() > 0.0) {
    for (int i = 0; i < n; ++i) {
      const Forces& f = sc_.actors[i].forces;
      const double floor = sc_.negotiation.drawdown * f.deployed;
      const ArrayXd moved = (st.deployed.col(i) - floor).max(0.0).min(f.deployment_rate * dt) * settled;
      st.deployed.col(i) -= moved;
      st.ready.col(i) += moved;
    }
  }
  // Synchronous update: every actor reacts to the same deployed forces.
  ArrayXXd desired(st.lanes(), n);
  for (int i = 0; i < n; ++i) {
    const Posture& p = sc_.actors[i].posture;
    ArrayXd threat = ArrayXd::Zero(st.lanes());
    for (int j : model_.adversaries(i)) threat += st.deployed.col(j);
    desired.col(i) = dt * (p.reaction * threat - p.fatigue * st.deployed.col(i) + p.grievance) * active;
  }
  for (int i = 0; i < n; ++i) {
    const Forces& f = sc_.actors[i].forces;
    // Drift and deliberate moves share one transport budget per step.
    const ArrayXd rate = (f.deployment_rate * dt - st.moved.col(i)).max(0.0);
    const ArrayXd up =
        desired.col(i).max(0.0).min(rate).min(st.ready.col(i)).min((f.deployed_cap - st.deployed.col(i)).max(0.0));
    const ArrayXd down = (-desired.col(i)).max(0.0).min(rate).min(st.deployed.col(i));
    const ArrayXd moved = up - down;
    st.deployed.col(i) += moved;
    st.ready.col(i) -= moved;
  }
}

void BlockSimulator::combat(int s) {
  BlockState& st = state_;
  const int n = model_.actors();
  const Escalation& esc = sc_.escalation;
  const double dt = sc_.run.dt_days;
  for (Index r = 0; r < st.lanes(); ++r) {
    if (st.outcome(r) >= 0 || st.war_start_step(r) < 0) continue;
    double a = 0.0, b = 0.0, alpha = 0.0, beta = 0.0;
    for (int j = 0; j < n; ++j) {
      const Combat& c = sc_.actors[j].combat;
      const double d = st.deployed(r, j);
      if (st.side(r, j) == 1) {
        a += d;
        alpha += c.effectiveness * st.effectiveness(r, j) * d;
      } else if (st.side(r, j) == 2) {
        b += d;
        beta += c.effectiveness * st.effectiveness(r, j) * c.defence_advantage * d;
      }
    }
    if (a > 0.0) alpha /= a;
    if (b > 0.0) beta /= b;
    const double intensity = st.rung(r) >= esc.full_war_rung ? 1.0 : sc_.combat.limited_war_intensity;
    const Strengths after = sc_.combat.law == LanchesterLaw::kSquare
                                ? lanchester_square({a, b}, intensity * alpha, intensity * beta, dt)
                                : lanchester_linear({a, b}, intensity * alpha, intensity * beta, dt);
    // Losses fall on each side's actors in proportion to their deployed troops.
    const double keep_a = a > 0.0 ? after.a / a : 0.0;
    const double keep_b = b > 0.0 ? after.b / b : 0.0;
    for (int j = 0; j < n; ++j) {
      if (st.side(r, j) == 0) continue;
      const double keep = st.side(r, j) == 1 ? keep_a : keep_b;
      const double loss = st.deployed(r, j) * (1.0 - keep);
      st.deployed(r, j) -= loss;
      st.casualties(r, j) += loss;
    }
    const bool attacker_collapsed = after.a <= sc_.combat.collapse_fraction * st.start_strength_attacker(r);
    const bool defender_collapsed = after.b <= sc_.combat.collapse_fraction * st.start_strength_defender(r);
    if (attacker_collapsed || defender_collapsed) {
      st.war_end_step(r) = s;
      const int peak = st.peak_rung(r);
      st.outcome(r) = static_cast<int>(peak >= esc.alliance_war_rung ? Outcome::kAllianceWar
                                       : peak >= esc.full_war_rung   ? Outcome::kFullWar
                                                                     : Outcome::kLimitedWar);
    }
  }
}

void BlockSimulator::incidents(int s, const ArrayXd& active) {
  BlockState& st = state_;
  const int n = model_.actors();
  const Escalation& esc = sc_.escalation;
  const Incidents& inc = esc.incidents;
  ArrayXd contact = ArrayXd::Zero(st.lanes());
  for (int i = 0; i < n; ++i)
    for (int j : model_.adversaries(i))
      if (j > i) contact += (st.deployed.col(i) * st.deployed.col(j)).sqrt() / kContactScale;
  const ArrayXd hazard = inc.base_rate + inc.tension_rate * st.tension + inc.contact_rate * contact;
  const ArrayXd probability = 1.0 - (-hazard * sc_.run.dt_days).exp();
  for (Index r = 0; r < st.lanes(); ++r) {
    if (active(r) < 0.5 || st.outcome(r) >= 0) continue;
    double occur = 0.0, escalate = 0.0;
    uniform_pair(key_, static_cast<std::uint32_t>(spec_.first_replication + r), static_cast<std::uint32_t>(s), 0,
                 Purpose::kIncident, &occur, &escalate);
    if (occur >= probability(r)) continue;
    ++st.incidents(r);
    if (st.first_incident_step(r) < 0) st.first_incident_step(r) = s;
    st.tension(r) += inc.tension_jump;
    if (escalate < inc.escalation_probability) {
      // Outside a war an incident cannot start one; inside, it can widen it.
      const bool war = st.war_start_step(r) >= 0;
      const int ceiling = war ? esc.alliance_war_rung : esc.limited_war_rung - 1;
      raise_rung(r, std::min(st.rung(r) + 1, ceiling), s, AllianceWarCause::kIncident);
    }
  }
}

void BlockSimulator::negotiate(int s, const ArrayXd& active) {
  BlockState& st = state_;
  const int n = model_.actors();
  const auto& issues = sc_.negotiation.issues;
  const double window = sc_.negotiation.acceptance_window;
  bool any_core = false;
  for (const Issue& issue : issues) any_core = any_core || issue.core;
  for (Index r = 0; r < st.lanes(); ++r) {
    if (active(r) < 0.5 || st.outcome(r) >= 0) continue;
    bool core_agreed = true;
    for (std::size_t k = 0; k < issues.size(); ++k) {
      if (!st.agreed(r, k)) {
        double lo = 1.0, hi = 0.0;
        for (int j = 0; j < n; ++j) {
          if (issues[k].salience[j] <= 0.0) continue;
          lo = std::min(lo, st.position(r, k * n + j));
          hi = std::max(hi, st.position(r, k * n + j));
        }
        if (hi - lo <= window + 1e-12) {
          st.agreed(r, k) = 1;
          st.tension(r) = std::max(0.0, st.tension(r) - sc_.escalation.agreement_relief);
          if (st.war_start_step(r) < 0) st.rung(r) = std::max(sc_.escalation.initial_rung, st.rung(r) - 1);
        }
      }
      if (issues[k].core && !st.agreed(r, k)) core_agreed = false;
    }
    if (any_core && core_agreed && st.war_start_step(r) < 0) {
      st.outcome(r) = static_cast<int>(Outcome::kSettlement);
      st.end_step(r) = s;
    }
  }
}

void BlockSimulator::finish() {
  BlockState& st = state_;
  const Escalation& esc = sc_.escalation;
  for (Index r = 0; r < st.lanes(); ++r) {
    if (st.outcome(r) >= 0) continue;
    const int peak = st.peak_rung(r);
    if (peak >= esc.limited_war_rung) {
      st.outcome(r) = static_cast<int>(peak >= esc.alliance_war_rung ? Outcome::kAllianceWar
                                       : peak >= esc.full_war_rung   ? Outcome::kFullWar
                                                                     : Outcome::kLimitedWar);
    } else {
      st.outcome(r) = static_cast<int>(Outcome::kStandoff);
      st.end_step(r) = model_.steps();
    }
  }
}

BlockResult simulate_block(const Model& model, const BlockSpec& spec, const RunOptions& options) {
  BlockSimulator sim(model, spec, options);
  const int n = model.actors();
  const int count = spec.count;
  // Per-replication series only when asked; per-record sums always.
  const int every = options.timeseries_every > 0 ? options.timeseries_every : 1;
  const int records = (model.steps() + every - 1) / every + 1;  // as Model::records(), horizon included
  const bool series = options.timeseries_every > 0;
  const int rungs = static_cast<int>(model.scenario().escalation.rungs.size());
  const int issues = static_cast<int>(model.scenario().negotiation.issues.size());
  BlockResult out;
  out.spec = spec;
  out.record_rung_count.assign(static_cast<std::size_t>(records) * rungs, 0);
  out.record_troops_sum.assign(static_cast<std::size_t>(records) * n * kPoolCount, 0.0);
  out.record_belief_sum.assign(static_cast<std::size_t>(records) * n * kMaxTypes, 0.0);
  if (series) {
    out.ts_forces.resize(static_cast<std::size_t>(count) * records * n * kPoolCount);
    out.ts_rung.resize(static_cast<std::size_t>(count) * records);
    out.ts_tension.resize(static_cast<std::size_t>(count) * records);
    out.ts_belief.resize(static_cast<std::size_t>(count) * records * n * kMaxTypes);
  }
  auto record = [&](int q) {
    const BlockState& st = sim.state();
    // Column sums over the kept lanes: contiguous, vectorized, and always in
    // the same order for a given block.
    for (int i = 0; i < n; ++i) {
      const std::size_t t = (static_cast<std::size_t>(q) * n + i) * kPoolCount;
      out.record_troops_sum[t + kDeployed] = st.deployed.col(i).head(count).sum();
      out.record_troops_sum[t + kReady] = st.ready.col(i).head(count).sum();
      out.record_troops_sum[t + kReserve] = st.reserve.col(i).head(count).sum();
      for (std::size_t k = 0; k < model.scenario().actors[i].types.size(); ++k)
        out.record_belief_sum[(static_cast<std::size_t>(q) * n + i) * kMaxTypes + k] =
            st.belief.col(i * kMaxTypes + static_cast<int>(k)).head(count).sum();
    }
    for (int r = 0; r < count; ++r) {
      ++out.record_rung_count[static_cast<std::size_t>(q) * rungs + st.rung(r)];
      if (!series) continue;
      const std::size_t base = (static_cast<std::size_t>(r) * records + q) * n * kPoolCount;
      for (int i = 0; i < n; ++i) {
        out.ts_forces[base + i * kPoolCount + kDeployed] = static_cast<float>(st.deployed(r, i));
        out.ts_forces[base + i * kPoolCount + kReady] = static_cast<float>(st.ready(r, i));
        out.ts_forces[base + i * kPoolCount + kReserve] = static_cast<float>(st.reserve(r, i));
      }
      out.ts_rung[static_cast<std::size_t>(r) * records + q] = static_cast<std::int8_t>(st.rung(r));
      out.ts_tension[static_cast<std::size_t>(r) * records + q] = static_cast<float>(st.tension(r));
      const std::size_t belief_base = (static_cast<std::size_t>(r) * records + q) * n * kMaxTypes;
      for (int c = 0; c < n * kMaxTypes; ++c) out.ts_belief[belief_base + c] = static_cast<float>(st.belief(r, c));
    }
  };
  record(0);
  for (int s = 0; s < model.steps(); ++s) {
    sim.step(s);
    if ((s + 1) % every == 0 || s + 1 == model.steps()) record((s + every) / every);
  }
  sim.finish();
  const BlockState& st = sim.state();
  out.outcome.resize(count);
  out.peak_rung.resize(count);
  out.end_step.resize(count);
  out.war_start_step.resize(count);
  out.war_end_step.resize(count);
  out.first_incident_step.resize(count);
  out.incidents.resize(count);
  out.casualties.resize(static_cast<std::size_t>(count) * n);
  out.final_forces.resize(static_cast<std::size_t>(count) * n * kPoolCount);
  out.action_count.resize(static_cast<std::size_t>(count) * n * kActionKindCount);
  out.troops_added.resize(static_cast<std::size_t>(count) * n);
  out.troops_removed.resize(static_cast<std::size_t>(count) * n);
  out.alliance_war_cause.resize(count);
  out.agreed.resize(static_cast<std::size_t>(count) * issues);
  out.resolve_type.resize(static_cast<std::size_t>(count) * n);
  out.final_belief.resize(static_cast<std::size_t>(count) * n * kMaxTypes);
  for (int r = 0; r < count; ++r) {
    out.outcome[r] = static_cast<std::int8_t>(st.outcome(r));
    out.peak_rung[r] = static_cast<std::int8_t>(st.peak_rung(r));
    out.end_step[r] = st.end_step(r);
    out.war_start_step[r] = st.war_start_step(r);
    out.war_end_step[r] = st.war_end_step(r);
    out.first_incident_step[r] = st.first_incident_step(r);
    out.incidents[r] = st.incidents(r);
    for (int c = 0; c < n * kActionKindCount; ++c)
      out.action_count[static_cast<std::size_t>(r) * n * kActionKindCount + c] = st.action_count(r, c);
    out.alliance_war_cause[r] = static_cast<std::int8_t>(st.alliance_war_cause(r));
    for (int k = 0; k < issues; ++k)
      out.agreed[static_cast<std::size_t>(r) * issues + k] = static_cast<std::int8_t>(st.agreed(r, k));
    for (int c = 0; c < n * kMaxTypes; ++c)
      out.final_belief[static_cast<std::size_t>(r) * n * kMaxTypes + c] = static_cast<float>(st.belief(r, c));
    for (int i = 0; i < n; ++i) {
      out.troops_added[static_cast<std::size_t>(r) * n + i] = st.created(r, i);
      out.troops_removed[static_cast<std::size_t>(r) * n + i] = st.removed(r, i);
      out.resolve_type[static_cast<std::size_t>(r) * n + i] = static_cast<std::int8_t>(st.type(r, i));
      out.casualties[static_cast<std::size_t>(r) * n + i] = st.casualties(r, i);
      const std::size_t base = (static_cast<std::size_t>(r) * n + i) * kPoolCount;
      out.final_forces[base + kDeployed] = st.deployed(r, i);
      out.final_forces[base + kReady] = st.ready(r, i);
      out.final_forces[base + kReserve] = st.reserve(r, i);
    }
  }
  return out;
}

}  // namespace brink
