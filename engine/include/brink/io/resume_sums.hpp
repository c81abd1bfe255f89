// --resume's sums in a file (docs/output.md, "Resume sums"): a few slots,
// each holding one point's sums on the step axis over its first blocks
// (ResumeSums) and a header (point, blocks, checksum) that vouches for them.
// The writer fills them (Hdf5Writer::stage_resume_sums); --resume and the
// refusal of a fresh run over a partial file read them through here.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <vector>

#include "brink/sweep/summary.hpp"

namespace brink {

struct SweepPlan;

// FNV-1a of the slot's point, blocks and sums, in that order: the header's
// checksum. A slot whose sums were cut off mid-write (kill -9 before the
// flush that its header waits for) does not match its header.
std::uint64_t resume_checksum(const ResumeSums& sums);

// Every slot of `file` whose header vouches for its sums (blocks > 0 and the
// checksum matches); none if the file has no slots.
std::vector<ResumeSums> read_resume_sums(hid_t file);

// For each point, the first blocks --resume continues it from: 0 for a point
// published (its summary is kept whole) or without a slot it can use; else
// the most blocks a slot of the point covers among those that are all
// `finished` (a block dropped as unreadable stops a slot that covers it).
std::vector<std::int64_t> resume_blocks(const SweepPlan& plan, const std::vector<ResumeSums>& slots,
                                        const std::vector<std::uint8_t>& finished,
                                        const std::vector<std::int64_t>& published);

}  // namespace brink
