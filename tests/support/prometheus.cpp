#include "tests/support/prometheus.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/http.hpp"

namespace meshmove::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

std::string duration_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

std::string config_text(const PrometheusOptions& o) {
  std::ostringstream out;
  out << "global:\n"
      << "  scrape_interval: " << duration_text(o.scrape_interval) << "\n"
      << "  scrape_timeout: " << duration_text(o.scrape_interval) << "\n"
      << "  evaluation_interval: " << duration_text(o.scrape_interval) << "\n"
      << "scrape_configs:\n"
      << "  - job_name: test\n"
      << "    static_configs:\n"
      << "      - targets: [";
  for (std::size_t i = 0; i < o.targets.size(); ++i) out << (i ? ", " : "") << "'" << o.targets[i] << "'";
  out << "]\n";
  return out.str();
}

std::string tail(const std::string& text, std::size_t n = 3000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

}  // namespace

Prometheus::Prometheus(const PrometheusOptions& options) : m_dir(std::make_unique<TempDir>()) {
  m_config = m_dir->write("prometheus.yml", config_text(options));
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    m_port = free_port();
    m_url = "http://127.0.0.1:" + std::to_string(m_port);
    const auto data = m_dir->path() / ("data-" + std::to_string(attempt));
    std::vector<std::string> argv = {options.binary, "--config.file=" + m_config.string(),
                                     "--storage.tsdb.path=" + data.string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(m_port)};
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    m_argv = argv;
    m_ready_timeout = options.ready_timeout;
    m_process = Process::start(argv);
    const bool ready = wait_until(
        [&] {
          (void)m_process.err();  // keep the log pipe drained
          if (!m_process.running()) return true;
          HttpOptions quick;
          quick.timeout = 1s;
          return http_get(m_url + "/-/ready", quick).status == 200;
        },
        options.ready_timeout, 100ms);
    if (ready && m_process.running()) return;
    last_log = log();
    stop();
  }
  throw std::runtime_error("prometheus did not become ready; its log:\n" + tail(last_log));
}

Prometheus::Prometheus(std::vector<std::string> targets)
    : Prometheus([&] {
        PrometheusOptions o;
        o.targets = std::move(targets);
        return o;
      }()) {}

Prometheus::~Prometheus() { stop(); }

std::string Prometheus::log() { return m_process.err() + m_process.out(); }

void Prometheus::stop() {
  if (m_process.pid() > 0 && m_process.running()) m_process.stop();
}

bool Prometheus::restart() {
  stop();
  m_process = Process::start(m_argv);
  return wait_until(
      [&] {
        (void)m_process.err();
        if (!m_process.running()) return true;
        HttpOptions quick;
        quick.timeout = 1s;
        return http_get(m_url + "/-/ready", quick).status == 200;
      },
      m_ready_timeout, 100ms) &&
         m_process.running();
}

nlohmann::json Prometheus::query(const std::string& promql) {
  (void)m_process.err();
  const HttpResponse r = http_get(m_url + "/api/v1/query?query=" + url_encode(promql));
  if (r.status == 0) throw std::runtime_error("prometheus query failed: " + r.error);
  return r.json();
}

std::optional<double> Prometheus::value(const std::string& promql) {
  nlohmann::json j;
  try {
    j = query(promql);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (j.value("status", "") != "success") return std::nullopt;
  const auto& data = j["data"];
  const nlohmann::json* sample = nullptr;
  if (data.value("resultType", "") == "scalar") {
    sample = &data["result"];
  } else if (data["result"].is_array() && !data["result"].empty()) {
    sample = &data["result"][0]["value"];
  }
  if (sample == nullptr || !sample->is_array() || sample->size() != 2 || !(*sample)[1].is_string()) {
    return std::nullopt;
  }
  try {
    const double v = std::stod((*sample)[1].get<std::string>());
    if (std::isnan(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool Prometheus::wait_for_data(const std::string& promql, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        try {
          const auto j = query(promql);
          const auto& result = j["data"]["result"];
          return j.value("status", "") == "success" && !result.empty() && !result.is_null();
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, 250ms);
}

std::optional<double> Prometheus::wait_for_value(const std::string& promql,
                                                 const std::function<bool(double)>& accept,
                                                 std::chrono::milliseconds timeout) {
  std::optional<double> last;
  wait_until(
      [&] {
        last = value(promql);
        return last && accept(*last);
      },
      timeout, 250ms);
  return last;
}

}  // namespace meshmove::testsupport
