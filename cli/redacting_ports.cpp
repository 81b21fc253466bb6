#include "cli/redacting_ports.hpp"

#include "backends/secrets.hpp"

namespace meshmove::cli {
namespace {

using backends::redact_error;
using backends::redact_secrets;
using backends::redact_secrets_json;

template <class T>
planner::Result<T> redacted_error(planner::Result<T> r) {
  if (r.ok()) return r;
  return redact_error(r.error());
}

}  // namespace

planner::MigrationState redacted(const planner::MigrationState& state) {
  planner::MigrationState s = state;
  // The free-text fields: what a message of the outside world can reach.
  s.plan_file = redact_secrets(s.plan_file);
  s.reason = redact_secrets(s.reason);
  for (auto& g : s.last_verdicts) {
    g.slo = redact_secrets(g.slo);
    g.reason = redact_secrets(g.reason);
  }
  if (s.intent) s.intent->action = redact_secrets(s.intent->action);
  s.last_transition = redact_secrets_json(s.last_transition);
  return s;
}

planner::EngineEvent redacted(const planner::EngineEvent& event, planner::MigrationState& state_copy) {
  planner::EngineEvent e = event;
  e.message = redact_secrets(e.message);
  for (auto& g : e.gates) {
    g.slo = redact_secrets(g.slo);
    g.reason = redact_secrets(g.reason);
    g.query = redact_secrets(g.query);
  }
  if (event.state != nullptr) {
    state_copy = redacted(*event.state);
    e.state = &state_copy;
  }
  return e;
}

void register_plan_secrets(const planner::Plan& plan) {
  for (const auto& n : plan.notify) {
    if (!n.webhook.url.empty()) backends::register_secret_url(n.webhook.url);
  }
}

planner::Result<std::unique_ptr<planner::StateLock>> RedactingStateStore::lock(const std::string& migration) {
  return redacted_error(m_inner->lock(migration));
}

planner::Result<std::optional<planner::MigrationState>> RedactingStateStore::load(const std::string& migration) {
  auto loaded = m_inner->load(migration);
  if (!loaded.ok()) return redact_error(loaded.error());
  if (!loaded->has_value()) return loaded;
  // Also on the way out: state written before secrets were redacted everywhere.
  return std::optional<planner::MigrationState>(redacted(**loaded));
}

planner::Status RedactingStateStore::save(const planner::MigrationState& state) {
  return redacted_error(m_inner->save(redacted(state)));
}

planner::Status RedactingStateStore::append(const std::string& migration, const nlohmann::json& event) {
  return redacted_error(m_inner->append(migration, redact_secrets_json(event)));
}

planner::Result<std::vector<nlohmann::json>> RedactingStateStore::journal(const std::string& migration) {
  auto events = m_inner->journal(migration);
  if (!events.ok()) return redact_error(events.error());
  for (auto& e : *events) e = redact_secrets_json(e);
  return events;
}

planner::Result<std::vector<std::string>> RedactingStateStore::migrations() {
  return redacted_error(m_inner->migrations());
}

planner::Status RedactingStateStore::post_request(const std::string& migration, const nlohmann::json& request) {
  return redacted_error(m_inner->post_request(migration, redact_secrets_json(request)));
}

planner::Result<std::optional<nlohmann::json>> RedactingStateStore::take_request(const std::string& migration) {
  auto request = m_inner->take_request(migration);
  if (!request.ok()) return redact_error(request.error());
  if (request->has_value()) **request = redact_secrets_json(**request);
  return request;
}

std::string RedactingStateStore::location(const std::string& migration) const { return m_inner->location(migration); }

void RedactingReporter::report(const planner::Plan& plan, const planner::EngineEvent& event) {
  planner::MigrationState state;
  m_inner.report(plan, redacted(event, state));
}

void RedactingNotifier::notify(const planner::Plan& plan, const planner::EngineEvent& event) {
  register_plan_secrets(plan);
  planner::MigrationState state;
  m_inner.notify(plan, redacted(event, state));
}

}  // namespace meshmove::cli
