// The migration timeline: bake times, change windows, freezes, daylight-saving changes and resuming from
// a step in the middle. Time comes from a FakeClock; every instant is asserted exactly, in UTC.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "planner/schedule.hpp"
#include "tests/unit/fake_clock.hpp"

namespace {

using meshmove::planner::compute_timeline;
using meshmove::planner::Plan;
using meshmove::planner::TimelineStep;
using meshmove::planner::TimePoint;
using meshmove::planner::WindowSchedule;
using meshmove::planner::WindowsProblem;
using meshmove::testsupport::FakeClock;
using meshmove::testsupport::iso;
using meshmove::testsupport::utc;
using std::chrono::hours;
using std::chrono::minutes;

Plan make_plan(std::vector<int> steps, meshmove::planner::Duration bake, const std::string& zone,
               std::vector<std::string> allow, std::vector<std::string> freeze = {}) {
  Plan plan;
  plan.steps = std::move(steps);
  plan.bake = bake;
  plan.windows.timezone = zone;
  plan.windows.allow = std::move(allow);
  plan.windows.freeze = std::move(freeze);
  return plan;
}

WindowSchedule windows_of(const Plan& plan) {
  std::vector<WindowsProblem> problems;
  auto schedule = WindowSchedule::create(plan.windows, &problems);
  for (const auto& p : problems) FAIL_CHECK(p.field << ": " << p.message);
  REQUIRE(schedule);
  return *schedule;
}

// One line per step: "index weight start -> end", for exact comparison with readable failures.
std::vector<std::string> lines(const std::vector<TimelineStep>& timeline) {
  std::vector<std::string> out;
  for (const auto& s : timeline) {
    out.push_back(std::to_string(s.index) + " " + std::to_string(s.weight) + " " + iso(s.earliest_start) +
                  " -> " + iso(s.earliest_end));
  }
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_SUITE("planner::schedule") {
  TEST_CASE("without windows every step starts when the previous bake is done") {
    const Plan plan = make_plan({100, 500, 2500, 10000}, minutes{10}, "UTC", {});
    const auto windows = windows_of(plan);
    FakeClock clock(utc(2026, 11, 11, 10, 0));
    CHECK(lines(compute_timeline(plan, windows, 0, std::nullopt, clock.now())) ==
          Lines{"0 100 2026-11-11T10:00Z -> 2026-11-11T10:10Z",
                "1 500 2026-11-11T10:10Z -> 2026-11-11T10:20Z",
                "2 2500 2026-11-11T10:20Z -> 2026-11-11T10:30Z",
                "3 10000 2026-11-11T10:30Z -> 2026-11-11T10:40Z"});
    SUBCASE("the timeline follows the clock") {
      clock.advance(minutes{5} + std::chrono::milliseconds{250});
      const auto timeline = compute_timeline(plan, windows, 0, std::nullopt, clock.now());
      CHECK(iso(timeline.front().earliest_start) == "2026-11-11T10:05:00.250Z");
      CHECK(iso(timeline.back().earliest_end) == "2026-11-11T10:45:00.250Z");
    }
  }

  TEST_CASE("business hours: weight changes wait for the window, baking does not") {
    // Mon-Fri 09:00-17:00 Berlin (CET, UTC+1 in November); 2026-11-06 is a Friday.
    const Plan plan = make_plan({100, 1000, 5000, 10000}, hours{2}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"});
    const auto windows = windows_of(plan);
    SUBCASE("starting Friday lunchtime, the ramp continues on Monday") {
      FakeClock clock(utc(2026, 11, 6, 12, 0));
      CHECK(lines(compute_timeline(plan, windows, 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-06T12:00Z -> 2026-11-06T14:00Z",
                  "1 1000 2026-11-06T14:00Z -> 2026-11-06T16:00Z",
                  "2 5000 2026-11-09T08:00Z -> 2026-11-09T10:00Z",
                  "3 10000 2026-11-09T10:00Z -> 2026-11-09T12:00Z"});
    }
    SUBCASE("asked on Saturday, the first step waits for Monday 09:00") {
      FakeClock clock(utc(2026, 11, 7, 15, 0));
      const auto timeline = compute_timeline(plan, windows, 0, std::nullopt, clock.now());
      CHECK(iso(timeline[0].earliest_start) == "2026-11-09T08:00Z");
      CHECK(iso(timeline[3].earliest_end) == "2026-11-09T16:00Z");
    }
    SUBCASE("a bake that ends outside the window is complete; the next change waits") {
      const Plan long_bake = make_plan({100, 1000}, hours{3}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"});
      FakeClock clock(utc(2026, 11, 6, 15, 0));  // Friday 16:00 CET
      CHECK(lines(compute_timeline(long_bake, windows_of(long_bake), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-06T15:00Z -> 2026-11-06T18:00Z",
                  "1 1000 2026-11-09T08:00Z -> 2026-11-09T11:00Z"});
    }
  }

  TEST_CASE("a window crossing midnight") {
    const Plan plan = make_plan({1000, 5000, 10000}, hours{1}, "UTC", {"Sun 23:00-01:30"});
    const auto windows = windows_of(plan);
    FakeClock clock(utc(2026, 11, 8, 22, 0));  // Sunday
    CHECK(lines(compute_timeline(plan, windows, 0, std::nullopt, clock.now())) ==
          Lines{"0 1000 2026-11-08T23:00Z -> 2026-11-09T00:00Z",
                "1 5000 2026-11-09T00:00Z -> 2026-11-09T01:00Z",
                "2 10000 2026-11-09T01:00Z -> 2026-11-09T02:00Z"});
    SUBCASE("the step that misses the window waits a week") {
      clock.set(utc(2026, 11, 8, 23, 45));
      CHECK(lines(compute_timeline(plan, windows, 0, std::nullopt, clock.now())) ==
            Lines{"0 1000 2026-11-08T23:45Z -> 2026-11-09T00:45Z",
                  "1 5000 2026-11-09T00:45Z -> 2026-11-09T01:45Z",
                  "2 10000 2026-11-15T23:00Z -> 2026-11-16T00:00Z"});
    }
  }

  TEST_CASE("freezes") {
    SUBCASE("a step due in a freeze waits until it ends (inclusive local dates)") {
      const Plan plan = make_plan({100, 10000}, hours{4}, "Europe/Berlin", {}, {"2026-12-20/2027-01-04"});
      FakeClock clock(utc(2026, 12, 19, 20, 0));  // 21:00 CET, three hours before the freeze
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-12-19T20:00Z -> 2026-12-20T00:00Z",
                  "1 10000 2027-01-04T23:00Z -> 2027-01-05T03:00Z"});
    }
    SUBCASE("a date-time freeze inside business hours") {
      const Plan plan = make_plan({100, 1000, 10000}, minutes{90}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"},
                                  {"2026-11-11T12:00/2026-11-11T14:30"});
      FakeClock clock(utc(2026, 11, 11, 9, 0));  // Wednesday 10:00 CET
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-11T09:00Z -> 2026-11-11T10:30Z",
                  "1 1000 2026-11-11T10:30Z -> 2026-11-11T12:00Z",
                  "2 10000 2026-11-11T13:30Z -> 2026-11-11T15:00Z"});
    }
    SUBCASE("a freeze covering the whole allowed week") {
      const Plan plan = make_plan({100, 10000}, hours{1}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"},
                                  {"2026-11-09/2026-11-13"});
      FakeClock clock(utc(2026, 11, 8, 12, 0));
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-16T08:00Z -> 2026-11-16T09:00Z",
                  "1 10000 2026-11-16T09:00Z -> 2026-11-16T10:00Z"});
    }
  }

  TEST_CASE("blocked: no window opens within the search horizon") {
    SUBCASE("a freeze forever blocks every step") {
      const Plan plan = make_plan({100, 5000, 10000}, hours{1}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"},
                                  {"2026-01-01/2099-12-31"});
      FakeClock clock(utc(2026, 11, 9, 10, 0));
      const auto timeline = compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now());
      REQUIRE(timeline.size() == 3);
      for (const auto& step : timeline) {
        CHECK(step.blocked());
        CHECK_FALSE(step.earliest_end);
      }
      CHECK(timeline[2].index == 2);
      CHECK(timeline[2].weight == 10000);
    }
    SUBCASE("a freeze starting mid-ramp blocks the steps after it; the bake in progress still completes") {
      const Plan plan = make_plan({100, 5000, 7500, 10000}, hours{12}, "UTC", {}, {"2026-11-12/2028-12-31"});
      FakeClock clock(utc(2026, 11, 11, 10, 0));
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-11T10:00Z -> 2026-11-11T22:00Z",
                  "1 5000 2026-11-11T22:00Z -> 2026-11-12T10:00Z", "2 7500 none -> none",
                  "3 10000 none -> none"});
    }
    SUBCASE("an absurdly long bake saturates instead of overflowing") {
      Plan plan = make_plan({100, 10000}, hours{1}, "UTC", {});
      plan.bake = meshmove::planner::Duration::max();
      const auto timeline = compute_timeline(plan, windows_of(plan), 0, std::nullopt, utc(2026, 11, 11));
      CHECK(timeline[0].earliest_end == TimePoint::max());
      CHECK(timeline[1].blocked());
    }
    SUBCASE("a step already started keeps its start even when frozen") {
      const Plan plan = make_plan({100, 10000}, hours{1}, "UTC", {}, {"2026-01-01/2099-12-31"});
      FakeClock clock(utc(2026, 11, 11, 10, 0));
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, utc(2026, 11, 11, 9, 30), clock.now())) ==
            Lines{"0 100 2026-11-11T09:30Z -> 2026-11-11T10:30Z", "1 10000 none -> none"});
    }
  }

  TEST_CASE("resuming from a step in the middle of the migration") {
    const Plan plan =
        make_plan({100, 500, 1000, 2500, 5000, 10000}, hours{1}, "Europe/Berlin", {"Mon-Fri 09:00-17:00"});
    const auto windows = windows_of(plan);
    FakeClock clock(utc(2026, 11, 11, 10, 0));  // Wednesday 11:00 CET
    SUBCASE("the current step started earlier: later steps follow its bake") {
      CHECK(lines(compute_timeline(plan, windows, 2, utc(2026, 11, 11, 9, 30), clock.now())) ==
            Lines{"2 1000 2026-11-11T09:30Z -> 2026-11-11T10:30Z",
                  "3 2500 2026-11-11T10:30Z -> 2026-11-11T11:30Z",
                  "4 5000 2026-11-11T11:30Z -> 2026-11-11T12:30Z",
                  "5 10000 2026-11-11T12:30Z -> 2026-11-11T13:30Z"});
    }
    SUBCASE("a bake long done: the next change is now, not in the past") {
      clock.advance(hours{3});  // 13:00Z, 14:00 CET
      CHECK(lines(compute_timeline(plan, windows, 4, utc(2026, 11, 11, 9, 30), clock.now())) ==
            Lines{"4 5000 2026-11-11T09:30Z -> 2026-11-11T10:30Z",
                  "5 10000 2026-11-11T13:00Z -> 2026-11-11T14:00Z"});
    }
    SUBCASE("a step set outside the windows (e.g. by an operator) keeps its start") {
      CHECK(lines(compute_timeline(plan, windows, 4, utc(2026, 11, 11, 3, 0), clock.now())) ==
            Lines{"4 5000 2026-11-11T03:00Z -> 2026-11-11T04:00Z",
                  "5 10000 2026-11-11T10:00Z -> 2026-11-11T11:00Z"});
    }
    SUBCASE("the next step not yet started waits for the window") {
      clock.set(utc(2026, 11, 11, 18, 0));  // 19:00 CET
      CHECK(lines(compute_timeline(plan, windows, 3, std::nullopt, clock.now())) ==
            Lines{"3 2500 2026-11-12T08:00Z -> 2026-11-12T09:00Z",
                  "4 5000 2026-11-12T09:00Z -> 2026-11-12T10:00Z",
                  "5 10000 2026-11-12T10:00Z -> 2026-11-12T11:00Z"});
    }
    SUBCASE("the last step alone, and past the end") {
      CHECK(compute_timeline(plan, windows, 5, std::nullopt, clock.now()).size() == 1);
      CHECK(compute_timeline(plan, windows, 6, std::nullopt, clock.now()).empty());
      CHECK(compute_timeline(plan, windows, 100, utc(2026, 11, 11), clock.now()).empty());
    }
  }

  TEST_CASE("a 1h bake from 01:30 local across Europe/Berlin's changes") {
    SUBCASE("fall back, 2026-10-25: the bake ends at 02:30 CEST, the next at 02:30 CET") {
      const Plan plan = make_plan({100, 1000, 5000, 10000}, hours{1}, "Europe/Berlin", {"Sun 01:30-03:00"});
      FakeClock clock(utc(2026, 10, 24, 22, 0));  // Sunday 00:00 CEST
      // The window is 01:30 CEST (23:30Z) to 03:00 CET (02:00Z): two and a half hours of real time.
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-10-24T23:30Z -> 2026-10-25T00:30Z",
                  "1 1000 2026-10-25T00:30Z -> 2026-10-25T01:30Z",
                  "2 5000 2026-10-25T01:30Z -> 2026-10-25T02:30Z",
                  "3 10000 2026-11-01T00:30Z -> 2026-11-01T01:30Z"});
    }
    SUBCASE("spring forward, 2027-03-28: the bake from 01:30 CET ends at 03:30 CEST") {
      const Plan plan = make_plan({100, 1000, 10000}, hours{1}, "Europe/Berlin", {"Sun 01:30-04:00"});
      FakeClock clock(utc(2027, 3, 27, 23, 0));  // Sunday 00:00 CET
      // The window is 01:30 CET (00:30Z) to 04:00 CEST (02:00Z): one and a half hours of real time.
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2027-03-28T00:30Z -> 2027-03-28T01:30Z",
                  "1 1000 2027-03-28T01:30Z -> 2027-03-28T02:30Z",
                  "2 10000 2027-04-03T23:30Z -> 2027-04-04T00:30Z"});
    }
    SUBCASE("spring forward: a window from the skipped 02:30 opens at 03:00 CEST") {
      const Plan plan = make_plan({100, 10000}, hours{1}, "Europe/Berlin", {"Sun 02:30-05:00"});
      FakeClock clock(utc(2027, 3, 27, 12, 0));
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2027-03-28T01:00Z -> 2027-03-28T02:00Z",
                  "1 10000 2027-03-28T02:00Z -> 2027-03-28T03:00Z"});
    }
    SUBCASE("fall back: a bake across the repeated hour is one hour of real time") {
      const Plan plan = make_plan({100, 10000}, hours{1}, "Europe/Berlin", {});
      FakeClock clock(utc(2026, 10, 25, 0, 30));  // 02:30 CEST, first pass
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-10-25T00:30Z -> 2026-10-25T01:30Z",
                  "1 10000 2026-10-25T01:30Z -> 2026-10-25T02:30Z"});
    }
  }

  TEST_CASE("a 1h bake from 01:30 local across America/New_York's changes") {
    SUBCASE("fall back, 2026-11-01 (06:00Z): 01:30 EDT, then 01:30 EST") {
      const Plan plan =
          make_plan({100, 1000, 5000, 10000}, hours{1}, "America/New_York", {"Sun 01:30-03:00"});
      FakeClock clock(utc(2026, 11, 1, 4, 0));  // Sunday 00:00 EDT
      // The window is 01:30 EDT (05:30Z) to 03:00 EST (08:00Z).
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-11-01T05:30Z -> 2026-11-01T06:30Z",
                  "1 1000 2026-11-01T06:30Z -> 2026-11-01T07:30Z",
                  "2 5000 2026-11-01T07:30Z -> 2026-11-01T08:30Z",
                  "3 10000 2026-11-08T06:30Z -> 2026-11-08T07:30Z"});
    }
    SUBCASE("spring forward, 2027-03-14 (07:00Z): the bake from 01:30 EST ends at 03:30 EDT") {
      const Plan plan = make_plan({100, 1000, 10000}, hours{1}, "America/New_York", {"Sun 01:30-04:00"});
      FakeClock clock(utc(2027, 3, 14, 5, 0));  // Sunday 00:00 EST
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2027-03-14T06:30Z -> 2027-03-14T07:30Z",
                  "1 1000 2027-03-14T07:30Z -> 2027-03-14T08:30Z",
                  "2 10000 2027-03-21T05:30Z -> 2027-03-21T06:30Z"});
    }
    SUBCASE("on Berlin's change dates New York does not change") {
      // An ordinary EDT Sunday: the window is 01:30 EDT (05:30Z) to 03:00 EDT (07:00Z); a 2h bake misses it.
      const Plan plan = make_plan({100, 10000}, hours{2}, "America/New_York", {"Sun 01:30-03:00"});
      FakeClock clock(utc(2026, 10, 25, 4, 0));  // Sunday 00:00 EDT
      CHECK(lines(compute_timeline(plan, windows_of(plan), 0, std::nullopt, clock.now())) ==
            Lines{"0 100 2026-10-25T05:30Z -> 2026-10-25T07:30Z",
                  "1 10000 2026-11-01T05:30Z -> 2026-11-01T07:30Z"});
    }
  }
}
