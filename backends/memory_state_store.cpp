#include "backends/memory_state_store.hpp"

namespace meshmove::backends {
namespace {

class MemoryLock final : public planner::StateLock {
 public:
  MemoryLock(std::shared_ptr<std::map<std::string, bool>> locked, std::string migration)
      : m_locked(std::move(locked)), m_migration(std::move(migration)) {}
  ~MemoryLock() override { (*m_locked)[m_migration] = false; }

 private:
  std::shared_ptr<std::map<std::string, bool>> m_locked;
  std::string m_migration;
};

}  // namespace

planner::Result<std::unique_ptr<planner::StateLock>> MemoryStateStore::lock(const std::string& migration) {
  if ((*m_locked)[migration]) {
    return planner::make_error(planner::ErrorKind::Locked,
                               "the migration '" + migration + "' is locked by this process");
  }
  (*m_locked)[migration] = true;
  return std::unique_ptr<planner::StateLock>(std::make_unique<MemoryLock>(m_locked, migration));
}

planner::Result<std::optional<planner::MigrationState>> MemoryStateStore::load(const std::string& migration) {
  const auto it = m_states.find(migration);
  if (it == m_states.end()) return std::optional<planner::MigrationState>{};
  return std::optional<planner::MigrationState>(it->second);
}

planner::Status MemoryStateStore::save(const planner::MigrationState& state) {
  ++m_saves;
  m_states[state.migration] = state;
  return planner::ok_status();
}

planner::Status MemoryStateStore::append(const std::string& migration, const nlohmann::json& event) {
  m_journals[migration].push_back(event);
  return planner::ok_status();
}

planner::Result<std::vector<nlohmann::json>> MemoryStateStore::journal(const std::string& migration) {
  return m_journals[migration];
}

planner::Result<std::vector<std::string>> MemoryStateStore::migrations() {
  std::vector<std::string> out;
  for (const auto& [name, state] : m_states) out.push_back(name);
  return out;
}

planner::Status MemoryStateStore::post_request(const std::string& migration, const nlohmann::json& request) {
  m_requests[migration] = request;
  return planner::ok_status();
}

planner::Result<std::optional<nlohmann::json>> MemoryStateStore::take_request(const std::string& migration) {
  const auto it = m_requests.find(migration);
  if (it == m_requests.end()) return std::optional<nlohmann::json>{};
  std::optional<nlohmann::json> r = it->second;
  m_requests.erase(it);
  return r;
}

std::string MemoryStateStore::location(const std::string& migration) const { return "(in memory) " + migration; }

}  // namespace meshmove::backends
