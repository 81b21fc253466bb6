// The /metrics text: Prometheus text format 0.0.4 with Envoy's names and Kuma's MADS labels.
#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "tests/sim/kuma_names.hpp"
#include "tests/unit/sim/sim_test_helpers.hpp"

using namespace meshmove::sim;
using namespace meshmove::sim::testing;

namespace {

constexpr const char* k_scenario = R"(
tagKey: version.tag
services:
  - name: api_default_svc_5000
    rps: 300
    subsets:
      v1: {instances: 2, errorRate: 0.1}
      v2: {instances: 1, serviceName: api-v2_default_svc_5000}
  - name: web
    rps: 50
    subsets: {v1: {}}
)";

// series text (name{labels}) -> value, for every sample line.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::string label(const std::string& series, const std::string& name) {
  const std::string key = name + "=\"";
  auto pos = series.find("," + key);
  if (pos == std::string::npos) pos = series.find("{" + key);
  if (pos == std::string::npos) return {};
  pos += key.size() + 1;
  return series.substr(pos, series.find('"', pos) - pos);
}

}  // namespace

TEST_SUITE("sim::Exposition") {
  TEST_CASE("families, HELP and TYPE lines, and Kuma's labels") {
    Simulation sim(scenario_from(k_scenario));
    sim.advance(Millis(5000));
    const std::string text = sim.metrics_text();
    std::vector<std::string> comments;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# ", 0) == 0) comments.push_back(line.substr(0, line.find(' ', 7)));
    }
    CHECK(comments == std::vector<std::string>{
                          "# HELP envoy_cluster_upstream_rq_total", "# TYPE envoy_cluster_upstream_rq_total",
                          "# HELP envoy_cluster_upstream_rq_xx", "# TYPE envoy_cluster_upstream_rq_xx",
                          "# HELP envoy_cluster_upstream_rq", "# TYPE envoy_cluster_upstream_rq",
                          "# HELP envoy_cluster_upstream_rq_time", "# TYPE envoy_cluster_upstream_rq_time"});
    CHECK(text.find("# TYPE envoy_cluster_upstream_rq_time histogram\n") != std::string::npos);
    CHECK(text.find("# TYPE envoy_cluster_upstream_rq_total counter\n") != std::string::npos);
    const auto all = samples(text);
    CHECK(all.size() == 4 * 27);  // four dataplanes, 27 series each
    const std::string v2 =
        R"(envoy_cluster_upstream_rq_total{dataplane="api-default-svc-5000-v2-1",version_tag="v2",)"
        R"(envoy_cluster_name="localhost_5000",version_tags=",v2,",kuma_io_service="api-v2_default_svc_5000",)"
        R"(kuma_io_services=",api-v2_default_svc_5000,api_default_svc_5000,",mesh="default"})";
    REQUIRE(all.count(v2) == 1);  // the singular label is the first value in sorted order, as Kuma's MADS
    CHECK(all.at(v2) == sim.subset_counters("api_default_svc_5000", "v2").requests);
    CHECK(label(v2, "envoy_cluster_name") == "localhost_5000");
    CHECK(all.count(R"(envoy_cluster_upstream_rq_total{dataplane="web-v1-1",version_tag="v1",)"
                    R"(envoy_cluster_name="localhost_80",version_tags=",v1,",kuma_io_service="web",)"
                    R"(kuma_io_services=",web,",mesh="default"})") == 1);
  }

  TEST_CASE("histograms are cumulative and agree with the counters") {
    Simulation sim(scenario_from(k_scenario));
    sim.advance(Millis(20000));
    const auto all = samples(sim.metrics_text());
    const std::vector<std::string> le = {"0.5",   "1",      "5",      "10",      "25",      "50",    "100",
                                         "250",   "500",    "1000",   "2500",    "5000",    "10000", "30000",
                                         "60000", "300000", "600000", "1800000", "3600000", "+Inf"};
    int series = 0;
    for (const auto& [name, total] : all) {
      if (name.rfind("envoy_cluster_upstream_rq_total{", 0) != 0) continue;
      ++series;
      const std::string labels = name.substr(name.find('{') + 1, name.size() - name.find('{') - 2);
      auto at = [&](const std::string& metric, const std::string& extra) {
        const std::string key = metric + "{" + labels + extra + "}";
        REQUIRE_MESSAGE(all.count(key) == 1, key);
        return all.at(key);
      };
      double previous = 0;
      for (const auto& bound : le) {
        const double v = at("envoy_cluster_upstream_rq_time_bucket", ",le=\"" + bound + "\"");
        CHECK(v >= previous);
        previous = v;
      }
      CHECK(previous == total);
      CHECK(at("envoy_cluster_upstream_rq_time_count", "") == total);
      CHECK(at("envoy_cluster_upstream_rq_time_sum", "") > 0);
      const double ok = at("envoy_cluster_upstream_rq_xx", ",envoy_response_code_class=\"2\"");
      const double failed = at("envoy_cluster_upstream_rq_xx", ",envoy_response_code_class=\"5\"");
      CHECK(ok + failed == total);
      CHECK(at("envoy_cluster_upstream_rq", ",envoy_response_code=\"503\"") == failed);
    }
    CHECK(series == 4);
  }

  TEST_CASE("counters only grow, also when instances go away and come back") {
    Simulation sim(scenario_from(k_scenario));
    sim.advance(Millis(3000));
    const auto before = samples(sim.metrics_text());
    sim.inject_event([] {
      EventSpec e;
      e.service = "api_default_svc_5000";
      e.subset = "v1";
      e.set = SetChange{std::nullopt, std::nullopt, 1, std::nullopt};
      return e;
    }());
    sim.advance(Millis(3000));
    const auto fewer = samples(sim.metrics_text());
    CHECK(fewer.size() == 3 * 27);  // the second v1 dataplane is gone
    sim.inject_event([] {
      EventSpec e;
      e.service = "api_default_svc_5000";
      e.subset = "v1";
      e.set = SetChange{std::nullopt, std::nullopt, 2, std::nullopt};
      return e;
    }());
    sim.advance(Millis(3000));
    const auto after = samples(sim.metrics_text());
    CHECK(after.size() == before.size());
    for (const auto& entry : before) {
      const auto& series = entry.first;  // not a structured binding: clang 14 cannot capture those
      const auto value = entry.second;
      CAPTURE(series);
      REQUIRE(after.count(series) == 1);
      CHECK(after.at(series) >= value);
    }
  }

  TEST_CASE("label values and names are made safe for Prometheus") {
    CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    CHECK(sanitize_label_name("kuma.io/service") == "kuma_io_service");
    CHECK(sanitize_label_name("9lives") == "_9lives");
  }
}
