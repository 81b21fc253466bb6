// build/meshsim as a process: its command line, and Kuma API conformance over real HTTP(S).
#include <doctest/doctest.h>

#include <signal.h>

#include <sstream>

#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"

using namespace meshmove::testsupport;
using nlohmann::json;

namespace {

constexpr const char* k_scenario = R"(
service: api_default_svc_5000
rps: 200
subsets:
  vm-env: {instances: 3}
  kube-env: {instances: 2}
)";

RunOptions with_timeout(std::chrono::milliseconds timeout) {
  RunOptions o;
  o.timeout = timeout;
  return o;
}

std::string route(const std::string& name, int vm, int kube) {
  return R"({"type":"MeshHTTPRoute","mesh":"default","name":")" + name +
         R"(","spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"api_default_svc_5000"},)"
         R"("rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[)"
         R"({"kind":"MeshServiceSubset","name":"api_default_svc_5000","tags":{"env":"vm-env"},"weight":)" +
         std::to_string(vm) +
         R"(},{"kind":"MeshServiceSubset","name":"api_default_svc_5000","tags":{"env":"kube-env"},"weight":)" +
         std::to_string(kube) + "}]}}]}]}}";
}

}  // namespace

TEST_SUITE("meshsim") {
  TEST_CASE("--help explains every flag") {
    const RunResult r = run({binary("meshsim").string(), "--help"}, with_timeout(20s));
    CHECK(r.exit_code == 0);
    for (const char* flag : {"--scenario", "--api-addr", "--metrics-addr", "--tls-cert", "--tls-key",
                             "--seed", "--verbose", "--help", "/_sim/state", "/_sim/events"}) {
      CHECK_MESSAGE(r.out.find(flag) != std::string::npos, flag);
    }
    const RunResult bad = run({binary("meshsim").string(), "--api-addr", "nowhere"}, with_timeout(20s));
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("--api-addr must be HOST:PORT") != std::string::npos);
  }

  TEST_CASE("an invalid scenario exits 2 with every problem located") {
    TempDir dir;
    const auto file = dir.write("scenario.yaml", "service: a\nrps: -1\nsubsets: {x: {}}\nrsp: 3\n");
    const RunResult r = run({binary("meshsim").string(), "--scenario", file.string()}, with_timeout(20s));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(file.string() + ":2:6: rps: must be between 0 and 1e7 requests per second") !=
          std::string::npos);
    CHECK(r.err.find(file.string() + ":4:1: rsp: unknown field \"rsp\" (did you mean \"rps\"?)") !=
          std::string::npos);
  }

  TEST_CASE("Kuma API conformance over HTTP") {
    Meshsim sim(k_scenario);
    const std::string path = "/meshes/default/meshhttproutes/meshmove-api";

    HttpResponse r = sim.api("GET", "/");
    CHECK(r.status == 200);
    CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(r.json()["tagline"] == "Kuma");

    r = sim.api("GET", path);
    CHECK(r.status == 404);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":404,"title":"Could not retrieve a resource","detail":"Not found","details":"Not found"})");

    r = sim.api("PUT", path, route("meshmove-api", 90, 10));
    CHECK(r.status == 201);
    CHECK(r.body == "{}");
    r = sim.api("PUT", path, route("meshmove-api", 30, 70));
    CHECK(r.status == 200);
    CHECK(r.body == "{}");
    r = sim.api("GET", path);
    CHECK(r.status == 200);
    CHECK(r.json()["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][1]["weight"] == 70);
    CHECK(r.json()["labels"]["kuma.io/origin"] == "zone");
    CHECK(sim.wait_for_state(
        [](const json& s) { return s["services"]["api_default_svc_5000"]["weights"]["kube-env"] == 70.0; },
        10s));
    CHECK(sim.state()["services"]["api_default_svc_5000"]["policy"] ==
          json::parse(R"({"kind":"MeshHTTPRoute","name":"meshmove-api"})"));

    json bad = json::parse(route("meshmove-api", 30, 70));
    bad["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][1].erase("name");
    r = sim.api("PUT", path, bad.dump());
    CHECK(r.status == 400);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":400,"title":"Could not process a resource","detail":"Resource is not valid",)"
        R"("invalid_parameters":[{"field":"spec.to[0].rules[0].default.backendRefs[1].name","reason":"must be set when kind is MeshServiceSubset"}],)"
        R"("details":"Resource is not valid",)"
        R"("causes":[{"field":"spec.to[0].rules[0].default.backendRefs[1].name","message":"must be set when kind is MeshServiceSubset"}]})");

    r = sim.api("PUT", "/meshes/default/meshhttproutes/other", route("meshmove-api", 1, 1));
    CHECK(r.status == 400);
    CHECK(r.json()["invalid_parameters"][0]["reason"] == "name from the URL has to be the same as in body");
    r = sim.api("PUT", "/meshes/default/meshhttproutes/Bad_Name", route("Bad_Name", 1, 1));
    CHECK(r.status == 400);
    CHECK(r.json()["invalid_parameters"][0]["field"] == "name");

    json other_mesh = json::parse(route("meshmove-api", 1, 1));
    other_mesh["mesh"] = "other";
    r = sim.api("PUT", "/meshes/other/meshhttproutes/meshmove-api", other_mesh.dump());
    CHECK(r.status == 400);
    CHECK(r.json()["title"] == "Could not create a resource");
    CHECK(sim.api("GET", "/meshes/other/meshhttproutes").status == 404);
    CHECK(sim.api("GET", "/meshes/other/meshhttproutes/meshmove-api").status == 404);

    r = sim.api("GET", "/meshes/default/meshhttproutes");
    CHECK(r.status == 200);
    CHECK(r.json()["total"] == 1);
    CHECK(r.json()["next"].is_null());
    r = sim.api("GET", "/meshes/default/dataplanes");
    CHECK(r.json()["total"] == 5);

    CHECK(sim.api("GET", "/meshes/default/meshgateways/x").status == 404);
    CHECK(sim.api("GET", "/meshes/default/meshgateways/x").body == "404: Page Not Found");
    CHECK(sim.api("POST", path, "{}").status == 405);

    r = sim.api("DELETE", path);
    CHECK(r.status == 200);
    CHECK(r.body == "{}");
    r = sim.api("DELETE", path);
    CHECK(r.status == 404);
    CHECK(r.json()["title"] == "Could not delete a resource");
    CHECK(sim.wait_for_state(
        [](const json& s) { return s["services"]["api_default_svc_5000"]["policy"]["kind"].is_null(); },
        10s));
  }

  TEST_CASE("the exposition parses with promtool") {
    Meshsim sim(k_scenario);
    CHECK(sim.wait_for_state([](const json& s) { return s["simTime"].get<double>() >= 0.5; }, 10s));
    const HttpResponse metrics = http_get(sim.metrics_url() + "/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(metrics.header("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    RunOptions o;
    o.stdin_data = metrics.body;
    o.timeout = 30s;
    const RunResult lint = run({"promtool", "check", "metrics"}, o);
    // It parses (exit 1 would be an error); the only lint problems are Envoy's own counter names without
    // a _total suffix, exactly as real Envoy output draws them (exit 3).
    const std::string lint_output = lint.out + lint.err;
    INFO(lint_output);
    CHECK((lint.exit_code == 0 || lint.exit_code == 3));
    CHECK(lint_output.find("error") == std::string::npos);
    std::istringstream lines(lint_output);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      CHECK_MESSAGE(line.find("counter metrics should have \"_total\" suffix") != std::string::npos, line);
    }
  }

  TEST_CASE("SIGTERM and SIGINT stop meshsim cleanly") {
    Meshsim a(k_scenario);
    CHECK(a.stop() == 0);
    Meshsim b(k_scenario);
    CHECK(b.process().signal_and_wait(SIGINT, 10s) == 0);
  }

  TEST_CASE("--tls-cert/--tls-key serve the API over HTTPS") {
    TempDir dir;
    const auto cert = dir.path() / "cert.pem";
    const auto key = dir.path() / "key.pem";
    const RunResult gen =
        run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.string(), "-out",
             cert.string(), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
            with_timeout(60s));
    REQUIRE_MESSAGE(gen.exit_code == 0, gen.err);
    MeshsimOptions options;
    options.tls_cert = cert.string();
    options.tls_key = key.string();
    Meshsim sim(k_scenario, options);
    CHECK(sim.api_url().rfind("https://127.0.0.1:", 0) == 0);
    const HttpResponse trusted = sim.api("GET", "/");
    CHECK(trusted.status == 200);
    const HttpResponse untrusted =
        http_get(sim.api_url() + "/");  // the system CAs do not know this certificate
    CHECK(untrusted.status == 0);
    CHECK(http_get("http://127.0.0.1:" + std::to_string(sim.api_port()) + "/").status != 200);
  }
}
