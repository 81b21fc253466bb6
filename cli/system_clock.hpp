#pragma once
// The one adapter that reads the real clock and sleeps (STYLE.md rule 4).
#include <atomic>

#include "planner/clock.hpp"

namespace meshmove::cli {

class SystemClock final : public planner::Clock {
 public:
  // `stop` (may be null): when it becomes true, sleep() returns early (checked every 50 ms).
  explicit SystemClock(const std::atomic<bool>* stop = nullptr) : m_stop(stop) {}
  [[nodiscard]] planner::TimePoint now() const override;
  void sleep(planner::Duration d) override;

 private:
  const std::atomic<bool>* m_stop;
};

}  // namespace meshmove::cli
