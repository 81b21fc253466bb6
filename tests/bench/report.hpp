#pragma once
// Small helpers shared by the benchmark programs: percentiles, number formatting, fixed-width tables,
// and flag parsing. Header-only; no I/O except print_table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace meshmove::bench {

// The nearest-rank q-quantile (q in [0, 1]) of `values`; nullopt when empty.
inline std::optional<double> quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

inline std::string percent(double numerator, double denominator) {
  if (denominator <= 0) return "-";
  return fixed(100.0 * numerator / denominator, 1) + "%";
}

// "0.31x", or "-" when the baseline is zero or either side is missing.
inline std::string ratio(std::optional<double> value, std::optional<double> baseline) {
  if (!value || !baseline || *baseline == 0) return "-";
  return fixed(*value / *baseline, 2) + "x";
}

// Seconds for people: "45 s", "12.5 min", "-" when missing.
inline std::string seconds_text(std::optional<double> s) {
  if (!s) return "-";
  if (*s < 600) return fixed(*s, 0) + " s";
  return fixed(*s / 60, 1) + " min";
}

// Prints rows (the first is the header) with columns padded to their widest cell, the first column left
// aligned and the others right aligned, and a rule under the header.
inline void print_table(const std::vector<std::vector<std::string>>& rows, std::FILE* out = stdout) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < rows[r].size() && c < width.size(); ++c) {
      const std::string& cell = rows[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      line += c == 0 ? cell + pad : "  " + pad + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
    if (r == 0) {
      std::size_t total = 0;
      for (std::size_t c = 0; c < width.size(); ++c) total += width[c] + (c == 0 ? 0 : 2);
      std::fprintf(out, "%s\n", std::string(total, '-').c_str());
    }
  }
}

// A comma-separated list of positive integers ("1,10,100"); nullopt when malformed.
inline std::optional<std::vector<int>> int_list(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0 || v > 1000000) return std::nullopt;
    out.push_back(static_cast<int>(v));
    pos = comma + 1;
  }
  return out;
}

// A positive integer flag value; nullopt when malformed.
inline std::optional<int> positive_int(const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v <= 0 || v > 100000000) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace meshmove::bench
