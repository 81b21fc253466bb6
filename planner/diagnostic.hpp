#pragma once
// Problems found in a plan, reported all at once like a compiler does.
#include <string>
#include <string_view>
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

// "file:line:col: field: message" (warnings get "warning: " before the message). Control characters in
// any part are escaped (escape_control).
std::string format_diagnostic(const Diagnostic& d);

// `text` with every control character written out, so that text taken from a plan can be echoed to a
// terminal or a CI log safely: \n \r \t as such, other C0 characters and DEL as \xNN, the C1 controls
// U+0080-U+009F (UTF-8 C2 80-9F) as \u00NN. Everything else, backslashes and UTF-8 included, is kept.
// Idempotent: the result contains no control characters.
std::string escape_control(std::string_view text);

[[nodiscard]] bool has_errors(const std::vector<Diagnostic>& ds);

}  // namespace meshmove::planner
