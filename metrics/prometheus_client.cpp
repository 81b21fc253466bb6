#include "metrics/prometheus_client.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "backends/secrets.hpp"

namespace meshmove::metrics {
namespace {

using nlohmann::json;
using planner::ErrorKind;
using planner::make_error;

std::optional<double> sample_value(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) return std::nullopt;
  const std::string s = pair[1];
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

planner::Result<PromResult> parse_answer(int http_status, const std::string& body);

}  // namespace

planner::Result<PromResult> parse_query_response(int http_status, const std::string& body) {
  // A field of the wrong type (a numeric errorType, a data that is not an object) makes nlohmann throw.
  try {
    return parse_answer(http_status, body);
  } catch (const json::exception& e) {
    return make_error(ErrorKind::Invalid, "the answer (HTTP " + std::to_string(http_status) +
                                              ") is not a Prometheus API response: " + e.what(),
                      http_status);
  }
}

namespace {

planner::Result<PromResult> parse_answer(int http_status, const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception&) {
    const std::string start = backends::redact_secrets(body.substr(0, 120));
    if (http_status >= 500) {
      return make_error(ErrorKind::Unavailable, "Prometheus answered HTTP " + std::to_string(http_status) + ": " + start,
                        http_status);
    }
    return make_error(ErrorKind::Invalid, "the answer (HTTP " + std::to_string(http_status) +
                                              ") is not a Prometheus API response: " + start,
                      http_status);
  }
  if (!j.is_object() || !j.contains("status")) {
    return make_error(ErrorKind::Invalid, "the answer is not a Prometheus API response (no status)", http_status);
  }
  if (j["status"] != "success") {
    const std::string type = j.value("errorType", "error");
    const std::string message = backends::redact_secrets(j.value("error", "(no message)"));  // may echo the token
    const ErrorKind kind = http_status >= 500 || type == "timeout" || type == "unavailable" ? ErrorKind::Unavailable
                                                                                            : ErrorKind::Rejected;
    return make_error(kind, "Prometheus: " + type + ": " + message, http_status);
  }
  PromResult result;
  for (const auto& w : j.value("warnings", json::array())) {
    if (w.is_string()) result.warnings.push_back(w);
  }
  const json data = j.value("data", json::object());
  result.result_type = data.value("resultType", "");
  const json& r = data.contains("result") ? data["result"] : json();
  if (result.result_type == "scalar") {
    const auto v = sample_value(r);
    if (!v) return make_error(ErrorKind::Invalid, "Prometheus sent a malformed scalar: " + r.dump());
    result.samples.push_back({{}, *v});
    return result;
  }
  if (result.result_type.empty() || !data.contains("result")) {
    return make_error(ErrorKind::Invalid, "Prometheus answered success without a result (no data.resultType or "
                                          "data.result): is the URL a Prometheus query API?");
  }
  if (result.result_type != "vector") {
    return make_error(ErrorKind::Invalid, "the query gives a " + result.result_type +
                                              "; a gate needs an instant vector or a scalar (drop the range selector)");
  }
  if (!r.is_array()) return make_error(ErrorKind::Invalid, "Prometheus sent a malformed vector");
  for (const auto& item : r) {
    PromSample s;
    if (!item.is_object()) return make_error(ErrorKind::Invalid, "Prometheus sent a malformed sample");
    const json metric = item.value("metric", json::object());  // named: items() must not outlive it
    for (const auto& [k, v] : metric.items()) {
      if (v.is_string()) s.labels[k] = v;
    }
    const auto v = sample_value(item.value("value", json()));
    if (!v) return make_error(ErrorKind::Invalid, "Prometheus sent a malformed sample value: " + item.dump());
    s.value = *v;
    result.samples.push_back(std::move(s));
  }
  return result;
}

}  // namespace

PrometheusClient::PrometheusClient(std::string base_url, backends::HttpTransport& transport)
    : m_base(std::move(base_url)), m_transport(transport) {
  while (!m_base.empty() && m_base.back() == '/') m_base.pop_back();
}

planner::Result<PromResult> PrometheusClient::query(const std::string& promql, planner::TimePoint at) {
  backends::HttpRequest req;
  req.method = "POST";
  req.url = m_base + "/api/v1/query";
  req.content_type = "application/x-www-form-urlencoded";
  char time[32];
  const auto ms = at.time_since_epoch().count();
  std::snprintf(time, sizeof time, "%lld.%03lld", static_cast<long long>(ms / 1000), static_cast<long long>(ms % 1000));
  req.body = "query=" + backends::url_encode(promql) + "&time=" + time;
  auto response = m_transport.send(req);
  if (!response.ok()) {
    // Retries are exhausted for 5xx: Prometheus's own message is in the body when it sent one.
    return response.error();
  }
  if (response->status == 401 || response->status == 403) {
    return make_error(ErrorKind::Rejected,
                      "Prometheus at " + m_base + " refused the query with HTTP " + std::to_string(response->status) +
                          (response->status == 401 ? " (unauthorized)" : " (forbidden)") +
                          ": check the token (gates.prometheus.tokenFile or MESHMOVE_PROMETHEUS_TOKEN) and its rights",
                      response->status);
  }
  return parse_query_response(response->status, response->body);
}


}  // namespace meshmove::metrics
