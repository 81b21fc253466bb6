// Doubt is never a pass: every shape of a Prometheus answer that cannot be trusted (NaN, +-Inf and
// negative counts, extra samples, partial answers, histograms without +Inf or not cumulative, other
// result types, custom queries with several samples) walks from the HTTP body through PrometheusGates
// and judge() to the verdict: ERROR with the reason, counted toward maxHold, never PASS and never
// "0 errors". Empty answers and zero requests stay no data (HOLD by default). The release behind every
// answer below is failing (half its requests are errors, or its p99 is seconds), so any PASS is a bug.
#include <doctest/doctest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/http_transport.hpp"
#include "metrics/answer_checks.hpp"
#include "metrics/prometheus_gates.hpp"
#include "planner/plan_parser.hpp"
#include "planner/state_machine.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/form_body.hpp"

using namespace meshmove;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// What kind of query meshmove sent, read from its PromQL.
enum class Asked { Bad, Total, Buckets, Custom };

Asked classify(const std::string& q) {
  if (q.find("custom_metric") != std::string::npos) return Asked::Custom;
  if (q.find("_bucket") != std::string::npos) return Asked::Buckets;
  if (q.find("envoy_response_code_class=\"5\"") != std::string::npos) return Asked::Bad;
  return Asked::Total;
}

json sample(json metric, const std::string& value) { return {{"metric", std::move(metric)}, {"value", {1.0, value}}}; }

json vector_answer(json samples) {
  return {{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", std::move(samples)}}}};
}

// A failing release as Prometheus reports it untampered: 500 of 1000 responses are 5xx; 1000 requests of
// which 900 take more than a second; the custom metric is 40 (max 5).
json honest(Asked asked) {
  switch (asked) {
    case Asked::Bad: return vector_answer(json::array({sample(json::object(), "500")}));
    case Asked::Total: return vector_answer(json::array({sample(json::object(), "1000")}));
    case Asked::Custom: return vector_answer(json::array({sample(json::object(), "40")}));
    case Asked::Buckets: {
      json result = json::array();
      const std::vector<std::pair<std::string, std::string>> buckets = {
          {"100", "50"}, {"500", "90"}, {"1000", "100"}, {"2500", "700"}, {"5000", "1000"}, {"+Inf", "1000"}};
      for (const auto& [le, n] : buckets) result.push_back(sample({{"le", le}}, n));
      return vector_answer(result);
    }
  }
  return json();
}

// Prometheus behind a tampering proxy: `tamper` rewrites the honest answer to some queries.
class TamperedPrometheus final : public backends::HttpTransport {
 public:
  std::function<void(Asked, json&)> tamper = [](Asked, json&) {};

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& req) override {
    const std::string q = testsupport::form_field(req.body, "query");
    const Asked asked = classify(q);
    json answer = honest(asked);
    tamper(asked, answer);
    backends::HttpResponse r;
    r.status = 200;
    r.body = answer.dump();
    return r;
  }
};

planner::Plan plan_with(const std::string& decision, const std::string& slo) {
  auto r = planner::parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\n"
                               "from: vm\nto: kube\nsteps: [50, 100]\nbake: 30m\ninterval: 30s\n"
                               "gates: {decision: " + decision + ", minRequests: 20, slos: [" + slo + "]}\n",
                               "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

const char* k_errors = "{name: errors, type: error-rate, max: 0.01}";
const char* k_latency = "{name: latency, type: latency, percentile: 99, max: 500ms}";
const char* k_slow = "{name: latency, type: latency, threshold: 500ms, maxSlowFraction: 0.05}";
const char* k_custom = "{name: custom, type: custom, query: 'sum(custom_metric{x=\"1\"})', max: 5}";

struct Shape {
  const char* name;
  const char* slo;
  std::function<void(Asked, json&)> tamper;
  planner::Verdict expected;
  const char* reason;  // a part of the verdict's reason
};

// Helpers that rewrite one kind of answer.
std::function<void(Asked, json&)> on(Asked which, std::function<void(json&)> f) {
  return [which, f](Asked asked, json& j) {
    if (asked == which) f(j);
  };
}
std::function<void(json&)> value(const std::string& v) {
  return [v](json& j) {
    for (auto& s : j["data"]["result"]) s["value"][1] = v;
  };
}
std::function<void(json&)> extra(const std::string& v) {
  return [v](json& j) { j["data"]["result"].push_back(sample({{"x", "y"}}, v)); };
}
std::function<void(json&)> warn(bool drop) {
  return [drop](json& j) {
    j["warnings"] = json::array({"partial response: some stores unavailable"});
    if (drop) j["data"]["result"] = json::array();
  };
}
std::function<void(json&)> empty() {
  return [](json& j) { j["data"]["result"] = json::array(); };
}
std::function<void(json&)> drop_le(std::vector<std::string> les) {
  return [les](json& j) {
    json kept = json::array();
    for (const auto& s : j["data"]["result"]) {
      if (std::find(les.begin(), les.end(), s["metric"]["le"].get<std::string>()) == les.end()) kept.push_back(s);
    }
    j["data"]["result"] = kept;
  };
}
std::function<void(json&)> set_le(const std::string& le, const std::string& count) {
  return [le, count](json& j) {
    for (auto& s : j["data"]["result"]) {
      if (s["metric"]["le"] == le) s["value"][1] = count;
    }
  };
}

std::vector<Shape> shapes() {
  using planner::Verdict;
  const auto all = [](std::function<void(json&)> f) { return [f](Asked, json& j) { f(j); }; };
  return {
      // Error rate: the 5xx count.
      {"5xx NaN", k_errors, on(Asked::Bad, value("NaN")), Verdict::Error, "the 5xx count is NaN"},
      {"5xx +Inf", k_errors, on(Asked::Bad, value("+Inf")), Verdict::Error, "the 5xx count is +Inf"},
      {"5xx Inf", k_errors, on(Asked::Bad, value("Inf")), Verdict::Error, "the 5xx count is +Inf"},
      {"5xx -Inf", k_errors, on(Asked::Bad, value("-Inf")), Verdict::Error, "the 5xx count is -Inf"},
      {"5xx negative", k_errors, on(Asked::Bad, value("-500")), Verdict::Error, "never negative"},
      {"5xx extra NaN sample", k_errors, on(Asked::Bad, extra("NaN")), Verdict::Error, "2 samples"},
      {"5xx extra negative sample", k_errors, on(Asked::Bad, extra("-100000")), Verdict::Error, "2 samples"},
      {"5xx partial and dropped", k_errors, on(Asked::Bad, warn(true)), Verdict::Error, "may be incomplete"},
      {"5xx partial, kept", k_errors, on(Asked::Bad, warn(false)), Verdict::Error, "partial response"},
      {"5xx as a scalar", k_errors,
       on(Asked::Bad,
          [](json& j) {
            j["data"] = {{"resultType", "scalar"}, {"result", {1.0, "0"}}};
          }),
       Verdict::Error, "asked for an instant vector"},
      {"5xx as a matrix", k_errors,
       on(Asked::Bad,
          [](json& j) {
            j["data"] = {{"resultType", "matrix"}, {"result", json::array()}};
          }),
       Verdict::Error, "matrix"},
      {"success without data", k_errors, on(Asked::Bad, [](json& j) { j.erase("data"); }), Verdict::Error,
       "without a result"},
      // Error rate: the response count.
      {"total NaN", k_errors, on(Asked::Total, value("NaN")), Verdict::Error, "the response count is NaN"},
      {"total +Inf", k_errors, on(Asked::Total, value("+Inf")), Verdict::Error, "the response count is +Inf"},
      {"total negative", k_errors, on(Asked::Total, value("-1000")), Verdict::Error, "never negative"},
      {"total with a bogus million", k_errors, on(Asked::Total, extra("1000000")), Verdict::Error, "2 samples"},
      {"an empty total replaced by a labelled bogus million", k_errors, on(Asked::Total, [](json& j) {
         j["data"]["result"] = json::array({sample({{"x", "y"}}, "1000000")});
       }),
       Verdict::Error, "a sample labelled {x=\"y\"}"},
      {"5xx with a label", k_errors, on(Asked::Bad, [](json& j) { j["data"]["result"][0]["metric"] = {{"pod", "a"}}; }),
       Verdict::Error, "without labels"},
      {"total partial", k_errors, on(Asked::Total, warn(false)), Verdict::Error, "may be incomplete"},
      {"5xx without any response", k_errors, on(Asked::Total, empty()), Verdict::Error, "the answers disagree"},
      // No data stays no data.
      {"both empty", k_errors, all(empty()), Verdict::Hold, "no requests in the window"},
      {"0 of 0", k_errors,
       [](Asked asked, json& j) {
         if (asked == Asked::Bad) j["data"]["result"] = json::array();
         if (asked == Asked::Total) j["data"]["result"][0]["value"][1] = "0";
       },
       Verdict::Hold, "no requests in the window"},
      // Latency histograms.
      {"no +Inf bucket", k_latency, on(Asked::Buckets, drop_le({"+Inf"})), Verdict::Error, "no +Inf bucket"},
      {"slow buckets and +Inf dropped", k_slow, on(Asked::Buckets, drop_le({"1000", "2500", "5000", "+Inf"})),
       Verdict::Error, "no +Inf bucket"},
      {"not cumulative", k_slow, on(Asked::Buckets, set_le("+Inf", "100")), Verdict::Error, "not cumulative"},
      {"bucket NaN", k_latency, on(Asked::Buckets, set_le("2500", "NaN")), Verdict::Error, "is NaN"},
      {"bucket -Inf", k_slow, on(Asked::Buckets, set_le("100", "-Inf")), Verdict::Error, "is -Inf"},
      {"bucket negative", k_slow, on(Asked::Buckets, set_le("100", "-50")), Verdict::Error, "never negative"},
      {"two buckets with one le", k_slow, on(Asked::Buckets, [](json& j) {
         j["data"]["result"].push_back(sample({{"le", "1000"}}, "1000"));
       }),
       Verdict::Error, "two buckets"},
      {"unreadable le", k_slow, on(Asked::Buckets, [](json& j) {
         j["data"]["result"].push_back(sample({{"le", "fast"}}, "10"));
       }),
       Verdict::Error, "unreadable bound"},
      {"bucket without le", k_slow, on(Asked::Buckets, [](json& j) {
         j["data"]["result"].push_back(sample(json::object(), "10"));
       }),
       Verdict::Error, "without an le label"},
      {"a bucket with another label", k_slow, on(Asked::Buckets, [](json& j) {
         j["data"]["result"][0]["metric"]["pod"] = "a";
       }),
       Verdict::Error, "keeps only le"},
      {"histogram partial", k_latency, on(Asked::Buckets, warn(false)), Verdict::Error, "may be incomplete"},
      {"histogram as a scalar", k_slow,
       on(Asked::Buckets,
          [](json& j) {
            j["data"] = {{"resultType", "scalar"}, {"result", {1.0, "0"}}};
          }),
       Verdict::Error, "asked for an instant vector"},
      {"histogram empty", k_latency, on(Asked::Buckets, empty()), Verdict::Hold, "no requests in the window"},
      // Custom SLOs.
      {"custom NaN", k_custom, on(Asked::Custom, value("NaN")), Verdict::Error, "returned NaN"},
      {"custom +Inf", k_custom, on(Asked::Custom, value("+Inf")), Verdict::Error, "+Inf"},
      {"custom -Inf", k_custom, on(Asked::Custom, value("-Inf")), Verdict::Error, "-Inf"},
      {"custom two samples", k_custom, on(Asked::Custom, extra("0")), Verdict::Error, "exactly one"},
      {"custom partial", k_custom, on(Asked::Custom, warn(false)), Verdict::Error, "may be incomplete"},
      {"custom string", k_custom,
       on(Asked::Custom,
          [](json& j) {
            j["data"] = {{"resultType", "string"}, {"result", {1.0, "ok"}}};
          }),
       Verdict::Error, "string"},
      {"custom empty", k_custom, on(Asked::Custom, empty()), Verdict::Hold, "no value"},
  };
}

}  // namespace

TEST_SUITE("metrics::doubt") {
  TEST_CASE("every untrustworthy answer is ERROR with its reason and counts toward maxHold") {
    const auto at = testsupport::utc(2026, 11, 25, 10, 0);
    for (const Shape& shape : shapes()) {
      for (const char* decision : {"threshold", "sequential"}) {
        CAPTURE(shape.name);
        CAPTURE(decision);
        TamperedPrometheus prom;
        prom.tamper = shape.tamper;
        metrics::PrometheusClient client("http://prometheus", prom);
        metrics::PrometheusGates gates(client);
        const planner::Plan p = plan_with(decision, shape.slo);
        const auto evaluations = gates.evaluate(p, at, at + 20min, 5000);
        REQUIRE(evaluations.size() == 1);
        const auto& g = evaluations[0];
        CHECK(g.verdict == shape.expected);
        CHECK(g.verdict != planner::Verdict::Pass);
        CHECK_MESSAGE(g.reason.find(shape.reason) != std::string::npos, g.reason);
        CHECK(g.reason.find("0 errors") == std::string::npos);
        CHECK(g.reason.find("error rate 0 ") == std::string::npos);
        if (shape.expected == planner::Verdict::Error) {
          CHECK_FALSE(g.value.has_value());
          CHECK(g.bound != 0);  // the SLO's bound, not 0
        }
        // It holds the ramp: the hold clock starts, no failure is counted, so maxHold decides.
        planner::MigrationState s;
        s.phase = planner::Phase::Ramping;
        s.step = 0;
        s = planner::record_evaluation(std::move(s), evaluations, at + 20min);
        CHECK(s.held_since.has_value());
        CHECK(s.consecutive_failures == 0);
      }
    }
  }

  TEST_CASE("the honest answers of the failing release FAIL, and a healthy complete answer still passes") {
    const auto at = testsupport::utc(2026, 11, 25, 10, 0);
    for (const char* slo : {k_errors, k_latency, k_slow, k_custom}) {
      CAPTURE(slo);
      TamperedPrometheus prom;
      metrics::PrometheusClient client("http://prometheus", prom);
      metrics::PrometheusGates gates(client);
      CHECK(gates.evaluate(plan_with("threshold", slo), at, at + 20min, 5000)[0].verdict == planner::Verdict::Fail);
    }
    // Envoy creates the 5xx counter on the first 5xx: an empty 5xx answer, complete, is zero errors.
    TamperedPrometheus prom;
    prom.tamper = on(Asked::Bad, empty());
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    const auto g = gates.evaluate(plan_with("threshold", k_errors), at, at + 20min, 5000);
    CHECK(g[0].verdict == planner::Verdict::Pass);
    // Rounding in increase() may make a higher bucket a hair smaller: that is not a broken histogram.
    TamperedPrometheus rounding;
    rounding.tamper = on(Asked::Buckets, set_le("+Inf", "999.9999999999"));
    metrics::PrometheusClient rclient("http://prometheus", rounding);
    metrics::PrometheusGates rgates(rclient);
    CHECK(rgates.evaluate(plan_with("threshold", k_slow), at, at + 20min, 5000)[0].verdict == planner::Verdict::Fail);
  }
}

TEST_SUITE("metrics::answer_checks") {
  TEST_CASE("a count is one finite, non-negative sample of an instant vector") {
    metrics::PromResult r;
    r.result_type = "vector";
    CHECK(metrics::read_count(r, "x").ok());
    CHECK_FALSE(metrics::read_count(r, "x")->has_value());
    r.samples.push_back({{}, 12});
    CHECK(**metrics::read_count(r, "x") == 12);
    r.samples.push_back({{}, 1});
    CHECK(metrics::read_count(r, "the 5xx count").error().message ==
          "the 5xx count: 2 samples where meshmove's sum(...) returns one; this is not the answer to its query");
    r.samples.pop_back();
    r.warnings.push_back("partial response");
    CHECK(metrics::read_count(r, "the 5xx count").error().message ==
          "Prometheus warned that the 5xx count may be incomplete (partial response); a partial answer is not judged");
  }

  TEST_CASE("a custom value may be a scalar, or a vector of at most one sample") {
    metrics::PromResult r;
    r.result_type = "scalar";
    r.samples.push_back({{}, -3});
    CHECK(**metrics::read_custom(r) == -3);  // a custom value may be negative
    r.result_type = "vector";
    CHECK(**metrics::read_custom(r) == -3);
  }
}

namespace {

// Prometheus as a function of the decoded PromQL: the answer's HTTP status and body.
class FunctionPrometheus final : public backends::HttpTransport {
 public:
  std::function<planner::Result<backends::HttpResponse>(const std::string&)> answer;
  std::vector<std::string> queries;

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& req) override {
    const std::string q = testsupport::form_field(req.body, "query");
    queries.push_back(q);
    return answer(q);
  }
};

planner::Result<backends::HttpResponse> ok_body(const json& j) {
  backends::HttpResponse r;
  r.status = 200;
  r.body = j.dump();
  return r;
}

planner::Plan preflight_plan(const std::string& slos) {
  auto r = planner::parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: billing\n"
                               "from: vm-env\nto: kube-env\ntagKey: env\nsteps: [50, 100]\nbake: 30m\ninterval: 30s\n"
                               "gates: {slos: [" + slos + "]}\n",
                               "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

}  // namespace

TEST_SUITE("metrics::preflight") {
  const auto at = testsupport::utc(2026, 11, 25, 10, 0);

  TEST_CASE("every gate's queries are sent once, and the from set's request series must exist") {
    FunctionPrometheus prom;
    prom.answer = [](const std::string&) { return ok_body(vector_answer(json::array({sample(json::object(), "3")}))); };
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    const auto p = preflight_plan(std::string(k_errors) + ", " + k_slow);
    CHECK(gates.preflight(p, at).ok());
    REQUIRE(prom.queries.size() == 4);  // 5xx, all responses, buckets, then the from set's series
    CHECK(prom.queries[3] ==
          "count(envoy_cluster_upstream_rq_xx{mesh=\"default\",kuma_io_services=~\".*,billing,.*\",env=\"vm-env\","
          "envoy_cluster_name=~\"localhost_.*\"})");
  }

  TEST_CASE("Prometheus not answering is Unavailable: try again later") {
    FunctionPrometheus prom;
    prom.answer = [](const std::string&) -> planner::Result<backends::HttpResponse> {
      return planner::make_error(planner::ErrorKind::Unavailable, "connection refused after 4 attempts");
    };
    metrics::PrometheusClient client("http://127.0.0.1:1", prom);
    metrics::PrometheusGates gates(client);
    const auto st = gates.preflight(preflight_plan(k_errors), at);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Unavailable);
    CHECK(st.error().message == "Prometheus at http://127.0.0.1:1 did not answer (connection refused after 4 "
                                "attempts); nothing was changed: try again later");
  }

  TEST_CASE("a refused query, a token refused, or a custom query with several samples is a plan problem") {
    FunctionPrometheus prom;
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    prom.answer = [](const std::string&) {
      backends::HttpResponse r;
      r.status = 400;
      r.body = R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})";
      return planner::Result<backends::HttpResponse>(r);
    };
    auto st = gates.preflight(preflight_plan(k_custom), at);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Invalid);
    CHECK(st.error().message.find("the gate 'custom' (to set) cannot be read: Prometheus: bad_data") == 0);
    CHECK(st.error().message.find("the query: sum(custom_metric{x=\"1\"})") != std::string::npos);
    prom.answer = [](const std::string&) {
      backends::HttpResponse r;
      r.status = 401;
      r.body = "Unauthorized";
      return planner::Result<backends::HttpResponse>(r);
    };
    st = gates.preflight(preflight_plan(k_errors), at);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Invalid);
    CHECK(st.error().message.find("HTTP 401 (unauthorized): check the token") != std::string::npos);
    prom.answer = [](const std::string&) {
      return ok_body(vector_answer(json::array({sample({{"pod", "a"}}, "1"), sample({{"pod", "b"}}, "2")})));
    };
    st = gates.preflight(preflight_plan(k_custom), at);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("the custom query returns 2 samples; it must return exactly one") !=
          std::string::npos);
  }

  TEST_CASE("a from-set selector that matches nothing names the matcher and the closest series") {
    FunctionPrometheus prom;
    prom.answer = [](const std::string& q) {
      if (q.rfind("count by (env)", 0) == 0) {
        return ok_body(vector_answer(json::array({sample({{"env", "vm-env2"}}, "3"), sample({{"env", "kube-env"}}, "2")})));
      }
      if (q.rfind("count", 0) == 0) return ok_body(vector_answer(json::array()));  // nothing else matches
      return ok_body(vector_answer(json::array()));
    };
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    const auto st = gates.preflight(preflight_plan(k_errors), at);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Invalid);
    CHECK(st.error().message ==
          "the from set has no request series in Prometheus: envoy_cluster_upstream_rq_xx{mesh=\"default\","
          "kuma_io_services=~\".*,billing,.*\",env=\"vm-env\",envoy_cluster_name=~\"localhost_.*\"} matches nothing; "
          "without env=\"vm-env\" series exist with env \"kube-env\", \"vm-env2\" (closest: \"vm-env2\")");
    SUBCASE("nothing at all: is Prometheus scraping the mesh?") {
      prom.answer = [](const std::string&) { return ok_body(vector_answer(json::array())); };
      const auto none = gates.preflight(preflight_plan(k_errors), at);
      REQUIRE_FALSE(none.ok());
      CHECK(none.error().message.find("is Prometheus scraping the dataplanes of mesh 'default'") != std::string::npos);
    }
  }

  TEST_CASE("a plan with custom SLOs only does not need the built-in request series") {
    FunctionPrometheus prom;
    prom.answer = [](const std::string&) { return ok_body(vector_answer(json::array())); };
    metrics::PrometheusClient client("http://prometheus", prom);
    metrics::PrometheusGates gates(client);
    CHECK(gates.preflight(preflight_plan(k_custom), at).ok());
    CHECK(prom.queries.size() == 1);
  }
}
