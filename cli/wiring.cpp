#include "cli/wiring.hpp"

#include <cstdlib>

#include "backends/etcd_state_store.hpp"
#include "backends/file_state_store.hpp"
#include "backends/kuma_control_plane.hpp"
#include "backends/secrets.hpp"
#include "backends/webhook_notifier.hpp"
#include "cli/exit_code.hpp"
#include "cli/redacting_ports.hpp"
#include "metrics/telemetry.hpp"
#include "planner/time_format.hpp"

namespace meshmove::cli {
namespace {

// The bearer token from the environment variable, else from the plan's token file ("" when neither is
// set), checked to be one line (a file also for its type, owner and mode; read_secret_file) and
// registered as a secret so that nothing meshmove writes carries it.
planner::Result<std::string> read_token(const char* env_name, const std::string& file, Output& out) {
  std::string token;
  if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0') {
    auto checked = backends::single_line_secret(env, env_name);
    if (!checked.ok()) return checked.error();
    token = *checked;
  } else if (!file.empty()) {
    auto from_file = backends::read_secret_file(file, [&out](const std::string& w) { out.warning(w); });
    if (!from_file.ok()) return from_file.error();
    token = *from_file;
  }
  out.add_secret(token);
  return token;
}

// Answers every call with the error that kept the chosen store from opening (the option check already
// refuses a bad --state URL), so that each command reports it as it reports any state store failure.
class UnusableStateStore final : public planner::StateStore {
 public:
  explicit UnusableStateStore(planner::Error error) : m_error(std::move(error)) {}
  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string&) override { return m_error; }
  planner::Result<std::optional<planner::MigrationState>> load(const std::string&) override { return m_error; }
  planner::Status save(const planner::MigrationState&) override { return m_error; }
  planner::Status append(const std::string&, const nlohmann::json&) override { return m_error; }
  planner::Result<std::vector<nlohmann::json>> journal(const std::string&) override { return m_error; }
  planner::Result<std::vector<std::string>> migrations() override { return m_error; }
  planner::Status post_request(const std::string&, const nlohmann::json&) override { return m_error; }
  planner::Result<std::optional<nlohmann::json>> take_request(const std::string&) override { return m_error; }
  [[nodiscard]] std::string location(const std::string& migration) const override { return migration; }

 private:
  planner::Error m_error;
};

}  // namespace

planner::Result<ControlPlaneConnection> connect_control_plane(const planner::Plan& plan, Output& out,
                                                               planner::Clock& clock, const std::atomic<bool>* stop) {
  register_plan_secrets(plan);
  const auto& cp = plan.control_plane;
  backends::TransportConfig config;
  config.request_timeout = cp.timeout;
  config.connect_timeout = std::min<planner::Duration>(cp.timeout, std::chrono::seconds(5));
  config.ca_file = cp.ca_file;
  config.cert_file = cp.cert_file;
  config.key_file = cp.key_file;
  config.insecure_skip_verify = cp.insecure_skip_verify;
  config.stop = stop;
  auto token = read_token("MESHMOVE_KUMA_TOKEN", cp.token_file, out);
  if (!token.ok()) return token.error();
  config.bearer_token = *token;
  if (cp.insecure_skip_verify && cp.url.rfind("https://", 0) == 0) {
    out.warning("controlPlane.insecureSkipVerify: the TLS certificate of " + cp.url + " is not verified");
  }
  config.log = [&out](const std::string& line) { out.log(1, line); };
  if (auto* telemetry = out.telemetry()) {
    config.on_response = [telemetry](int status) { telemetry->count_control_plane_response(status); };
  }
  ControlPlaneConnection c;
  c.transport = backends::make_curl_transport(std::move(config), clock);
  c.control_plane = backends::make_kuma_control_plane(plan, *c.transport);
  return c;
}

planner::Result<PrometheusConnection> connect_prometheus(const planner::Plan& plan, Output& out, planner::Clock& clock,
                                                         planner::Duration retry_budget,
                                                         const std::atomic<bool>* stop) {
  register_plan_secrets(plan);
  const auto& p = plan.gates.prometheus;
  backends::TransportConfig config;
  config.request_timeout = p.timeout;
  config.connect_timeout = std::min<planner::Duration>(p.timeout, std::chrono::seconds(5));
  config.ca_file = p.ca_file;
  config.insecure_skip_verify = p.insecure_skip_verify;
  config.retry.max_total = retry_budget;
  config.retry.max_attempts = 3;
  config.stop = stop;
  auto token = read_token("MESHMOVE_PROMETHEUS_TOKEN", p.token_file, out);
  if (!token.ok()) return token.error();
  config.bearer_token = *token;
  if (p.basic_auth) {
    auto password =
        backends::read_secret_file(p.basic_auth->password_file, [&out](const std::string& w) { out.warning(w); });
    if (!password.ok()) return password.error();
    out.add_secret(*password);
    config.basic_auth = std::make_pair(p.basic_auth->username, *password);
  }
  if (p.insecure_skip_verify && p.url.rfind("https://", 0) == 0) {
    out.warning("gates.prometheus.insecureSkipVerify: the TLS certificate of " + p.url + " is not verified");
  }
  config.log = [&out](const std::string& line) { out.log(2, line); };
  PrometheusConnection c;
  c.transport = backends::make_curl_transport(std::move(config), clock);
  c.client = std::make_unique<metrics::PrometheusClient>(p.url, *c.transport);
  c.gates = std::make_unique<metrics::PrometheusGates>(*c.client);
  return c;
}

std::unique_ptr<planner::StateStore> open_state_store(const GlobalOptions& options, planner::Clock& clock) {
  // Whatever the store, what it keeps (state, journal, requests) is redacted on the way in and out.
  if (!options.state_url.empty()) {
    auto etcd = backends::make_etcd_state_store(options.state_url, clock);
    if (etcd.ok()) return std::make_unique<RedactingStateStore>(std::move(etcd).value());
    return std::make_unique<UnusableStateStore>(etcd.error());
  }
  const std::string dir = options.state_dir.empty() ? backends::default_state_directory() : options.state_dir;
  return std::make_unique<RedactingStateStore>(backends::make_file_state_store({dir, {}}, clock));
}

void report_event(Output& out, const planner::Plan& plan, const planner::EngineEvent& event) {
  register_plan_secrets(plan);
  planner::MigrationState state;
  const planner::EngineEvent clean = redacted(event, state);
  if (auto* t = out.telemetry()) t->report(plan, clean);
  if (auto* n = out.notifier()) n->notify(plan, clean);
}

int hand_to_runner(Output& out, planner::StateStore& store, const std::string& migration, planner::Clock& clock,
                   const std::string& action, const std::string& reason, const std::string& by,
                   const planner::Error& locked, planner::Phase expected) {
  const nlohmann::json request{
      {"action", action}, {"reason", reason}, {"by", by}, {"at", planner::format_rfc3339(clock.now())}};
  if (auto st = store.post_request(migration, request); !st.ok()) {
    out.error(st.error().message);
    return exit_code_for(st.error());
  }
  out.log(1, locked.message);
  const auto deadline = clock.now() + std::chrono::seconds(30);
  while (clock.now() < deadline) {
    auto s = store.load(migration);
    if (s.ok() && s->has_value() && (*s)->phase == expected) {
      out.result(migration + ": the running meshmove carried out '" + action + "': " + (*s)->reason);
      return to_int(ExitCode::Done);
    }
    clock.sleep(std::chrono::milliseconds(200));
  }
  out.warning(migration + ": asked the running meshmove to " + action + " (" + locked.message +
              "); it has not confirmed within 30s; check with meshmove status");
  return to_int(ExitCode::InProgress);
}

std::string url_override_problem(const std::string& url) {
  // As planner/plan_checks.cpp checks controlPlane.url, but credentials first: never echo them.
  const auto at = url.find('@');
  const auto slashes = url.find("//");
  if (at != std::string::npos && at < url.find('/', slashes == std::string::npos ? 0 : slashes + 2)) {
    return "credentials in the URL are refused (they would be logged); use tokenFile or basicAuth";
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return "'" + url + "' is not an http:// or https:// URL";
  }
  return "";
}

int exit_code_for(const planner::Error& error) {
  switch (error.kind) {
    case planner::ErrorKind::Config: return to_int(ExitCode::Usage);
    case planner::ErrorKind::Locked: return to_int(ExitCode::Locked);
    case planner::ErrorKind::Interrupted: return to_int(ExitCode::Interrupted);
    case planner::ErrorKind::Conflict: return to_int(ExitCode::Held);
    case planner::ErrorKind::Unavailable:
    case planner::ErrorKind::Rejected:
    case planner::ErrorKind::NotFound:
    case planner::ErrorKind::Invalid: return to_int(ExitCode::Infrastructure);
  }
  return to_int(ExitCode::InternalError);
}

}  // namespace meshmove::cli
