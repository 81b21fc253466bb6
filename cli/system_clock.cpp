#include "cli/system_clock.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace meshmove::cli {

planner::TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<planner::Duration>(std::chrono::system_clock::now());
}

bool sleep_unless(planner::Duration d, const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (true) {
    if (stop != nullptr && stop->load()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(100)));
  }
}

}  // namespace meshmove::cli
