#pragma once
// Problems found in a plan, reported all at once like a compiler does.
#include <string>
#include <vector>

namespace meshmove::planner {

enum class Severity { Error, Warning };

struct Diagnostic {
  std::string file;     // as given by the caller ("<string>" when parsing from memory)
  int line = 0;         // 1-based; 0 when the problem concerns the whole file
  int column = 0;       // 1-based
  std::string field;    // dotted path, e.g. "gates.slos[1].max"; empty for file-level problems
  std::string message;  // what is wrong and, where possible, how to fix it
  Severity severity = Severity::Error;
};

// "file:line:col: field: message" (warnings get "warning: " before the message).
std::string format_diagnostic(const Diagnostic& d);

[[nodiscard]] bool has_errors(const std::vector<Diagnostic>& ds);

}  // namespace meshmove::planner
