#pragma once
// Writing and reading instants for people and machines.
#include <optional>
#include <string>
#include <string_view>

#include "planner/clock.hpp"

namespace meshmove::planner {

// True for instants in the years 0001 to 9999 UTC, the range RFC 3339 and the change windows cover.
// Times outside it are sentinels such as "no window opens" (planner's far future), never real times.
[[nodiscard]] bool is_calendar_time(TimePoint t);

// "2026-11-25T17:00:00Z" (milliseconds only when not zero: "...T17:00:00.250Z"). An instant outside
// is_calendar_time is clamped to "0001-01-01T00:00:00Z" or "9999-12-31T23:59:59.999Z", so that the
// result is always valid RFC 3339; callers that can meet such an instant print "never" instead.
std::string format_rfc3339(TimePoint t);
// Reads RFC 3339 ("2026-11-25T17:00:00Z", "2026-11-25T18:00:00+01:00", fractional seconds allowed).
std::optional<TimePoint> parse_rfc3339(std::string_view text);
// "2026-11-25 18:00 CET" in the IANA zone `timezone` (UTC when the zone is unknown); clamped like
// format_rfc3339.
std::string format_local(TimePoint t, const std::string& timezone);

}  // namespace meshmove::planner
