#pragma once
// The one adapter that reads the real clock and sleeps (STYLE.md rule 4).
#include <atomic>

#include "planner/clock.hpp"

namespace meshmove::cli {

class SystemClock final : public planner::Clock {
 public:
  [[nodiscard]] planner::TimePoint now() const override;
};

// Sleeps for `d` or until `*stop` becomes true (checked every 100 ms); returns false if stopped.
bool sleep_unless(planner::Duration d, const std::atomic<bool>* stop);

}  // namespace meshmove::cli
