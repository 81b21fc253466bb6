#pragma once
// The StateStore port: durable state and an append-only journal per migration, and an exclusive
// lock so that two runners never drive one migration (DESIGN.md §6).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/error.hpp"
#include "planner/state.hpp"

namespace meshmove::planner {

// Held while a runner drives a migration; released by destruction (and by the OS if the process dies).
class StateLock {
 public:
  virtual ~StateLock() = default;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  // Takes the migration's lock without waiting. Error Locked naming the holder (host, pid, since).
  virtual Result<std::unique_ptr<StateLock>> lock(const std::string& migration) = 0;
  // The saved state, or nullopt when the migration has none yet.
  virtual Result<std::optional<MigrationState>> load(const std::string& migration) = 0;
  // Replaces the state atomically: after a crash at any moment, load() gives the old or the new state.
  virtual Status save(const MigrationState& state) = 0;
  // Appends one event to the migration's journal (durably) and never rewrites earlier ones.
  virtual Status append(const std::string& migration, const nlohmann::json& event) = 0;
  // The journal's events in order (a torn last line, from a crash mid-append, is skipped).
  virtual Result<std::vector<nlohmann::json>> journal(const std::string& migration) = 0;
  // The migrations that have state.
  virtual Result<std::vector<std::string>> migrations() = 0;
  // An operator request for the runner that holds the lock ({"action": "pause"|"rollback"|"promote",
  // "reason", "at", "by"}); a later request replaces an earlier one not yet taken.
  virtual Status post_request(const std::string& migration, const nlohmann::json& request) = 0;
  // Takes (removes and returns) the pending request, if any.
  virtual Result<std::optional<nlohmann::json>> take_request(const std::string& migration) = 0;
  // Where the migration's state lives, for messages ("/var/lib/meshmove/apitier.json").
  [[nodiscard]] virtual std::string location(const std::string& migration) const = 0;
};

}  // namespace meshmove::planner
