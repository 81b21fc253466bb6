// Kuma API conformance of meshsim, request by request without HTTP: status codes and bodies as
// ../shared/reference/kuma-api.md and Kuma's API-server goldens show them.
#include <doctest/doctest.h>

#include "tests/sim/kuma_api.hpp"
#include "tests/sim/kuma_names.hpp"
#include "tests/unit/sim/sim_test_helpers.hpp"

using namespace meshmove::sim;
using namespace meshmove::sim::testing;

namespace {

constexpr const char* k_scenario = R"(
service: api_default_svc_5000
rps: 100
subsets:
  vm-env: {instances: 2}
  kube-env: {instances: 1, serviceName: api-kube_default_svc_5000}
)";
constexpr const char* k_svc = "api_default_svc_5000";
constexpr const char* k_route_path = "/meshes/default/meshhttproutes/meshmove-api";

struct Fixture {
  Simulation sim{scenario_from(k_scenario)};
  SystemTime t0 = SystemTime{} + std::chrono::hours(24 * 365 * 56);  // 2026
  KumaApi api{sim, t0};

  ApiResponse call(const std::string& method, const std::string& path, const std::string& body = "",
                   std::multimap<std::string, std::string> query = {}, std::chrono::seconds later = {}) {
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.query = std::move(query);
    r.base_url = "http://127.0.0.1:5681";
    return api.handle(r, t0 + later);
  }
};

std::string route(const std::vector<std::pair<std::string, int>>& split) {
  return http_route("meshmove-api", k_svc, split);
}

// The route with one JSON-pointer location replaced by `value` (a JSON text).
std::string route_with(const std::string& pointer, const std::string& value) {
  Json doc = Json::parse(route({{"vm-env", 90}, {"kube-env", 10}}));
  doc[Json::json_pointer(pointer)] = Json::parse(value);
  return doc.dump();
}

// The single violation of a 400 "Could not process a resource" answer, as "field: reason".
std::string violation(const ApiResponse& r) {
  const Json body = Json::parse(r.body);
  REQUIRE(r.status == 400);
  CHECK(body["title"] == "Could not process a resource");
  CHECK(body["detail"] == "Resource is not valid");
  CHECK(body["details"] == "Resource is not valid");
  REQUIRE(body["invalid_parameters"].size() == body["causes"].size());
  std::string out;
  for (std::size_t i = 0; i < body["invalid_parameters"].size(); ++i) {
    const Json& p = body["invalid_parameters"][i];
    CHECK(body["causes"][i]["field"] == p["field"]);
    CHECK(body["causes"][i]["message"] == p["reason"]);
    out += (out.empty() ? "" : "\n") + p["field"].get<std::string>() + ": " + p["reason"].get<std::string>();
  }
  return out;
}

}  // namespace

TEST_SUITE("sim::KumaApi") {
  TEST_CASE("PUT creates (201), updates (200), and GET returns Kuma's envelope") {
    Fixture f;
    ApiResponse r = f.call("PUT", k_route_path, route({{"vm-env", 90}, {"kube-env", 10}}));
    CHECK(r.status == 201);
    CHECK(r.body == "{}");
    Json doc = Json::parse(route({{"vm-env", 50}, {"kube-env", 50}}));
    doc["labels"] = {{"meshmove.io/migration", "api"}, {"kuma.io/origin", "zone"}};
    r = f.call("PUT", k_route_path, doc.dump(), {}, std::chrono::seconds(90));
    CHECK(r.status == 200);
    CHECK(r.body == "{}");
    r = f.call("GET", k_route_path);
    REQUIRE(r.status == 200);
    const Json got = Json::parse(r.body);
    std::vector<std::string> keys;
    for (auto it = got.begin(); it != got.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"type", "mesh", "name", "creationTime", "modificationTime",
                                           "labels", "kri", "spec"});
    CHECK(got["type"] == "MeshHTTPRoute");
    CHECK(got["creationTime"] == "2025-12-18T00:00:00Z");
    CHECK(got["modificationTime"] == "2025-12-18T00:01:30Z");
    CHECK(got["labels"] ==
          Json::parse(R"({"kuma.io/env":"universal","kuma.io/mesh":"default","kuma.io/origin":"zone",
      "kuma.io/zone":"default","meshmove.io/migration":"api"})"));
    CHECK(got["kri"] == "kri_mhttpr_default_default__meshmove-api_");
    CHECK(got["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][1]["weight"] == 50);
    // User labels of a PUT replace the earlier ones.
    f.call("PUT", k_route_path, route({{"vm-env", 50}, {"kube-env", 50}}));
    CHECK_FALSE(Json::parse(f.call("GET", k_route_path).body)["labels"].contains("meshmove.io/migration"));
  }

  TEST_CASE("the backendRef weight defaults to 1 and the mesh to default") {
    Fixture f;
    Json doc = Json::parse(route({{"vm-env", 1}}));
    doc.erase("mesh");
    doc["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][0].erase("weight");
    REQUIRE(f.call("PUT", k_route_path, doc.dump()).status == 201);
    const Json got = Json::parse(f.call("GET", k_route_path).body);
    CHECK(got["mesh"] == "default");
    CHECK(got["spec"]["to"][0]["rules"][0]["default"]["backendRefs"][0]["weight"] == 1);
  }

  TEST_CASE("a deprecated top-level targetRef kind is accepted with a warning") {
    Fixture f;
    const ApiResponse r =
        f.call("PUT", k_route_path, route_with("/spec/targetRef", R"({"kind":"MeshService","name":"web"})"));
    CHECK(r.status == 201);
    CHECK(
        r.body ==
        R"({"warnings":["MeshService value for 'targetRef.kind' is deprecated, use Dataplane with labels instead"]})");
  }

  TEST_CASE("404s have Kuma's std-errors bodies") {
    Fixture f;
    ApiResponse r = f.call("GET", k_route_path);
    CHECK(r.status == 404);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":404,"title":"Could not retrieve a resource","detail":"Not found","details":"Not found"})");
    r = f.call("DELETE", k_route_path);
    CHECK(r.status == 404);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":404,"title":"Could not delete a resource","detail":"Not found","details":"Not found"})");
    r = f.call("GET", "/meshes/nope/meshhttproutes");
    CHECK(r.status == 404);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":404,"title":"Failed to retrieve Mesh","detail":"Not found","details":"Not found"})");
    CHECK(f.call("GET", "/meshes/nope/meshhttproutes/x").status == 404);
    CHECK(f.call("GET", "/meshes/nope").status == 404);
    r = f.call("GET", "/meshes/default/meshtimeouts/x");
    CHECK(r.status == 404);
    CHECK(r.body == "404: Page Not Found");
    CHECK(r.content_type.rfind("text/plain", 0) == 0);
    r = f.call("POST", k_route_path, "{}");
    CHECK(r.status == 405);
    CHECK(r.body == "405: Method Not Allowed");
    ApiRequest text;
    text.method = "PUT";
    text.path = k_route_path;
    text.body = route({{"vm-env", 1}});
    text.content_type = "text/plain";
    r = f.api.handle(text, f.t0);
    CHECK(r.status == 415);
    CHECK(r.body == "415: Unsupported Media Type");
    text.content_type = "";
    CHECK(f.api.handle(text, f.t0).status == 415);
    text.content_type = "Application/JSON; charset=utf-8";
    CHECK(f.api.handle(text, f.t0).status == 201);
  }

  TEST_CASE("PUT to an unknown mesh") {
    Fixture f;
    Json doc = Json::parse(route({{"vm-env", 1}}));
    ApiResponse r = f.call("PUT", "/meshes/other/meshhttproutes/meshmove-api", doc.dump());
    CHECK(violation(r) == "mesh: mesh from the URL has to be the same as in body");
    doc["mesh"] = "other";
    r = f.call("PUT", "/meshes/other/meshhttproutes/meshmove-api", doc.dump());
    CHECK(r.status == 400);
    CHECK(
        r.body ==
        R"({"type":"/std-errors","status":400,"title":"Could not create a resource","detail":"Mesh is not found","invalid_parameters":[{"field":"mesh","reason":"mesh of name other is not found"}],"details":"Mesh is not found","causes":[{"field":"mesh","message":"mesh of name other is not found"}]})");
  }

  TEST_CASE("URL and body must agree, names must be RFC 1123, labels Kubernetes-valid") {
    Fixture f;
    CHECK(violation(f.call("PUT", "/meshes/default/meshhttproutes/other-name", route({{"vm-env", 1}}))) ==
          "name: name from the URL has to be the same as in body");
    CHECK(violation(f.call("PUT", "/meshes/default/meshtcproutes/meshmove-api", route({{"vm-env", 1}}))) ==
          "type: type from the URL has to be the same as in body");
    Json doc = Json::parse(route({{"vm-env", 1}}));
    doc["name"] = "api_default_svc_5000";
    CHECK(violation(f.call("PUT", "/meshes/default/meshhttproutes/api_default_svc_5000", doc.dump())) ==
          "name: " + std::string(k_rfc1123_message));
    doc = Json::parse(route({{"vm-env", 1}}));
    doc["labels"] = {{"bad key!", "x"}};
    CHECK(
        violation(f.call("PUT", k_route_path, doc.dump())) ==
        "labels[\"bad key!\"]: name part must consist of alphanumeric characters, '-', '_' or '.', and must "
        "start "
        "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }

  TEST_CASE("MeshHTTPRoute schema violations are worded like kube-openapi") {
    Fixture f;
    const std::string rule = "/spec/to/0/rules/0";
    CHECK(violation(f.call("PUT", k_route_path, route_with(rule, R"({"default":{}})"))) ==
          "spec.to[0].rules[0].matches: in body is required");
    CHECK(violation(f.call("PUT", k_route_path, route_with(rule + "/matches", "[]"))) ==
          "spec.to[0].rules[0].matches: in body should have at least 1 items");
    CHECK(violation(f.call("PUT", k_route_path, route_with(rule + "/default/backendRefs/0/weight", "-1"))) ==
          "spec.to[0].rules[0].default.backendRefs[0].weight: in body should be greater than or equal to 0");
    CHECK(violation(
              f.call("PUT", k_route_path, route_with(rule + "/default/backendRefs/0/weight", "\"10\""))) ==
          "spec.to[0].rules[0].default.backendRefs[0].weight: in body must be of type integer: \"string\"");
    CHECK(violation(f.call("PUT", k_route_path, route_with(rule + "/default/backendRefs/0/weight", "2.5"))) ==
          "spec.to[0].rules[0].default.backendRefs[0].weight: in body must be of type integer: \"number\"");
    CHECK(violation(f.call("PUT", k_route_path, route_with("/spec/targetRef/name", "5"))) ==
          "spec.targetRef.name: in body must be of type string: \"number\"");
    CHECK(violation(f.call("PUT", k_route_path, route_with("/spec/targetRef/kind", "\"BlahBlah\""))) ==
          "spec.targetRef.kind: in body should be one of [Mesh MeshSubset MeshGateway MeshService "
          "MeshExternalService "
          "MeshMultiZoneService MeshServiceSubset MeshHTTPRoute Dataplane]");
    Json doc = Json::parse(route({{"vm-env", 1}}));
    doc.erase("spec");
    CHECK(violation(f.call("PUT", k_route_path, doc.dump())) == "spec: in body is required");
  }

  TEST_CASE("MeshHTTPRoute spec violations carry Kuma's field paths and messages") {
    Fixture f;
    const std::string refs = "/spec/to/0/rules/0/default/backendRefs";
    CHECK(violation(
              f.call("PUT", k_route_path,
                     route_with(refs + "/1",
                                R"({"kind":"MeshServiceSubset","tags":{"env":"kube-env"},"weight":10})"))) ==
          "spec.to[0].rules[0].default.backendRefs[1].name: must be set when kind is MeshServiceSubset");
    CHECK(violation(f.call(
              "PUT", k_route_path,
              route_with(refs + "/1", R"({"kind":"MeshServiceSubset","name":"api_default_svc_5000"})"))) ==
          "spec.to[0].rules[0].default.backendRefs[1].tags: must be set when kind is MeshServiceSubset");
    CHECK(violation(f.call("PUT", k_route_path,
                           route_with(refs + "/0", R"({"kind":"MeshSubset","tags":{"env":"vm-env"}})"))) ==
          "spec.to[0].rules[0].default.backendRefs[0].kind: value 'MeshSubset' is not supported");
    CHECK(violation(f.call("PUT", k_route_path,
                           route_with(refs + "/0", R"({"kind":"MeshService","name":"Web"})"))) ==
          "spec.to[0].rules[0].default.backendRefs[0].name: invalid characters: must consist of lower case "
          "alphanumeric characters, '-', '.' and '_'.");
    CHECK(violation(f.call("PUT", k_route_path, route_with("/spec/to/0/targetRef", R"({"kind":"Mesh"})"))) ==
          "spec.to[0].targetRef.kind: value 'Mesh' is not supported");
    CHECK(violation(
              f.call("PUT", k_route_path, route_with("/spec/targetRef", R"({"kind":"Mesh","name":"x"})"))) ==
          "spec.targetRef.name: using name with kind Mesh is not yet supported");
    CHECK(violation(
              f.call("PUT", k_route_path,
                     route_with("/spec/to/0/rules/0/matches/0/path", R"({"type":"Exact","value":"rel"})"))) ==
          "spec.to[0].rules[0].matches[0].path.value: must be an absolute path");
    CHECK(violation(f.call("PUT", k_route_path, route_with("/spec/to/0/hostnames", R"(["a.example"])"))) ==
          "spec.to[0].hostnames: must not be defined");
  }

  TEST_CASE("MeshTCPRoute: at most one rule and no matches") {
    Fixture f;
    const std::string path = "/meshes/default/meshtcproutes/tcp";
    const std::string ok = route_json("MeshTCPRoute", "tcp", k_svc, subset_refs(k_svc, {{"vm-env", 1}}));
    CHECK(f.call("PUT", path, ok).status == 201);
    Json doc = Json::parse(ok);
    doc["spec"]["to"][0]["rules"].push_back(doc["spec"]["to"][0]["rules"][0]);
    CHECK(violation(f.call("PUT", path, doc.dump())) ==
          "spec.to[0].rules: in body should have at most 1 items");
    doc = Json::parse(ok);
    doc["spec"]["to"][0]["rules"][0]["matches"] =
        Json::parse(R"([{"path":{"type":"PathPrefix","value":"/"}}])");
    CHECK(violation(f.call("PUT", path, doc.dump())) ==
          "spec.to[0].rules[0].matches: field not declared in schema");
    doc = Json::parse(ok);
    doc["spec"]["to"][0]["rules"][0]["default"]["backendRefs"] = Json::array();
    CHECK(violation(f.call("PUT", path, doc.dump())) ==
          "spec.to[0].rules[0].default.backendRefs: in body should have at least 1 items");
  }

  TEST_CASE("TrafficRoute: flattened envelope and Kuma's split rules") {
    Fixture f;
    const std::string path = "/meshes/default/traffic-routes/tr";
    const std::string ok = traffic_route("tr", k_svc, {{"vm-env", 90}, {"kube-env", 10}});
    REQUIRE(f.call("PUT", path, ok).status == 201);
    const Json got = Json::parse(f.call("GET", path).body);
    CHECK(got["labels"] == Json::parse(R"({"kuma.io/mesh":"default"})"));
    CHECK_FALSE(got.contains("spec"));
    CHECK(got["conf"]["split"][1]["weight"] == 10);
    Json doc = Json::parse(ok);
    doc["conf"]["split"][0].erase("weight");
    CHECK(violation(f.call("PUT", path, doc.dump())) == "conf.split[0].weight: needs to be defined");
    doc = Json::parse(ok);
    doc["conf"]["split"][0]["weight"] = 0;
    doc["conf"]["split"][1]["weight"] = 0;
    CHECK(violation(f.call("PUT", path, doc.dump())) ==
          "conf.split: there must be at least one split entry with weight above 0");
    doc = Json::parse(ok);
    doc["destinations"][0]["match"]["env"] = "vm-env";
    CHECK(violation(f.call("PUT", path, doc.dump())) ==
          "destinations[0].match: must consist of exactly one tag \"kuma.io/service\"\n"
          "destinations[0].match[\"env\"]: tag \"env\" is not allowed");
    doc = Json::parse(ok);
    doc["conf"]["split"][0]["weight"] = "ten";
    const ApiResponse bad = f.call("PUT", path, doc.dump());
    CHECK(bad.status == 400);
    CHECK(Json::parse(bad.body)["title"] == "Bad Request");
  }

  TEST_CASE("a body that is not JSON is a Bad Request") {
    Fixture f;
    const ApiResponse r = f.call("PUT", k_route_path, "{not json");
    CHECK(r.status == 400);
    CHECK(Json::parse(r.body)["title"] == "Bad Request");
  }

  TEST_CASE("DELETE answers 200 {} and the route stops applying") {
    Fixture f;
    REQUIRE(f.call("PUT", k_route_path, route({{"vm-env", 0}, {"kube-env", 100}})).status == 201);
    f.sim.run_tick();
    CHECK(f.sim.weight_percent(k_svc, "kube-env") == doctest::Approx(100));
    const ApiResponse r = f.call("DELETE", k_route_path);
    CHECK(r.status == 200);
    CHECK(r.body == "{}");
    f.sim.run_tick();
    CHECK(f.sim.weight_percent(k_svc, "kube-env") == doctest::Approx(100.0 / 3));
  }

  TEST_CASE("lists page with size, offset and next") {
    Fixture f;
    for (const char* name : {"c-route", "a-route", "b-route"}) {
      Json doc = Json::parse(route({{"vm-env", 1}}));
      doc["name"] = name;
      doc["labels"] = {{"team", std::string(name) == "b-route" ? "x" : "y"}};
      REQUIRE(f.call("PUT", std::string("/meshes/default/meshhttproutes/") + name, doc.dump()).status == 201);
    }
    Json page = Json::parse(f.call("GET", "/meshes/default/meshhttproutes", "", {{"size", "2"}}).body);
    CHECK(page["total"] == 3);
    REQUIRE(page["items"].size() == 2);
    CHECK(page["items"][0]["name"] == "a-route");
    CHECK(page["next"] == "http://127.0.0.1:5681/meshes/default/meshhttproutes?offset=2&size=2");
    page = Json::parse(
        f.call("GET", "/meshes/default/meshhttproutes", "", {{"size", "2"}, {"offset", "2"}}).body);
    CHECK(page["items"].size() == 1);
    CHECK(page["next"].is_null());
    page = Json::parse(f.call("GET", "/meshhttproutes", "", {{"filter[labels.team]", "x"}}).body);
    CHECK(page["total"] == 1);
    page = Json::parse(f.call("GET", "/meshes/default/meshhttproutes", "", {{"name", "a-"}}).body);
    CHECK(page["total"] == 1);
    const ApiResponse bad = f.call("GET", "/meshes/default/meshhttproutes", "", {{"size", "5000"}});
    CHECK(bad.status == 400);
    CHECK(Json::parse(bad.body)["invalid_parameters"][0]["reason"] ==
          "invalid page size of 5000. Maximum page size is 1000");
  }

  TEST_CASE("dataplanes list the simulated instances with their tags") {
    Fixture f;
    const Json list = Json::parse(f.call("GET", "/meshes/default/dataplanes").body);
    REQUIRE(list["total"] == 3);
    const Json& kube = list["items"][0];  // sorted by name: the kube-env instance first
    CHECK(kube["name"] == "api-default-svc-5000-kube-env-1");
    CHECK(kube["networking"]["address"] == "127.0.0.1");
    REQUIRE(kube["networking"]["inbound"].size() == 2);  // registered under serviceName too
    CHECK(kube["networking"]["inbound"][0]["servicePort"] == 5000);
    CHECK(kube["networking"]["inbound"][0]["tags"] ==
          Json::parse(R"({"env":"kube-env","kuma.io/service":"api_default_svc_5000"})"));
    CHECK(kube["networking"]["inbound"][1]["tags"]["kuma.io/service"] == "api-kube_default_svc_5000");
    CHECK(f.call("GET", "/meshes/default/dataplanes/api-default-svc-5000-vm-env-2").status == 200);
    CHECK(f.call("PUT", "/meshes/default/dataplanes/api-default-svc-5000-vm-env-2", "{}").status == 405);
  }

  TEST_CASE("index, meshes and the /_sim endpoints") {
    Fixture f;
    const Json index = Json::parse(f.call("GET", "/").body);
    CHECK(index["tagline"] == "Kuma");
    CHECK(index["version"] == "2.14.3");
    CHECK(Json::parse(f.call("GET", "/meshes").body)["items"][0]["name"] == "default");
    CHECK(Json::parse(f.call("GET", "/_sim/state").body)["services"].contains(k_svc));
    ApiResponse r = f.call("POST", "/_sim/events", R"({"controlPlane":{"status":503,"for":"2s"}})");
    CHECK(r.status == 202);
    CHECK(r.body == R"({"accepted":"injected: control plane status 503 for 2s"})");
    f.sim.run_tick();
    CHECK(f.sim.control_plane().status == 503);
    r = f.call("POST", "/_sim/events", R"({"controlPlane":{"status":503}})");
    CHECK(r.status == 400);
    CHECK(
        r.body ==
        R"({"errors":["<event>:1:17: controlPlane.for: is required: how long the control-plane fault lasts"]})");
    CHECK(KumaApi::is_sim_path("/_sim/state"));
    CHECK_FALSE(KumaApi::is_sim_path("/meshes"));
  }
}
