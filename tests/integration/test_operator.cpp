// Operator commands against meshsim: pause, resume, promote, status, history and --dry-run, directly and
// through a running apply (which holds the lock and acts on requests).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"

using namespace meshmove::testsupport;

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 50
subsets:
  vm-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
)";

// Prometheus is deliberately unreachable: gates give ERROR, so a running apply holds (never fails). Traffic
// moves only because every apply passes --skip-preflight (without it nothing moves blind: exit 6).
std::string plan_text(const std::string& cp) {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: ops}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + cp + "'}\nsteps: [10, 50, 100]\nbake: 1m\ninterval: 2s\nsettle: 1s\n"
         "gates:\n  prometheus: {url: 'http://127.0.0.1:9', timeout: 1s}\n  maxHold: 10m\n"
         "  slos: [{name: errors, type: error-rate, max: 0.01}]\n";
}

struct Cli {
  TempDir dir;
  RunResult operator()(std::vector<std::string> args) {
    args.insert(args.begin(), {binary("meshmove").string(), "--state-dir", (dir.path() / "state").string()});
    RunOptions o;
    o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_STATE_DIR"};
    o.timeout = std::chrono::seconds(120);
    return run(args, o);
  }
  std::vector<std::string> args(std::vector<std::string> a) {
    a.insert(a.begin(), {binary("meshmove").string(), "--state-dir", (dir.path() / "state").string()});
    return a;
  }
  nlohmann::json state() { return nlohmann::json::parse(read_file(dir.path() / "state" / "ops.json")); }
};

double kube(const Meshsim& sim) {
  return sim.state()["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0);
}

}  // namespace

TEST_SUITE("integration::operator") {
  TEST_CASE("--dry-run shows the next transition and writes nothing") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    const auto r = cli({"apply", "--skip-preflight", "--dry-run", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.out.find("[dry-run] ops: would write 0% to kube-env") != std::string::npos);
    CHECK(sim.api("GET", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000").status == 404);
    CHECK_FALSE(std::filesystem::exists(cli.dir.path() / "state" / "ops.json"));
  }

  TEST_CASE("pause, resume and promote without a running apply") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    auto r = cli({"apply", "--skip-preflight", "--once", plan.string()});  // pins 100% to vm-env
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 4);
    r = cli({"pause", "--reason", "change freeze", plan.string()});
    CHECK(r.exit_code == 0);
    CHECK(cli.state()["phase"] == "paused");
    r = cli({"apply", "--skip-preflight", "--once", plan.string()});
    CHECK(r.exit_code == 5);
    r = cli({"resume", plan.string()});
    CHECK(r.exit_code == 0);
    CHECK(cli.state()["phase"] == "ramping");
    r = cli({"promote", plan.string()});  // not a terminal: needs --yes
    CHECK(r.exit_code == 2);
    r = cli({"promote", "--yes", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(cli.state()["phase"] == "promoted");
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(100.0);
    }, std::chrono::seconds(10)));
    // status without plans lists the migration from its state; history has the operator's actions.
    r = cli({"status", "-o", "json"});
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.size() == 1);
    CHECK(j[0]["migration"] == "ops");
    CHECK(j[0]["phase"] == "promoted");
    r = cli({"history", plan.string()});
    CHECK(r.out.find("operator") != std::string::npos);
    CHECK(r.out.find("change freeze") != std::string::npos);
    CHECK(r.out.find("promote") != std::string::npos);
  }

  TEST_CASE("a running apply pauses when asked, and a second runner is refused") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    Process apply = Process::start(cli.args({"apply", "--skip-preflight", plan.string()}));
    REQUIRE(wait_until([&] {
      try {
        return cli.state().value("weight", 0) == 1000 || !apply.running();
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(30)));
    REQUIRE(apply.running());
    auto second = cli({"apply", "--skip-preflight", "--once", plan.string()});
    CHECK(second.exit_code == 7);
    CHECK(second.err.find("pid " + std::to_string(apply.pid())) != std::string::npos);
    const auto paused = cli({"pause", "--reason", "look at the dashboards", plan.string()});
    INFO(paused.out << paused.err);
    CHECK(paused.exit_code == 0);
    CHECK(paused.out.find("carried out 'pause'") != std::string::npos);
    const auto code = apply.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    CHECK(*code == 5);
    CHECK(cli.state()["phase"] == "paused");
    CHECK(kube(sim) == doctest::Approx(10.0));
  }

  TEST_CASE("rollback reaches a running apply") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    Process apply = Process::start(cli.args({"apply", "--skip-preflight", plan.string()}));
    REQUIRE(wait_until([&] {
      try {
        return cli.state().value("weight", 0) == 1000 || !apply.running();
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(30)));
    const auto r = cli({"rollback", "--reason", "pager", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    const auto code = apply.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    CHECK(*code == 3);
    CHECK(cli.state()["phase"] == "rolled-back");
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(0.0);
    }, std::chrono::seconds(10)));
  }
}
