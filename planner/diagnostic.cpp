#include "planner/diagnostic.hpp"

#include <algorithm>

namespace meshmove::planner {

std::string escape_control(std::string_view text) {
  static const char* const hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      const auto c1 = static_cast<unsigned char>(text[++i]);
      out += "\\u00";
      out += hex[c1 >> 4];
      out += hex[c1 & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

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
  return escape_control(out);
}

bool has_errors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(), [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

}  // namespace meshmove::planner
