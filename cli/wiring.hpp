#pragma once
// The only code that names concrete adapters: builds the control plane, state store and transports
// for a plan from its configuration, the flags and the environment (STYLE.md rule 3).
#include <atomic>
#include <memory>

#include "backends/http_transport.hpp"
#include "cli/options.hpp"
#include "metrics/prometheus_client.hpp"
#include "metrics/prometheus_gates.hpp"
#include "cli/output.hpp"
#include "planner/clock.hpp"
#include "planner/control_plane.hpp"
#include "planner/error.hpp"
#include "planner/plan.hpp"
#include "planner/reporter.hpp"
#include "planner/state.hpp"
#include "planner/state_store.hpp"

namespace meshmove::cli {

struct ControlPlaneConnection {
  std::unique_ptr<backends::HttpTransport> transport;
  std::unique_ptr<planner::ControlPlane> control_plane;
};

// Reads the token (MESHMOVE_KUMA_TOKEN, else controlPlane.tokenFile), registers it as a secret with
// `out`, warns about insecureSkipVerify, and builds the transport and control plane.
// `stop` (may be null): a signal's flag; the transport's retries and a request in flight end when it is set.
planner::Result<ControlPlaneConnection> connect_control_plane(const planner::Plan& plan, Output& out,
                                                               planner::Clock& clock,
                                                               const std::atomic<bool>* stop = nullptr);

struct PrometheusConnection {
  std::unique_ptr<backends::HttpTransport> transport;
  std::unique_ptr<metrics::PrometheusClient> client;
  std::unique_ptr<metrics::PrometheusGates> gates;
};

// Builds the Prometheus client for gates.prometheus (token file, basic auth, CA), registering secrets
// with `out`. Retries are bounded by `retry_budget` in total.
planner::Result<PrometheusConnection> connect_prometheus(const planner::Plan& plan, Output& out, planner::Clock& clock,
                                                         planner::Duration retry_budget,
                                                         const std::atomic<bool>* stop = nullptr);

// The state store chosen by --state (etcd) or --state-dir (files; the default: $XDG_STATE_HOME/meshmove).
// `clock` must outlive the store and its locks.
std::unique_ptr<planner::StateStore> open_state_store(const GlobalOptions& options, planner::Clock& clock);

// Tells meshmove's own metrics and the plan's webhooks about something a command did (rollback, pause,
// promote, an evaluation by check), as the engine does for apply.
void report_event(Output& out, const planner::Plan& plan, const planner::EngineEvent& event);

// When another meshmove holds the migration's lock (`locked`), posts `action` (pause, rollback, promote)
// for it and waits up to 30 s for the state to reach `expected`. Returns the exit code: 0 when it
// confirmed, 4 (in progress) when it did not in time.
int hand_to_runner(Output& out, planner::StateStore& store, const std::string& migration, planner::Clock& clock,
                   const std::string& action, const std::string& reason, const std::string& by,
                   const planner::Error& locked, planner::Phase expected);

// Why a --prometheus-url or --control-plane-url value (or MESHMOVE_PROMETHEUS_URL,
// MESHMOVE_CONTROL_PLANE_URL) is refused: what the plan check refuses for gates.prometheus.url and
// controlPlane.url, with the same message; "" when it is fine. A URL with credentials is never quoted.
std::string url_override_problem(const std::string& url);

// The exit code for an error of the outside world (exit_code.hpp).
int exit_code_for(const planner::Error& error);

}  // namespace meshmove::cli
