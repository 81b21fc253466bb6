// Every route that decides the traffic is seen (issue 10, trial findings 4 and 16), against meshsim, which
// routes by Kuma's order: two plans for one service under other policy names, hand-written routes, and
// an --adopt that sticks.
#include <doctest/doctest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "backends/http_transport.hpp"
#include "backends/kuma_control_plane.hpp"
#include "cli/system_clock.hpp"
#include "planner/plan_parser.hpp"
#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove;
using namespace meshmove::testsupport;

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 100
subsets:
  vm-env: {instances: 3, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
)";
const char* k_service = "apitier_default_svc_5000";

std::string plan_text(const std::string& name, const std::string& url, const std::string& cp_extra,
                      const std::string& extra = "") {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: " + name + "}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + url + "'" + cp_extra + "}\n"
         "steps: [10, 50, 100]\n" + (extra.empty() ? "gates: {slos: [{name: errors, type: error-rate, max: 0.01}]}\n" : extra);
}

// A MeshHTTPRoute for the service with `labels` (a JSON object) and the given weights.
std::string http_route(const std::string& name, const std::string& labels, int vm, int kube,
                       const std::string& top = R"({"kind":"Mesh"})") {
  return R"({"type":"MeshHTTPRoute","mesh":"default","name":")" + name + R"(","labels":)" + labels +
         R"(,"spec":{"targetRef":)" + top +
         R"(,"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},)"
         R"("rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[)"
         R"({"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":)" +
         std::to_string(vm) +
         R"(},{"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":)" +
         std::to_string(kube) + "}]}}]}]}}";
}

struct Cli {
  TempDir dir;
  RunResult run_meshmove(std::vector<std::string> args) {
    args.insert(args.begin(), {binary("meshmove").string(), "--state-dir", (dir.path() / "state").string()});
    RunOptions options;
    options.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_KUMA_TOKEN",
                         "MESHMOVE_STATE_DIR", "MESHMOVE_STATE"};
    options.timeout = std::chrono::seconds(180);
    return run(args, options);
  }
};

bool in_effect(const Meshsim& sim, const std::string& policy, double kube) {
  return sim.wait_for_state(
      [&](const nlohmann::json& s) {
        const auto& svc = s["services"][k_service];
        return svc["policy"]["name"] == policy && svc["weights"].value("kube-env", -1.0) == doctest::Approx(kube);
      },
      std::chrono::seconds(10));
}

}  // namespace

TEST_SUITE("integration::competing_routes") {
  // Finding 4. Kuma gives priority to the lexicographically SMALLER name among routes of one kind and
  // targetRef, so the plan writing mm-aaa decides the traffic and the one writing mm-zzz does not.
  TEST_CASE("two plans for one service: plan names the other route, rollback is never falsely verified") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto pa = cli.dir.write("pa.yaml", plan_text("payments-a", sim.api_url(), ", policyName: mm-zzz"));
    const auto pb = cli.dir.write("pb.yaml", plan_text("payments-b", sim.api_url(), ", policyName: mm-aaa"));

    // validate sees the clash, naming both files.
    auto r = cli.run_meshmove({"validate", pa.string(), pb.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(pb.string()) != std::string::npos);
    CHECK(r.err.find(pa.string()) != std::string::npos);
    CHECK(r.err.find("both migrate apitier_default_svc_5000") != std::string::npos);
    CHECK(r.out.find(pb.string() + ": valid") == std::string::npos);
    // With the same (derived) policy the ownership label stops the second at run time: a warning only.
    const auto p1 = cli.dir.write("p1.yaml", plan_text("payments-1", sim.api_url(), ""));
    const auto p2 = cli.dir.write("p2.yaml", plan_text("payments-2", sim.api_url(), ""));
    r = cli.run_meshmove({"validate", p1.string(), p2.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find(p2.string() + ": service: warning: this plan (migration payments-2) and " + p1.string()) !=
          std::string::npos);

    // payments-a goes to 100% with mm-zzz while it is alone.
    r = cli.run_meshmove({"promote", "-y", pa.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(in_effect(sim, "mm-zzz", 100));

    // plan for payments-b no longer says that no policy routes the service: it names mm-zzz.
    r = cli.run_meshmove({"plan", pb.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(r.out.find("no policy routes") == std::string::npos);
    CHECK(r.out.find("MeshHTTPRoute mm-zzz (managed by the migration 'payments-a'), 100% to kube-env") !=
          std::string::npos);
    CHECK(r.out.find("loses to mm-aaa") != std::string::npos);

    // payments-b pins 100% to vm-env with mm-aaa, which takes over the traffic.
    r = cli.run_meshmove({"rollback", pb.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(in_effect(sim, "mm-aaa", 0));
    r = cli.run_meshmove({"promote", "-y", pb.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
    CHECK(in_effect(sim, "mm-aaa", 100));

    // plan for payments-a names the route that wins.
    r = cli.run_meshmove({"plan", "-o", "json", pa.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const auto current = nlohmann::json::parse(r.out).value("current", nlohmann::json::object());
    const auto competing = current.value("competing", nlohmann::json::array());
    REQUIRE(competing.size() == 1);
    CHECK(competing[0].value("name", "") == "mm-aaa");
    CHECK(competing[0].value("wins", false));
    CHECK(current.value("effectiveToWeight", -1.0) == doctest::Approx(100));

    // rollback of payments-a would only rewrite mm-zzz, which decides nothing: named, exit 5, not verified.
    r = cli.run_meshmove({"rollback", pa.string()});
    CHECK(r.exit_code == 5);
    CHECK(r.out.find("verified") == std::string::npos);
    CHECK(r.err.find("MeshHTTPRoute mm-aaa (managed by the migration 'payments-b')") != std::string::npos);
    CHECK(r.err.find("mm-aaa before mm-zzz") != std::string::npos);
    CHECK(in_effect(sim, "mm-aaa", 100));

    // A step of payments-a is refused the same way.
    r = cli.run_meshmove({"promote", "-y", pa.string()});
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("mm-aaa") != std::string::npos);

    // Rolling back the plan whose route wins is verified, and then the traffic is on vm-env.
    r = cli.run_meshmove({"rollback", pb.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verified") != std::string::npos);
    CHECK(in_effect(sim, "mm-aaa", 0));
  }

  TEST_CASE("hand-written routes are listed in Kuma's order, and meshsim routes by the same winner") {
    Meshsim sim(k_scenario);
    cli::SystemClock clock;
    auto r = planner::parse_plan(plan_text("apitier-to-kube", sim.api_url(), ""), "p.yaml");
    REQUIRE(r.ok());
    const planner::Plan plan = *r.plan;
    auto transport = backends::make_curl_transport({}, clock);
    auto cp = backends::make_kuma_control_plane(plan, *transport);
    REQUIRE(cp->write({0, "apitier-to-kube", -1}).ok());
    auto live = cp->read();
    REQUIRE(live.ok());
    CHECK(live->competing.empty());
    CHECK(live->effective_to_weight() == 0);

    // A MeshTCPRoute loses to meshmove's MeshHTTPRoute; a later name loses; a route of another service
    // is not listed.
    REQUIRE(sim.api("PUT", "/meshes/default/meshtcproutes/aaa-tcp",
                    R"({"type":"MeshTCPRoute","mesh":"default","name":"aaa-tcp","spec":{"targetRef":{"kind":"Mesh"},)"
                    R"("to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},"rules":[{"default":)"
                    R"({"backendRefs":[{"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"}}]}}]}]}})")
              .status == 201);
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/zzz-manual", http_route("zzz-manual", "{}", 50, 50)).status ==
            201);
    std::string other = http_route("aaa-other-service", "{}", 0, 100);
    const std::string target = R"("name":"apitier_default_svc_5000"},)";
    other.replace(other.find(target), target.size(), R"("name":"billing_default_svc_80"},)");
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/aaa-other-service", other).status == 201);
    live = cp->read();
    REQUIRE(live.ok());
    REQUIRE(live->competing.size() == 2);
    CHECK(live->competing[0].name == "zzz-manual");  // MeshHTTPRoutes first
    CHECK_FALSE(live->competing[0].wins);
    CHECK(live->competing[1].name == "aaa-tcp");
    CHECK_FALSE(live->competing[1].wins);
    CHECK(live->competing[1].why.find("MeshHTTPRoute takes priority over a MeshTCPRoute") != std::string::npos);
    CHECK(live->winner() == nullptr);
    CHECK(in_effect(sim, "meshmove-apitier-default-svc-5000", 0));

    // A hand-written route whose name sorts first wins: meshmove sees what meshsim routes.
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/aaa-manual", http_route("aaa-manual", "{}", 0, 100)).status ==
            201);
    live = cp->read();
    REQUIRE(live.ok());
    REQUIRE(live->winner() != nullptr);
    CHECK(live->winner()->name == "aaa-manual");
    CHECK(live->winner()->owner.empty());
    CHECK(live->effective_to_weight() == 10000);
    CHECK(in_effect(sim, "aaa-manual", 100));
    auto refusal = planner::check_write_allowed(*live, 0, true, plan.name);
    REQUIRE(refusal.has_value());
    CHECK(refusal->message.find("hand-written") != std::string::npos);

    // A more specific top-level targetRef beats the name: zzz-manual now outranks aaa-manual.
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/zzz-manual",
                    http_route("zzz-manual", "{}", 50, 50, R"({"kind":"MeshSubset","tags":{"app":"web"}})"))
                .status == 200);
    live = cp->read();
    REQUIRE(live.ok());
    REQUIRE(live->winner() != nullptr);
    CHECK(live->winner()->name == "zzz-manual");
    CHECK(live->effective_to_weight() == 5000);
    CHECK(in_effect(sim, "zzz-manual", 50));
  }

  // Finding 16: adoption relabels the policy, so later runs need no --adopt.
  TEST_CASE("--adopt sticks: a hand-written 0/100 route is adopted, promoted, then rolled back without the flag") {
    Meshsim sim(k_scenario);
    Prometheus prom(std::vector<std::string>{sim.metrics_target()});
    REQUIRE_MESSAGE(prom.wait_for_data("envoy_cluster_upstream_rq_total", std::chrono::seconds(60)), prom.log());
    Cli cli;
    const auto plan = cli.dir.write(
        "h.yaml", plan_text("apitier-to-kube", sim.api_url(), "",
                            "bake: 3s\ninterval: 1s\nsettle: 1s\n"
                            "gates:\n  prometheus: {url: '" + prom.url() + "'}\n  minRequests: 20\n  maxHold: 1m\n"
                            "  slos: [{name: errors, type: error-rate, max: 0.05}]\n"));
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    http_route("meshmove-apitier-default-svc-5000", "{}", 0, 100))
                .status == 201);
    auto r = cli.run_meshmove({"apply", "--adopt", plan.string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("promoted") != std::string::npos);
    const auto got = sim.api("GET", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000");
    REQUIRE(got.status == 200);
    const auto doc = nlohmann::json::parse(got.body);
    const auto labels = doc.value("labels", nlohmann::json::object());
    CHECK(labels.value("meshmove.io/migration", "") == "apitier-to-kube");
    CHECK(labels.value("meshmove.io/step", "") == "3");
    const std::string journal = read_file(cli.dir.path() / "state" / "apitier-to-kube.journal");
    CHECK(journal.find("\"relabel\"") != std::string::npos);

    // The documented emergency rollback works without --adopt.
    r = cli.run_meshmove({"rollback", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verified") != std::string::npos);
    CHECK(in_effect(sim, "meshmove-apitier-default-svc-5000", 0));
  }
}
