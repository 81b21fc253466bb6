#include "planner/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace meshmove::planner {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};
// Largest first; "ms" must be tried before "m" when matching a suffix.
constexpr std::array<Unit, 7> k_units{{{"y", 365LL * 24 * 3600 * 1000},
                                       {"w", 7LL * 24 * 3600 * 1000},
                                       {"d", 24LL * 3600 * 1000},
                                       {"h", 3600LL * 1000},
                                       {"m", 60LL * 1000},
                                       {"s", 1000},
                                       {"ms", 1}}};

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) { return parse_duration(text, nullptr); }

std::optional<Duration> parse_duration(std::string_view text, DurationProblem* why) {
  DurationProblem ignored = DurationProblem::None;
  DurationProblem& problem = why != nullptr ? *why : ignored;
  problem = DurationProblem::Syntax;
  if (text.empty()) return std::nullopt;
  // Overflow is reported only for text that is otherwise well formed, so keep reading after it.
  bool overflow = false;
  if (text == "0") {
    problem = DurationProblem::None;
    return Duration{0};
  }
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must appear in k_units order, each at most once
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        overflow = true;
      } else {
        n = n * 10 + (text[i] - '0');
      }
      ++i;
    }
    std::size_t j = i;
    while (j < text.size() && (text[j] < '0' || text[j] > '9')) ++j;
    const std::string_view suffix = text.substr(i, j - i);
    std::size_t u = next_unit;
    while (u < k_units.size() && k_units[u].suffix != suffix) ++u;
    if (u == k_units.size()) return std::nullopt;
    if (n != 0 && n > std::numeric_limits<std::int64_t>::max() / k_units[u].ms) {
      overflow = true;
    } else if (!overflow) {
      const std::int64_t add = n * k_units[u].ms;
      if (total > std::numeric_limits<std::int64_t>::max() - add) {
        overflow = true;
      } else {
        total += add;
      }
    }
    next_unit = u + 1;
    i = j;
  }
  if (overflow) {
    problem = DurationProblem::TooLarge;
    return std::nullopt;
  }
  problem = DurationProblem::None;
  return Duration{total};
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  for (const auto& unit : k_units) {
    if (unit.suffix == "y" || unit.suffix == "w") continue;  // days read better than weeks in output
    const std::int64_t n = ms / unit.ms;
    if (n > 0) {
      out += std::to_string(n);
      out += unit.suffix;
      ms -= n * unit.ms;
    }
  }
  return out;
}

}  // namespace meshmove::planner
