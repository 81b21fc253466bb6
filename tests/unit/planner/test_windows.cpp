// Change windows: parsing of allow and freeze entries, time zone names, and the open/closed calendar,
// including daylight-saving changes. Every instant is asserted exactly, in UTC.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "planner/windows.hpp"
#include "tests/unit/fake_clock.hpp"

namespace {

using meshmove::planner::AllowWindow;
using meshmove::planner::FreezeRange;
using meshmove::planner::LocalTimeRange;
using meshmove::planner::ParseError;
using meshmove::planner::TimePoint;
using meshmove::planner::WindowSchedule;
using meshmove::planner::WindowsConfig;
using meshmove::planner::WindowsProblem;
using meshmove::testsupport::iso;
using meshmove::testsupport::utc;
using std::chrono::hours;
using std::chrono::minutes;

WindowSchedule make(const std::string& zone, std::vector<std::string> allow,
                    std::vector<std::string> freeze = {}) {
  WindowsConfig config;
  config.timezone = zone;
  config.allow = std::move(allow);
  config.freeze = std::move(freeze);
  std::vector<WindowsProblem> problems;
  auto schedule = WindowSchedule::create(config, &problems);
  for (const auto& p : problems) FAIL_CHECK(p.field << ": " << p.message);
  REQUIRE(schedule);
  return *schedule;
}

// "[start, end)" list in UTC for exact comparisons.
std::string intervals(const WindowSchedule& s, TimePoint from, TimePoint to) {
  std::string out;
  for (const auto& iv : s.open_intervals(from, to)) out += "[" + iso(iv.start) + ", " + iso(iv.end) + ") ";
  return out;
}

std::string days_of(const AllowWindow& w) {
  return w.days.to_string();
}  // bit 6 (Sat) first, bit 0 (Sun) last

ParseError allow_error(const std::string& text) {
  ParseError error;
  CHECK_MESSAGE(!meshmove::planner::parse_allow_window(text, &error), text);
  CHECK_MESSAGE(error.message.find("e.g. \"Mon-Fri 09:00-17:00\"") != std::string::npos, error.message);
  return error;
}

ParseError freeze_error(const std::string& text) {
  ParseError error;
  CHECK_MESSAGE(!meshmove::planner::parse_freeze_range(text, &error), text);
  CHECK_MESSAGE(error.message.find("e.g. \"2026-12-20/2027-01-04\"") != std::string::npos, error.message);
  return error;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

date::local_time<minutes> local(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return date::local_days{date::year{y} / date::month{m} / date::day{d}} + hours{hh} + minutes{mm};
}

}  // namespace

TEST_SUITE("planner::windows") {
  TEST_CASE("allow entries that parse") {
    const auto parse = [](const std::string& text) {
      ParseError error;
      auto w = meshmove::planner::parse_allow_window(text, &error);
      INFO(text << " -> " << error.message);
      REQUIRE(w);
      return *w;
    };
    SUBCASE("business hours") {
      const auto w = parse("Mon-Fri 09:00-17:00");
      CHECK(days_of(w) == "0111110");
      REQUIRE(w.ranges.size() == 1);
      CHECK(w.ranges[0] == LocalTimeRange{hours{9}, hours{17}});
      CHECK_FALSE(w.ranges[0].crosses_midnight());
    }
    SUBCASE("a list of days, any case") { CHECK(days_of(parse("sat,SUN 10:00-14:00")) == "1000001"); }
    SUBCASE("blanks around commas and at the ends") {
      const auto w = parse("  Sat , Sun 10:00-12:00 , 13:00-14:00  ");
      CHECK(days_of(w) == "1000001");
      CHECK(w.ranges.size() == 2);
    }
    SUBCASE("a day range wraps over the weekend") {
      CHECK(days_of(parse("Fri-Mon 08:00-09:00")) == "1100011");
    }
    SUBCASE("a day range from a day to itself is that day") {
      CHECK(days_of(parse("Mon-Mon 08:00-09:00")) == "0000010");
    }
    SUBCASE("full day names") { CHECK(days_of(parse("Monday-wednesday 08:00-09:00")) == "0001110"); }
    SUBCASE("every day") {
      CHECK(days_of(parse("* 00:00-24:00")) == "1111111");
      CHECK(days_of(parse("Daily 9:00-10:00")) == "1111111");
      CHECK(parse("daily 9:00-10:00").ranges[0] == LocalTimeRange{hours{9}, hours{10}});
    }
    SUBCASE("several time ranges") {
      const auto w = parse("Mon-Fri 09:00-12:00,13:00-17:00");
      REQUIRE(w.ranges.size() == 2);
      CHECK(w.ranges[1] == LocalTimeRange{hours{13}, hours{17}});
    }
    SUBCASE("24:00 ends a day") {
      CHECK(parse("Sat 22:00-24:00").ranges[0] == LocalTimeRange{hours{22}, hours{24}});
      CHECK(parse("* 00:00-24:00").ranges[0] == LocalTimeRange{hours{0}, hours{24}});
    }
    SUBCASE("a range ending before it starts crosses midnight") {
      const auto w = parse("Fri 22:00-02:00");
      CHECK(w.ranges[0].crosses_midnight());
      CHECK(parse("Sun 22:00-00:00").ranges[0].crosses_midnight());
    }
    SUBCASE("days listed twice are one set") {
      CHECK(days_of(parse("Mon,Mon-Tue 08:00-09:00")) == "0000110");
    }
  }

  TEST_CASE("allow entries that do not parse say where and why") {
    struct Case {
      const char* text;
      std::size_t offset;
      const char* says;
    };
    const Case cases[] = {
        {"", 0, "empty allow entry"},
        {"   ", 0, "empty allow entry"},
        {"Mox 09:00-17:00", 0, "unknown day \"Mox\""},
        {"Mon-Fry 09:00-17:00", 4, "unknown day \"Fry\""},
        {"Mon- 09:00-17:00", 4, "expected a day after \"Mon-\""},
        {"Mon,,Tue 09:00-10:00", 4, "expected a day name"},
        {"*-Mon 09:00-10:00", 1, "unexpected \"-Mon"},
        {"09:00-17:00", 0, "missing the days before the time range (use * for every day)"},
        {"Mon-Fri", 7, "missing the time range after the days"},
        {"Mon-Fri ", 7, "missing the time range after the days"},
        {"Mon-Fri09:00-17:00", 7, "expected a space between the days and the time range"},
        {"Mon_Fri 09:00-17:00", 3, "unexpected \"_Fri"},
        {"Mon 9-17", 5, "expected ':' between hours and minutes"},
        {"Mon 09:0-17:00", 7, "expected two digits of minutes"},
        {"Mon 09:00", 9, "missing the end of the time range (-HH:MM)"},
        {"Mon 09:00 17:00", 9, "expected '-' between start and end time"},
        {"Mon 09:00-", 10, "expected the end time HH:MM, found the end of the entry"},
        {"Mon 09:00-5pm", 11, "expected ':' between hours and minutes"},
        {"Mon 25:00-26:00", 4, "hour 25 is out of range (00-23, or 24:00 as the end of a range)"},
        {"Mon 09:60-10:00", 7, "minute 60 is out of range (00-59)"},
        {"Mon 24:00-10:00", 4, "24:00 can only end a time range"},
        {"Mon 10:00-24:30", 10, "hour 24 is out of range"},
        {"Mon 09:00-09:00", 4, "empty time range: the start equals the end"},
        {"Mon 00:00-00:00", 4, "for a whole day write 00:00-24:00"},
        {"Mon 09:00-17:00,", 16, "expected a start time HH:MM, found the end of the entry"},
        {"Mon 09:00-17:00 Tue 10:00-11:00", 16, "write each set of days as its own entry"},
        {"* 9:00-17:00x", 12, "unexpected \"x\" after the time ranges"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      const ParseError error = allow_error(c.text);
      CHECK(error.offset == c.offset);
      CHECK_MESSAGE(contains(error.message, c.says), error.message);
    }
    SUBCASE("a null error pointer is allowed") {
      CHECK_FALSE(meshmove::planner::parse_allow_window("Mox 09:00-10:00", nullptr));
    }
  }

  TEST_CASE("freeze entries that parse") {
    const auto parse = [](const std::string& text) {
      ParseError error;
      auto f = meshmove::planner::parse_freeze_range(text, &error);
      INFO(text << " -> " << error.message);
      REQUIRE(f);
      return *f;
    };
    SUBCASE("inclusive dates") {
      const FreezeRange f = parse("2026-12-20/2027-01-04");
      CHECK(f.start == local(2026, 12, 20));
      CHECK(f.end == local(2027, 1, 5));
    }
    SUBCASE("one date is one whole day") {
      const FreezeRange f = parse("2026-12-24");
      CHECK(f.start == local(2026, 12, 24));
      CHECK(f.end == local(2026, 12, 25));
    }
    SUBCASE("the same start and end date is one day") {
      CHECK(parse("2026-12-24/2026-12-24").end == local(2026, 12, 25));
    }
    SUBCASE("date-times, end exclusive") {
      const FreezeRange f = parse("2026-12-24T18:00/2026-12-27T06:30");
      CHECK(f.start == local(2026, 12, 24, 18, 0));
      CHECK(f.end == local(2026, 12, 27, 6, 30));
    }
    SUBCASE("a date-time start with a date end includes the end day") {
      CHECK(parse("2026-12-24T18:00/2026-12-26").end == local(2026, 12, 27));
    }
    SUBCASE("a date start with a date-time end") {
      const FreezeRange f = parse("2026-12-24/2026-12-24T12:00");
      CHECK(f.start == local(2026, 12, 24));
      CHECK(f.end == local(2026, 12, 24, 12, 0));
    }
    SUBCASE("blanks around the slash and at the ends") {
      CHECK(parse(" 2026-12-20 / 2027-01-04 ").end == local(2027, 1, 5));
    }
    SUBCASE("a leap day") { CHECK(parse("2028-02-29").start == local(2028, 2, 29)); }
  }

  TEST_CASE("freeze entries that do not parse say where and why") {
    struct Case {
      const char* text;
      std::size_t offset;
      const char* says;
    };
    const Case cases[] = {
        {"", 0, "empty freeze entry"},
        {"2026-02-30", 8, "2026-02-30 is not a valid date (February 2026 has 28 days)"},
        {"2028-02-30", 8, "2028-02-30 is not a valid date (February 2028 has 29 days)"},
        {"2026-04-31/2026-05-02", 8, "(April 2026 has 30 days)"},
        {"2026-12-20/2027-02-29", 19, "2027-02-29 is not a valid date"},
        {"2026-13-01", 5, "month 13 is out of range (01-12)"},
        {"2026-00-10", 5, "month 00 is out of range"},
        {"2026-12-00", 8, "2026-12-00 is not a valid date"},
        {"2026-1-5", 5, "expected a two-digit month"},
        {"26-12-20", 0, "expected a date YYYY-MM-DD"},
        {"2026/12/20", 4, "expected '-' after the year"},
        {"2027-01-04/2026-12-20", 11, "the end 2026-12-20 is before the start 2027-01-04"},
        {"2026-12-24T18:00/2026-12-24T18:00", 17,
         "the end 2026-12-24T18:00 is not after the start 2026-12-24T18:00"},
        {"2026-12-24T18:00/2026-12-24T06:00", 17, "is not after the start"},
        {"2026-12-24T18:00/2026-12-23", 17, "is before the start"},
        {"2026-12-24T18:00", 16, "a date-time needs an end"},
        {"2026-12-24T25:00/2026-12-25T00:00", 11, "hour 25 is out of range (00-23)"},
        {"2026-12-24T24:00/2026-12-25T01:00", 11, "hour 24 is out of range"},
        {"2026-12-24T18:61/2026-12-25T00:00", 14, "minute 61 is out of range (00-59)"},
        {"2026-12-24T1800/2026-12-25T00:00", 13, "expected ':' between hours and minutes"},
        {"2026-12-24T/2026-12-25T00:00", 11, "expected a time HH:MM after 'T'"},
        {"2026-12-24 2026-12-25", 11, "expected '/' or the end of the entry"},
        {"2026-12-20/", 11, "expected a date YYYY-MM-DD, found the end of the entry"},
        {"2026-12-20/2027-01-04x", 21, "unexpected \"x\" after the end"},
        {"Dec 20", 0, "expected a date YYYY-MM-DD"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      const ParseError error = freeze_error(c.text);
      CHECK(error.offset == c.offset);
      CHECK_MESSAGE(contains(error.message, c.says), error.message);
    }
  }

  TEST_CASE("time zone names") {
    using meshmove::planner::is_valid_timezone;
    using meshmove::planner::suggest_timezone;
    CHECK(is_valid_timezone("Europe/Berlin"));
    CHECK(is_valid_timezone("America/New_York"));
    CHECK(is_valid_timezone("UTC"));
    CHECK_FALSE(is_valid_timezone("europe/berlin"));
    CHECK_FALSE(is_valid_timezone(""));
    CHECK_FALSE(is_valid_timezone("Mars/Olympus_Mons"));
    CHECK_FALSE(is_valid_timezone("../../etc/passwd"));
    CHECK_FALSE(is_valid_timezone("CET "));

    CHECK(suggest_timezone("europe/berlin") == "Europe/Berlin");
    CHECK(suggest_timezone("berlin") == "Europe/Berlin");
    CHECK(suggest_timezone("Europe/Berln") == "Europe/Berlin");
    CHECK(suggest_timezone("america/new york") == "America/New_York");
    CHECK_FALSE(suggest_timezone("Xyzzy/Nowhere_At_All"));
    CHECK_FALSE(suggest_timezone(""));
  }

  TEST_CASE("creating a schedule collects every problem") {
    WindowsConfig config;
    config.timezone = "europe/berlin";
    config.allow = {"Mon-Fri 09:00-17:00", "Mox 09:00-10:00", "Sat 10:00-10:00"};
    config.freeze = {"2026-12-20/2027-01-04", "2026-02-30"};
    std::vector<WindowsProblem> problems;
    CHECK_FALSE(WindowSchedule::create(config, &problems));
    REQUIRE(problems.size() == 4);
    CHECK(problems[0].field == "windows.timezone");
    CHECK(contains(problems[0].message,
                   "unknown time zone \"europe/berlin\"; did you mean \"Europe/Berlin\"?"));
    CHECK(problems[1].field == "windows.allow[1]");
    CHECK(problems[1].index == 1);
    CHECK(problems[1].offset == 0);
    CHECK(contains(problems[1].message, "unknown day \"Mox\""));
    CHECK(problems[2].field == "windows.allow[2]");
    CHECK(problems[2].offset == 4);
    CHECK(problems[3].field == "windows.freeze[1]");
    CHECK(problems[3].index == 1);
    CHECK(problems[3].offset == 8);
    CHECK(contains(problems[3].message, "February 2026 has 28 days"));

    SUBCASE("a null problem list is allowed") { CHECK_FALSE(WindowSchedule::create(config, nullptr)); }
    SUBCASE("a valid configuration") {
      config.timezone = "Europe/Berlin";
      config.allow.resize(1);
      config.freeze.resize(1);
      problems.clear();
      const auto schedule = WindowSchedule::create(config, &problems);
      REQUIRE(schedule);
      CHECK(problems.empty());
      CHECK(schedule->timezone() == "Europe/Berlin");
    }
  }

  TEST_CASE("instants outside years 0001-9999 are closed, without overflow") {
    const auto s = make("UTC", {});
    CHECK_FALSE(s.is_open(TimePoint::max()));
    CHECK_FALSE(s.is_open(TimePoint::min()));
    CHECK_FALSE(s.next_open(TimePoint::max()));
    CHECK_FALSE(s.next_open(TimePoint::min()));
    CHECK(s.open_until(TimePoint::max()) == TimePoint::max());
    CHECK(iso(s.open_until(utc(9999, 12, 31))) == "10000-01-01T00:00Z");
    CHECK(s.open_intervals(TimePoint::max() - hours{1}, TimePoint::max()).empty());
  }

  TEST_CASE("no allow entries: always open") {
    const auto s = make("UTC", {});
    const TimePoint t = utc(2026, 11, 11, 10, 0);
    CHECK(s.is_open(t));
    CHECK(iso(s.next_open(t)) == iso(t));
    CHECK(iso(s.open_until(t)) == "none");  // stays open for the whole search horizon
    CHECK(intervals(s, t, t + hours{1}) == "[2026-11-11T10:00Z, 2026-11-11T11:00Z) ");
    CHECK(s.open_intervals(t, t).empty());
  }

  TEST_CASE("Mon-Fri business hours across a weekend") {
    SUBCASE("UTC") {
      const auto s = make("UTC", {"Mon-Fri 09:00-17:00"});
      // 2026-11-06 is a Friday.
      CHECK(s.is_open(utc(2026, 11, 6, 9, 0)));
      CHECK(s.is_open(utc(2026, 11, 6, 16, 59, 59, 999)));
      CHECK_FALSE(s.is_open(utc(2026, 11, 6, 17, 0)));
      CHECK_FALSE(s.is_open(utc(2026, 11, 6, 8, 59, 59, 999)));
      CHECK(iso(s.open_until(utc(2026, 11, 6, 10, 0))) == "2026-11-06T17:00Z");
      CHECK(iso(s.open_until(utc(2026, 11, 7, 12, 0))) == "2026-11-07T12:00Z");  // closed: itself
      CHECK(iso(s.next_open(utc(2026, 11, 6, 17, 0))) == "2026-11-09T09:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 7, 12, 0))) == "2026-11-09T09:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 8, 23, 59, 59, 999))) == "2026-11-09T09:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 9, 9, 0))) == "2026-11-09T09:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 9, 12, 34, 56, 789))) == "2026-11-09T12:34:56.789Z");
      CHECK(intervals(s, utc(2026, 11, 6), utc(2026, 11, 10)) ==
            "[2026-11-06T09:00Z, 2026-11-06T17:00Z) [2026-11-09T09:00Z, 2026-11-09T17:00Z) ");
    }
    SUBCASE("Europe/Berlin in winter (UTC+1)") {
      const auto s = make("Europe/Berlin", {"Mon-Fri 09:00-17:00"});
      CHECK(iso(s.open_until(utc(2026, 11, 6, 12, 0))) == "2026-11-06T16:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 6, 16, 0))) == "2026-11-09T08:00Z");
    }
    SUBCASE("a lunch break") {
      const auto s = make("UTC", {"Mon-Fri 09:00-12:00,13:00-17:00"});
      CHECK(iso(s.open_until(utc(2026, 11, 9, 11, 0))) == "2026-11-09T12:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 9, 12, 0))) == "2026-11-09T13:00Z");
    }
  }

  TEST_CASE("windows crossing midnight") {
    SUBCASE("belongs to the day it starts on") {
      const auto s = make("UTC", {"Fri 22:00-02:00"});
      CHECK_FALSE(s.is_open(utc(2026, 11, 6, 21, 59, 59, 999)));
      CHECK(s.is_open(utc(2026, 11, 6, 22, 0)));
      CHECK(s.is_open(utc(2026, 11, 7, 1, 59, 59, 999)));
      CHECK_FALSE(s.is_open(utc(2026, 11, 7, 2, 0)));
      CHECK_FALSE(s.is_open(utc(2026, 11, 6, 1, 0)));   // Friday 01:00 belongs to no Thursday window
      CHECK_FALSE(s.is_open(utc(2026, 11, 7, 23, 0)));  // nor does Saturday night
      CHECK(iso(s.open_until(utc(2026, 11, 6, 23, 0))) == "2026-11-07T02:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 7, 2, 0))) == "2026-11-13T22:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 7, 1, 0))) == "2026-11-07T01:00Z");
    }
    SUBCASE("over the week boundary, Sunday to Monday") {
      const auto s = make("UTC", {"Sun 22:00-02:00"});
      // 2026-11-08 is a Sunday.
      CHECK(s.is_open(utc(2026, 11, 9, 1, 0)));
      CHECK(iso(s.next_open(utc(2026, 11, 9, 2, 0))) == "2026-11-15T22:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 4, 12, 0))) == "2026-11-08T22:00Z");
      CHECK(intervals(s, utc(2026, 11, 9), utc(2026, 11, 16)) ==
            "[2026-11-09T00:00Z, 2026-11-09T02:00Z) [2026-11-15T22:00Z, 2026-11-16T00:00Z) ");
    }
    SUBCASE("touching windows merge into one open stretch") {
      const auto s = make("UTC", {"Sun 22:00-02:00", "Mon 02:00-04:00"});
      CHECK(iso(s.open_until(utc(2026, 11, 8, 23, 0))) == "2026-11-09T04:00Z");
    }
    SUBCASE("overlapping windows merge too") {
      const auto s = make("UTC", {"Sun 23:00-01:00", "Mon 00:30-02:00"});
      CHECK(intervals(s, utc(2026, 11, 8), utc(2026, 11, 10)) == "[2026-11-08T23:00Z, 2026-11-09T02:00Z) ");
    }
    SUBCASE("whole days merge across midnight") {
      const auto s = make("UTC", {"Sat,Sun 00:00-24:00"});
      CHECK(iso(s.open_until(utc(2026, 11, 7, 10, 0))) == "2026-11-09T00:00Z");
    }
    SUBCASE("ending at midnight written as 00:00") {
      const auto s = make("UTC", {"Sun 22:00-00:00"});
      CHECK(iso(s.open_until(utc(2026, 11, 8, 22, 0))) == "2026-11-09T00:00Z");
    }
  }

  TEST_CASE("freeze ranges") {
    SUBCASE("inclusive local dates") {
      const auto s = make("Europe/Berlin", {}, {"2026-12-20/2027-01-04"});
      CHECK(s.is_open(utc(2026, 12, 19, 22, 59, 59, 999)));  // 23:59:59.999 CET on the 19th
      CHECK_FALSE(s.is_open(utc(2026, 12, 19, 23, 0)));      // 00:00 CET on the 20th
      CHECK_FALSE(s.is_open(utc(2027, 1, 4, 22, 59, 59, 999)));
      CHECK(s.is_open(utc(2027, 1, 4, 23, 0)));  // 00:00 CET on the 5th
      CHECK(iso(s.open_until(utc(2026, 12, 10))) == "2026-12-19T23:00Z");
      CHECK(iso(s.next_open(utc(2026, 12, 25, 12, 0))) == "2027-01-04T23:00Z");
    }
    SUBCASE("a single day") {
      const auto s = make("UTC", {"Mon-Fri 09:00-17:00"}, {"2026-11-10"});
      CHECK(iso(s.next_open(utc(2026, 11, 10, 9, 0))) == "2026-11-11T09:00Z");
      CHECK(iso(s.open_until(utc(2026, 11, 9, 16, 0))) == "2026-11-09T17:00Z");
    }
    SUBCASE("date-times cut a window in two") {
      const auto s = make("Europe/Berlin", {"Mon-Fri 09:00-17:00"}, {"2026-11-11T12:00/2026-11-11T14:30"});
      CHECK(intervals(s, utc(2026, 11, 11), utc(2026, 11, 12)) ==
            "[2026-11-11T08:00Z, 2026-11-11T11:00Z) [2026-11-11T13:30Z, 2026-11-11T16:00Z) ");
      CHECK(iso(s.open_until(utc(2026, 11, 11, 9, 0))) == "2026-11-11T11:00Z");
      CHECK(iso(s.next_open(utc(2026, 11, 11, 11, 0))) == "2026-11-11T13:30Z");
      CHECK_FALSE(s.is_open(utc(2026, 11, 11, 13, 29, 59, 999)));
      CHECK(s.is_open(utc(2026, 11, 11, 13, 30)));
    }
    SUBCASE("a freeze covering the whole allowed week") {
      const auto s = make("Europe/Berlin", {"Mon-Fri 09:00-17:00"}, {"2026-11-09/2026-11-13"});
      CHECK(intervals(s, utc(2026, 11, 8), utc(2026, 11, 15)).empty());
      CHECK(iso(s.next_open(utc(2026, 11, 9, 7, 0))) == "2026-11-16T08:00Z");
    }
    SUBCASE("overlapping freezes merge") {
      const auto s = make("UTC", {}, {"2026-11-09/2026-11-10", "2026-11-10T12:00/2026-11-12T06:00"});
      CHECK(iso(s.next_open(utc(2026, 11, 9, 1, 0))) == "2026-11-12T06:00Z");
      CHECK(iso(s.open_until(utc(2026, 11, 8, 1, 0))) == "2026-11-09T00:00Z");
    }
    SUBCASE("a freeze longer than the search horizon: never opens") {
      const auto s = make("UTC", {"Mon-Fri 09:00-17:00"}, {"2026-01-01/2099-12-31"});
      CHECK(iso(s.next_open(utc(2026, 11, 9, 10, 0))) == "none");
      CHECK_FALSE(s.is_open(utc(2026, 11, 9, 10, 0)));
    }
    SUBCASE("a freeze ending within the horizon after a long time") {
      const auto s = make("UTC", {}, {"2026-01-01/2026-12-31"});
      CHECK(iso(s.next_open(utc(2026, 1, 1))) == "2027-01-01T00:00Z");
    }
  }

  TEST_CASE("Europe/Berlin falls back on 2026-10-25 (03:00 CEST -> 02:00 CET at 01:00 UTC)") {
    SUBCASE("a window on the repeated hour is open for both passes") {
      const auto s = make("Europe/Berlin", {"Sun 02:00-03:00"});
      CHECK(intervals(s, utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0)) ==
            "[2026-10-25T00:00Z, 2026-10-25T02:00Z) ");
      CHECK_FALSE(s.is_open(utc(2026, 10, 24, 23, 59, 59, 999)));  // 01:59:59.999 CEST
      CHECK(s.is_open(utc(2026, 10, 25, 0, 30)));                  // 02:30 CEST, first pass
      CHECK(s.is_open(utc(2026, 10, 25, 1, 30)));                  // 02:30 CET, second pass
      CHECK_FALSE(s.is_open(utc(2026, 10, 25, 2, 0)));             // 03:00 CET
    }
    SUBCASE("a window ending inside the repeated hour ends at the second pass, without a gap") {
      const auto s = make("Europe/Berlin", {"Sun 01:00-02:30"});
      CHECK(intervals(s, utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0)) ==
            "[2026-10-24T23:00Z, 2026-10-25T01:30Z) ");
    }
    SUBCASE("a window starting inside the repeated hour starts at the first pass") {
      const auto s = make("Europe/Berlin", {"Sun 02:30-04:00"});
      CHECK(iso(s.next_open(utc(2026, 10, 24, 23, 30))) == "2026-10-25T00:30Z");
      CHECK(iso(s.open_until(utc(2026, 10, 25, 0, 30))) == "2026-10-25T03:00Z");
    }
    SUBCASE("a week later the window is an ordinary CET hour") {
      const auto s = make("Europe/Berlin", {"Sun 02:00-03:00"});
      CHECK(iso(s.next_open(utc(2026, 10, 25, 2, 0))) == "2026-11-01T01:00Z");
      CHECK(iso(s.open_until(utc(2026, 11, 1, 1, 0))) == "2026-11-01T02:00Z");
    }
    SUBCASE("a freeze on the repeated hour freezes both passes") {
      const auto s = make("Europe/Berlin", {}, {"2026-10-25T02:00/2026-10-25T03:00"});
      CHECK(iso(s.open_until(utc(2026, 10, 24, 22, 0))) == "2026-10-25T00:00Z");
      CHECK(iso(s.next_open(utc(2026, 10, 25, 0, 0))) == "2026-10-25T02:00Z");
    }
    SUBCASE("whole-day windows over the change last 25 hours") {
      const auto s = make("Europe/Berlin", {"Sun 00:00-24:00"});
      CHECK(intervals(s, utc(2026, 10, 24), utc(2026, 10, 26)) == "[2026-10-24T22:00Z, 2026-10-25T23:00Z) ");
    }
  }

  TEST_CASE("Europe/Berlin springs forward on 2027-03-28 (02:00 CET -> 03:00 CEST at 01:00 UTC)") {
    SUBCASE("a window starting at a skipped time opens at 03:00 CEST") {
      const auto s = make("Europe/Berlin", {"Sun 02:30-04:00"});
      CHECK(intervals(s, utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 12, 0)) ==
            "[2027-03-28T01:00Z, 2027-03-28T02:00Z) ");
      CHECK(iso(s.next_open(utc(2027, 3, 28, 0, 0))) == "2027-03-28T01:00Z");
      CHECK_FALSE(s.is_open(utc(2027, 3, 28, 0, 59, 59, 999)));
    }
    SUBCASE("a window wholly inside the skipped hour does not open that day") {
      const auto s = make("Europe/Berlin", {"Sun 02:00-02:30"});
      CHECK(intervals(s, utc(2027, 3, 27), utc(2027, 3, 29)).empty());
      CHECK(iso(s.next_open(utc(2027, 3, 27, 12, 0))) == "2027-04-04T00:00Z");  // 02:00 CEST a week later
    }
    SUBCASE("a window ending at a skipped time ends at the jump") {
      const auto s = make("Europe/Berlin", {"Sat 23:00-02:30"});
      CHECK(intervals(s, utc(2027, 3, 27), utc(2027, 3, 29)) == "[2027-03-27T22:00Z, 2027-03-28T01:00Z) ");
    }
    SUBCASE("a window over the jump is an hour shorter") {
      const auto s = make("Europe/Berlin", {"Sun 01:00-04:00"});
      CHECK(intervals(s, utc(2027, 3, 27), utc(2027, 3, 29)) == "[2027-03-28T00:00Z, 2027-03-28T02:00Z) ");
    }
    SUBCASE("a freeze starting at a skipped time starts at the jump") {
      const auto s = make("Europe/Berlin", {}, {"2027-03-28T02:30/2027-03-28T05:00"});
      CHECK(iso(s.open_until(utc(2027, 3, 28, 0, 0))) == "2027-03-28T01:00Z");
      CHECK(iso(s.next_open(utc(2027, 3, 28, 1, 0))) == "2027-03-28T03:00Z");
    }
  }

  TEST_CASE("America/New_York changes on other dates") {
    SUBCASE("on 2026-10-25 New York is still on EDT (UTC-4)") {
      const auto s = make("America/New_York", {"Sun 01:00-02:00"});
      CHECK(intervals(s, utc(2026, 10, 25), utc(2026, 10, 26)) == "[2026-10-25T05:00Z, 2026-10-25T06:00Z) ");
    }
    SUBCASE("falls back on 2026-11-01 (02:00 EDT -> 01:00 EST at 06:00 UTC)") {
      const auto s = make("America/New_York", {"Sun 01:00-02:00"});
      CHECK(intervals(s, utc(2026, 11, 1), utc(2026, 11, 2)) == "[2026-11-01T05:00Z, 2026-11-01T07:00Z) ");
      CHECK(s.is_open(utc(2026, 11, 1, 6, 30)));  // 01:30 EST, second pass
    }
    SUBCASE("springs forward on 2027-03-14 (02:00 EST -> 03:00 EDT at 07:00 UTC)") {
      const auto s = make("America/New_York", {"Sun 02:15-03:30"});
      CHECK(intervals(s, utc(2027, 3, 14), utc(2027, 3, 15)) == "[2027-03-14T07:00Z, 2027-03-14T07:30Z) ");
    }
    SUBCASE("on 2027-03-28 New York is an ordinary EDT day") {
      const auto s = make("America/New_York", {"Sun 02:30-04:00"});
      CHECK(intervals(s, utc(2027, 3, 28), utc(2027, 3, 29)) == "[2027-03-28T06:30Z, 2027-03-28T08:00Z) ");
    }
  }
}
