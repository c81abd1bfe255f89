#include <gtest/gtest.h>

#include "brink/cli/cli.hpp"

namespace brink {
namespace {

// The refusal of a build without MPI under a launcher (tests/cli/test_output_safety.py runs it
// through the binary where the build has no MPI; CI's builds have it, so the decision is checked here).
TEST(LauncherTest, ABuildWithoutMpiRefusesRunAndCalibrateAsSeveralProcesses) {
  for (const char* command : {"run", "calibrate"}) {
    const std::string refusal = without_mpi_refusal(command, 3, false);
    EXPECT_NE(refusal.find(std::string("brink ") + command + ": started as 3 processes"), std::string::npos);
    EXPECT_NE(refusal.find("built without MPI"), std::string::npos);
    EXPECT_EQ(without_mpi_refusal(command, 3, true), "");   // the ranks share the job
    EXPECT_EQ(without_mpi_refusal(command, 1, false), "");  // one process is a plain run
  }
  EXPECT_EQ(without_mpi_refusal("merge", 3, false), "");  // rank 0 merges, the others exit 0
  EXPECT_EQ(without_mpi_refusal("validate", 3, false), "");
}

}  // namespace
}  // namespace brink
