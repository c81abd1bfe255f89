#include "brink/cli/output_target.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace brink {
namespace {
namespace fs = std::filesystem;

TEST(OutputTargetTest, DefaultNamesArePortableAndStayInOut) {
  EXPECT_EQ(portable_file_name("jan-2022-standoff"), "jan-2022-standoff");
  EXPECT_EQ(portable_file_name("../../etc/passwd"), "___.._etc_passwd");
  EXPECT_EQ(portable_file_name("/abs/path"), "_abs_path");
  EXPECT_EQ(portable_file_name(std::string("a\0b", 3)), "a_b");
  EXPECT_EQ(portable_file_name("caf\xC3\xA9"), "caf__");
  EXPECT_EQ(portable_file_name("-rf"), "_rf");
  EXPECT_EQ(portable_file_name(".."), "scenario");
  EXPECT_EQ(portable_file_name(""), "scenario");
  EXPECT_EQ(portable_file_name(std::string(500, 'x')).size(), 100u);
  EXPECT_EQ(default_output_path("../x"), fs::path("out") / "___x.h5");
}

class OutputTargetFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("brink_output_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OutputTargetFiles, RefusesInputsAndNonRegularFiles) {
  const fs::path input = dir_ / "s.yaml";
  std::ofstream(input) << "x";
  EXPECT_THROW(check_output_path(input, {input}), OutputRefused);
  fs::create_symlink(input, dir_ / "alias.h5");
  EXPECT_THROW(check_output_path(dir_ / "alias.h5", {input}), OutputRefused);
  EXPECT_THROW(check_output_path(dir_, {}), OutputRefused);
  EXPECT_THROW(check_output_path("/dev/null", {}), OutputRefused);
  fs::create_directory(dir_ / "r.h5.partial");
  EXPECT_THROW(check_output_path(dir_ / "r.h5", {}), OutputRefused);
  EXPECT_NO_THROW(check_output_path(dir_ / "new.h5", {input}));
}

TEST_F(OutputTargetFiles, LockIsExclusiveAndRemovedWhenReleased) {
  const fs::path lock = dir_ / "r.h5.lock";
  {
    OutputLock first(lock);
    std::string holder;
    std::getline(std::ifstream(lock), holder);
    EXPECT_EQ(holder.rfind("PID " + std::to_string(::getpid()) + " on host ", 0), 0u) << holder;
    // flock locks belong to the open file description: a second open in this process conflicts too.
    try {
      OutputLock second(lock);
      ADD_FAILURE() << "a second lock was granted";
    } catch (const OutputRefused& e) {
      EXPECT_NE(std::string(e.what()).find("PID " + std::to_string(::getpid())), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(lock));
  EXPECT_NO_THROW(OutputLock again(lock));
}

TEST_F(OutputTargetFiles, ASecondWriterIsToldWhichCommandHoldsTheLock) {
  // The note said only "PID N on host H", and the message "another brink run" whatever held it.
  const fs::path lock = dir_ / "m.h5.lock";
  for (const std::string command : {"merge", "calibrate", "run"}) {
    OutputLock first(lock, "give another -o", command);
    std::string holder;
    std::getline(std::ifstream(lock), holder);
    EXPECT_TRUE(holder.ends_with(" (brink " + command + ")")) << holder;
    try {
      OutputLock second(lock);
      ADD_FAILURE() << "a second lock was granted";
    } catch (const OutputRefused& e) {
      const std::string expected = "another brink " + command + " (PID " + std::to_string(::getpid()) + " on host ";
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

TEST_F(OutputTargetFiles, PublishNeverReplacesAFileThatAppearedMeanwhile) {
  const fs::path partial = dir_ / "r.h5.partial", target = dir_ / "r.h5";
  std::ofstream(partial) << "new";
  const FileIdentity written = entry_identity_of(partial);
  const FileIdentity absent = identity_of(target);
  std::ofstream(target) << "someone else's";
  EXPECT_THROW((void)publish_output(partial, target, absent, written), std::runtime_error);
  std::string kept;
  std::getline(std::ifstream(target), kept);
  EXPECT_EQ(kept, "someone else's");
  EXPECT_TRUE(fs::exists(partial));
  const FileIdentity present = identity_of(target);
  EXPECT_EQ(publish_output(partial, target, present, written), "");  // the file the run started with may be replaced
  std::getline(std::ifstream(target), kept);
  EXPECT_EQ(kept, "new");
  EXPECT_FALSE(fs::exists(partial));
}

// The partial path must still name the file the run wrote: one moved away
// and replaced, a link put in its place (even to the file written) or a
// removed one is not the run's result, and the target keeps what it held.
TEST_F(OutputTargetFiles, PublishOnlyTheFileTheRunWrote) {
  const fs::path partial = dir_ / "r.h5.partial", target = dir_ / "r.h5", moved = dir_ / "moved";
  auto target_text = [&] {
    std::string text;
    std::getline(std::ifstream(target), text);
    return text;
  };
  std::ofstream(target) << "earlier result";
  const FileIdentity before = identity_of(target);
  for (const std::string how : {"replaced", "linked", "removed"}) {
    SCOPED_TRACE(how);
    fs::remove(moved);
    std::ofstream(partial) << "the run's";
    const FileIdentity written = entry_identity_of(partial);
    fs::rename(partial, moved);
    if (how == "replaced") std::ofstream(partial) << "not the run's";
    if (how == "linked") fs::create_symlink(moved, partial);
    try {
      (void)publish_output(partial, target, before, written);
      ADD_FAILURE() << "published";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("is no longer the file this run wrote"), std::string::npos) << e.what();
    }
    EXPECT_EQ(target_text(), "earlier result");
    fs::remove(partial);
  }
}

}  // namespace
}  // namespace brink
