#pragma once
// A state store in memory: for --dry-run and --shadow (which must not touch the real state) and for
// tests. Same contract as the file store, without durability.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "planner/state_store.hpp"

namespace meshmove::backends {

class MemoryStateStore final : public planner::StateStore {
 public:
  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& migration) override;
  planner::Result<std::optional<planner::MigrationState>> load(const std::string& migration) override;
  planner::Status save(const planner::MigrationState& state) override;
  planner::Status append(const std::string& migration, const nlohmann::json& event) override;
  planner::Result<std::vector<nlohmann::json>> journal(const std::string& migration) override;
  planner::Result<std::vector<std::string>> migrations() override;
  planner::Status post_request(const std::string& migration, const nlohmann::json& request) override;
  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& migration) override;
  [[nodiscard]] std::string location(const std::string& migration) const override;

  // Seeds the store (e.g. with a copy of the real state, for a dry run).
  void put(const planner::MigrationState& state) { m_states[state.migration] = state; }
  [[nodiscard]] int saves() const { return m_saves; }

 private:
  std::map<std::string, planner::MigrationState> m_states;
  std::map<std::string, std::vector<nlohmann::json>> m_journals;
  std::map<std::string, nlohmann::json> m_requests;
  std::shared_ptr<std::map<std::string, bool>> m_locked = std::make_shared<std::map<std::string, bool>>();
  int m_saves = 0;
};

}  // namespace meshmove::backends
