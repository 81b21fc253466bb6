#include "planner/time_format.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <sstream>

namespace meshmove::planner {

namespace {

// [0001-01-01, 10000-01-01) UTC.
constexpr TimePoint k_first_calendar_time{date::sys_days{date::year{1} / 1 / 1}.time_since_epoch()};
constexpr TimePoint k_end_calendar_time{date::sys_days{date::year{10000} / 1 / 1}.time_since_epoch()};

TimePoint clamp_to_calendar(TimePoint t) {
  if (t < k_first_calendar_time) return k_first_calendar_time;
  if (t >= k_end_calendar_time) return k_end_calendar_time - Duration{1};
  return t;
}

}  // namespace

bool is_calendar_time(TimePoint t) { return t >= k_first_calendar_time && t < k_end_calendar_time; }

std::string format_rfc3339(TimePoint t) {
  t = clamp_to_calendar(t);
  if (t.time_since_epoch() % std::chrono::seconds{1} != Duration{0}) return date::format("%FT%TZ", t);
  return date::format("%FT%TZ", date::floor<std::chrono::seconds>(t));
}

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  const std::string s(text);
  for (const char* fmt : {"%FT%TZ", "%FT%T%Ez", "%F %TZ", "%F %T%Ez"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::milliseconds> t{};
    in >> date::parse(fmt, t);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) return TimePoint{t};
  }
  return std::nullopt;
}

std::string format_local(TimePoint t, const std::string& timezone) {
  const auto secs = date::floor<std::chrono::minutes>(clamp_to_calendar(t));
  try {
    const auto zoned = date::make_zoned(date::locate_zone(timezone), secs);
    return date::format("%F %R %Z", zoned);
  } catch (const std::exception&) {
    return date::format("%F %R UTC", secs);
  }
}

}  // namespace meshmove::planner
