#pragma once
// Test time: a Clock that stands still until the test moves it, and helpers to write exact UTC instants.
#include <atomic>
#include <optional>
#include <string>

#include <date/date.h>

#include "planner/clock.hpp"

namespace meshmove::testsupport {

// Thread-safe (the reading is atomic), so an engine loop on another thread may read it while the test
// moves it.
class FakeClock final : public planner::Clock {
 public:
  explicit FakeClock(planner::TimePoint start = planner::TimePoint{})
      : m_ms(start.time_since_epoch().count()) {}

  [[nodiscard]] planner::TimePoint now() const override {
    return planner::TimePoint{planner::Duration{m_ms.load(std::memory_order_acquire)}};
  }
  // Moves the clock to t (backwards too: a test may simulate a clock step).
  void set(planner::TimePoint t) { m_ms.store(t.time_since_epoch().count(), std::memory_order_release); }
  // Moves the clock by d (milliseconds; negative moves it back).
  void advance(planner::Duration d) { m_ms.fetch_add(d.count(), std::memory_order_acq_rel); }
  // Sleeping on a fake clock takes no real time: the clock moves on by d.
  void sleep(planner::Duration d) override { advance(d); }

 private:
  std::atomic<planner::Duration::rep> m_ms;
};

// The UTC instant y-m-d hh:mm:ss.ms.
inline planner::TimePoint utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0, int ms = 0) {
  return planner::TimePoint{date::sys_days{date::year{y} / date::month{m} / date::day{d}}} +
         std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss} +
         std::chrono::milliseconds{ms};
}

// "2026-10-25T00:30Z", with seconds and milliseconds only when not zero ("...T00:30:00.001Z");
// "none" for nullopt. For exact comparisons with readable failure output.
inline std::string iso(std::optional<planner::TimePoint> t) {
  if (!t) return "none";
  const auto ms = t->time_since_epoch() % std::chrono::seconds{1};
  if (ms.count() != 0) return date::format("%FT%TZ", *t);
  const auto secs = date::floor<std::chrono::seconds>(*t);
  if (secs.time_since_epoch() % std::chrono::minutes{1} != std::chrono::seconds{0}) {
    return date::format("%FT%TZ", secs);
  }
  return date::format("%FT%RZ", secs);
}

}  // namespace meshmove::testsupport
