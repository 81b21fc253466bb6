#pragma once
// SIGINT/SIGTERM: the first asks meshmove to stop after the write in flight (the flag below); a second
// one exits at once with 130.
#include <atomic>

namespace meshmove::cli {

std::atomic<bool>& stop_requested();
void install_stop_handlers();

}  // namespace meshmove::cli
