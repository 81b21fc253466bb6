// `meshmove check` against meshsim scraped by a real Prometheus: the verdict and the exit code for
// healthy, faulty, idle and unreachable cases, with every value used in the output.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove::testsupport;

namespace {

// Four services in one mesh, so one meshsim and one Prometheus serve every case.
const char* k_scenario = R"(
services:
  - name: healthy_default_svc_5000
    rps: 500
    subsets:
      vm-env: {instances: 2, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
      kube-env: {instances: 2, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
  - name: failing_default_svc_5000
    rps: 500
    subsets:
      vm-env: {instances: 2, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
      kube-env: {instances: 2, errorRate: 0.2, latency: {median: 20ms, p99: 90ms}}
  - name: slow_default_svc_5000
    rps: 500
    subsets:
      vm-env: {instances: 2, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
      kube-env: {instances: 2, errorRate: 0.001, latency: {median: 400ms, p99: 3s}}
  - name: idle_default_svc_5000
    rps: 0
    subsets:
      vm-env: {instances: 2, errorRate: 0, latency: {median: 20ms, p99: 90ms}}
      kube-env: {instances: 2, errorRate: 0, latency: {median: 20ms, p99: 90ms}}
)";

std::string plan_for(const std::string& service, const std::string& slos) {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: check-" + service.substr(0, service.find('_')) +
         "}\nservice: " + service + "\nfrom: vm-env\nto: kube-env\nsteps: [100]\n"
         "gates:\n  minRequests: 100\n  slos:\n" + slos;
}

const char* k_slos =
    "    - {name: errors, type: error-rate, max: 0.01}\n"
    "    - {name: latency, type: latency, percentile: 99, max: 500ms}\n"
    "    - {name: no-worse-than-vms, type: error-rate, relativeTo: from, maxIncrease: 0.005}\n";

RunResult check(const std::string& plan, const std::string& prometheus_url) {
  return run({binary("meshmove").string(), "check", "-o", "json", "--window", "30s", "--prometheus-url", prometheus_url,
              plan},
             RunOptions{{}, {"MESHMOVE_PROMETHEUS_URL"}, "", std::chrono::seconds(120), {}});
}

std::map<std::string, std::string> verdicts(const RunResult& r) {
  std::map<std::string, std::string> out;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& g : j["gates"]) out[g["slo"].get<std::string>()] = g["verdict"].get<std::string>();
  return out;
}

}  // namespace

TEST_SUITE("integration::check") {
  TEST_CASE("verdicts and exit codes from a real Prometheus scraping meshsim") {
    Meshsim sim(k_scenario);
    Prometheus prom({sim.metrics_target()});
    // Enough data for every service: 30 s windows need more than one scrape of each series.
    REQUIRE_MESSAGE(prom.wait_for_value("sum(increase(envoy_cluster_upstream_rq_total{kuma_io_service=\"healthy_default_svc_5000\"}[30s]))",
                                        [](double v) { return v > 5000; }, std::chrono::seconds(90))
                        .has_value(),
                    prom.log());
    TempDir dir;

    const auto healthy = dir.write("healthy.yaml", plan_for("healthy_default_svc_5000", k_slos));
    auto r = check(healthy.string(), prom.url());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    auto v = verdicts(r);
    CHECK(v["errors"] == "PASS");
    CHECK(v["latency"] == "PASS");
    CHECK(v["no-worse-than-vms"] == "PASS");
    // The output shows every value it used.
    auto j = nlohmann::json::parse(r.out);
    for (const auto& g : j["gates"]) {
      CHECK(g["query"].get<std::string>().find("healthy_default_svc_5000") != std::string::npos);
      CHECK(g["samples"].get<double>() > 100);
      CHECK(g.contains("bound"));
      CHECK(!g["reason"].get<std::string>().empty());
    }

    r = check(dir.write("failing.yaml", plan_for("failing_default_svc_5000", k_slos)).string(), prom.url());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    v = verdicts(r);
    CHECK(v["errors"] == "FAIL");
    CHECK(v["no-worse-than-vms"] == "FAIL");
    CHECK(v["latency"] == "PASS");

    r = check(dir.write("slow.yaml", plan_for("slow_default_svc_5000", k_slos)).string(), prom.url());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    v = verdicts(r);
    CHECK(v["latency"] == "FAIL");
    CHECK(v["errors"] == "PASS");

    r = check(dir.write("idle.yaml", plan_for("idle_default_svc_5000", k_slos)).string(), prom.url());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 5);
    v = verdicts(r);
    CHECK(v["errors"] == "HOLD");
    CHECK(v["latency"] == "HOLD");

    // The text output names every gate, its value and its verdict.
    const auto text = run({binary("meshmove").string(), "check", "--no-color", "--window", "30s", "--prometheus-url",
                           prom.url(), healthy.string()});
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("no-worse-than-vms") != std::string::npos);
    CHECK(text.out.find("PASS") != std::string::npos);
    CHECK(text.out.find("query:") != std::string::npos);

    // An invalid query is an ERROR that quotes Prometheus.
    const auto invalid = dir.write(
        "invalid.yaml",
        plan_for("healthy_default_svc_5000", "    - {name: broken, query: 'sum(rate(envoy_cluster_upstream_rq_total[{{window}}]', max: 1}\n"));
    r = check(invalid.string(), prom.url());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);
    j = nlohmann::json::parse(r.out);
    CHECK(j["gates"][0]["verdict"] == "ERROR");
    CHECK(j["gates"][0]["reason"].get<std::string>().find("Prometheus: bad_data:") != std::string::npos);
    CHECK(j["gates"][0]["reason"].get<std::string>().find("parse error") != std::string::npos);

    // Prometheus stopped: ERROR, exit 6.
    const std::string url = prom.url();
    prom.stop();
    r = check(healthy.string(), url);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);
    v = verdicts(r);
    CHECK(v["errors"] == "ERROR");
  }
}
