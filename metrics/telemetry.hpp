#pragma once
// meshmove's own metrics (DESIGN.md §7), kept up to date from engine events and exported three ways: an
// HTTP endpoint for Prometheus to scrape during `apply`, a text file for the node exporter's textfile
// collector, and a push to a Pushgateway (short cron and CI runs).
//
// Series (every one with HELP and TYPE):
//   meshmove_migration_weight{migration,set,subset}    gauge: percent of the traffic to the set ("from"/"to";
//                                                       subset is the plan's tag value of that set)
//   meshmove_migration_phase{migration,phase}           gauge: 1 for the current phase, 0 for the four others
//   meshmove_migration_step{migration}                  gauge: index of the step in effect, -1 pinned to from
//   meshmove_gate_value{migration,slo,set}              gauge: latest point estimate of the gate (the SLO's
//                                                       unit: a fraction, milliseconds, or the custom value);
//                                                       absent while the latest evaluation had no estimate
//   meshmove_gate_verdicts_total{migration,slo,set,verdict}  counter: evaluations by verdict (PASS FAIL
//                                                       HOLD ERROR, all four present from the start)
//   meshmove_transitions_total{migration}               counter: verified policy writes
//   meshmove_rollbacks_total{migration}                 counter: rollbacks completed
//   meshmove_control_plane_requests_total{code}         counter: control plane HTTP responses by status code,
//                                                       "0" for transport failures
//   meshmove_build_info{version}                        gauge: 1
//
// Thread-safety: every member function may be called from any thread; the exposer scrapes concurrently.
// Nothing here throws: failures (binding, files, the Pushgateway) come back as planner::Error values.
#include <map>
#include <memory>
#include <string>

#include "planner/error.hpp"
#include "planner/plan.hpp"
#include "planner/reporter.hpp"
#include "planner/state.hpp"

namespace meshmove::metrics {

class Telemetry final : public planner::Reporter {
 public:
  Telemetry();
  ~Telemetry() override;  // stops the HTTP exposer, if serving
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  // Updates the series from an engine event: every event carrying a state sets weight, phase and step;
  // Wrote and RolledBack with a weight count a transition; RolledBack counts a rollback; Evaluated sets
  // the gate values and counts the verdicts.
  void report(const planner::Plan& plan, const planner::EngineEvent& event) override;

  // Sets weight, phase, step and the gate values from a saved state, for commands that do not run the
  // engine (status, pause, rollback). Counts nothing.
  void record_state(const planner::Plan& plan, const planner::MigrationState& state);

  // Counts one control plane response: an HTTP status, or 0 for a transport failure. Fits
  // backends::TransportConfig::on_response.
  void count_control_plane_response(int status);

  // Serves the metrics at http://ADDRESS/metrics until destruction. `address` is "HOST:PORT" as civetweb
  // takes it ("127.0.0.1:9464"; port 0 picks a free port). Returns the port bound. Config error when the
  // address cannot be bound (in use, bad syntax); a second call replaces the first endpoint.
  planner::Result<int> serve(const std::string& address);

  // Writes the text exposition format to `path`, replacing it atomically (a temporary file in the same
  // directory, fsync, rename, fsync of the directory) so that the node exporter's textfile collector
  // never reads half a file. The file is mode 0644. Config error naming the path when it cannot be written.
  planner::Status write_file(const std::string& path) const;

  // Pushes the metrics to a Pushgateway at `gateway_url` ("http://127.0.0.1:9091", optionally with
  // user:password@ and a path prefix) under /metrics/job/JOB plus the `grouping` labels, replacing the
  // metrics of the same names in that group. Waits at most `timeout` (milliseconds) for the answer.
  // Config for a bad URL, Unavailable when the gateway cannot be reached or answers 5xx or in time, Rejected
  // for another non-2xx. Messages never show a password.
  planner::Status push(const std::string& gateway_url, const std::string& job = "meshmove",
                       const std::map<std::string, std::string>& grouping = {},
                       planner::Duration timeout = std::chrono::seconds(10)) const;

  // The current metrics in the text exposition format (version 0.0.4).
  [[nodiscard]] std::string text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace meshmove::metrics
