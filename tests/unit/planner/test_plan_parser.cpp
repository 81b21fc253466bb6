// Plan parsing and validation: every broken plan names the file, line, field and the fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "planner/plan_parser.hpp"

using meshmove::planner::Diagnostic;
using meshmove::planner::parse_plan;
using meshmove::planner::Severity;

namespace {

// Line numbers below refer to this plan.
const std::vector<std::string> k_base = {
    "apiVersion: meshmove/v1",                                         // 1
    "kind: Migration",                                                 // 2
    "metadata:",                                                       // 3
    "  name: apitier-to-kube",                                         // 4
    "service: apitier_default_svc_5000",                               // 5
    "mesh: default",                                                   // 6
    "tagKey: env",                                                     // 7
    "from: vm-env",                                                    // 8
    "to: kube-env",                                                    // 9
    "controlPlane:",                                                   // 10
    "  type: kuma",                                                    // 11
    "  url: http://127.0.0.1:5681",                                    // 12
    "  route: mesh-http-route",                                        // 13
    "steps: [1, 5, 25, 50, 100]",                                      // 14
    "bake: 10m",                                                       // 15
    "interval: 30s",                                                   // 16
    "settle: 30s",                                                     // 17
    "windows:",                                                        // 18
    "  timezone: Europe/Berlin",                                       // 19
    "  allow: [\"Mon-Fri 09:00-17:00\"]",                              // 20
    "gates:",                                                          // 21
    "  prometheus:",                                                   // 22
    "    url: http://127.0.0.1:9090",                                  // 23
    "  minRequests: 200",                                              // 24
    "  slos:",                                                         // 25
    "    - {name: errors, type: error-rate, max: 0.01}",               // 26
    "    - {name: latency, type: latency, percentile: 99, max: 500ms}",  // 27
    "rollback:",                                                       // 28
    "  mode: immediate",                                               // 29
};

// An edit of the base plan: replace line `line` (1-based) with `text` (which may hold several lines,
// or be empty to delete it); with `insert`, add `text` after line `line` instead.
struct Edit {
  int line;
  std::string text;
  bool insert = false;
};

std::string build(const std::vector<Edit>& edits) {
  std::vector<std::string> lines = k_base;
  // Apply from the bottom so that line numbers of later edits refer to the base plan.
  std::vector<Edit> sorted = edits;
  std::sort(sorted.begin(), sorted.end(), [](const Edit& a, const Edit& b) { return a.line > b.line; });
  for (const auto& e : sorted) {
    const auto at = lines.begin() + e.line - (e.insert ? 0 : 1);
    if (e.insert) {
      lines.insert(at, e.text);
    } else if (e.text.empty()) {
      lines.erase(at);
    } else {
      *at = e.text;
    }
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string dump(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += "  " + meshmove::planner::format_diagnostic(d) + "\n";
  return out;
}

// Asserts that parsing fails with an error at `field` on `line` whose message contains `needle`.
void expect_error(const std::string& text, const std::string& field, int line, const std::string& needle) {
  const auto r = parse_plan(text, "plan.yaml");
  INFO("diagnostics:\n" << dump(r.diagnostics));
  CHECK_FALSE(r.ok());
  bool found = false;
  for (const auto& d : r.diagnostics) {
    if (d.severity == Severity::Error && d.field == field && d.line == line && d.file == "plan.yaml" &&
        d.message.find(needle) != std::string::npos && d.column > 0) {
      found = true;
    }
  }
  CHECK_MESSAGE(found, "expected an error at plan.yaml:" << line << " field " << field << " containing '" << needle
                                                         << "'");
}

struct Case {
  const char* what;
  std::vector<Edit> edits;
  const char* field;
  int line;
  const char* needle;
};

}  // namespace

TEST_SUITE("planner::plan_parser") {
  TEST_CASE("the base plan is valid and fields are typed") {
    const auto r = parse_plan(build({}), "plan.yaml");
    INFO(dump(r.diagnostics));
    REQUIRE(r.ok());
    const auto& p = *r.plan;
    CHECK(p.name == "apitier-to-kube");
    CHECK(p.steps == std::vector<int>{100, 500, 2500, 5000, 10000});
    CHECK(p.bake == std::chrono::minutes(10));
    CHECK(p.gates.slos.size() == 2);
    CHECK(p.gates.slos[1].max == doctest::Approx(500.0));  // milliseconds
    CHECK(p.gates.slos[1].percentile == doctest::Approx(99.0));
    CHECK(p.gates.min_requests == 200);
    CHECK(p.windows.timezone == "Europe/Berlin");
    CHECK(meshmove::planner::policy_name(p) == "meshmove-apitier-default-svc-5000");
  }

  TEST_CASE("defaults apply to fields that are left out") {
    const auto r = parse_plan(build({{10, ""}, {11, ""}, {12, ""}, {13, ""}, {15, ""}, {16, ""}, {17, ""}, {18, ""},
                                     {19, ""}, {20, ""}, {22, ""}, {23, ""}, {24, ""}, {28, ""}, {29, ""}, {6, ""}, {7, ""}}),
                              "plan.yaml");
    INFO(dump(r.diagnostics));
    REQUIRE(r.ok());
    const auto& p = *r.plan;
    CHECK(p.mesh == "default");
    CHECK(p.tag_key == "env");
    CHECK(p.control_plane.url == "http://127.0.0.1:5681");
    CHECK(p.control_plane.route == meshmove::planner::RouteKind::MeshHttpRoute);
    CHECK(p.bake == std::chrono::minutes(5));
    CHECK(p.interval == std::chrono::seconds(30));
    CHECK(p.settle == std::chrono::seconds(30));
    CHECK(p.windows.timezone == "UTC");
    CHECK(p.gates.prometheus.url == "http://127.0.0.1:9090");
    CHECK(p.gates.min_requests == 100);
    CHECK(p.gates.on_no_data == meshmove::planner::NoDataAction::Hold);
    CHECK(p.gates.failure_limit == 2);
    CHECK(p.gates.decision == meshmove::planner::DecisionMode::Sequential);
    CHECK(p.gates.confidence == doctest::Approx(0.99));
    CHECK(p.rollback.mode == meshmove::planner::RollbackMode::Immediate);
  }

  TEST_CASE("stepWeight and maxWeight expand into steps") {
    SUBCASE("to 100") {
      const auto r = parse_plan(build({{14, "stepWeight: 30"}}), "plan.yaml");
      REQUIRE(r.ok());
      CHECK(r.plan->steps == std::vector<int>{3000, 6000, 9000, 10000});
    }
    SUBCASE("hold at a share below 100") {
      const auto r = parse_plan(build({{14, "stepWeight: 30\nmaxWeight: 90"}}), "plan.yaml");
      REQUIRE(r.ok());
      CHECK(r.plan->steps == std::vector<int>{3000, 6000, 9000});
      CHECK(r.plan->final_weight() == 9000);
    }
    SUBCASE("fractional percentages become basis points") {
      const auto r = parse_plan(build({{14, "steps: [0.5, 1.25, 100]"}}), "plan.yaml");
      REQUIRE(r.ok());
      CHECK(r.plan->steps == std::vector<int>{50, 125, 10000});
    }
  }

  TEST_CASE("each broken plan names the field, the line and the fix") {
    const std::string long_name(64, 'a');
    const std::vector<Case> cases = {
        {"wrong apiVersion", {{1, "apiVersion: meshmove/v2"}}, "apiVersion", 1, "meshmove/v1"},
        {"wrong kind", {{2, "kind: Rollout"}}, "kind", 2, "Migration"},
        {"name not RFC 1123", {{4, "  name: Apitier_To_Kube"}}, "metadata.name", 4, "RFC 1123"},
        {"name too long", {{4, "  name: " + long_name}}, "metadata.name", 4, "1-63"},
        {"metadata missing", {{3, ""}, {4, ""}}, "metadata", 1, "missing required field 'metadata'"},
        {"service missing", {{5, ""}}, "service", 1, "missing required field 'service'"},
        {"from equals to", {{8, "from: kube-env"}}, "to", 9, "two different instance sets"},
        {"unknown field with hint", {{7, "tagkey: env"}}, "tagkey", 7, "did you mean 'tagKey'?"},
        {"empty to", {{9, "to: \"\""}}, "to", 9, "must not be empty"},
        {"to with a space", {{9, "to: kube env"}}, "to", 9, "may only contain"},
        {"to is a boolean", {{9, "to: true"}}, "to", 9, "quote it"},
        {"mesh not RFC 1123", {{6, "mesh: Default"}}, "mesh", 6, "RFC 1123"},
        {"duplicate field", {{9, "from: other", true}}, "from", 10, "duplicate field"},
        {"unsupported control plane", {{11, "  type: consul"}}, "controlPlane.type", 11, "not supported"},
        {"unknown control plane", {{11, "  type: istio"}}, "controlPlane.type", 11, "is not one of: kuma"},
        {"url without scheme", {{12, "  url: 127.0.0.1:5681"}}, "controlPlane.url", 12, "http://"},
        {"credentials in url", {{12, "  url: http://admin:pw@127.0.0.1:5681"}}, "controlPlane.url", 12, "credentials"},
        {"route typo", {{13, "  route: mesh-http-rout"}}, "controlPlane.route", 13, "did you mean 'mesh-http-route'?"},
        {"inline token", {{13, "  token: abc123", true}}, "controlPlane.token", 14, "tokenFile"},
        {"cert without key", {{13, "  certFile: /etc/c.pem", true}}, "controlPlane.certFile", 14, "keyFile"},
        {"bad policy name", {{13, "  policyName: Meshmove_X", true}}, "controlPlane.policyName", 14, "RFC 1123"},
        {"timeout without unit", {{13, "  timeout: 5", true}}, "controlPlane.timeout", 14, "no unit"},
        {"steps not increasing", {{14, "steps: [5, 1, 100]"}}, "steps[1]", 14, "strictly increasing"},
        {"step of zero", {{14, "steps: [0, 50, 100]"}}, "steps[0]", 14, "(0, 100]"},
        {"step above 100", {{14, "steps: [10, 50, 150]"}}, "steps[2]", 14, "(0, 100]"},
        {"final step below 100", {{14, "steps: [10, 50]"}}, "steps[1]", 14, "end at 100"},
        {"three decimals", {{14, "steps: [10.555, 100]"}}, "steps[0]", 14, "two decimals"},
        {"empty steps", {{14, "steps: []"}}, "steps", 14, "empty"},
        {"steps not a list", {{14, "steps: 50"}}, "steps", 14, "expected a list"},
        {"quoted step", {{14, "steps: [\"10\", 100]"}}, "steps[0]", 14, "remove the quotes"},
        {"no steps at all", {{14, ""}}, "steps", 1, "stepWeight + maxWeight"},
        {"steps and stepWeight", {{14, "stepWeight: 10", true}}, "stepWeight", 15, "not both"},
        {"maxWeight alone", {{14, "maxWeight: 50"}}, "maxWeight", 14, "needs stepWeight"},
        {"stepWeight above maxWeight", {{14, "stepWeight: 60\nmaxWeight: 50"}}, "stepWeight", 14, "larger than"},
        {"bake without unit", {{15, "bake: 10"}}, "bake", 15, "no unit"},
        {"bake in words", {{15, "bake: ten minutes"}}, "bake", 15, "Prometheus syntax"},
        {"bake is a boolean", {{15, "bake: true"}}, "bake", 15, "expected a duration"},
        {"interval too short", {{16, "interval: 500ms"}}, "interval", 16, "at least 1s"},
        {"negative settle", {{17, "settle: -5s"}}, "settle", 17, "Prometheus syntax"},
        {"unknown time zone", {{19, "  timezone: Europe/Berln"}}, "windows.timezone", 19, "did you mean \"Europe/Berlin\"?"},
        {"bad allow window", {{20, "  allow: [\"Mon-Fry 09:00-17:00\"]"}}, "windows.allow[0]", 20, "Mon-Fri 09:00-17:00"},
        {"empty allow window", {{20, "  allow: [\"Mon 09:00-09:00\"]"}}, "windows.allow[0]", 20, "24:00"},
        {"impossible freeze date", {{20, "  freeze: [\"2026-02-30/2026-03-01\"]", true}}, "windows.freeze[0]", 21, "2026-02-30"},
        {"freeze ends before it starts", {{20, "  freeze: [\"2026-03-05/2026-03-01\"]", true}}, "windows.freeze[0]", 21, "before"},
        {"windows not a map", {{18, "windows: always"}, {19, ""}, {20, ""}}, "windows", 18, "expected a mapping"},
        {"quoted minRequests", {{24, "  minRequests: \"200\""}}, "gates.minRequests", 24, "remove the quotes"},
        {"negative minRequests", {{24, "  minRequests: -1"}}, "gates.minRequests", 24, "negative"},
        {"fractional minRequests", {{24, "  minRequests: 2.5"}}, "gates.minRequests", 24, "whole number"},
        {"confidence above 1", {{24, "  confidence: 1.5", true}}, "gates.confidence", 25, "between 0.5 and 0.9999"},
        {"failureLimit zero", {{24, "  failureLimit: 0", true}}, "gates.failureLimit", 25, "at least 1"},
        {"unknown onNoData", {{24, "  onNoData: skip", true}}, "gates.onNoData", 25, "hold, fail, pass"},
        {"unknown decision", {{24, "  decision: bayesian", true}}, "gates.decision", 25, "sequential, threshold"},
        {"breachFactor of 1", {{24, "  breachFactor: 1", true}}, "gates.breachFactor", 25, "greater than 1"},
        {"inline prometheus token", {{23, "    token: abc", true}}, "gates.prometheus.token", 24, "tokenFile"},
        {"inline basic-auth password", {{23, "    basicAuth: {username: u, password: pw}", true}},
         "gates.prometheus.basicAuth.password", 24, "passwordFile"},
        {"error rate above 1", {{26, "    - {name: errors, type: error-rate, max: 2}"}}, "gates.slos[0].max", 26,
         "fraction"},
        {"error rate as duration", {{26, "    - {name: errors, type: error-rate, max: 5s}"}}, "gates.slos[0].max", 26,
         "not a duration"},
        {"error rate without max", {{26, "    - {name: errors, type: error-rate}"}}, "gates.slos[0]", 26, "needs max"},
        {"latency without bound", {{27, "    - {name: latency, type: latency}"}}, "gates.slos[1]", 27,
         "needs a bound"},
        {"latency percentile without max", {{27, "    - {name: latency, type: latency, percentile: 99}"}},
         "gates.slos[1]", 27, "needs max"},
        {"percentile of 100", {{27, "    - {name: latency, type: latency, percentile: 100, max: 5ms}"}},
         "gates.slos[1].percentile", 27, "between 0 and 100"},
        {"latency bound as words", {{27, "    - {name: latency, type: latency, percentile: 99, max: fast}"}},
         "gates.slos[1].max", 27, "expected a number"},
        {"threshold without fraction", {{27, "    - {name: slow, type: latency, threshold: 300ms}"}}, "gates.slos[1]",
         27, "needs maxSlowFraction"},
        {"both latency forms", {{27, "    - {name: l, type: latency, percentile: 99, max: 1s, threshold: 1s, maxSlowFraction: 0.1}"}},
         "gates.slos[1]", 27, "not both"},
        {"duplicate SLO name", {{27, "    - {name: errors, type: latency, percentile: 99, max: 500ms}"}},
         "gates.slos[1].name", 27, "already used"},
        {"unknown query variable", {{27, "    - {name: c, query: 'sum(x{a=\"{{servce}}\"})', max: 5}"}},
         "gates.slos[1].query", 27, "did you mean {{service}}?"},
        {"unclosed query variable", {{27, "    - {name: c, query: 'sum(x{a=\"{{service\"})', max: 5}"}},
         "gates.slos[1].query", 27, "unclosed"},
        {"custom query without bound", {{27, "    - {name: c, query: 'sum(x)'}"}}, "gates.slos[1]", 27,
         "max and/or min"},
        {"custom query with a type", {{27, "    - {name: c, type: latency, query: 'sum(x)', max: 1}"}},
         "gates.slos[1].query", 27, "cannot be combined"},
        {"relative without maxIncrease", {{27, "    - {name: rel, type: error-rate, relativeTo: from}"}},
         "gates.slos[1]", 27, "needs maxIncrease"},
        {"relative to something else", {{27, "    - {name: rel, type: error-rate, relativeTo: vms, maxIncrease: 0.1}"}},
         "gates.slos[1].relativeTo", 27, "'from'"},
        {"SLO with neither type nor query", {{27, "    - {name: what}"}}, "gates.slos[1]", 27, "needs a type"},
        {"SLO field typo", {{27, "    - {nme: lat, type: latency, percentile: 99, max: 1s}"}}, "gates.slos[1].nme",
         27, "did you mean 'name'?"},
        {"no SLOs", {{25, "  slos: []"}, {26, ""}, {27, ""}}, "gates.slos", 25, "at least one SLO"},
        {"slos missing", {{25, ""}, {26, ""}, {27, ""}}, "gates.slos", 22, "missing required field 'slos'"},
        {"gates missing", {{21, ""}, {22, ""}, {23, ""}, {24, ""}, {25, ""}, {26, ""}, {27, ""}}, "gates", 1,
         "without SLO gates"},
        {"unknown rollback mode", {{29, "  mode: gradual"}}, "rollback.mode", 29, "immediate, stepped"},
        {"webhook with url and urlFile", {{29, "notify:\n  - webhook: {url: 'http://x', urlFile: /f}", true}},
         "notify[0].webhook", 31, "exactly one"},
        {"notify without webhook", {{29, "notify:\n  - events: [rollback]", true}}, "notify[0].webhook", 31,
         "missing required field 'webhook'"},
        {"notify event typo", {{29, "notify:\n  - webhook: {urlFile: /f}\n    events: [rolback]", true}},
         "notify[0].events[0]", 32, "did you mean 'rollback'?"},
    };
    CHECK(cases.size() >= 40);
    for (const auto& c : cases) {
      INFO("case: " << c.what);
      expect_error(build(c.edits), c.field, c.line, c.needle);
    }
  }

  TEST_CASE("a window error points at the bad part of the entry") {
    const auto r = parse_plan(build({{20, "  allow: [\"Mon-Fri 09:00-17:0x\"]"}}), "plan.yaml");
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].line == 20);
    CHECK(r.diagnostics[0].column == 29);  // the '0' of "0x"
  }

  TEST_CASE("an inline secret is never echoed") {
    const auto r = parse_plan(build({{13, "  token: s3cr3t-VALUE", true}}), "plan.yaml");
    CHECK_FALSE(r.ok());
    for (const auto& d : r.diagnostics) CHECK(d.message.find("s3cr3t-VALUE") == std::string::npos);
  }

  TEST_CASE("all problems are collected, in file order") {
    const auto r = parse_plan(build({{4, "  name: Bad_Name"}, {15, "bake: 10"}, {26, "    - {name: e, type: error-rate}"}}),
                              "plan.yaml");
    CHECK_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 3);
    CHECK(r.diagnostics[0].line == 4);
    CHECK(r.diagnostics[1].line == 15);
    CHECK(r.diagnostics[2].line == 26);
  }

  TEST_CASE("warnings do not make a plan invalid") {
    const auto r = parse_plan(build({{13, "  insecureSkipVerify: true", true}}), "plan.yaml");
    REQUIRE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].severity == Severity::Warning);
    CHECK(r.diagnostics[0].field == "controlPlane.insecureSkipVerify");
  }
}
