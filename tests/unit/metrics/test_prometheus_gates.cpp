// PrometheusGates over a scripted Prometheus: which queries run, how their answers are judged, and the
// restarted tests that catch a fault starting in the middle of a long step.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>

#include "backends/http_transport.hpp"
#include "metrics/prometheus_gates.hpp"
#include "planner/plan_parser.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/form_body.hpp"

using namespace meshmove;
using namespace std::chrono_literals;

namespace {

// Answers /api/v1/query for error-rate queries from a request rate and an error rate as functions of time
// (seconds since the window start), integrating over the query's range ending at its `time`.
class ScriptedPrometheus final : public backends::HttpTransport {
 public:
  double rps = 100;
  std::function<double(double)> error_rate = [](double) { return 0.001; };
  planner::TimePoint origin;
  std::vector<std::string> queries;

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& req) override {
    const std::string query = testsupport::form_field(req.body, "query");
    const double at = std::stod(testsupport::form_field(req.body, "time"));
    queries.push_back(query);
    std::smatch m;
    REQUIRE(std::regex_search(query, m, std::regex(R"(\[((\d+)h)?((\d+)m)?((\d+)s)?\])")));
    const double range = (m[2].matched ? std::stod(m[2]) * 3600 : 0) + (m[4].matched ? std::stod(m[4]) * 60 : 0) +
                         (m[6].matched ? std::stod(m[6]) : 0);
    const double end = at - std::chrono::duration<double>(origin.time_since_epoch()).count();
    double total = 0, bad = 0;
    for (double t = end - range; t < end; t += 1) {  // one-second slices
      total += rps;
      bad += rps * error_rate(t);
    }
    const double value = query.find("envoy_response_code_class=\"5\"") != std::string::npos ? bad : total;
    backends::HttpResponse r;
    r.status = 200;
    r.body = nlohmann::json{{"status", "success"},
                            {"data", {{"resultType", "vector"},
                                      {"result", {{{"metric", nlohmann::json::object()},
                                                   {"value", {at, std::to_string(value)}}}}}}}}
                 .dump();
    return r;
  }

};

planner::Plan plan(const std::string& decision = "sequential") {
  auto r = planner::parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\n"
                               "from: vm\nto: kube\nsteps: [50, 100]\nbake: 30m\ninterval: 30s\n"
                               "gates: {decision: " + decision + ", slos: [{name: errors, type: error-rate, max: 0.01}]}\n",
                               "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

}  // namespace

TEST_SUITE("metrics::prometheus_gates") {
  TEST_CASE("an error-rate gate runs two queries and judges their counts") {
    ScriptedPrometheus prom;
    prom.origin = testsupport::utc(2026, 11, 25, 10, 0);
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    const auto d = gates.evaluate_detailed(plan(), prom.origin, prom.origin + 2min, 5000);
    REQUIRE(d.size() == 1);
    CHECK(prom.queries.size() == 2);  // 5xx and all responses; the request count is the latter
    CHECK(d[0].result.verdict == planner::Verdict::Pass);
    CHECK(d[0].result.samples == doctest::Approx(12000));
    CHECK(d[0].window == "2m");
  }

  TEST_CASE("a fault in the middle of a long step is caught by a restarted test") {
    ScriptedPrometheus prom;
    prom.origin = testsupport::utc(2026, 11, 25, 10, 0);
    // Healthy for ten minutes, then one request in ten fails.
    prom.error_rate = [](double t) { return t < 600 ? 0.001 : 0.1; };
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    const auto now = prom.origin + 10min + 30s;
    const auto d = gates.evaluate_detailed(plan(), prom.origin, now, 5000);
    REQUIRE(d.size() == 1);
    CHECK(d[0].result.verdict == planner::Verdict::Fail);
    CHECK(d[0].result.reason.find("restarted 10m after settle") != std::string::npos);
    CHECK(d[0].window == "30s");
    // The test since settle alone would not fail yet: ten healthy minutes dilute the thirty faulty seconds.
    const auto p = plan();
    metrics::GateObservation cumulative;
    cumulative.total = 63000;
    cumulative.bad = 360;
    cumulative.requests = 63000;
    metrics::GateQuery q;
    q.slo = "errors";
    q.kind = metrics::QueryKind::Ratio;
    CHECK(metrics::judge(p.gates.slos[0], p.gates, q, cumulative, 0.5).verdict !=
          planner::Verdict::Fail);
  }

  TEST_CASE("a healthy long step never fails through the restarted tests") {
    ScriptedPrometheus prom;
    prom.origin = testsupport::utc(2026, 11, 25, 10, 0);
    prom.error_rate = [](double) { return 0.005; };  // half the SLO
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    for (int minute = 1; minute <= 30; ++minute) {
      const auto d = gates.evaluate_detailed(plan(), prom.origin, prom.origin + std::chrono::minutes(minute), 5000);
      CAPTURE(minute);
      CHECK(d[0].result.verdict != planner::Verdict::Fail);
    }
  }

  TEST_CASE("the FAIL threshold of a test grows with its smaller share of the budget") {
    auto p = plan();
    metrics::GateQuery q;
    q.slo = "errors";
    q.kind = metrics::QueryKind::Ratio;
    metrics::GateObservation o;
    o.total = 1000;
    o.requests = 1000;
    // log LR = 22 ln 2 + 978 ln(0.98/0.99) = 5.3: a FAIL at share 1 (ln 100 = 4.6), not at 1/64 (ln 6400 = 8.8).
    o.bad = 22;
    CHECK(metrics::judge(p.gates.slos[0], p.gates, q, o, 1.0).verdict == planner::Verdict::Fail);
    CHECK(metrics::judge(p.gates.slos[0], p.gates, q, o, 1.0 / 64).verdict == planner::Verdict::Hold);
  }

  TEST_CASE("threshold mode has no restarted tests") {
    ScriptedPrometheus prom;
    prom.origin = testsupport::utc(2026, 11, 25, 10, 0);
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    (void)gates.evaluate_detailed(plan("threshold"), prom.origin, prom.origin + 20min, 5000);
    CHECK(prom.queries.size() == 2);
  }
}
