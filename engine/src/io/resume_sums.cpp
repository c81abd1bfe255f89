// --resume's sums: the slots that hold, for each point being summarized, its
// sums on the step axis over its first blocks (docs/output.md, "Resume sums").
// A point's newest sums are written to the older of its two slots before a
// flush, and the slot's header (point, blocks, checksum) after it, with the
// blocks' done marks: a slot cut off mid-write fails its checksum and the
// other slot still holds the point's previous sums.
#include "brink/io/resume_sums.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <utility>

#include "brink/sweep/plan.hpp"
#include "hdf5_recovery.hpp"
#include "hdf5_writer_impl.hpp"

namespace brink {

std::uint64_t resume_checksum(const ResumeSums& sums) {
  std::uint64_t hash = fnv1a(&sums.point, sizeof sums.point);
  hash = fnv1a(&sums.blocks, sizeof sums.blocks, hash);
  hash = fnv1a(sums.rung_count.data(), sums.rung_count.size() * sizeof(std::int64_t), hash);
  hash = fnv1a(sums.troops.data(), sums.troops.size() * sizeof(double), hash);
  return fnv1a(sums.belief.data(), sums.belief.size() * sizeof(double), hash);
}

namespace {

// Elements [slot·width, (slot + 1)·width) of `all`.
template <typename T>
std::vector<T> row_of(const std::vector<T>& all, std::size_t slot, std::size_t width) {
  return {all.begin() + static_cast<std::ptrdiff_t>(slot * width),
          all.begin() + static_cast<std::ptrdiff_t>((slot + 1) * width)};
}

// The valid slots with their slot numbers.
std::vector<std::pair<std::size_t, ResumeSums>> valid_slots(hid_t file) {
  std::vector<std::pair<std::size_t, ResumeSums>> out;
  auto read = [&]<typename T>(std::string_view name, hid_t type, T) {
    return read_whole<T>(file, std::string(name).c_str(), type);
  };
  const auto point = read(var::kResumePoint, H5T_NATIVE_INT64, std::int64_t{});
  const auto blocks = read(var::kResumeBlocks, H5T_NATIVE_INT64, std::int64_t{});
  const auto checksum = read(var::kResumeChecksum, H5T_NATIVE_INT64, std::int64_t{});
  const auto rungs = read(var::kResumeRungCount, H5T_NATIVE_INT64, std::int64_t{});
  const auto troops = read(var::kResumeTroopsSum, H5T_NATIVE_DOUBLE, 0.0);
  const auto belief = read(var::kResumeBeliefSum, H5T_NATIVE_DOUBLE, 0.0);
  if (!point || !blocks || !checksum || !rungs || !troops || !belief) return out;
  const std::size_t slots = point->size();
  if (slots == 0 || blocks->size() != slots || checksum->size() != slots || rungs->size() % slots != 0 ||
      troops->size() % slots != 0 || belief->size() % slots != 0)
    return out;
  for (std::size_t s = 0; s < slots; ++s) {
    if ((*blocks)[s] <= 0 || (*point)[s] < 0) continue;
    ResumeSums sums{(*point)[s], (*blocks)[s], row_of(*rungs, s, rungs->size() / slots),
                    row_of(*troops, s, troops->size() / slots), row_of(*belief, s, belief->size() / slots)};
    if (std::bit_cast<std::int64_t>(resume_checksum(sums)) == (*checksum)[s]) out.emplace_back(s, std::move(sums));
  }
  return out;
}

}  // namespace

std::vector<ResumeSums> read_resume_sums(hid_t file) {
  std::vector<ResumeSums> out;
  for (auto& [slot, sums] : valid_slots(file)) out.push_back(std::move(sums));
  return out;
}

std::vector<std::int64_t> resume_blocks(const SweepPlan& plan, const std::vector<ResumeSums>& slots,
                                        const std::vector<std::uint8_t>& finished,
                                        const std::vector<std::int64_t>& published) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(plan.point_count()), 0);
  const std::int64_t per_point = plan.blocks_per_point();
  if (finished.size() != static_cast<std::size_t>(plan.total_blocks()) || published.size() != out.size()) return out;
  for (const ResumeSums& s : slots) {
    if (s.point >= plan.point_count() || s.blocks > per_point || published[static_cast<std::size_t>(s.point)] > 0)
      continue;
    const auto first = finished.begin() + s.point * per_point;
    if (std::find(first, first + s.blocks, 0) != first + s.blocks) continue;
    std::int64_t& best = out[static_cast<std::size_t>(s.point)];
    best = std::max(best, s.blocks);
  }
  return out;
}

void Hdf5Writer::stage_resume_sums(ResumeSums sums) {
  Impl& m = *impl_;
  if (sums.blocks <= 0) return;
  const std::int64_t point = sums.point;
  m.staged_sums.insert_or_assign(point, std::move(sums));
}

std::vector<ResumeSums> Hdf5Writer::resume_sums(const std::vector<std::int64_t>& published) {
  Impl& m = *impl_;
  std::vector<ResumeSums> kept;
  if (!m.layout.resume_sums) return kept;
  for (auto& [slot, s] : valid_slots(m.file.get())) {
    if (s.point < 0 || static_cast<std::size_t>(s.point) >= published.size() ||
        published[static_cast<std::size_t>(s.point)] > 0)
      continue;
    // Its slot keeps serving the point (its other slot, if any, is taken again at the next flush).
    if (slot < m.slot_owner.size()) {
      m.slot_owner[slot] = s.point;
      m.slot_blocks[slot] = s.blocks;
    }
    kept.push_back(std::move(s));
  }
  return kept;
}

void Hdf5Writer::Impl::write_staged_sums() {
  for (auto it = staged_sums.begin(); it != staged_sums.end();) {
    const ResumeSums& sums = it->second;
    // The point's slots, two at most, taking free ones (lowest first) as needed.
    std::array<std::int64_t, 2> own{-1, -1};
    int owned = 0;
    for (std::size_t s = 0; s < slot_owner.size() && owned < 2; ++s)
      if (slot_owner[s] == sums.point) own[owned++] = static_cast<std::int64_t>(s);
    for (std::size_t s = 0; s < slot_owner.size() && owned < 2; ++s)
      if (slot_owner[s] < 0) {
        slot_owner[s] = sums.point;
        slot_blocks[s] = 0;
        own[owned++] = static_cast<std::int64_t>(s);
      }
    if (owned == 0) {  // every slot serves another point: try again at the next flush
      ++it;
      continue;
    }
    std::int64_t target = own[0];
    std::int64_t newest = slot_blocks[static_cast<std::size_t>(own[0])];
    if (owned == 2) {
      const std::int64_t other = own[1];
      newest = std::max(newest, slot_blocks[static_cast<std::size_t>(other)]);
      if (slot_blocks[static_cast<std::size_t>(other)] < slot_blocks[static_cast<std::size_t>(target)]) target = other;
    }
    if (sums.blocks > newest) {
      const std::int64_t records = static_cast<std::int64_t>(layout.length(Dim::kStep));
      write_row(var::kResumeRungCount, sums.rung_count, target, 0, records);
      write_row(var::kResumeTroopsSum, sums.troops, target, 0, records);
      write_row(var::kResumeBeliefSum, sums.belief, target, 0, records);
      pending_headers.push_back({target, sums.point, sums.blocks, resume_checksum(sums)});
      slot_blocks[static_cast<std::size_t>(target)] = sums.blocks;
    }
    it = staged_sums.erase(it);
  }
}

void Hdf5Writer::Impl::write_slot_headers() {
  for (const SlotHeader& h : pending_headers) {
    write_row(var::kResumePoint, std::vector<std::int64_t>{h.point}, h.slot, 0, 1);
    write_row(var::kResumeBlocks, std::vector<std::int64_t>{h.blocks}, h.slot, 0, 1);
    write_row(var::kResumeChecksum, std::vector<std::int64_t>{std::bit_cast<std::int64_t>(h.checksum)}, h.slot, 0, 1);
    vouched_sums = true;
  }
  pending_headers.clear();
}

void Hdf5Writer::Impl::release_slots(std::int64_t point) {
  staged_sums.erase(point);
  for (std::size_t s = 0; s < slot_owner.size(); ++s)
    if (slot_owner[s] == point) slot_owner[s] = -1;
}

void Hdf5Writer::Impl::clear_resume_slots() {
  if (!layout.resume_sums) return;
  const auto slots = static_cast<std::int64_t>(slot_owner.size());
  const std::int64_t records = static_cast<std::int64_t>(layout.length(Dim::kStep));
  for (const std::string_view name : {var::kResumePoint, var::kResumeBlocks, var::kResumeChecksum})
    h5::write_values(dataset(name), H5S_ALL, H5S_ALL, std::vector<std::int64_t>(static_cast<std::size_t>(slots), 0),
                     fmt::format("clear {} in {}", name, path));
  for (const std::string_view name : {var::kResumeRungCount, var::kResumeTroopsSum, var::kResumeBeliefSum}) {
    const hid_t ds = dataset(name);
    const Handle space = space_handle(H5Dget_space(ds), fmt::format("get the shape of {} in {}", name, path));
    hsize_t chunks = 0;
    h5::check(H5Dget_num_chunks(ds, space.get(), &chunks), fmt::format("count the chunks of {} in {}", name, path));
    for (hsize_t i = 0; i < chunks; ++i) {
      std::array<hsize_t, 5> offset{};
      h5::check(H5Dget_chunk_info(ds, space.get(), i, offset.data(), nullptr, nullptr, nullptr),
                fmt::format("locate a chunk of {} in {}", name, path));
      const h5::Slab slab(ds, static_cast<std::int64_t>(offset[0]), 0, records);
      const std::vector<double> zeros(slab.elements, 0.0);
      h5::check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, slab.memory.get(), slab.file.get(), H5P_DEFAULT, zeros.data()),
                fmt::format("clear {} in {}", name, path));
    }
  }
}

}  // namespace brink
