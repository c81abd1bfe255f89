// simulate_block: a whole block from step 0 to the horizon, with its records
// on the file's step axis, turned into a BlockResult.
#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "block_scratch.hpp"
#include "brink/model/kernel.hpp"
#include "packet_math.hpp"

namespace brink {

namespace {

// The sums in double of K columns of count floats, each in a fixed order:
// eight partial sums (lane j of the eight takes rows j, j + 8, ...), then
// added in lane order. The partials are two vectors of four doubles, each
// filled from four floats converted at once (left to itself, GCC assembled
// the eight floats one at a time). Columns side by side overlap their chains.
template <int K>
void float_sums(const float* const (&column)[K], int count, double* const (&sum)[K]) {
  using Floats4 = float __attribute__((vector_size(16)));
  using Doubles4 = double __attribute__((vector_size(32)));
  constexpr int kParts = 8;
  Doubles4 low[K] = {}, high[K] = {};
  int r = 0;
  for (; r + kParts <= count; r += kParts)
    for (int k = 0; k < K; ++k) {
      Floats4 a, b;
      std::memcpy(&a, column[k] + r, sizeof a);
      std::memcpy(&b, column[k] + r + 4, sizeof b);
      low[k] += __builtin_convertvector(a, Doubles4);
      high[k] += __builtin_convertvector(b, Doubles4);
    }
  for (int k = 0; k < K; ++k) {
    double part[kParts];
    std::memcpy(part, &low[k], sizeof low[k]);
    std::memcpy(part + 4, &high[k], sizeof high[k]);
    for (int t = r; t < count; ++t) part[t % kParts] += static_cast<double>(column[k][t]);
    double total = 0.0;
    for (double p : part) total += p;
    *sum[k] = total;
  }
}

// The block's sums at record q (always), and its lanes' series (with --timeseries).
class Recorder {
 public:
  Recorder(const Model& model, const BlockSpec& spec, BlockResult* out)
      : model_(model),
        n_(model.actors()),
        count_(spec.count),
        records_(model.records()),
        rungs_(static_cast<int>(model.scenario().escalation.rungs.size())),
        types_(model.scenario().type_slots()),
        segments_(spec.sums_per_segment ? spec.segments : std::span<const LaneSegment>{}),
        fixed_belief_sum_(static_cast<std::size_t>(n_ * types_)),
        out_(out) {
    const std::size_t sums = std::max<std::size_t>(segments_.size(), 1) * static_cast<std::size_t>(records_);
    out->record_rung_count.assign(sums * rungs_, 0);
    out->record_troops_sum.assign(sums * n_ * kPoolCount, 0.0);
    out->record_belief_sum.assign(sums * n_ * types_, 0.0);
    if (!segments_.empty()) {
      gathered_troops_.resize(kBlockLanes, n_ * kPoolCount);
      gathered_belief_.resize(kBlockLanes, n_ * kMaxTypes);
      gathered_rung_.resize(kBlockLanes);
    }
    if (model.series()) {
      out->ts_forces.resize(static_cast<std::size_t>(count_) * records_ * n_ * kPoolCount);
      out->ts_rung.resize(static_cast<std::size_t>(count_) * records_);
      out->ts_tension.resize(static_cast<std::size_t>(count_) * records_);
      out->ts_belief.resize(static_cast<std::size_t>(count_) * records_ * n_ * types_);
    }
  }

  void record(int q, const BlockSimulator& sim) {
    const BlockState& st = sim.state();
    BlockResult& out = *out_;
    if (segments_.empty()) {
      // Column sums over the kept lanes (the first count_ positions):
      // contiguous, vectorized, and always in the same order for a given block.
      sum_lanes(
          count_, static_cast<std::size_t>(q), [&](int i, int pool) { return pool_column(st, pool).col(i).data(); },
          [&](int i, int k) { return st.belief.col(i * kMaxTypes + k).data(); }, st.rung.data(), &fixed_belief_sum_);
    } else {
      sum_segments(q, sim);
    }
    if (!model_.series()) return;
    for (int l = 0; l < count_; ++l) {
      const int r = sim.block_lane(l);  // the replication whose state is at position l
      const std::size_t base = (static_cast<std::size_t>(r) * records_ + q) * n_ * kPoolCount;
      for (int i = 0; i < n_; ++i) {
        out.ts_forces[base + i * kPoolCount + kDeployed] = static_cast<float>(st.deployed(l, i));
        out.ts_forces[base + i * kPoolCount + kReady] = static_cast<float>(st.ready(l, i));
        out.ts_forces[base + i * kPoolCount + kReserve] = static_cast<float>(st.reserve(l, i));
      }
      out.ts_rung[static_cast<std::size_t>(r) * records_ + q] = static_cast<std::int8_t>(st.rung(l));
      out.ts_tension[static_cast<std::size_t>(r) * records_ + q] = static_cast<float>(st.tension(l));
      const std::size_t belief_base = (static_cast<std::size_t>(r) * records_ + q) * n_ * types_;
      for (int i = 0; i < n_; ++i)
        for (int k = 0; k < types_; ++k) out.ts_belief[belief_base + i * types_ + k] = st.belief(l, i * kMaxTypes + k);
    }
  }

 private:
  static const Eigen::ArrayXXd& pool_column(const BlockState& st, int pool) {
    return pool == kDeployed ? st.deployed : pool == kReady ? st.ready : st.reserve;
  }

  // The sums of `count` lanes into place `at` of the record sums (the
  // record, or the segment's record): troops(i, pool) and belief(i, k) give
  // the columns, lane 0 first. With `fixed`, the sum of a belief column that
  // cannot change (an actor whose type is never learned) is taken at the
  // first record and kept in (*fixed)[i * types_ + k]: where its lanes hold one value v or 0,
  // every partial sum is an exact multiple of v, so no later order of the
  // lanes (retirement moves them) could give other bits.
  template <class Troops, class Beliefs>
  void sum_lanes(int count, std::size_t at, Troops troops, Beliefs belief, const int* rung,
                 std::vector<std::optional<double>>* fixed = nullptr) {
    BlockResult& out = *out_;
    for (int i = 0; i < n_; ++i) {
      const double* pools[kPoolCount] = {troops(i, kDeployed), troops(i, kReady), troops(i, kReserve)};
      double sums[kPoolCount];
      eigen_sums(pools, count, sums);  // troops(i, pool)'s first count values' Eigen sum(), interleaved
      std::copy(sums, sums + kPoolCount,
                out.record_troops_sum.begin() + static_cast<std::ptrdiff_t>((at * n_ + i) * kPoolCount));
    }
    // Every actor's beliefs in its types, two columns at a time.
    int pending = 0;
    const float* column[2];
    double* sum[2];
    for (int i = 0; i < n_; ++i)
      for (int k = 0; k < static_cast<int>(model_.scenario().actors[i].types.size()); ++k) {
        double* target = &out.record_belief_sum[(at * n_ + i) * types_ + k];
        if (fixed && (*fixed)[i * types_ + k]) {
          *target = *(*fixed)[i * types_ + k];
          continue;
        }
        column[pending] = belief(i, k);
        sum[pending] = target;
        if (++pending == 2) {
          float_sums(column, count, sum);
          pending = 0;
        }
      }
    if (pending == 1) float_sums<1>({column[0]}, count, {sum[0]});
    if (fixed && at == 0)  // the block's first record: each column is looked at once
      for (int i = 0; i < n_; ++i)
        for (int k = 0; k < static_cast<int>(model_.scenario().actors[i].types.size()); ++k)
          if (!model_.learns_type_of(i) && !(*fixed)[i * types_ + k] && one_value_or_zero(belief(i, k), count))
            (*fixed)[i * types_ + k] = out.record_belief_sum[(at * n_ + i) * types_ + k];
    for (int g = 0; g < rungs_; ++g) {
      int c = 0;
      for (int r = 0; r < count; ++r) c += rung[r] == g ? 1 : 0;
      out.record_rung_count[at * rungs_ + g] = c;
    }
  }

  // Each segment's sums, over its replications in replication order
  // gathered from wherever retirement moved them, into aligned columns: the
  // bits of a block that holds the segment alone (at most kLaneGroup lanes,
  // which never move).
  void sum_segments(int q, const BlockSimulator& sim) {
    const BlockState& st = sim.state();
    int position[kBlockLanes];
    for (int p = 0; p < count_; ++p) position[sim.block_lane(p)] = p;
    int first = 0;
    for (std::size_t j = 0; j < segments_.size(); ++j) {
      const int count = segments_[j].count;
      for (int r = 0; r < count; ++r) {
        const int p = position[first + r];
        for (int i = 0; i < n_; ++i) {
          for (int pool = 0; pool < kPoolCount; ++pool)
            gathered_troops_(r, i * kPoolCount + pool) = pool_column(st, pool)(p, i);
          for (int k = 0; k < types_; ++k) gathered_belief_(r, i * kMaxTypes + k) = st.belief(p, i * kMaxTypes + k);
        }
        gathered_rung_(r) = st.rung(p);
      }
      sum_lanes(
          count, j * records_ + static_cast<std::size_t>(q),
          [&](int i, int pool) { return gathered_troops_.col(i * kPoolCount + pool).data(); },
          [&](int i, int k) { return gathered_belief_.col(i * kMaxTypes + k).data(); }, gathered_rung_.data());
      first += count;
    }
  }

  static bool one_value_or_zero(const float* column, int count) {
    float value = 0.0f;
    for (int r = 0; r < count; ++r) {
      if (column[r] == 0.0f) continue;
      if (value != 0.0f && column[r] != value) return false;
      value = column[r];
    }
    return true;
  }

  const Model& model_;
  int n_, count_, records_, rungs_, types_;
  std::span<const LaneSegment> segments_;                // empty: sums over the block
  std::vector<std::optional<double>> fixed_belief_sum_;  // sum_lanes' `fixed`, per (actor, type slot)
  Eigen::ArrayXXd gathered_troops_;                      // a segment's lanes × (actor, pool)
  Eigen::ArrayXXf gathered_belief_;                      // a segment's lanes × (actor, type slot of kMaxTypes)
  Eigen::ArrayXi gathered_rung_;
  BlockResult* out_;
};

// The per-replication fields of a block of `count` kept lanes, sized.
void size_fields(const Model& model, int count, BlockResult& out) {
  const int n = model.actors();
  const int issues = static_cast<int>(model.scenario().negotiation.issues.size());
  const int types = model.scenario().type_slots();
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
  out.final_belief.resize(static_cast<std::size_t>(count) * n * types);
  out.offer.resize(count);
  out.war_cost.resize(static_cast<std::size_t>(count) * n);
}

// Each kept lane's results, put back in block-lane order.
void extract(const Model& model, const BlockSimulator& sim, int count, BlockResult* out_ptr) {
  const BlockState& st = sim.state();
  BlockResult& out = *out_ptr;
  const int n = model.actors();
  const int issues = static_cast<int>(model.scenario().negotiation.issues.size());
  const int types = model.scenario().type_slots();
  size_fields(model, count, out);
  // Field by field: each loop is one conversion and one store per lane, to
  // the lane's replication in block order (retired lanes were moved).
  int origin[kBlockLanes];
  for (int l = 0; l < count; ++l) origin[l] = sim.block_lane(l);
  // field[origin(l)·stride + offset] = source[l] for every kept lane.
  auto scatter = [&](auto& field, int stride, int offset, const auto* source) {
    auto* to = field.data();
    using T = std::remove_reference_t<decltype(*to)>;
    for (int l = 0; l < count; ++l)
      to[static_cast<std::size_t>(origin[l]) * stride + offset] = static_cast<T>(source[l]);
  };
  scatter(out.outcome, 1, 0, st.outcome.data());
  scatter(out.peak_rung, 1, 0, st.peak_rung.data());
  scatter(out.end_step, 1, 0, st.end_step.data());
  scatter(out.war_start_step, 1, 0, st.war_start_step.data());
  scatter(out.war_end_step, 1, 0, st.war_end_step.data());
  scatter(out.first_incident_step, 1, 0, st.first_incident_step.data());
  scatter(out.incidents, 1, 0, st.incidents.data());
  scatter(out.alliance_war_cause, 1, 0, st.alliance_war_cause.data());
  scatter(out.offer, 1, 0, st.offer.data());
  for (int c = 0; c < n * kActionKindCount; ++c)
    scatter(out.action_count, n * kActionKindCount, c, st.action_count.col(c).data());
  for (int k = 0; k < issues; ++k) scatter(out.agreed, issues, k, st.agreed.col(k).data());
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < types; ++k)
      scatter(out.final_belief, n * types, i * types + k, st.belief.col(i * kMaxTypes + k).data());
    scatter(out.troops_added, n, i, st.created.col(i).data());
    scatter(out.troops_removed, n, i, st.removed.col(i).data());
    scatter(out.resolve_type, n, i, st.type.col(i).data());
    scatter(out.casualties, n, i, st.casualties.col(i).data());
    scatter(out.war_cost, n, i, st.war_cost.col(i).data());
    scatter(out.final_forces, n * kPoolCount, i * kPoolCount + kDeployed, st.deployed.col(i).data());
    scatter(out.final_forces, n * kPoolCount, i * kPoolCount + kReady, st.ready.col(i).data());
    scatter(out.final_forces, n * kPoolCount, i * kPoolCount + kReserve, st.reserve.col(i).data());
  }
}

}  // namespace

BlockResult simulate_block(const Model& model, const BlockSpec& spec, const std::atomic<bool>* stop,
                           BlockResult buffer) {
  BlockSimulator sim(model, spec);
  // Every array below is sized and then filled whole (the sums at each
  // record start from zero), so the buffer's old values never show.
  BlockResult out = std::move(buffer);
  out.spec = spec;
  out.interrupted = false;
  out.encoded.clear();
  Recorder recorder(model, spec, &out);
  const int every = model.record_every();
  recorder.record(0, sim);
  for (int s = 0; s < model.steps(); ++s) {
    // A stop request is honoured between steps, so at any horizon within one step's time.
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      BlockResult interrupted;
      interrupted.spec = spec;
      interrupted.interrupted = true;
      return interrupted;
    }
    // A frozen block's remaining steps would change nothing: only its records remain.
    if (!sim.frozen()) sim.step(s);
    if ((s + 1) % every == 0 || s + 1 == model.steps()) recorder.record((s + every) / every, sim);
  }
  sim.finish();
  extract(model, sim, spec.count, &out);
  return out;
}

void observe_block(const Model& model, const BlockSpec& spec, const BlockObserver& observer) {
  BlockSimulator sim(model, spec);
  for (int s = 0; s < model.steps() && !sim.frozen(); ++s) {
    if (observer.before_step) observer.before_step(observer.context, s);
    sim.step(s);
    if (observer.after_step) observer.after_step(observer.context, sim.view(s));
  }
  sim.finish();
}

}  // namespace brink
