// Problems with a scenario, as the user sees them: file, line, column, message.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace brink {

struct Diagnostic {
  std::string source;  // file path, the shipped scenario's name, or the option at fault ("--set ...")
  int line = -1;       // 1-based; -1 when the value came from the command line
  int column = -1;     // 1-based
  std::string message;

  // "file:line:col: message", or "file: message" without a position.
  std::string format() const;
};

// Thrown for bad input; holds every problem found. Maps to exit code 2.
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace brink
