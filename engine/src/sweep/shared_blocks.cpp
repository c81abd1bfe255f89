// Sweep points that share a simulation block: a point of few replications
// fills only a lane group of its own block, so points of a sweep that differ
// only in per-lane fields run side by side as the lane segments of one block
// (docs/sweeps.md, "Points that share a block"), and the block's result is
// cut back into one result per point.
#include <algorithm>
#include <cstring>
#include <memory>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/scenario/fields.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {

namespace {

// Whether the axis's field keeps every lane's bits when points that differ in it share a block.
bool exact_per_lane(const FieldRef& field) { return field.spec != nullptr && shares_blocks_exactly(*field.spec); }

}  // namespace

int SweepPlan::points_per_block() const {
  if (!share_blocks || rule.adaptive || replications < 1 || replications > kLaneGroup || draws ||
      scenario_column >= 0 || points_run() < 2 || std::none_of(axis_fields.begin(), axis_fields.end(), exact_per_lane))
    return 1;
  return static_cast<int>(kBlockLanes / replications);
}

int SweepPlan::points_per_chunk() const {
  if (!chunk_groups || !write_runs || sharded() || !std::all_of(axis_fields.begin(), axis_fields.end(), exact_per_lane))
    return 1;
  // A group runs as one block: a sweep of few groups would leave threads and ranks idle.
  const std::int64_t spread = (points_run() + kChunkGroupsAtLeast - 1) / kChunkGroupsAtLeast;
  return static_cast<int>(std::clamp<std::int64_t>(spread, 1, points_per_block()));
}

void SweepPlan::trust_consistent(std::vector<std::uint8_t>& finished, std::vector<std::int64_t>& published) const {
  for (std::uint8_t& flag : finished) flag = flag == 1 ? 1 : 0;
  const std::int64_t per_point = blocks_per_point();
  for (std::size_t p = 0; p < published.size(); ++p) {
    std::int64_t& replications_published = published[p];
    if (replications_published <= 0) continue;
    const std::int64_t blocks = (replications_published + kBlockLanes - 1) / kBlockLanes;
    bool sound = rule.adaptive ? replications_published <= replications : replications_published == replications;
    if (sound && write_runs) {
      const auto first = finished.begin() + static_cast<std::ptrdiff_t>(p) * per_point;
      sound = std::find(first, first + blocks, std::uint8_t{0}) == first + blocks;
    }
    if (!sound) replications_published = 0;
  }
}

std::vector<std::uint8_t> SweepPlan::kept_on_resume(std::vector<std::uint8_t> finished,
                                                    const std::vector<std::int64_t>& published,
                                                    const std::vector<std::int64_t>& resume_blocks) const {
  if (write_runs) {
    // A point not published keeps its first resume_blocks (none with one block per point).
    const std::int64_t per_point = blocks_per_point();
    for (std::size_t i = 0; i < finished.size(); ++i) {
      const std::size_t p = i / static_cast<std::size_t>(per_point);
      const std::int64_t keep = resume_sums_in_file() ? resume_blocks.at(p) : 0;
      if (published.at(p) <= 0 && static_cast<std::int64_t>(i % static_cast<std::size_t>(per_point)) >= keep)
        finished[i] = 0;
    }
  }
  const std::size_t group = static_cast<std::size_t>(points_per_chunk());
  if (group == 1) return finished;
  // Points that share chunks have one block each.
  for (std::size_t first = 0; first < finished.size(); first += group) {
    const std::size_t end = std::min(finished.size(), first + group);
    if (std::find(finished.begin() + first, finished.begin() + end, 0) != finished.begin() + end)
      std::fill(finished.begin() + first, finished.begin() + end, 0);
  }
  return finished;
}

bool SweepPlan::share_a_block(std::int64_t a, std::int64_t b) const {
  const PointView first = points[static_cast<std::size_t>(a)], second = points[static_cast<std::size_t>(b)];
  for (std::size_t k = 0; k < axis_fields.size(); ++k)
    if (!exact_per_lane(axis_fields[k]) && std::memcmp(&first.values[k], &second.values[k], sizeof(double)) != 0)
      return false;
  return true;
}

namespace {

// The packed block's result cut at its segments into out[j]: each spec's
// replications, and its own record sums (the block computed them per segment).
void split_at_segments(const BlockResult& block, std::span<const BlockSpec> specs, std::vector<BlockResult>& out) {
  out.resize(specs.size());
  for (std::size_t j = 0; j < specs.size(); ++j) {
    out[j].spec = specs[j];
    out[j].interrupted = block.interrupted;
    out[j].encoded.clear();
  }
  if (block.interrupted) return;
  const std::size_t lanes = static_cast<std::size_t>(block.spec.count);
  // A per-replication array: lanes × stride values, replication-major.
  for_each_replication_array([&](auto member) {
    const auto& all = block.*member;
    const std::size_t stride = all.size() / lanes;
    std::size_t first = 0;
    for (std::size_t j = 0; j < specs.size(); ++j) {
      const std::size_t count = static_cast<std::size_t>(specs[j].count);
      auto begin = all.begin() + static_cast<std::ptrdiff_t>(first * stride);
      (out[j].*member).assign(begin, begin + static_cast<std::ptrdiff_t>(count * stride));
      first += count;
    }
  });
  // The record sums: one equal part per segment.
  for_each_record_sum([&](auto member) {
    const auto& all = block.*member;
    const std::size_t part = all.size() / specs.size();
    for (std::size_t j = 0; j < specs.size(); ++j) {
      auto begin = all.begin() + static_cast<std::ptrdiff_t>(j * part);
      (out[j].*member).assign(begin, begin + static_cast<std::ptrdiff_t>(part));
    }
  });
}

}  // namespace

void SweepPlan::simulate_points(const KernelTable& kernel, std::span<const BlockSpec> specs,
                                const std::atomic<bool>* stop, BlockResult& block,
                                std::vector<BlockResult>& out) const {
  std::vector<std::shared_ptr<const Model>> models;  // alive while the block runs
  std::vector<LaneSegment> segments;
  BlockSpec shared;
  shared.point = specs.front().point;
  shared.count = 0;
  for (const BlockSpec& spec : specs) {
    models.push_back(model_of(spec.point));
    segments.push_back({models.back().get(), spec.point, spec.first_replication, spec.count});
    shared.count += spec.count;
  }
  shared.segments = segments;
  shared.sums_per_segment = true;
  block = kernel.simulate_block(*models.front(), shared, stop, std::move(block));
  split_at_segments(block, specs, out);
  block.spec.segments = {};  // they die here
}

}  // namespace brink
