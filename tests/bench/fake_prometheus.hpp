#pragma once
// A Prometheus in process, as an HttpTransport: it answers POST /api/v1/query for the query shapes that
// metrics/slo_queries.cpp builds, so that the real PrometheusClient, PrometheusGates and judge() run
// unchanged in the benchmarks and every query meshmove sends is counted. The numbers come from a
// SeriesSource (the simulated mesh, or a synthetic one).
//
// Shapes understood (anything else is answered 400 bad_data, so a change of meshmove's queries shows up as
// ERROR verdicts, never as silently wrong numbers):
//   sum(increase(M{SEL}[W]))                       M: envoy_cluster_upstream_rq_total, _rq_xx
//   sum by (le) (increase(envoy_cluster_upstream_rq_time_bucket{SEL}[W]))
//   histogram_quantile(Q, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{SEL}[W])))
//   count(M{SEL})                                  the pre-flight's "do the set's series exist"
// SEL: mesh="...", kuma_io_services=~".*,SERVICE,.*", <tag label>="SUBSET",
// envoy_cluster_name=~"localhost_.*", and envoy_response_code_class="5" for errors.
#include <cstdint>
#include <optional>
#include <string>

#include "backends/http_transport.hpp"
#include "planner/error.hpp"
#include "tests/bench/series_store.hpp"

namespace meshmove::bench {

// Where a query's numbers come from.
class SeriesSource {
 public:
  virtual ~SeriesSource() = default;
  // increase() of the subset's counters over (at - range, at], `at` in Unix milliseconds. nullopt: no
  // data (an empty vector); an error: Prometheus cannot be reached.
  virtual planner::Result<std::optional<Increase>> window(const std::string& service,
                                                          const std::string& subset, Millis range,
                                                          std::int64_t at_unix_ms) = 0;
};

// One query of a known shape.
struct ParsedQuery {
  enum class What { Requests, Errors, Responses, Buckets, Quantile, Series };
  What what = What::Requests;
  std::string mesh;
  std::string service;
  std::string subset;
  Millis range{0};
  double quantile = 0;  // Quantile: a fraction
};

// Parses one of the shapes above; an error message otherwise.
planner::Result<ParsedQuery> parse_query(const std::string& promql);

class FakePrometheus final : public backends::HttpTransport {
 public:
  // `source` must outlive this. `mesh` is the only mesh that has data.
  explicit FakePrometheus(SeriesSource& source, std::string mesh = "default")
      : m_source(source), m_mesh(std::move(mesh)) {}

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& request) override;

  [[nodiscard]] std::uint64_t queries() const { return m_queries; }
  [[nodiscard]] std::uint64_t response_bytes() const { return m_bytes; }

 private:
  SeriesSource& m_source;
  std::string m_mesh;
  std::uint64_t m_queries = 0;
  std::uint64_t m_bytes = 0;
};

}  // namespace meshmove::bench
