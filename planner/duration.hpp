#pragma once
// Durations in Prometheus syntax: "30s", "10m", "1h30m", "500ms", "1d", "2w", "1y" (365 days).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace meshmove::planner {

using Duration = std::chrono::milliseconds;

// The longest duration a plan may give (bake, settle, interval, maxHold, stepInterval, timeouts): the
// 400 days the schedule looks ahead (k_window_search_horizon). Anything longer could never be planned.
inline constexpr Duration k_max_plan_duration{400LL * 24 * 3600 * 1000};

// Parses Prometheus duration syntax (units y w d h m s ms, each at most once, largest first).
// Returns nullopt for anything else, including the empty string, signs, spaces and overflow.
std::optional<Duration> parse_duration(std::string_view text);

// Why parse_duration refused a text.
enum class DurationProblem { None, Syntax, TooLarge };
// As parse_duration; on failure sets `*why` (when not null) to TooLarge for well-formed text whose value
// does not fit in 64-bit milliseconds ("9223372036854775807ms", "300000000y"), else to Syntax.
std::optional<Duration> parse_duration(std::string_view text, DurationProblem* why);

// Formats in the same syntax, largest units first ("1h30m", "0s", "250ms").
std::string format_duration(Duration d);

}  // namespace meshmove::planner
