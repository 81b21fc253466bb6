#pragma once
// Decorators of the StateStore, Reporter and Notifier ports that pass every string through the process's
// secret redactor (backends/secrets.hpp) on its way in and out: state, journal and operator requests,
// the reporters (lines, JSON events, JUnit, live view, telemetry) and webhooks never receive a secret,
// whichever adapter is behind them and whatever a server echoed into a message. Defence in depth: the
// messages are already redacted where they are built from a server's answer.
#include <memory>

#include "planner/reporter.hpp"
#include "planner/state.hpp"
#include "planner/state_store.hpp"

namespace meshmove::cli {

// `state` with every string redacted (through its JSON form, so that fields added later are covered).
planner::MigrationState redacted(const planner::MigrationState& state);

// A copy of `event` with its message and gates redacted; `state_copy` receives the redacted state that
// the copy points at (when the event has one) and must outlive the copy.
planner::EngineEvent redacted(const planner::EngineEvent& event, planner::MigrationState& state_copy);

// Registers the plan's inline webhook URLs as secrets (a webhook URL is a credential).
void register_plan_secrets(const planner::Plan& plan);

class RedactingStateStore final : public planner::StateStore {
 public:
  explicit RedactingStateStore(std::unique_ptr<planner::StateStore> inner) : m_inner(std::move(inner)) {}
  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& migration) override;
  planner::Result<std::optional<planner::MigrationState>> load(const std::string& migration) override;
  planner::Status save(const planner::MigrationState& state) override;
  planner::Status append(const std::string& migration, const nlohmann::json& event) override;
  planner::Result<std::vector<nlohmann::json>> journal(const std::string& migration) override;
  planner::Result<std::vector<std::string>> migrations() override;
  planner::Status post_request(const std::string& migration, const nlohmann::json& request) override;
  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& migration) override;
  [[nodiscard]] std::string location(const std::string& migration) const override;

 private:
  std::unique_ptr<planner::StateStore> m_inner;
};

// Forwards redacted events to `inner` (which must outlive it).
class RedactingReporter final : public planner::Reporter {
 public:
  explicit RedactingReporter(planner::Reporter& inner) : m_inner(inner) {}
  void report(const planner::Plan& plan, const planner::EngineEvent& event) override;

 private:
  planner::Reporter& m_inner;
};

class RedactingNotifier final : public planner::Notifier {
 public:
  explicit RedactingNotifier(planner::Notifier& inner) : m_inner(inner) {}
  void notify(const planner::Plan& plan, const planner::EngineEvent& event) override;

 private:
  planner::Notifier& m_inner;
};

}  // namespace meshmove::cli
