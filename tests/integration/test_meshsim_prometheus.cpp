// meshsim scraped by a real Prometheus: a MeshHTTPRoute PUT moves the traffic share that PromQL sees.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/support/meshsim.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove::testsupport;

namespace {

// 400 rps: a 5 s window holds ~2000 requests, so the kube share has a binomial standard deviation of
// sqrt(0.7 * 0.3 / 2000) ~ 0.010; 0.05 is five of them (both rates share the scrape timestamps, so
// Prometheus' extrapolation cancels in the ratio).
constexpr const char* k_scenario = R"(
service: api_default_svc_5000
rps: 400
seed: 3
subsets:
  vm-env:   {instances: 3, errorRate: 0.002, latency: {median: 20ms, p99: 90ms}}
  kube-env: {instances: 2, errorRate: 0.002, latency: {median: 18ms, p99: 80ms}}
)";
constexpr const char* k_share =
    R"(sum(rate(envoy_cluster_upstream_rq_total{env="kube-env"}[5s])) / sum(rate(envoy_cluster_upstream_rq_total[5s])))";
constexpr double k_tolerance = 0.05;

}  // namespace

TEST_SUITE("meshsim") {
  TEST_CASE("Prometheus sees a 30/70 MeshHTTPRoute split as a 70 % kube share") {
    Meshsim sim(k_scenario);
    Prometheus prom({sim.metrics_target()});
    INFO(prom.log());
    // The first samples take ~6 s to become queryable; the share starts at 2 of 5 instances.
    REQUIRE(prom.wait_for_data(k_share, 60s));
    const auto before = prom.wait_for_value(
        k_share, [](double v) { return std::abs(v - 0.4) <= k_tolerance; }, 60s);
    REQUIRE(before);
    CHECK(std::abs(*before - 0.4) <= k_tolerance);

    const HttpResponse put = sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier", R"({
      "type": "MeshHTTPRoute", "mesh": "default", "name": "meshmove-apitier",
      "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
        "targetRef": {"kind": "MeshService", "name": "api_default_svc_5000"},
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "default": {"backendRefs": [
          {"kind": "MeshServiceSubset", "name": "api_default_svc_5000", "tags": {"env": "vm-env"}, "weight": 30},
          {"kind": "MeshServiceSubset", "name": "api_default_svc_5000", "tags": {"env": "kube-env"}, "weight": 70}]}}]}]}})");
    REQUIRE(put.status == 201);
    const auto after = prom.wait_for_value(
        k_share, [](double v) { return std::abs(v - 0.7) <= k_tolerance; }, 60s);
    REQUIRE(after);
    CHECK(std::abs(*after - 0.7) <= k_tolerance);
    // The latency histogram is there for gates too: p99 of the kube subset near its configured 80 ms.
    const auto p99 = prom.value(
        R"(histogram_quantile(0.99, sum by (le) (rate(envoy_cluster_upstream_rq_time_bucket{env="kube-env",envoy_cluster_name=~"localhost_.*"}[30s]))))");
    REQUIRE(p99);
    CHECK(*p99 > 50);
    CHECK(*p99 <= 100);
  }
}
