#pragma once
// SIGINT, SIGTERM and SIGHUP (a closed terminal): the first asks meshmove to stop (the flag below; the
// transports watch it too, so that retries and a request in flight end within a second); a second one
// exits at once with 130.
#include <atomic>

namespace meshmove::cli {

std::atomic<bool>& stop_requested();
void install_stop_handlers();

}  // namespace meshmove::cli
