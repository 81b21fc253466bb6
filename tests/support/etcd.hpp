#pragma once
// Runs Debian's real etcd (3.4) for a test: one member on 127.0.0.1 with free client and peer ports, a
// fresh data directory in a temporary directory, stopped by PID.
//
//   Etcd etcd;                                     // healthy in ~0.1-0.7 s
//   auto store = make_etcd_state_store(etcd.state_url("/meshmove"), clock, options);
//   CHECK(etcd.get("/meshmove/apitier/state").has_value());
//
// By default etcd runs with a 10 ms heartbeat and a 100 ms election timeout, so that it grants leases
// as short as 1 s (its minimum TTL is 1.5 election timeouts): lock-expiry tests then take seconds.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace meshmove::testsupport {

struct EtcdOptions {
  bool short_leases = true;                       // --heartbeat-interval 10 --election-timeout 100
  std::chrono::milliseconds ready_timeout = 20s;  // for /health
  std::vector<std::string> extra_args;            // e.g. "--max-request-bytes", "4096"
  std::string binary = "/usr/bin/etcd";
};

class Etcd {
 public:
  // Starts etcd and waits until /health says it is healthy. Throws std::runtime_error quoting etcd's log
  // when it exits or is not healthy within options.ready_timeout (three attempts if a port was taken).
  explicit Etcd(const EtcdOptions& options = {});
  Etcd(const Etcd&) = delete;
  Etcd& operator=(const Etcd&) = delete;
  ~Etcd();  // stop()

  // "http://127.0.0.1:PORT", the client URL.
  [[nodiscard]] const std::string& url() const { return m_url; }
  [[nodiscard]] int client_port() const { return m_client_port; }
  // "etcd://127.0.0.1:PORT<prefix>", for --state and make_etcd_state_store.
  [[nodiscard]] std::string state_url(const std::string& prefix = "/meshmove") const;

  // POST /v3/<method> (e.g. "kv/range") with `body` through the JSON gateway; the parsed answer. Throws
  // std::runtime_error when etcd cannot be reached or the answer is not JSON.
  nlohmann::json call(const std::string& method, const nlohmann::json& body);
  // The value of `key` (decoded), or nullopt when it does not exist.
  std::optional<std::string> get(const std::string& key);
  // Every key that starts with `prefix`, sorted.
  std::vector<std::string> keys(const std::string& prefix);
  // The lease `key` is attached to; 0 when it has none or does not exist.
  std::int64_t lease_of(const std::string& key);
  // Writes `value` to `key` (no lease); deletes `key`.
  void put(const std::string& key, const std::string& value);
  void del(const std::string& key);

  // What etcd logged so far (its log file), for failure messages.
  [[nodiscard]] std::string log() const;
  // SIGTERM by PID (SIGKILL after 5 s); idempotent.
  void stop();

  static std::string base64(const std::string& data);
  static std::string unbase64(const std::string& text);  // throws std::runtime_error when not base64

 private:
  std::unique_ptr<TempDir> m_dir;
  Process m_process;
  int m_client_port = 0;
  std::string m_url;
};

}  // namespace meshmove::testsupport
