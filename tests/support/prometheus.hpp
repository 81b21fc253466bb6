#pragma once
// Runs Debian's real Prometheus for a test: a generated config scraping the given targets every second,
// a fresh TSDB in a temporary directory, 127.0.0.1 on a free port, stopped by PID.
//
//   Prometheus prom({sim.metrics_target()});                               // or
//   Prometheus(PrometheusOptions) REQUIRE(prom.wait_for_data("envoy_cluster_upstream_rq_total", 30s));   //
//   first sample: ~6 s auto v = prom.value("sum(rate(envoy_cluster_upstream_rq_total[5s]))");
//
// Prometheus 2.42 is ready in ~0.2 s, but a scraped sample becomes queryable only after ~6 s: wait for
// data (wait_for_data / wait_for_value), never for time.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace meshmove::testsupport {

struct PrometheusOptions {
  std::vector<std::string> targets;                // "127.0.0.1:PORT", scraped at /metrics
  std::chrono::milliseconds scrape_interval = 1s;  // also the rule evaluation interval
  std::chrono::milliseconds ready_timeout = 30s;   // for /-/ready
  std::vector<std::string> extra_args;             // e.g. "--web.enable-remote-write-receiver"
  std::string binary = "/usr/bin/prometheus";
};

class Prometheus {
 public:
  // Starts Prometheus and waits for /-/ready. Throws std::runtime_error quoting Prometheus's log when it
  // exits or is not ready within options.ready_timeout (three attempts if the free port was taken).
  explicit Prometheus(const PrometheusOptions& options);
  // Scrapes `targets` with the default options.
  explicit Prometheus(std::vector<std::string> targets);
  Prometheus(const Prometheus&) = delete;
  Prometheus& operator=(const Prometheus&) = delete;
  Prometheus(Prometheus&&) noexcept = default;
  Prometheus& operator=(Prometheus&&) noexcept = default;
  ~Prometheus();  // stop()

  // "http://127.0.0.1:PORT".
  [[nodiscard]] const std::string& url() const { return m_url; }
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] const std::filesystem::path& config_file() const { return m_config; }

  // GET /api/v1/query?query=PROMQL (an instant query at "now"): the parsed JSON response, e.g.
  // {"status":"success","data":{"resultType":"vector","result":[...]}}. Throws std::runtime_error when
  // Prometheus cannot be reached or answers something that is not JSON.
  nlohmann::json query(const std::string& promql);
  // The value of the first sample of the result (vector or scalar); nullopt when the result is empty, NaN
  // or the query failed.
  std::optional<double> value(const std::string& promql);
  // Polls the query (every 250 ms) until its result is non-empty; false when `timeout` passed first.
  bool wait_for_data(const std::string& promql, std::chrono::milliseconds timeout);
  // Polls value(promql) until `accept` holds; returns the last value seen (check it with `accept`).
  std::optional<double> wait_for_value(const std::string& promql, const std::function<bool(double)>& accept,
                                       std::chrono::milliseconds timeout);

  // Everything Prometheus logged so far (stderr), for failure messages.
  std::string log();
  // SIGTERM by PID (SIGKILL after 5 s); idempotent.
  void stop();
  // Starts it again on the same port with the same data (a stopped Prometheus coming back); true once
  // it is ready again.
  bool restart();

 private:
  std::unique_ptr<TempDir> m_dir;
  std::filesystem::path m_config;
  Process m_process;
  int m_port = 0;
  std::string m_url;
  std::vector<std::string> m_argv;
  std::chrono::milliseconds m_ready_timeout{30000};
};

}  // namespace meshmove::testsupport
