#pragma once
// Time as the planner sees it, and the Clock port (STYLE.md rules 3 and 4). The planner never reads a
// clock itself: callers pass `now` in. The only real implementation (the system clock adapter) lives in
// cli/; tests use tests/unit/fake_clock.hpp.
#include <chrono>

#include "planner/duration.hpp"

namespace meshmove::planner {

// An instant in UTC (Unix time, leap seconds not counted), millisecond resolution.
using TimePoint = std::chrono::sys_time<Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // The current instant. Implementations must be safe to call from any thread.
  [[nodiscard]] virtual TimePoint now() const = 0;
  // Waits `d` (milliseconds), or less when the process is asked to stop (SIGINT/SIGTERM); callers
  // re-check their deadline with now(). A fake clock advances itself instead of waiting.
  virtual void sleep(Duration d) = 0;
};

}  // namespace meshmove::planner
