#pragma once
// The default state store: files in a directory (mode 0700), per migration:
//   <name>.json         the state, replaced atomically (temp file, fsync, rename, fsync directory), 0600
//   <name>.journal      append-only JSON lines, fsynced after every event, 0600
//   <name>.lock         flock(2)ed while a runner holds the migration; holds {host, pid, since}
#include <functional>
#include <memory>
#include <string>

#include "planner/clock.hpp"
#include "planner/state_store.hpp"

namespace meshmove::backends {

struct FileStoreOptions {
  std::string directory;
  // Test hook: called at named points of save() ("after-temp-write", "before-rename"); tests use it to
  // simulate a crash at that moment. Empty in production.
  std::function<void(const char* point)> failpoint;
};

std::unique_ptr<planner::StateStore> make_file_state_store(FileStoreOptions options, const planner::Clock& clock);

// $XDG_STATE_HOME/meshmove, else $HOME/.local/state/meshmove.
std::string default_state_directory();

}  // namespace meshmove::backends
