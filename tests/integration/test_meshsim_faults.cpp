// Control-plane outages of meshsim over real sockets: error bursts, slow answers, refused connections,
// and recovery. Faults are injected at run time (POST /_sim/events) or by the scenario's clock; every wait
// is for a condition, with generous deadlines for a slow machine.
#include <doctest/doctest.h>

#include "tests/support/meshsim.hpp"

using namespace meshmove::testsupport;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* k_scenario = R"(
service: api_default_svc_5000
rps: 50
subsets: {vm-env: {instances: 1}, kube-env: {instances: 1}}
)";

HttpOptions quick() {
  HttpOptions o;
  o.timeout = 5s;
  return o;
}

}  // namespace

TEST_SUITE("meshsim") {
  TEST_CASE("an injected 503 burst answers std-errors, spares /_sim, and ends") {
    Meshsim sim(k_scenario);
    sim.inject(json::parse(R"({"controlPlane": {"status": 503, "for": "5s"}})"));
    HttpResponse r;
    REQUIRE(
        wait_until([&] { return (r = http_get(sim.api_url() + "/meshes", quick())).status == 503; }, 15s));
    const json body = r.json();
    CHECK(body["type"] == "/std-errors");
    CHECK(body["status"] == 503);
    CHECK(body["title"] == "Service unavailable");
    CHECK(http_get(sim.api_url() + "/_sim/state", quick()).status == 200);
    CHECK(http_request("PUT", sim.api_url() + "/meshes/default/meshhttproutes/x", "{}", quick()).status ==
          503);
    CHECK(wait_until([&] { return http_get(sim.api_url() + "/meshes", quick()).status == 200; }, 20s));
    CHECK(sim.state()["firedEvents"][0]["description"] == "injected: control plane status 503 for 5s");
  }

  TEST_CASE("an injected delay slows every API answer for its duration") {
    Meshsim sim(k_scenario);
    sim.inject(json::parse(R"({"controlPlane": {"delay": "1500ms", "for": "4s"}})"));
    auto timed = [&] {
      const auto start = Clock::now();
      const int status = http_get(sim.api_url() + "/", quick()).status;
      return std::make_pair(status, Clock::now() - start);
    };
    CHECK(wait_until([&] { return timed().second >= 1400ms; }, 15s));
    CHECK(wait_until(
        [&] {
          const auto [status, took] = timed();
          return status == 200 && took < 1000ms;
        },
        20s));
  }

  TEST_CASE("down refuses connections, then the API comes back on the same port") {
    Meshsim sim(k_scenario);
    const std::string url = sim.api_url() + "/";
    REQUIRE(http_get(url, quick()).status == 200);
    sim.inject(json::parse(R"({"controlPlane": {"down": true, "for": "5s"}})"));
    HttpResponse refused;
    REQUIRE(wait_until([&] { return (refused = http_get(url, quick())).status == 0; }, 15s));
    CHECK(refused.error.find("Connection") != std::string::npos);
    CHECK(sim.state()["controlPlane"]["down"] == true);  // the metrics address stays up
    CHECK(wait_until([&] { return http_get(url, quick()).status == 200; }, 20s));
    CHECK(sim.state()["controlPlane"]["down"] == false);
  }

  TEST_CASE("scenario events fire by the scenario's clock") {
    Meshsim sim(R"(
service: api_default_svc_5000
rps: 50
subsets: {vm-env: {instances: 1}}
events:
  - {at: 1s, controlPlane: {status: 500, for: 1s}}
)");
    CHECK(wait_until([&] { return http_get(sim.api_url() + "/", quick()).status == 500; }, 15s));
    CHECK(wait_until([&] { return http_get(sim.api_url() + "/", quick()).status == 200; }, 15s));
    const json fired = sim.state()["firedEvents"];
    REQUIRE(fired.size() == 1);
    CHECK(fired[0]["index"] == 0);
    CHECK(fired[0]["simTime"] == 1.0);
  }
}
