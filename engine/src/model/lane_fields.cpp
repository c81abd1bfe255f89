// Per-lane fields and streams: what lets one block carry several sweep
// points side by side (calibration particles, posterior draws). The fields
// the field table marks per_lane are read by the phases from lane arrays;
// an ordinary block fills them with its one value, so its arithmetic and
// its bits are those of a scalar read. See docs/calibration.md, "Packed blocks".
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "block_scratch.hpp"
#include "brink/model/rules.hpp"

namespace brink {

const Scenario& BlockSimulator::lane_scenario(int r) const {
  const int segment = scratch_->lane_segment[r];
  return segment < 0 ? sc_ : spec_.segments[static_cast<std::size_t>(segment)].model->scenario();
}

StreamKey BlockSimulator::lane_key(int r) const { return StreamKey{key_.seed, scratch_->lane_point[r]}; }

std::uint32_t BlockSimulator::lane_replication(int r) const { return scratch_->lane_replication[r]; }

int BlockSimulator::block_lane(int position) const { return scratch_->origin[position]; }

StepView BlockSimulator::view(int s) const {
  const Scratch& x = *scratch_;
  StepView v;
  v.step = s;
  v.width = width_;
  v.origin = x.origin;
  v.state = &state_;
  v.decision = x.decision_u.data();
  v.incident = x.incident_u;
  v.bargain = x.bargain_step == s ? x.bargain_u : nullptr;
  return v;
}

void BlockSimulator::lane_words(int s, std::uint32_t purpose_and_actor) {
  Scratch& x = *scratch_;
  philox_lanes_at<L>(key_.seed, x.lane_replication, x.lane_point, static_cast<std::uint32_t>(s), purpose_and_actor,
                     x.words, width_);
}

// An incident's escalation uniform, drawn only for the lanes with an incident.
double BlockSimulator::escalation_draw(int r, int s) const {
  const auto w = philox_words(lane_key(r), lane_replication(r), static_cast<std::uint32_t>(s),
                              purpose_word(Purpose::kIncident, 0));
  return unit_double(w[0], w[1]);
}

// The step's decision stream (rng.hpp, incident_word): the actors' choice
// uniforms when they decide, and the incident's occurrence, in as few calls
// as hold them.
void BlockSimulator::draw_step_uniforms(int s) {
  Scratch& x = *scratch_;
  const int width = pass_width();
  const int n = model_.actors();
  const int occurrence = incident_word(n);
  const int last = occurrence / kDecisionGroup;
  const bool decide = sc_.run.decisions;
  // An actor with one action has nothing to choose (decide_and_act): its word is not converted, and a
  // call holding only such words is not made.
  auto chooses = [&](int i) { return decide && i < n && sc_.actors[i].actions.size() > 1; };
  for (int g = 0; g <= last; ++g) {
    bool used = g == last;
    for (int w = 0; w < kDecisionGroup; ++w) used = used || chooses(g * kDecisionGroup + w);
    if (!used) continue;
    lane_words(s, purpose_word(Purpose::kDecision, static_cast<std::uint32_t>(g)));
    for (int w = 0; w < kDecisionGroup; ++w) {
      const int i = g * kDecisionGroup + w;
      if (!chooses(i)) continue;
      float* u = x.decision_u.data() + static_cast<std::size_t>(i) * L;
      for (int l = 0; l < width; ++l) u[l] = unit_float(x.words[w][l]);
    }
  }
  const int w = occurrence % kDecisionGroup;
  for (int l = 0; l < width; ++l) x.incident_u[l] = unit_double_lanes(x.words[w][l], x.words[w + 1][l]);
}

void BlockSimulator::init_lane_fields() {
  Scratch& x = *scratch_;
  int lane = 0;
  for (std::size_t g = 0; g < spec_.segments.size(); ++g) {
    const LaneSegment& seg = spec_.segments[g];
    if (seg.model == nullptr || seg.count < 0 || lane + seg.count > L)
      throw std::invalid_argument("packed block: a lane segment has no model or the segments exceed a block");
    const StreamKey k = seg.model->stream(seg.point);
    if (k.seed != key_.seed || seg.model->actors() != model_.actors() || seg.model->steps() != model_.steps())
      throw std::invalid_argument("packed block: the segments differ in seed, actors or steps");
    phases_.posture = phases_.posture || phases_of(seg.model->scenario()).posture;
    for (int r = 0; r < seg.count; ++r, ++lane) {
      x.lane_segment[lane] = static_cast<std::int32_t>(g);
      x.lane_point[lane] = k.point;
      x.lane_replication[lane] = static_cast<std::uint32_t>(seg.first_replication + r);
    }
  }
  // An ordinary block's lanes, and the padding past a packed block's
  // segments, simulate the block's own point (padding is dropped).
  const std::uint32_t first = packed_ ? 0u : static_cast<std::uint32_t>(spec_.first_replication);
  for (int r = lane; r < L; ++r) {
    x.lane_segment[r] = -1;
    x.lane_point[r] = key_.point;
    x.lane_replication[r] = first + static_cast<std::uint32_t>(r);
  }
  for (int r = 0; r < L; ++r) x.origin[r] = r;
  const int n = model_.actors();
  const double dt = sc_.run.dt_days;
  for (int r = 0; r < L; ++r) {
    const Scenario& s = lane_scenario(r);
    const Incidents& inc = s.escalation.incidents;
    x.base_rate[r] = inc.base_rate;
    x.tension_rate[r] = inc.tension_rate;
    x.contact_rate[r] = inc.contact_rate;
    x.tension_jump[r] = inc.tension_jump;
    x.escalation_probability[r] = inc.escalation_probability;
    x.tension_keep[r] = std::exp(-s.escalation.tension_decay * dt);
    for (int i = 0; i < n; ++i) {
      const Actor& a = s.actors[static_cast<std::size_t>(i)];
      x.lane_column(x.reaction, i)[r] = a.posture.reaction;
      x.lane_column(x.fatigue, i)[r] = a.posture.fatigue;
      x.lane_column(x.grievance, i)[r] = a.posture.grievance;
      x.lane_column(x.start_deployed, i)[r] = a.forces.deployed;
      x.lane_column(x.rate_dt, i)[r] = a.forces.deployment_rate * dt;
      x.lane_column(x.mobilize_dt, i)[r] = a.forces.mobilization_rate * dt;
      x.lane_column(x.cap, i)[r] = a.forces.deployed_cap;
      x.lane_column(x.kill_rate, i)[r] = a.combat.effectiveness;
      x.lane_column(x.defence, i)[r] = a.combat.defence_advantage;
      x.rationality[static_cast<std::size_t>(i) * L + static_cast<std::size_t>(r)] =
          static_cast<float>(a.decision.rationality);
    }
  }
  init_lane_weights();
}

// Decision weights vary per lane only in a packed block whose segments' types
// weigh differently from the block's; otherwise `weigh` keeps one scalar per
// type (the hot loop of an ordinary block is unchanged).
void BlockSimulator::init_lane_weights() {
  Scratch& x = *scratch_;
  const int n = model_.actors();
  bool differ = false;
  for (const LaneSegment& seg : spec_.segments)
    for (int i = 0; i < n && !differ; ++i) {
      const auto& mine = sc_.actors[static_cast<std::size_t>(i)].types;
      const auto& theirs = seg.model->scenario().actors[static_cast<std::size_t>(i)].types;
      for (std::size_t k = 0; k < mine.size(); ++k) differ = differ || mine[k].weights != theirs[k].weights;
    }
  if (!differ) {
    x.lane_weights.clear();
    return;
  }
  x.lane_weights.assign(static_cast<std::size_t>(n) * kMaxTypes * kFeatureCount * L, 0.0f);
  for (int r = 0; r < L; ++r) {
    const Scenario& s = lane_scenario(r);
    for (int i = 0; i < n; ++i) {
      const auto& types = s.actors[static_cast<std::size_t>(i)].types;
      for (std::size_t k = 0; k < types.size(); ++k)
        for (int f = 0; f < kFeatureCount; ++f)
          x.lane_weight(i, static_cast<int>(k), f)[r] =
              static_cast<float>(types[k].weights[static_cast<std::size_t>(f)]);
    }
  }
}

void BlockSimulator::init_pools_and_types() {
  BlockState& st = state_;
  const int n = model_.actors();
  st.deployed.resize(L, n);
  st.ready.resize(L, n);
  st.reserve.resize(L, n);
  st.tension.resize(L);
  st.type = Eigen::ArrayXXi::Zero(L, n);
  st.belief = Eigen::ArrayXXf::Zero(L, n * kMaxTypes);
  for (int r = 0; r < L; ++r) {
    const Scenario& s = lane_scenario(r);
    st.tension(r) = s.escalation.initial_tension;
    for (int i = 0; i < n; ++i) {
      const Actor& a = s.actors[static_cast<std::size_t>(i)];
      st.deployed(r, i) = a.forces.deployed;
      st.ready(r, i) = a.forces.ready;
      st.reserve(r, i) = a.forces.reserve;
      const auto& types = a.types;
      for (std::size_t k = 0; k < types.size(); ++k)
        st.belief(r, i * kMaxTypes + static_cast<int>(k)) = static_cast<float>(types[k].prior);
      if (types.size() < 2) continue;
      // Nature draws each actor's type once per replication, from the prior.
      double u = 0.0, unused = 0.0;
      uniform_pair(lane_key(r), lane_replication(r), 0, static_cast<std::uint32_t>(i), Purpose::kResolve, &u, &unused);
      st.type(r, i) = rules::draw_type(types, u);
      // Revealed types: complete information, the benchmark private information is measured against.
      if (!sc_.run.revealed_types) continue;
      for (std::size_t k = 0; k < types.size(); ++k)
        st.belief(r, i * kMaxTypes + static_cast<int>(k)) = st.type(r, i) == static_cast<int>(k) ? 1.0f : 0.0f;
    }
  }
}

// A finished lane can no longer change: every later pass masks it out (a
// settlement is the exception, its forces keep drawing down). Once the
// lanes still in play fit in fewer groups of 16 than the passes cover, each
// one past the new width swaps places with a finished lane below it, and
// width_ narrows: the step's passes stop computing finished lanes. Only
// kept positions move (padding past the kept count never does), so the
// recorder's sums over the first `count` positions keep summing the kept
// lanes; extraction puts each lane back by its origin.
void BlockSimulator::retire_finished() {
  if (!spec_.retire_finished) return;
  Scratch& x = *scratch_;
  const int* outcome = state_.outcome.data();
  const int span = std::min(width_, spec_.count);
  int in_play = 0;
  for (int l = 0; l < span; ++l) in_play += rules::lane_in_play(outcome[l]);
  const int width = std::min((in_play + kLaneGroup - 1) / kLaneGroup * kLaneGroup, width_);
  if (width == width_) return;
  // There are as many finished lanes below the width as lanes in play above it, or more.
  alignas(64) std::int32_t low[L], high[L];
  int swaps = 0, hole = 0;
  for (int l = width; l < span; ++l) {
    if (!rules::lane_in_play(outcome[l])) continue;
    while (rules::lane_in_play(outcome[hole])) ++hole;
    low[swaps] = hole++;
    high[swaps++] = l;
  }
  swap_lanes(low, high, swaps);
  // No pass reads past the width; the masks there are cleared anyway, so that
  // a finished lane reads as not running wherever it is looked at.
  for (int l = width; l < width_; ++l) {
    x.active[l] = 0.0;
    x.running[l] = 0;
  }
  width_ = width;
}

// Lanes low[k] and high[k] trade places in every per-lane array, for k < count.
void BlockSimulator::swap_lanes(const std::int32_t* low, const std::int32_t* high, int count) {
  auto swap = [&](auto* column, int columns) {
    for (int c = 0; c < columns; ++c, column += L)
      for (int k = 0; k < count; ++k) std::swap(column[low[k]], column[high[k]]);
  };
  state_.for_each_lane_array([&](auto& array) {
    if (array.size() > 0) swap(array.data(), static_cast<int>(array.cols()));
  });
  scratch_->for_each_lane_field(swap);
}

}  // namespace brink
