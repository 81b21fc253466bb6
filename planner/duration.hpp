#pragma once
// Durations in Prometheus syntax: "30s", "10m", "1h30m", "500ms", "1d", "2w", "1y" (365 days).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace meshmove::planner {

using Duration = std::chrono::milliseconds;

// Parses Prometheus duration syntax (units y w d h m s ms, each at most once, largest first).
// Returns nullopt for anything else, including the empty string, signs, spaces and overflow.
std::optional<Duration> parse_duration(std::string_view text);

// Formats in the same syntax, largest units first ("1h30m", "0s", "250ms").
std::string format_duration(Duration d);

}  // namespace meshmove::planner
