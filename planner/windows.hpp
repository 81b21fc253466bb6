#pragma once
// Change windows: when meshmove may change weights (plan `windows`: timezone, allow, freeze).
//
// Syntax (one string per entry):
//   allow:  DAYS HH:MM-HH:MM[,HH:MM-HH:MM...]
//           DAYS is a comma-separated list of days (Mon Tue Wed Thu Fri Sat Sun, or the full English
//           name, case-insensitive), day ranges (Mon-Fri; Fri-Mon wraps over the weekend; Mon-Mon is
//           Monday only), or `*` / `daily` for every day. A time range may end at 24:00. A range whose end
//           is at or before its start crosses midnight and belongs to the day it starts on:
//           "Fri 22:00-02:00" is open from Friday 22:00 to Saturday 02:00. A range with start == end is an
//           error ("00:00-24:00" is a whole day).
//   freeze: YYYY-MM-DD                    one whole local day
//           YYYY-MM-DD/YYYY-MM-DD         whole local days, both inclusive
//           YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM   local date-times, start inclusive, end exclusive
//           (the forms may be mixed: a plain date as the start means its 00:00, as the end the end of
//           that day).
// All local times are wall-clock times in the plan's time zone (IANA name, via Howard Hinnant's date/tz).
//
// Open: an instant is open when it lies inside some allow window (every instant, when `allow` is empty)
// and inside no freeze range.
//
// Daylight-saving rule. Every local interval [start, end) (an allow window on one day, or a freeze range)
// becomes ONE continuous interval of real time:
//   - its start is the FIRST instant the wall clock shows the start time (date::choose::earliest);
//   - its end is the LAST instant the wall clock shows the end time (date::choose::latest);
//   - a local time that does not exist (skipped by a spring-forward) maps to the instant of the jump, i.e.
//     the first existing instant after it.
// Consequences (Europe/Berlin):
//   - spring forward, 2027-03-28 (02:00 CET -> 03:00 CEST): "Sun 02:30-04:00" opens at 03:00 CEST
//     (01:00 UTC) and lasts one hour; "Sun 02:00-02:30" lies wholly in the gap and does not open at all.
//   - fall back, 2026-10-25 (03:00 CEST -> 02:00 CET): "Sun 02:00-03:00" is open for both passes through
//     02:xx, 00:00-02:00 UTC (two hours of real time); "Sun 01:00-02:30" is open 23:00 UTC (Saturday) to
//     01:30 UTC, without a gap. A window never closes and reopens because of a clock change, and every
//     instant whose wall-clock reading lies in a window is open.
// A freeze range follows the same rule, so on a fall-back day it freezes both passes of a repeated hour.
//
// Instants before 0001-01-01 or from 10000-01-01 UTC on are treated as closed.
// Known limit: date/tz reading the system's zoneinfo (USE_OS_TZDB, as Debian builds it) knows only the
// transitions listed in the files, which end in 2037; later instants keep the last offset (no DST).
#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "planner/clock.hpp"
#include "planner/plan.hpp"

namespace date {
class time_zone;
}

namespace meshmove::planner {

// How far next_open() and open_until() look ahead before giving up.
inline constexpr std::chrono::days k_window_search_horizon{400};

// A local time-of-day range of an allow window, in minutes after local midnight.
struct LocalTimeRange {
  std::chrono::minutes start{0};  // [0, 1440)
  std::chrono::minutes end{0};    // (0, 1440]; end <= start: ends the next day at `end`

  [[nodiscard]] bool crosses_midnight() const { return end <= start; }
  friend bool operator==(const LocalTimeRange&, const LocalTimeRange&) = default;
};

struct AllowWindow {
  std::bitset<7> days;                 // index: date::weekday::c_encoding() (0 = Sunday ... 6 = Saturday)
  std::vector<LocalTimeRange> ranges;  // at least one, in the order written
};

// A freeze range in local wall-clock time of the plan's zone: [start, end), end > start.
struct FreezeRange {
  date::local_time<std::chrono::minutes> start;
  date::local_time<std::chrono::minutes> end;
};

struct ParseError {
  std::size_t offset = 0;  // 0-based offset in the entry string where the bad part starts
  std::string message;     // what is wrong, and the accepted form with an example
};

// Parses one `windows.allow` entry (leading and trailing blanks are ignored). On failure returns nullopt
// and, when `error` is not null, fills it in.
std::optional<AllowWindow> parse_allow_window(std::string_view text, ParseError* error);

// Parses one `windows.freeze` entry. Invalid calendar dates (2026-02-30) and an end before the start
// (or, for date-times, not after it) are errors. On failure returns nullopt and fills `error` if not null.
std::optional<FreezeRange> parse_freeze_range(std::string_view text, ParseError* error);

// True when `name` is an IANA time zone name known to the tz database (case-sensitive, as IANA names are).
// Also false when the tz database cannot be read.
bool is_valid_timezone(const std::string& name);

// For a name that is not valid: a known zone it was probably meant to be (same name ignoring case, the
// only zone whose last component matches, e.g. "berlin" -> "Europe/Berlin", or a unique close spelling).
// nullopt when there is no good guess.
std::optional<std::string> suggest_timezone(const std::string& name);

// A problem found in a WindowsConfig.
struct WindowsProblem {
  std::string field;       // "windows.timezone", "windows.allow[2]" or "windows.freeze[0]"
  std::size_t index = 0;   // the entry's index in allow/freeze (0 for the timezone)
  std::size_t offset = 0;  // 0-based offset of the bad part within the entry string
  std::string message;
};

// A half-open interval of real time [start, end).
struct TimeInterval {
  TimePoint start;
  TimePoint end;
  friend bool operator==(const TimeInterval&, const TimeInterval&) = default;
};

// The open/closed calendar of one plan. Immutable after creation; all queries are const, pure (they read
// only the tz database, through date/tz) and safe to call from several threads at once.
class WindowSchedule {
 public:
  // Builds the schedule. Every entry is checked; on any problem returns nullopt and, when `problems` is not
  // null, appends every problem found (in the order timezone, allow, freeze).
  [[nodiscard]] static std::optional<WindowSchedule> create(const WindowsConfig& config,
                                                            std::vector<WindowsProblem>* problems);

  // True when weights may change at instant t.
  [[nodiscard]] bool is_open(TimePoint t) const;

  // t when open at t; otherwise the earliest later instant that is open. nullopt when nothing opens within
  // k_window_search_horizon after t.
  [[nodiscard]] std::optional<TimePoint> next_open(TimePoint t) const;

  // For an instant t that is open: the first instant after t that is closed (the end of the open stretch
  // containing t, across day boundaries when windows touch). For a closed t: t. nullopt when it stays open
  // for all of k_window_search_horizon after t.
  [[nodiscard]] std::optional<TimePoint> open_until(TimePoint t) const;

  // The open stretches that intersect [from, to), clipped to it, sorted and disjoint (touching stretches
  // are merged). Empty when from >= to.
  [[nodiscard]] std::vector<TimeInterval> open_intervals(TimePoint from, TimePoint to) const;

  [[nodiscard]] const std::string& timezone() const { return m_timezone; }

 private:
  WindowSchedule() = default;

  std::string m_timezone;
  const date::time_zone* m_zone = nullptr;  // owned by date/tz's database, which lives for the process
  std::vector<AllowWindow> m_allow;         // empty: always allowed
  std::vector<TimeInterval> m_freeze;       // sorted, disjoint, merged
};

}  // namespace meshmove::planner
