#include "tests/support/etcd.hpp"

#include <stdexcept>
#include <string_view>

#include "tests/support/http.hpp"

namespace meshmove::testsupport {
namespace {

constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string tail(const std::string& text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::int64_t number(const nlohmann::json& j, const char* name) {
  if (!j.contains(name)) return 0;
  return j[name].is_string() ? std::stoll(j[name].get<std::string>()) : j[name].get<std::int64_t>();
}

}  // namespace

Etcd::Etcd(const EtcdOptions& options) : m_dir(std::make_unique<TempDir>()) {
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    m_client_port = free_port();
    int peer_port = free_port();
    while (peer_port == m_client_port) peer_port = free_port();
    m_url = "http://127.0.0.1:" + std::to_string(m_client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    const auto data = m_dir->path() / ("data-" + std::to_string(attempt));
    std::vector<std::string> argv = {
        options.binary, "--name", "t", "--data-dir", data.string(), "--listen-client-urls", m_url,
        "--advertise-client-urls", m_url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "t=" + peer,
        // A log file, not a pipe: a pipe nobody drains would block etcd.
        "--logger", "zap", "--log-outputs", (m_dir->path() / "etcd.log").string()};
    if (options.short_leases) {
      argv.insert(argv.end(), {"--heartbeat-interval", "10", "--election-timeout", "100"});
    }
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    m_process = Process::start(argv);
    const bool healthy = wait_until(
        [&] {
          if (!m_process.running()) return true;
          HttpOptions quick;
          quick.timeout = 1s;
          const auto r = http_get(m_url + "/health", quick);
          return r.status == 200 && r.body.find("\"true\"") != std::string::npos;
        },
        options.ready_timeout, 50ms);
    if (healthy && m_process.running()) return;
    last_log = log() + m_process.err();
    stop();
  }
  throw std::runtime_error("etcd did not become healthy; its log:\n" + tail(last_log));
}

Etcd::~Etcd() { stop(); }

std::string Etcd::state_url(const std::string& prefix) const {
  return "etcd://127.0.0.1:" + std::to_string(m_client_port) + prefix;
}

nlohmann::json Etcd::call(const std::string& method, const nlohmann::json& body) {
  const auto r = http_request("POST", m_url + "/v3/" + method, body.dump());
  if (r.status == 0) throw std::runtime_error("etcd " + method + " failed: " + r.error);
  return r.json();
}

std::optional<std::string> Etcd::get(const std::string& key) {
  const auto j = call("kv/range", {{"key", base64(key)}});
  if (!j.contains("kvs") || j["kvs"].empty()) return std::nullopt;
  return unbase64(j["kvs"][0].value("value", ""));
}

std::vector<std::string> Etcd::keys(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  const auto j = call("kv/range", {{"key", base64(prefix)}, {"range_end", base64(end)}, {"keys_only", true}});
  std::vector<std::string> out;
  for (const auto& kv : j.value("kvs", nlohmann::json::array())) out.push_back(unbase64(kv.value("key", "")));
  return out;
}

std::int64_t Etcd::lease_of(const std::string& key) {
  const auto j = call("kv/range", {{"key", base64(key)}});
  if (!j.contains("kvs") || j["kvs"].empty()) return 0;
  return number(j["kvs"][0], "lease");
}

void Etcd::put(const std::string& key, const std::string& value) {
  (void)call("kv/put", {{"key", base64(key)}, {"value", base64(value)}});
}

void Etcd::del(const std::string& key) { (void)call("kv/deleterange", {{"key", base64(key)}}); }

std::string Etcd::log() const {
  const auto file = m_dir->path() / "etcd.log";
  return std::filesystem::exists(file) ? read_file(file) : std::string();
}

void Etcd::stop() {
  if (m_process.pid() > 0 && m_process.running()) m_process.stop();
}

std::string Etcd::base64(const std::string& data) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const unsigned char c : data) {
    bits = bits << 8 | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += k_alphabet[bits >> count & 63];
    }
  }
  if (count > 0) out += k_alphabet[bits << (6 - count) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string Etcd::unbase64(const std::string& text) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    const auto v = k_alphabet.find(c);
    if (v == std::string_view::npos) throw std::runtime_error("not base64: " + text);
    bits = bits << 6 | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>(bits >> count & 255);
    }
  }
  return out;
}

}  // namespace meshmove::testsupport
