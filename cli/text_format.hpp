#pragma once
// Small text helpers for the CLI's tables and lines.
#include <optional>
#include <sstream>
#include <string>

namespace meshmove::cli {

// `s` padded with spaces to `width` characters (longer strings are left as they are).
inline std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// A number with 4 significant digits, "-" for none.
inline std::string format_number(const std::optional<double>& v) {
  if (!v) return "-";
  std::ostringstream o;
  o.precision(4);
  o << *v;
  return o.str();
}

}  // namespace meshmove::cli
