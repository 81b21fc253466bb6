#pragma once
// Instant queries against the Prometheus HTTP API (/api/v1/query), over the shared transport.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backends/http_transport.hpp"
#include "planner/clock.hpp"
#include "planner/error.hpp"

namespace meshmove::metrics {

struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;  // may be NaN or +-Inf, as Prometheus sends them
};

struct PromResult {
  std::string result_type;           // "vector" or "scalar"
  std::vector<PromSample> samples;   // a scalar gives one sample without labels
  std::vector<std::string> warnings; // Prometheus's warnings, passed on
};

// Reads an /api/v1/query answer. Errors: Rejected for Prometheus's own error bodies ("bad_data: ..."
// quoting its message), Invalid for anything that is not a Prometheus answer, Unavailable for 5xx.
planner::Result<PromResult> parse_query_response(int http_status, const std::string& body);

class PrometheusClient {
 public:
  // `base_url` without a trailing /api/...; `transport` must outlive the client.
  PrometheusClient(std::string base_url, backends::HttpTransport& transport);
  // An instant query evaluated at `at` (Prometheus's `time` parameter), sent as a POST form so that long
  // queries fit.
  planner::Result<PromResult> query(const std::string& promql, planner::TimePoint at);
  [[nodiscard]] const std::string& url() const { return m_base; }

 private:
  std::string m_base;
  backends::HttpTransport& m_transport;
};

}  // namespace meshmove::metrics
