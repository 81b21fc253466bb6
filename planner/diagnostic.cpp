#include "planner/diagnostic.hpp"

#include <algorithm>

namespace meshmove::planner {

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = d.file.empty() ? "<plan>" : d.file;
  if (d.line > 0) {
    out += ":" + std::to_string(d.line);
    if (d.column > 0) out += ":" + std::to_string(d.column);
  }
  out += ": ";
  if (!d.field.empty()) out += d.field + ": ";
  if (d.severity == Severity::Warning) out += "warning: ";
  out += d.message;
  return out;
}

bool has_errors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

}  // namespace meshmove::planner
