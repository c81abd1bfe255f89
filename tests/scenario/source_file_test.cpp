#include "brink/scenario/source_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace brink {
namespace {

Diagnostic rejection(const std::string& text) {
  try {
    check_scenario_text("s.yaml", text);
  } catch (const ScenarioError& e) {
    return e.diagnostics().at(0);
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(SourceFileTest, Utf8ValidityFollowsTheStandard) {
  EXPECT_EQ(first_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(first_invalid_utf8("caf\xE9"), 3u);           // Latin-1
  EXPECT_EQ(first_invalid_utf8("a\xC0\xAF"), 1u);         // overlong '/'
  EXPECT_EQ(first_invalid_utf8("a\xE0\x80\xAF"), 1u);     // overlong, 3 bytes
  EXPECT_EQ(first_invalid_utf8("ab\xED\xA0\x80"), 2u);    // surrogate
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("x\xE2\x82"), 1u);         // truncated at the end
  EXPECT_EQ(first_invalid_utf8("\x80"), 0u);              // lone continuation
}

TEST(SourceFileTest, PositionsCountCharactersNotBytes) {
  const std::string text = "a: 1\nname: \xC3\xA9\xC3\xA9x";
  const TextPosition at = position_of(text, text.find('x'));
  EXPECT_EQ(at.line, 2);
  EXPECT_EQ(at.column, 9);
}

TEST(SourceFileTest, TextRejectionsAreLocated) {
  Diagnostic d = rejection("brink: 1\nname: caf\xE9\n");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 10);
  EXPECT_NE(d.message.find("0xE9 is not valid UTF-8"), std::string::npos);
  d = rejection(std::string("brink: 1\nna\0me: x\n", 18));
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.column, 3);
  EXPECT_NE(d.message.find("NUL"), std::string::npos);
  d = rejection("# only\n  # comments\n\n");
  EXPECT_EQ(d.line, 1);
  EXPECT_NE(d.message.find("empty"), std::string::npos);
  d =
      rejection(std::string("\xFF\xFE"
                            "b\0r\0",
                            6));
  EXPECT_NE(d.message.find("UTF-16"), std::string::npos);
  EXPECT_NO_THROW(check_scenario_text("s.yaml",
                                      "\xEF\xBB\xBF"
                                      "brink: 1\r\n"));
}

TEST(SourceFileTest, ReaderRefusesWhatIsNotARegularFileOfSaneSize) {
  const auto dir = std::filesystem::temp_directory_path() / ("brink_source_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto message = [](const std::string& path) {
    try {
      read_scenario_source(path);
    } catch (const ScenarioError& e) {
      return e.diagnostics().at(0).message;
    }
    return std::string("accepted");
  };
  EXPECT_NE(message(dir.string()).find("a directory"), std::string::npos);
  const std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(message(fifo).find("FIFO"), std::string::npos);  // and does not block
  EXPECT_NE(message("/dev/zero").find("character device"), std::string::npos);
  const auto big = dir / "big.yaml";
  std::ofstream(big) << std::string(kMaxScenarioBytes + 1, '#');
  EXPECT_NE(message(big.string()).find("limited to"), std::string::npos);
  const auto good = dir / "good.yaml";
  std::ofstream(good) << "brink: 1\n";
  EXPECT_EQ(read_scenario_source(good.string()).text, "brink: 1\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace brink
