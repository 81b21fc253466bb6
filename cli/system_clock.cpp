#include "cli/system_clock.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace meshmove::cli {

planner::TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<planner::Duration>(std::chrono::system_clock::now());
}

void SystemClock::sleep(planner::Duration d) {
  // A steady deadline, so that a wall-clock step does not stretch or cut the wait.
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (true) {
    if (m_stop != nullptr && m_stop->load()) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
}

}  // namespace meshmove::cli
