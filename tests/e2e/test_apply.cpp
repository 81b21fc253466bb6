// meshmove apply end to end: the real binary against meshsim scraped by a real Prometheus, with short
// bakes. Promotion, automatic rollback on a fault, cron mode, and kill -9 at random moments.
#include <doctest/doctest.h>

#include <signal.h>

#include <httplib.h>

#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "tests/support/http.hpp"
#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove::testsupport;

namespace {

// Before meshmove's first write, Kuma (and meshsim) split by instance count: 3 VMs and 1 pod start the
// to set at 25%, below the fault trigger of the rollback test.
std::string scenario(const std::string& events = "") {
  return R"(
service: apitier_default_svc_5000
rps: 400
subsets:
  vm-env: {instances: 3, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
  kube-env: {instances: 1, errorRate: 0.001, latency: {median: 18ms, p99: 80ms}}
)" + events;
}

std::string plan_text(const std::string& cp, const std::string& prom, const std::string& name = "e2e") {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: " + name + "}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + cp + "'}\n"
         "steps: [25, 50, 100]\nbake: 6s\ninterval: 2s\nsettle: 2s\n"
         "gates:\n  prometheus: {url: '" + prom + "'}\n  minRequests: 50\n  maxHold: 2m\n"
         "  slos:\n    - {name: errors, type: error-rate, max: 0.02}\n"
         "    - {name: latency, type: latency, percentile: 99, max: 500ms}\n";
}

struct Env {
  Meshsim sim;
  Prometheus prom;
  TempDir dir;
  explicit Env(const std::string& scn) : sim(scn), prom(std::vector<std::string>{sim.metrics_target()}) {
    REQUIRE_MESSAGE(prom.wait_for_data("envoy_cluster_upstream_rq_total", std::chrono::seconds(60)), prom.log());
  }
  std::vector<std::string> apply_args(const std::string& plan, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{binary("meshmove").string(), "--state-dir", (dir.path() / "state").string(), "apply",
                                  plan};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  double kube_weight() {
    return sim.state()["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0);
  }
  std::vector<nlohmann::json> journal(const std::string& name) {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_file(dir.path() / "state" / (name + ".journal")));
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }
};

RunOptions quiet_env() {
  RunOptions o;
  o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_STATE_DIR", "MESHMOVE_KUMA_TOKEN"};
  o.timeout = std::chrono::seconds(240);
  return o;
}

// Every transition once, in order, and no step applied twice.
void check_journal(const std::vector<nlohmann::json>& events) {
  std::set<int> seqs;
  std::set<int> advanced_steps;
  int last_seq = 0;
  for (const auto& e : events) {
    if (e.value("type", "") != "transition") continue;
    const int seq = e.value("seq", 0);
    CHECK_MESSAGE(seqs.insert(seq).second, "transition #" << seq << " appears twice");
    CHECK(seq > last_seq);
    last_seq = seq;
    if (e.value("action", "") == "advance") {
      CHECK_MESSAGE(advanced_steps.insert(e.value("step", -2)).second, "step " << e.value("step", -2) << " applied twice");
    }
  }
}

// Receives webhook notifications on 127.0.0.1 and keeps their JSON bodies.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    m_server.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_bodies.push_back(nlohmann::json::parse(req.body, nullptr, false));
      res.set_content("ok", "text/plain");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, std::chrono::seconds(5)));
  }
  ~WebhookReceiver() {
    m_server.stop();
    m_thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/hook"; }
  std::vector<nlohmann::json> bodies() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_bodies;
  }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::vector<nlohmann::json> m_bodies;
};

}  // namespace

TEST_SUITE("e2e::apply") {
  TEST_CASE("a healthy migration is promoted with 100% on the to set") {
    Env env(scenario());
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()));
    const auto report = env.dir.path() / "report.xml";
    const auto r = run(env.apply_args(plan.string(), {"--report", report.string()}), quiet_env());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("promoted") != std::string::npos);
    CHECK(env.sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", 0.0) == doctest::Approx(100.0);
    }, std::chrono::seconds(10)));
    const auto events = env.journal("e2e");
    check_journal(events);
    const auto xml = read_file(report);
    CHECK(xml.find("<testsuite name=\"e2e\"") != std::string::npos);
    CHECK(xml.find("step 3 of 3: 100% to kube-env") != std::string::npos);
    CHECK(xml.find("<failure") == std::string::npos);
    // status and history explain it.
    auto status = run({binary("meshmove").string(), "--state-dir", (env.dir.path() / "state").string(), "status", "-o",
                       "json", plan.string()}, quiet_env());
    REQUIRE(status.exit_code == 0);
    const auto j = nlohmann::json::parse(status.out);
    CHECK(j[0]["phase"] == "promoted");
    CHECK(j[0]["live"]["toWeight"] == 100);
    CHECK(j[0]["drift"].is_null());
    auto history = run({binary("meshmove").string(), "--state-dir", (env.dir.path() / "state").string(), "history",
                        plan.string()}, quiet_env());
    CHECK(history.exit_code == 0);
    CHECK(history.out.find("transition #4 advance 50% -> 100%") != std::string::npos);
  }

  TEST_CASE("an error fault once the to set reaches 50% is rolled back automatically") {
    Env env(scenario("events:\n  - {whenWeight: {subset: kube-env, atLeast: 50}, subset: kube-env, set: {errorRate: 0.3}}\n"));
    WebhookReceiver hook;
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()) +
                                                     "notify:\n  - webhook: {url: '" + hook.url() +
                                                     "'}\n    events: [rollback, promoted]\n");
    const auto report = env.dir.path() / "report.xml";
    const auto r = run(env.apply_args(plan.string(), {"--report", report.string()}), quiet_env());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.out.find("rolled-back") != std::string::npos);
    CHECK(env.sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("vm-env", 0.0) == doctest::Approx(100.0);
    }, std::chrono::seconds(10)));
    const auto events = env.journal("e2e");
    check_journal(events);
    bool rolled_back = false;
    for (const auto& e : events) {
      if (e.value("action", "") == "rollback") {
        rolled_back = true;
        CHECK(e["fromWeight"] == 50);
        CHECK(e["toWeight"] == 0);
        CHECK(e["reason"].get<std::string>().find("errors") != std::string::npos);
      }
    }
    CHECK(rolled_back);
    CHECK(read_file(report).find("<failure") != std::string::npos);
    // The webhook heard about the rollback (and only what it asked for), before meshmove exited.
    const auto bodies = hook.bodies();
    REQUIRE(bodies.size() == 1);
    CHECK(bodies[0]["event"] == "rollback");
    CHECK(bodies[0]["migration"] == "e2e");
    CHECK(bodies[0]["text"].get<std::string>().find("e2e") != std::string::npos);
  }

  TEST_CASE("SIGINT during a bake: the state is saved, the weight stays, exit 130, and a rerun continues") {
    Env env(scenario());
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()));
    Process apply = Process::start(env.apply_args(plan.string()), quiet_env());
    const auto state_file = env.dir.path() / "state" / "e2e.json";
    REQUIRE(wait_until([&] {
      try {
        return nlohmann::json::parse(read_file(state_file)).value("weight", 0) >= 2500 || !apply.running();
      } catch (const std::exception&) {
        return false;
      }
    }, std::chrono::seconds(60)));
    const auto code = apply.signal_and_wait(SIGINT, std::chrono::seconds(30));
    INFO(apply.out() << apply.err());
    REQUIRE(code.has_value());
    CHECK(*code == 130);
    const auto state = nlohmann::json::parse(read_file(state_file));
    CHECK(state["phase"] == "ramping");
    CHECK(state["intent"].is_null());
    // The weight stays where it was (meshsim applies a write at its next tick: wait for it, bounded).
    const double weight = state["weight"].get<double>() / 100.0;
    CHECK(env.sim.wait_for_state([&](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(weight);
    }, std::chrono::seconds(10)));
    bool interrupted = false;
    for (const auto& e : env.journal("e2e")) interrupted = interrupted || e.value("type", "") == "interrupted";
    CHECK(interrupted);
    const auto rerun = run(env.apply_args(plan.string()), quiet_env());
    CHECK(rerun.exit_code == 0);
    check_journal(env.journal("e2e"));
  }

  TEST_CASE("--once called in a loop until the exit code is not 4 reaches promoted") {
    Env env(scenario());
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()));
    int code = 4;
    int runs = 0;
    std::set<int> codes;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    const auto metrics_file = env.dir.path() / "meshmove.prom";
    while ((code == 4 || code == 5) && runs < 300 && std::chrono::steady_clock::now() < deadline) {
      const auto r = run(env.apply_args(plan.string(), {"--once", "--metrics-file", metrics_file.string()}), quiet_env());
      code = r.exit_code;
      codes.insert(code);
      ++runs;
      REQUIRE_MESSAGE((code == 0 || code == 4 || code == 5), r.out << r.err);
      // cron's pause between runs: wait for the next interval's data, bounded.
      Process idle = Process::start({"sleep", "1"});
      (void)idle.wait(std::chrono::seconds(5));
    }
    CHECK(code == 0);
    CHECK(runs > 3);
    check_journal(env.journal("e2e"));
    // For node_exporter's textfile collector: valid, and it says where the migration is.
    const auto metrics = read_file(metrics_file);
    CHECK(metrics.find("meshmove_migration_phase{migration=\"e2e\",phase=\"promoted\"} 1") != std::string::npos);
    CHECK(metrics.find("meshmove_build_info") != std::string::npos);
    const auto lint = run({"sh", "-c", "promtool check metrics < " + metrics_file.string()});
    CHECK_MESSAGE(lint.exit_code == 0, lint.out << lint.err);
    CHECK(env.kube_weight() == doctest::Approx(100.0));
  }

  TEST_CASE("kill -9 at random moments, then rerun: finishes with a consistent journal") {
    Env env(scenario());
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()));
    std::mt19937 rng(20261125);
    std::uniform_int_distribution<int> delay_ms(200, 4000);
    int kills = 0;
    std::optional<int> code;
    for (int attempt = 0; attempt < 25 && !(code && *code != 130 && *code != 137); ++attempt) {
      Process p = Process::start(env.apply_args(plan.string()), quiet_env());
      if (kills < 8) {
        code = p.wait(std::chrono::milliseconds(delay_ms(rng)));  // it runs for a random while...
        if (!code) {
          p.signal_and_wait(SIGKILL, std::chrono::seconds(10));  // ...and dies without warning
          ++kills;
          continue;
        }
      } else {
        code = p.wait(std::chrono::seconds(180));
      }
      INFO(p.out() << p.err());
      if (code && *code == 7) {
        // The killed runner's lock is gone with it; a 7 would mean a stale lock.
        FAIL("locked after a kill -9: " << p.err());
      }
    }
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(kills >= 3);
    check_journal(env.journal("e2e"));
    CHECK(env.kube_weight() == doctest::Approx(100.0));
  }
}

TEST_SUITE("e2e::apply") {
  TEST_CASE("Prometheus stopped mid-run: the ramp holds, never fails, and continues after its restart") {
    Env env(scenario());
    const auto plan = env.dir.write("plan.yaml", plan_text(env.sim.api_url(), env.prom.url()));
    const int metrics_port = free_port();
    Process apply = Process::start(
        env.apply_args(plan.string(), {"--metrics-addr", "127.0.0.1:" + std::to_string(metrics_port)}), quiet_env());
    const auto state_file = env.dir.path() / "state" / "e2e.json";
    const auto state_weight = [&] {
      try {
        return nlohmann::json::parse(read_file(state_file)).value("weight", 0);
      } catch (const std::exception&) {
        return 0;
      }
    };
    // Wait for the first step (25%), then take Prometheus away.
    REQUIRE_MESSAGE(wait_until([&] { return state_weight() >= 2500 || !apply.running(); }, std::chrono::seconds(60)),
                    apply.out() << apply.err());
    REQUIRE(apply.running());
    // meshmove's own metrics are served while it runs.
    const std::string own = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
    CHECK(wait_until([&] {
      return http_get(own).body.find("meshmove_migration_weight{migration=\"e2e\",set=\"to\"") != std::string::npos;
    }, std::chrono::seconds(20)));
    env.prom.stop();
    const auto errors_seen = [&] {
      int errors = 0;
      for (const auto& e : env.journal("e2e")) {
        if (e.value("type", "") != "evaluation") continue;
        for (const auto& g : e["gates"]) errors += g.value("verdict", "") == "ERROR" ? 1 : 0;
      }
      return errors;
    };
    REQUIRE_MESSAGE(wait_until([&] { return errors_seen() >= 2 || !apply.running(); }, std::chrono::seconds(60)),
                    apply.out() << apply.err());
    CHECK(apply.running());  // held, not rolled back, not failed
    CHECK(state_weight() < 10000);
    REQUIRE(env.prom.restart());
    const auto code = apply.wait(std::chrono::seconds(180));
    INFO(apply.out() << apply.err());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    const auto events = env.journal("e2e");
    check_journal(events);
    for (const auto& e : events) CHECK(e.value("action", "") != "rollback");
    CHECK(errors_seen() >= 2);
  }
}
