#pragma once
// The only code that names concrete adapters: builds the control plane, state store and transports
// for a plan from its configuration, the flags and the environment (STYLE.md rule 3).
#include <memory>

#include "backends/http_transport.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "planner/clock.hpp"
#include "planner/control_plane.hpp"
#include "planner/error.hpp"
#include "planner/plan.hpp"
#include "planner/state_store.hpp"

namespace meshmove::cli {

struct ControlPlaneConnection {
  std::unique_ptr<backends::HttpTransport> transport;
  std::unique_ptr<planner::ControlPlane> control_plane;
};

// Reads the token (MESHMOVE_KUMA_TOKEN, else controlPlane.tokenFile), registers it as a secret with
// `out`, warns about insecureSkipVerify, and builds the transport and control plane.
planner::Result<ControlPlaneConnection> connect_control_plane(const planner::Plan& plan, Output& out,
                                                               planner::Clock& clock);

// The state store chosen by --state-dir (default: $XDG_STATE_HOME/meshmove).
std::unique_ptr<planner::StateStore> open_state_store(const GlobalOptions& options, const planner::Clock& clock);

// The exit code for an error of the outside world (exit_code.hpp).
int exit_code_for(const planner::Error& error);

}  // namespace meshmove::cli
