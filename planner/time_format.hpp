#pragma once
// Writing and reading instants for people and machines.
#include <optional>
#include <string>
#include <string_view>

#include "planner/clock.hpp"

namespace meshmove::planner {

// "2026-11-25T17:00:00Z" (milliseconds only when not zero: "...T17:00:00.250Z").
std::string format_rfc3339(TimePoint t);
// Reads RFC 3339 ("2026-11-25T17:00:00Z", "2026-11-25T18:00:00+01:00", fractional seconds allowed).
std::optional<TimePoint> parse_rfc3339(std::string_view text);
// "2026-11-25 18:00 CET" in the IANA zone `timezone` (UTC when the zone is unknown).
std::string format_local(TimePoint t, const std::string& timezone);

}  // namespace meshmove::planner
