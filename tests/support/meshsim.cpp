#include "tests/support/meshsim.hpp"

#include <regex>
#include <stdexcept>

namespace meshmove::testsupport {

Meshsim::Meshsim(const std::string& scenario_yaml, const MeshsimOptions& options)
    : m_dir(std::make_unique<TempDir>()), m_options(options) {
  const auto scenario = m_dir->write("scenario.yaml", scenario_yaml);
  std::vector<std::string> argv = {
      binary("meshsim").string(), "--scenario", scenario.string(), "--api-addr", "127.0.0.1:0",
      "--metrics-addr",           "127.0.0.1:0"};
  if (!options.tls_cert.empty()) {
    argv.insert(argv.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key});
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  m_process = Process::start(argv);
  if (!m_process.wait_for_output("ready\n", options.ready_timeout)) {
    const int code = m_process.stop();
    throw std::runtime_error("meshsim did not start (exit " + std::to_string(code) + "):\n" +
                             m_process.err());
  }
  static const std::regex listening(R"(listening api=([^ ]+):(\d+) metrics=([^ ]+):(\d+))");
  std::smatch m;
  const std::string out = m_process.out();
  if (!std::regex_search(out, m, listening)) {
    throw std::runtime_error("meshsim did not report its ports: " + out);
  }
  m_api_port = std::stoi(m[2].str());
  m_metrics_port = std::stoi(m[4].str());
  m_api_url =
      std::string(options.tls_cert.empty() ? "http" : "https") + "://127.0.0.1:" + std::to_string(m_api_port);
  m_metrics_url = "http://127.0.0.1:" + std::to_string(m_metrics_port);
}

Meshsim::~Meshsim() { stop(); }

HttpOptions Meshsim::api_http_options() const {
  HttpOptions o;
  if (!m_options.tls_cert.empty()) o.ca_file = m_options.tls_cert;
  return o;
}

HttpResponse Meshsim::api(const std::string& method, const std::string& path, const std::string& body) const {
  drain();
  return http_request(method, m_api_url + path, body, api_http_options());
}

nlohmann::json Meshsim::state() const {
  drain();
  const HttpResponse r = http_get(m_metrics_url + "/_sim/state");
  if (r.status != 200)
    throw std::runtime_error("GET /_sim/state: " + std::to_string(r.status) + " " + r.error + r.body);
  return r.json();
}

void Meshsim::inject(const nlohmann::json& event) const {
  drain();
  const HttpResponse r = http_request("POST", m_metrics_url + "/_sim/events", event.dump());
  if (r.status != 202) {
    throw std::runtime_error("POST /_sim/events: " + std::to_string(r.status) + " " + r.error + r.body);
  }
}

bool Meshsim::wait_for_state(const std::function<bool(const nlohmann::json&)>& accept,
                             std::chrono::milliseconds timeout) const {
  return wait_until(
      [&] {
        try {
          return accept(state());
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, 50ms);
}

std::string Meshsim::log() { return m_process.err(); }

int Meshsim::stop() {
  if (m_process.pid() > 0 && m_exit_code < 0) m_exit_code = m_process.stop();
  return m_exit_code;
}

}  // namespace meshmove::testsupport
