#pragma once
// The default state store: files in a directory (mode 0700), per migration:
//   <name>.json         the state, replaced atomically (write_file_atomically: an unpredictable temporary
//                       file, fsync, rename, fsync directory), 0600
//   <name>.journal      append-only JSON lines, fsynced after every event, 0600
//   <name>.lock         flock(2)ed while a runner holds the migration; holds {host, pid, since}
//   <name>.request      an operator's pending request, 0600
// Every file is opened with O_NOFOLLOW: a symbolic link in their place is refused (Config, naming the
// path), never written through. Before the first write the directory is created (0700) if missing, else
// never chmod'ed; after resolving links it must be owned by this user or root and not writable by every
// user (Config with the fix otherwise; group-writable is allowed). A file system that refuses writes
// (read-only, permissions, full) is Unavailable "cannot write state in DIR: <why>"; only a lock held by
// another runner is Locked.
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
