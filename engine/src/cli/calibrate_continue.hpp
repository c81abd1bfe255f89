// Carrying on an earlier calibration: --resume and --continue FILE
// (calibrate_continue.cpp). Private to the cli module.
#pragma once

#include <boost/program_options.hpp>
#include <filesystem>

#include "brink/calibrate/calibration_file.hpp"

namespace brink {

// Takes the complete generations of an interrupted calibration (--resume) or
// of the calibration in `from` (--continue FILE, when no partial is resumed),
// or refuses to start over an interrupted one unless --overwrite.
// `target_exists`: a file is at the calibration's target now.
void continue_partial(const std::filesystem::path& partial, const std::filesystem::path* from,
                      const boost::program_options::variables_map& vm, CalibrationRecord& record, bool target_exists);

}  // namespace brink
