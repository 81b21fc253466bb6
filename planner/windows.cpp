// The open/closed calendar (WindowSchedule); parsing is in windows_parse.cpp.
#include "planner/windows.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <utility>

#include <date/tz.h>

namespace meshmove::planner {
namespace {

using LocalMinutes = date::local_time<std::chrono::minutes>;

constexpr std::string_view k_zone_form =
    "expected an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"";

// Next-open and open-until searches look at this much time per step.
constexpr std::chrono::days k_search_chunk{7};

// The instants the schedule works with: [0001-01-01, 10000-01-01) UTC. Outside, everything is closed,
// which keeps date/tz and the arithmetic below far from overflow.
constexpr TimePoint k_first_supported{date::sys_days{date::year{1} / 1 / 1}};
constexpr TimePoint k_end_supported{date::sys_days{date::year{10000} / 1 / 1}};

bool supported(TimePoint t) { return t >= k_first_supported && t < k_end_supported; }

// The DST rule of windows.hpp: starts take the first instant showing the local time, ends the last; a
// skipped local time maps to the instant of the jump (date/tz does this for both choices).
TimePoint start_instant(const date::time_zone& zone, LocalMinutes local) {
  return TimePoint{zone.to_sys(local, date::choose::earliest)};
}
TimePoint end_instant(const date::time_zone& zone, LocalMinutes local) {
  return TimePoint{zone.to_sys(local, date::choose::latest)};
}

// Sorts and merges overlapping or touching intervals.
void normalize(std::vector<TimeInterval>& v) {
  std::sort(v.begin(), v.end(),
            [](const TimeInterval& a, const TimeInterval& b) { return a.start < b.start; });
  std::vector<TimeInterval> merged;
  for (const auto& iv : v) {
    if (!merged.empty() && iv.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, iv.end);
    } else {
      merged.push_back(iv);
    }
  }
  v = std::move(merged);
}

}  // namespace

std::optional<WindowSchedule> WindowSchedule::create(const WindowsConfig& config,
                                                     std::vector<WindowsProblem>* problems) {
  bool ok = true;
  const auto report = [&](std::string field, std::size_t index, std::size_t offset, std::string message) {
    ok = false;
    if (problems != nullptr) problems->push_back({std::move(field), index, offset, std::move(message)});
  };

  WindowSchedule schedule;
  schedule.m_timezone = config.timezone;
  try {
    schedule.m_zone = date::locate_zone(config.timezone);
  } catch (const std::exception& e) {
    bool database_readable = true;
    try {
      (void)date::get_tzdb();
    } catch (const std::exception&) {
      database_readable = false;
    }
    std::string message;
    if (!database_readable) {
      message = "the time zone database could not be read (is the tzdata package installed?): " +
                std::string(e.what());
    } else {
      message = "unknown time zone \"" + config.timezone + "\"";
      if (const auto suggestion = suggest_timezone(config.timezone)) {
        message += "; did you mean \"" + *suggestion + "\"?";
      }
      message += " (" + std::string(k_zone_form) + ")";
    }
    report("windows.timezone", 0, 0, std::move(message));
  }

  for (std::size_t i = 0; i < config.allow.size(); ++i) {
    ParseError error;
    if (auto window = parse_allow_window(config.allow[i], &error)) {
      schedule.m_allow.push_back(std::move(*window));
    } else {
      report("windows.allow[" + std::to_string(i) + "]", i, error.offset, std::move(error.message));
    }
  }

  for (std::size_t i = 0; i < config.freeze.size(); ++i) {
    ParseError error;
    const auto range = parse_freeze_range(config.freeze[i], &error);
    if (!range) {
      report("windows.freeze[" + std::to_string(i) + "]", i, error.offset, std::move(error.message));
    } else if (schedule.m_zone != nullptr) {
      schedule.m_freeze.push_back(
          {start_instant(*schedule.m_zone, range->start), end_instant(*schedule.m_zone, range->end)});
    }
  }

  if (!ok) return std::nullopt;
  normalize(schedule.m_freeze);
  return schedule;
}

std::vector<TimeInterval> WindowSchedule::open_intervals(TimePoint from, TimePoint to) const {
  from = std::max(from, k_first_supported);
  to = std::min(to, k_end_supported);
  if (from >= to) return {};
  std::vector<TimeInterval> allowed;
  if (m_allow.empty()) {
    allowed.push_back({from, to});
  } else {
    // Windows that start two local days before `from` may still be open at `from` (a range crossing
    // midnight, shifted by up to a day's worth of UTC offset); none starting after the last day reach `to`.
    const auto first_day = date::floor<date::days>(m_zone->to_local(from)) - date::days{2};
    const auto last_day = date::floor<date::days>(m_zone->to_local(to)) + date::days{1};
    for (auto day = first_day; day <= last_day; day += date::days{1}) {
      const unsigned weekday = date::weekday{day}.c_encoding();
      for (const auto& window : m_allow) {
        if (!window.days.test(weekday)) continue;
        for (const auto& range : window.ranges) {
          const LocalMinutes local_start = day + range.start;
          const LocalMinutes local_end =
              day + (range.crosses_midnight() ? date::days{1} : date::days{0}) + range.end;
          const TimePoint start = std::max(start_instant(*m_zone, local_start), from);
          const TimePoint end = std::min(end_instant(*m_zone, local_end), to);
          if (start < end) allowed.push_back({start, end});
        }
      }
    }
    normalize(allowed);
  }

  // Cut out the freeze ranges (both lists are sorted and disjoint).
  std::vector<TimeInterval> open;
  auto freeze = m_freeze.begin();
  for (const auto& interval : allowed) {
    while (freeze != m_freeze.end() && freeze->end <= interval.start) ++freeze;
    TimePoint cursor = interval.start;
    for (auto f = freeze; cursor < interval.end; ++f) {
      if (f == m_freeze.end() || f->start >= interval.end) {
        open.push_back({cursor, interval.end});
        break;
      }
      if (f->start > cursor) open.push_back({cursor, f->start});
      cursor = std::max(cursor, f->end);
    }
  }
  return open;
}

bool WindowSchedule::is_open(TimePoint t) const {
  return supported(t) && !open_intervals(t, t + Duration{1}).empty();
}

std::optional<TimePoint> WindowSchedule::next_open(TimePoint t) const {
  if (!supported(t)) return std::nullopt;
  const TimePoint limit = std::min<TimePoint>(t + k_window_search_horizon, k_end_supported);
  TimePoint cursor = t;
  while (cursor < limit) {
    // Inside a freeze nothing can open: jump to its end.
    const auto after = std::upper_bound(m_freeze.begin(), m_freeze.end(), cursor,
                                        [](TimePoint v, const TimeInterval& f) { return v < f.start; });
    if (after != m_freeze.begin() && cursor < std::prev(after)->end) {
      cursor = std::prev(after)->end;
      continue;
    }
    const TimePoint chunk_end = std::min(cursor + k_search_chunk, limit);
    const auto open = open_intervals(cursor, chunk_end);
    if (!open.empty()) return open.front().start;
    cursor = chunk_end;
  }
  return std::nullopt;
}

std::optional<TimePoint> WindowSchedule::open_until(TimePoint t) const {
  if (!supported(t)) return t;
  const TimePoint limit = t + k_window_search_horizon;
  TimePoint cursor = t;
  while (cursor < limit) {
    const TimePoint chunk_end = std::min(cursor + k_search_chunk, limit);
    const auto open = open_intervals(cursor, chunk_end);
    if (open.empty() || open.front().start != cursor) return cursor;
    if (open.front().end < chunk_end) return open.front().end;
    cursor = chunk_end;
  }
  return std::nullopt;
}

}  // namespace meshmove::planner
