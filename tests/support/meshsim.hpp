#pragma once
// Starts build/meshsim for a test: the scenario (YAML text) goes to a temporary file, both listeners
// bind 127.0.0.1 port 0 (meshsim reports the ports it got), and the helper waits for the `ready` line.
//
//   Meshsim sim(R"(service: api_default_svc_5000
//   rps: 200
//   subsets: {vm-env: {instances: 2}, kube-env: {instances: 2}})");
//   auto r = sim.api("PUT", "/meshes/default/meshhttproutes/x", body);
//   Prometheus prom({sim.metrics_target()});
//
// The /_sim endpoints are reached through the metrics address, so state() and inject() keep working
// while a scenario takes the API down.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/http.hpp"
#include "tests/support/process.hpp"

namespace meshmove::testsupport {

struct MeshsimOptions {
  std::vector<std::string> extra_args;  // e.g. {"--verbose"} or {"--seed", "7"}
  std::string tls_cert;                 // with tls_key: the API serves HTTPS
  std::string tls_key;
  std::chrono::milliseconds ready_timeout = 20s;
};

class Meshsim {
 public:
  // Throws std::runtime_error quoting meshsim's stderr when it exits or is not ready in time (an invalid
  // scenario, for instance: meshsim exits 2 and prints located diagnostics).
  explicit Meshsim(const std::string& scenario_yaml, const MeshsimOptions& options = {});
  Meshsim(const Meshsim&) = delete;
  Meshsim& operator=(const Meshsim&) = delete;
  Meshsim(Meshsim&&) noexcept = default;
  Meshsim& operator=(Meshsim&&) noexcept = default;
  ~Meshsim();  // stop()

  // "http://127.0.0.1:PORT" (https:// with TLS): the Kuma API.
  [[nodiscard]] const std::string& api_url() const { return m_api_url; }
  // "http://127.0.0.1:PORT": /metrics and the /_sim endpoints.
  [[nodiscard]] const std::string& metrics_url() const { return m_metrics_url; }
  // "127.0.0.1:PORT", the scrape target for Prometheus.
  [[nodiscard]] std::string metrics_target() const { return "127.0.0.1:" + std::to_string(m_metrics_port); }
  [[nodiscard]] int api_port() const { return m_api_port; }
  [[nodiscard]] int metrics_port() const { return m_metrics_port; }
  // HTTP options that trust the API's certificate (when TLS is on).
  [[nodiscard]] HttpOptions api_http_options() const;

  // A request to the Kuma API, e.g. api("PUT", "/meshes/default/meshhttproutes/x", json_text).
  [[nodiscard]] HttpResponse api(const std::string& method, const std::string& path,
                                 const std::string& body = "") const;
  // GET /_sim/state; throws std::runtime_error when it cannot be read.
  [[nodiscard]] nlohmann::json state() const;
  // POST /_sim/events with one event object; throws std::runtime_error unless meshsim accepts it.
  void inject(const nlohmann::json& event) const;
  // Polls state() (every 50 ms) until `accept` holds or `timeout` passes.
  bool wait_for_state(const std::function<bool(const nlohmann::json&)>& accept,
                      std::chrono::milliseconds timeout) const;

  // What meshsim wrote on stderr so far.
  std::string log();
  // SIGTERM by PID; returns the exit code (0 for a clean stop). Idempotent.
  int stop();
  Process& process() { return m_process; }

 private:
  void drain() const { (void)m_process.err(); }  // keeps meshsim's stderr pipe from filling up

  std::unique_ptr<TempDir> m_dir;
  mutable Process m_process;
  MeshsimOptions m_options;
  int m_api_port = 0;
  int m_metrics_port = 0;
  std::string m_api_url;
  std::string m_metrics_url;
  int m_exit_code = -1;
};

}  // namespace meshmove::testsupport
