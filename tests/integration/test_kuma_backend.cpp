// The Kuma control plane backend against meshsim (which validates like Kuma, so acceptance proves the
// documents are valid): every route kind, ownership and drift, retries within bounds, errors.
#include <doctest/doctest.h>

#include <httplib.h>

#include <atomic>
#include <thread>

#include "backends/http_transport.hpp"
#include "backends/kuma_control_plane.hpp"
#include "backends/kuma_errors.hpp"
#include "cli/system_clock.hpp"
#include "planner/plan_parser.hpp"
#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"

using namespace meshmove;
using testsupport::Meshsim;

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 50
subsets:
  vm-env: {instances: 3, errorRate: 0, latency: {median: 10ms, p99: 50ms}, serviceName: apitier-vm_default_svc_5000}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}, serviceName: apitier-kube_default_svc_5000}
)";

planner::Plan make_plan(const std::string& url, const std::string& route, const std::string& extra = "") {
  const bool services = route == "mesh-service";
  const std::string text = std::string("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: apitier-to-kube}\n") +
                           "service: apitier_default_svc_5000\n" +
                           (services ? "from: apitier-vm_default_svc_5000\nto: apitier-kube_default_svc_5000\n"
                                     : "from: vm-env\nto: kube-env\n") +
                           "controlPlane: {url: '" + url + "', route: " + route + extra + "}\n" +
                           "steps: [10, 50, 100]\n"
                           "gates: {slos: [{name: errors, type: error-rate, max: 0.01}]}\n";
  auto r = planner::parse_plan(text, "test.yaml");
  REQUIRE_MESSAGE(r.ok(), (r.diagnostics.empty() ? "" : planner::format_diagnostic(r.diagnostics[0])));
  return *r.plan;
}

struct Fixture {
  cli::SystemClock clock;
  std::vector<int> statuses;
  std::unique_ptr<backends::HttpTransport> transport;
  std::unique_ptr<planner::ControlPlane> cp;
  planner::Plan plan;

  Fixture(const std::string& url, const std::string& route, backends::TransportConfig config = {},
          const std::string& extra = "")
      : plan(make_plan(url, route, extra)) {
    config.on_response = [this](int s) { statuses.push_back(s); };
    transport = backends::make_curl_transport(config, clock);
    cp = backends::make_kuma_control_plane(plan, *transport);
  }
};

}  // namespace

TEST_SUITE("integration::kuma") {
  TEST_CASE("every route kind round-trips through a Kuma-validating API") {
    Meshsim sim(k_scenario);
    for (const char* route : {"mesh-http-route", "mesh-tcp-route", "traffic-route", "mesh-service"}) {
      INFO("route: " << route);
      // mesh-http-route and mesh-service both write MeshHTTPRoutes: give the second its own name.
      const bool services = std::string(route) == "mesh-service";
      Fixture f(sim.api_url(), route, {}, services ? ", policyName: meshmove-apitier-services" : "");
      auto live = f.cp->read();
      REQUIRE_MESSAGE(live.ok(), (live.ok() ? "" : live.error().message));
      CHECK(live->ownership == planner::Ownership::Absent);
      for (int weight : {0, 2500, 10000, 1250}) {
        auto w = f.cp->write({weight, "apitier-to-kube", weight / 2500});
        REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
        CHECK(w->to_weight == weight);
        CHECK(w->ownership == planner::Ownership::Ours);
        CHECK(w->step == weight / 2500);
      }
      // meshsim routes by the policy in effect; with several kinds present the most preferred one wins,
      // so check the traffic only for the kind that is alone so far.
      if (std::string(route) == "mesh-http-route") {
        CHECK(sim.wait_for_state([](const nlohmann::json& s) {
          return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(12.5);
        }, std::chrono::seconds(10)));
      }
    }
  }

  TEST_CASE("a foreign policy is never overwritten silently") {
    Meshsim sim(k_scenario);
    Fixture f(sim.api_url(), "mesh-http-route");
    const auto doc = nlohmann::json::parse(f.cp->render({3000, "x", 1}));
    auto foreign = doc;
    foreign.erase("labels");
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000", foreign.dump()).status == 201);
    auto live = f.cp->read();
    REQUIRE(live.ok());
    CHECK(live->ownership == planner::Ownership::Foreign);
    CHECK(live->to_weight == 3000);
    auto refusal = planner::check_write_allowed(*live, std::nullopt, false, "apitier-to-kube");
    REQUIRE(refusal.has_value());
    CHECK(refusal->kind == planner::ErrorKind::Conflict);
    CHECK(refusal->message.find("--adopt") != std::string::npos);
    CHECK(refusal->message.find("30%") != std::string::npos);
    CHECK_FALSE(planner::check_write_allowed(*live, std::nullopt, true, "apitier-to-kube").has_value());

    auto other = doc;
    other["labels"]["meshmove.io/migration"] = "someone-else";
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000", other.dump()).status == 200);
    live = f.cp->read();
    REQUIRE(live.ok());
    CHECK(live->ownership == planner::Ownership::OtherMigration);
    refusal = planner::check_write_allowed(*live, std::nullopt, false, "apitier-to-kube");
    REQUIRE(refusal.has_value());
    CHECK(refusal->message.find("someone-else") != std::string::npos);
  }

  TEST_CASE("drift: weights changed behind meshmove's back are reported with both values") {
    Meshsim sim(k_scenario);
    Fixture f(sim.api_url(), "mesh-http-route");
    REQUIRE(f.cp->write({2500, "apitier-to-kube", 2}).ok());
    auto changed = nlohmann::json::parse(f.cp->render({4000, "apitier-to-kube", 2}));
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000", changed.dump()).status == 200);
    auto live = f.cp->read();
    REQUIRE(live.ok());
    CHECK(live->to_weight == 4000);
    auto drift = planner::check_write_allowed(*live, 2500, false, "apitier-to-kube");
    REQUIRE(drift.has_value());
    CHECK(drift->message.find("40%") != std::string::npos);
    CHECK(drift->message.find("25%") != std::string::npos);
    CHECK(drift->message.find("--adopt") != std::string::npos);
    // A deleted policy is drift too.
    REQUIRE(sim.api("DELETE", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000").status == 200);
    live = f.cp->read();
    REQUIRE(live.ok());
    drift = planner::check_write_allowed(*live, 2500, false, "apitier-to-kube");
    REQUIRE(drift.has_value());
    CHECK(drift->message.find("gone") != std::string::npos);
  }

  TEST_CASE("pre-flight counts the instances of each set") {
    Meshsim sim(k_scenario);
    Fixture f(sim.api_url(), "mesh-http-route");
    auto report = f.cp->preflight();
    REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
    CHECK(report->from_instances == 3);
    CHECK(report->to_instances == 2);
    CHECK(report->version == "2.14.3");
    Fixture services(sim.api_url(), "mesh-service");
    report = services.cp->preflight();
    REQUIRE(report.ok());
    CHECK(report->from_instances == 3);
    CHECK(report->to_instances == 2);
  }

  TEST_CASE("a missing mesh is named") {
    Meshsim sim(k_scenario);
    auto plan = make_plan(sim.api_url(), "mesh-http-route");
    plan.mesh = "payments";
    cli::SystemClock clock;
    auto transport = backends::make_curl_transport({}, clock);
    auto cp = backends::make_kuma_control_plane(plan, *transport);
    auto live = cp->read();
    REQUIRE_FALSE(live.ok());
    CHECK(live.error().kind == planner::ErrorKind::NotFound);
    CHECK(live.error().message.find("mesh 'payments' does not exist") != std::string::npos);
  }

  TEST_CASE("503 bursts, delays and refused connections are retried within bounds") {
    Meshsim sim(k_scenario);
    backends::TransportConfig config;
    config.retry.max_attempts = 8;
    config.retry.max_total = std::chrono::seconds(20);
    config.retry.initial_backoff = std::chrono::milliseconds(200);
    config.retry.max_backoff = std::chrono::seconds(2);
    config.request_timeout = std::chrono::seconds(2);

    SUBCASE("a 503 burst") {
      Fixture f(sim.api_url(), "mesh-http-route", config);
      sim.inject({{"controlPlane", {{"status", 503}, {"for", "1500ms"}}}});
      REQUIRE(sim.wait_for_state([](const nlohmann::json& s) { return !s["firedEvents"].empty(); }, std::chrono::seconds(5)));
      const auto t0 = std::chrono::steady_clock::now();
      auto w = f.cp->write({1000, "apitier-to-kube", 0});
      const auto took = std::chrono::steady_clock::now() - t0;
      REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
      CHECK(std::count(f.statuses.begin(), f.statuses.end(), 503) >= 1);
      CHECK(took < std::chrono::seconds(20));
    }
    SUBCASE("a long outage gives up after the budget with a clear message") {
      backends::TransportConfig short_budget = config;
      short_budget.retry.max_attempts = 3;
      Fixture f(sim.api_url(), "mesh-http-route", short_budget);
      sim.inject({{"controlPlane", {{"status", 503}, {"for", "60s"}}}});
      REQUIRE(sim.wait_for_state([](const nlohmann::json& s) { return !s["firedEvents"].empty(); }, std::chrono::seconds(5)));
      auto live = f.cp->read();
      REQUIRE_FALSE(live.ok());
      CHECK(live.error().kind == planner::ErrorKind::Unavailable);
      CHECK(live.error().message.find("after 3 attempts") != std::string::npos);
      CHECK(live.error().message.find("HTTP 503") != std::string::npos);
      CHECK(f.statuses.size() == 3);
    }
    SUBCASE("refused connections, then recovery") {
      Fixture f(sim.api_url(), "mesh-http-route", config);
      sim.inject({{"controlPlane", {{"down", true}, {"for", "1500ms"}}}});
      REQUIRE(sim.wait_for_state([](const nlohmann::json& s) { return !s["firedEvents"].empty(); }, std::chrono::seconds(5)));
      auto w = f.cp->write({1000, "apitier-to-kube", 0});
      REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
      CHECK(std::count(f.statuses.begin(), f.statuses.end(), 0) >= 1);
    }
    SUBCASE("a slow control plane times out and is retried") {
      Fixture f(sim.api_url(), "mesh-http-route", config);
      sim.inject({{"controlPlane", {{"delay", "3s"}, {"for", "2s"}}}});
      REQUIRE(sim.wait_for_state([](const nlohmann::json& s) { return !s["firedEvents"].empty(); }, std::chrono::seconds(5)));
      auto w = f.cp->write({1000, "apitier-to-kube", 0});
      REQUIRE_MESSAGE(w.ok(), (w.ok() ? "" : w.error().message));
      CHECK(std::count(f.statuses.begin(), f.statuses.end(), 0) >= 1);  // a timeout
    }
  }

  TEST_CASE("a 400 is not retried and names the field and reason") {
    Meshsim sim(k_scenario);
    cli::SystemClock clock;
    int calls = 0;
    backends::TransportConfig config;
    config.on_response = [&calls](int) { ++calls; };
    auto transport = backends::make_curl_transport(config, clock);
    backends::HttpRequest req;
    req.method = "PUT";
    req.url = sim.api_url() + "/meshes/default/meshhttproutes/bad";
    req.body = R"({"type":"MeshHTTPRoute","mesh":"default","name":"bad","spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"x"},"rules":[{"default":{"backendRefs":[{"kind":"MeshServiceSubset","name":"x","weight":1}]}}]}]}})";
    auto r = transport->send(req);
    REQUIRE(r.ok());
    CHECK(r->status == 400);
    CHECK(calls == 1);
    planner::Plan plan = make_plan(sim.api_url(), "mesh-http-route");
    const auto e = backends::kuma_error(*r, "PUT /meshes/default/meshhttproutes/bad", plan);
    CHECK(e.message.find("spec.to[0].rules[0].matches") != std::string::npos);
  }
}
