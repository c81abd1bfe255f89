#include "brink/scenario/source_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "brink/scenario/shown_text.hpp"

namespace brink {
namespace {

[[noreturn]] void refuse(const std::string& label, const std::string& message, int line = -1, int column = -1) {
  throw ScenarioError({{label, line, column, message}});
}

bool only_comments_and_blanks(std::string_view text) {
  bool line_start = true, in_comment = false;
  for (char c : text) {
    if (c == '\n') {
      line_start = true;
      in_comment = false;
      continue;
    }
    if (in_comment || c == ' ' || c == '\t' || c == '\r') continue;
    if (line_start && c == '#') {
      in_comment = true;
      continue;
    }
    // A UTF-8 byte order mark is not content.
    if (static_cast<unsigned char>(c) == 0xEF || static_cast<unsigned char>(c) == 0xBB ||
        static_cast<unsigned char>(c) == 0xBF)
      continue;
    return false;
  }
  return true;
}

}  // namespace

TextPosition position_of(std::string_view text, std::size_t offset) {
  TextPosition at;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++at.column;  // continuation bytes belong to the character before
    }
  }
  return at;
}

std::size_t first_invalid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

void check_scenario_text(const std::string& label, std::string_view text) {
  // UTF-32's little-endian mark starts with UTF-16's: tested first.
  if (text.starts_with(std::string_view("\xFF\xFE\0\0", 4)) || text.starts_with(std::string_view("\0\0\xFE\xFF", 4)))
    refuse(label, "the file is UTF-32 (it starts with a UTF-32 byte order mark); save it as UTF-8", 1, 1);
  if (text.size() >= 2 && ((text[0] == '\xFF' && text[1] == '\xFE') || (text[0] == '\xFE' && text[1] == '\xFF')))
    refuse(label, "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8", 1, 1);
  if (text.starts_with("\x89HDF\r\n\x1a\n"))
    refuse(label,
           "this is an HDF5 file (a brink result or calibration?), not a scenario; 'brink inspect --scenario FILE' "
           "prints the scenario a result was run from",
           1, 1);
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    const TextPosition at = position_of(text, nul);
    refuse(label, "a NUL byte (0x00) is not allowed in a scenario file; is this a binary file?", at.line, at.column);
  }
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    const TextPosition at = position_of(text, bad);
    refuse(label,
           fmt::format("byte 0x{:02X} is not valid UTF-8; scenario files must be UTF-8 (re-save the file as UTF-8)",
                       static_cast<unsigned char>(text[bad])),
           at.line, at.column);
  }
  // YAML 1.2 reads a lone CR as a line break, yaml-cpp as an ordinary byte:
  // a file saved with classic Mac line ends would read as one long line.
  for (std::size_t cr = text.find('\r'); cr != std::string_view::npos; cr = text.find('\r', cr + 1))
    if (cr + 1 == text.size() || text[cr + 1] != '\n') {
      const TextPosition at = position_of(text, cr);
      refuse(label,
             "a carriage return (CR) without a line feed ends a line here; save the file with LF or CRLF line ends",
             at.line, at.column);
    }
  if (only_comments_and_blanks(text))
    refuse(label,
           "the file is empty or holds only comments; a scenario is a YAML mapping with keys brink, name, run, "
           "actors, escalation (see docs/examples/minimal.yaml)",
           1, 1);
}

ScenarioSource read_scenario_source(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) refuse(path, fmt::format("cannot open the scenario file: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    refuse(path, fmt::format("cannot read the scenario file: {}", std::strerror(error)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    refuse(path, fmt::format("is {}, not a scenario file", file_kind_name(st.st_mode)));
  }
  const auto too_large = [&](std::size_t bytes) {
    ::close(fd);
    refuse(path, fmt::format("the file is {} bytes; scenario files are limited to {} bytes (4 MiB)", bytes,
                             kMaxScenarioBytes));
  };
  if (static_cast<std::size_t>(st.st_size) > kMaxScenarioBytes) too_large(static_cast<std::size_t>(st.st_size));
  // The size may change while reading (or be 0 for /proc files): read at most one byte past the limit.
  std::string text;
  std::vector<char> buffer(65536);  // on the heap: a small stack ('ulimit -s') has no room for it
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      refuse(path, fmt::format("cannot read the scenario file: {}", std::strerror(error)));
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxScenarioBytes) too_large(text.size());
  }
  ::close(fd);
  check_scenario_text(path, text);
  return {path, std::move(text)};
}

std::string file_kind_name(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace brink
