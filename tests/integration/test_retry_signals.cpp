// The real binary against a stand-in Kuma control plane on loopback that fails on purpose: a rollback
// retries through an outage, is recorded as owed when the outage outlasts the deadline, and a signal
// during the retries ends meshmove within a second or two with 130 (hostile trial findings 5, 21, 22, 24).
#include <doctest/doctest.h>

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace meshmove::testsupport;
using namespace std::chrono_literals;

namespace {

const char* k_route_path = "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000";

// meshmove's own policy at 50%, as a running migration left it.
const char* k_policy_at_50 =
    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
"labels":{"meshmove.io/migration":"apitier-to-kube","meshmove.io/step":"2"},
"spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
{"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":50},
{"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":50}]}}]}]}})";

std::string plan_text(const std::string& url) {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: apitier-to-kube}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + url + "', timeout: 2s}\n"
         "steps: [10, 50, 100]\n"
         "gates: {slos: [{name: errors, type: error-rate, max: 0.01}]}\n";
}

// A Kuma stand-in whose policy PUTs (or policy GETs) answer as the test says.
class FlakyControlPlane {
 public:
  enum class Mode { Ok, Unavailable, Slow, RetryAfter, Redirect };
  std::atomic<Mode> put_mode{Mode::Ok};
  std::atomic<Mode> get_mode{Mode::Ok};
  std::atomic<int> puts{0};
  std::atomic<int> route_gets{0};

  FlakyControlPlane() {
    m_server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"tagline":"Kuma","version":"2.14.3"})", "application/json");
    });
    m_server.Get("/meshes/default", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"type":"Mesh","name":"default"})", "application/json");
    });
    m_server.Get("/meshes/default/dataplanes", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"total":2,"items":[)"
                      R"({"type":"Dataplane","mesh":"default","name":"vm-1","networking":{"address":"10.0.0.1","inbound":[{"port":15000,"servicePort":5000,"tags":{"kuma.io/service":"apitier_default_svc_5000","env":"vm-env"}}]}},)"
                      R"({"type":"Dataplane","mesh":"default","name":"kube-1","networking":{"address":"10.0.0.2","inbound":[{"port":15000,"servicePort":5000,"tags":{"kuma.io/service":"apitier_default_svc_5000","env":"kube-env"}}]}})"
                      R"(],"next":null})",
                      "application/json");
    });
    m_server.Get(k_route_path, [this](const httplib::Request&, httplib::Response& res) {
      ++route_gets;
      if (answer_badly(get_mode.load(), res)) return;
      std::lock_guard<std::mutex> lock(m_mutex);
      res.set_content(m_policy, "application/json");
    });
    m_server.Put(k_route_path, [this](const httplib::Request& req, httplib::Response& res) {
      ++puts;
      if (answer_badly(put_mode.load(), res)) return;
      std::lock_guard<std::mutex> lock(m_mutex);
      m_policy = req.body;
      res.status = 200;
      res.set_content("{}", "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, 5s));
  }
  ~FlakyControlPlane() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_closing = true;
    }
    m_wake.notify_all();
    m_server.stop();
    m_thread.join();
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::string policy() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_policy;
  }

 private:
  // Answers for the failure modes; false for Mode::Ok.
  bool answer_badly(Mode mode, httplib::Response& res) {
    switch (mode) {
      case Mode::Ok: return false;
      case Mode::Unavailable:
        res.status = 503;
        res.set_content(R"({"title":"Service Unavailable"})", "application/json");
        return true;
      case Mode::RetryAfter:
        res.status = 429;
        res.set_header("Retry-After", "99999");
        res.set_content(R"({"title":"Too Many Requests"})", "application/json");
        return true;
      case Mode::Redirect:
        res.status = 302;
        res.set_header("Location", "http://admin:hunter2@127.0.0.2:5681/meshes?token=s3cret");
        return true;
      case Mode::Slow: {
        // Longer than meshmove's 2 s timeout; bounded, and cut short when the server closes.
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait_for(lock, 8s, [this] { return m_closing; });
        res.status = 503;
        return true;
      }
    }
    return false;
  }

  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_closing = false;
  std::string m_policy = k_policy_at_50;
};

struct Cli {
  TempDir dir;
  std::vector<std::string> argv(std::vector<std::string> args) const {
    args.insert(args.begin(), {binary("meshmove").string(), "--state-dir", (dir.path() / "state").string()});
    return args;
  }
  RunOptions options() const {
    RunOptions o;
    o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_KUMA_TOKEN",
                   "MESHMOVE_STATE_DIR", "MESHMOVE_STATE"};
    o.timeout = 60s;
    return o;
  }
  nlohmann::json state() const {
    return nlohmann::json::parse(read_file(dir.path() / "state" / "apitier-to-kube.json"));
  }
};

// Signals `process` and returns its exit code and how long it took to exit.
std::pair<std::optional<int>, std::chrono::milliseconds> signal_timed(Process& process, int signal) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto code = process.signal_and_wait(signal, 10s);
  return {code, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)};
}

}  // namespace

TEST_SUITE("integration::retry_signals") {
  TEST_CASE("rollback retries through 3 s of 503 and lands (a 1 s blip used to abandon it)") {
    FlakyControlPlane cp;
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
    cp.put_mode = FlakyControlPlane::Mode::Unavailable;
    auto p = Process::start(cli.argv({"rollback", plan.string()}), cli.options());
    REQUIRE(wait_until([&] { return cp.puts.load() >= 1; }, 10s));
    const auto outage_start = std::chrono::steady_clock::now();
    REQUIRE_FALSE(wait_until([&] { return !p.running(); }, 3s));  // still retrying after 3 s of 503
    cp.put_mode = FlakyControlPlane::Mode::Ok;
    const auto code = p.wait(30s);
    INFO(p.out() << p.err());
    CHECK(code == 0);
    CHECK(std::chrono::steady_clock::now() - outage_start < 30s);
    CHECK(cp.puts.load() >= 4);  // the 4th attempt came after the outage; before, 4 attempts took ~1 s
    CHECK(cp.policy().find("\"weight\":100") != std::string::npos);
    CHECK(cli.state()["phase"] == "rolled-back");
    CHECK_FALSE(cli.state().contains("rollbackOwed"));
  }

  TEST_CASE("a rollback that outlasts --rollback-deadline exits 6, owed, and the next rollback writes it") {
    FlakyControlPlane cp;
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
    cp.put_mode = FlakyControlPlane::Mode::Unavailable;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run(cli.argv({"rollback", "--rollback-deadline", "3s", plan.string()}), cli.options());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    CHECK(r.err.find("rollback to 0% not written") != std::string::npos);
    CHECK(r.err.find("recorded as owed") != std::string::npos);
    auto state = cli.state();
    REQUIRE(state.contains("rollbackOwed"));
    CHECK(state["rollbackOwed"]["toWeight"] == 0);
    cp.put_mode = FlakyControlPlane::Mode::Ok;
    r = run(cli.argv({"rollback", plan.string()}), cli.options());
    CHECK(r.exit_code == 0);
    state = cli.state();
    CHECK(state["phase"] == "rolled-back");
    CHECK_FALSE(state.contains("rollbackOwed"));
  }

  TEST_CASE("SIGTERM, SIGINT or SIGHUP while a rollback is retried: exit 130 within a few seconds, owed") {
    for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
      for (const auto mode : {FlakyControlPlane::Mode::Unavailable, FlakyControlPlane::Mode::Slow}) {
        CAPTURE(sig);
        CAPTURE(mode == FlakyControlPlane::Mode::Slow);
        FlakyControlPlane cp;
        Cli cli;
        const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
        cp.put_mode = mode;
        auto p = Process::start(cli.argv({"rollback", "--rollback-deadline", "60s", plan.string()}), cli.options());
        // Retrying (503), or waiting inside one PUT the server does not answer in time.
        REQUIRE(wait_until([&] { return cp.puts.load() >= (mode == FlakyControlPlane::Mode::Slow ? 1 : 3); }, 20s));
        const auto [code, took] = signal_timed(p, sig);
        INFO(p.out() << p.err());
        CHECK(code == 130);
        const std::string measured = "signal " + std::to_string(sig) +
                                     (mode == FlakyControlPlane::Mode::Slow ? " in a slow PUT" : " between retries") +
                                     ": exited after " + std::to_string(took.count()) + " ms";
        MESSAGE(measured);
        CHECK(took < 3000ms);
        const auto state = cli.state();
        CHECK(state.contains("rollbackOwed"));
        CHECK(state["intent"].is_object());  // the next run finds out whether the PUT landed
      }
    }
  }

  TEST_CASE("SIGTERM while apply's read is retried against a slow control plane: exit 130 within a few seconds") {
    FlakyControlPlane cp;
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
    cp.get_mode = FlakyControlPlane::Mode::Slow;
    auto p = Process::start(cli.argv({"apply", "--skip-preflight", plan.string()}), cli.options());
    REQUIRE(wait_until([&] { return cp.route_gets.load() >= 1; }, 20s));
    const auto [code, took] = signal_timed(p, SIGTERM);
    INFO(p.out() << p.err());
    CHECK(code == 130);
    const std::string measured = "SIGTERM in a slow GET: apply exited after " + std::to_string(took.count()) + " ms";
    MESSAGE(measured);
    CHECK(took < 3000ms);
    CHECK(cp.puts.load() == 0);
  }

  TEST_CASE("Retry-After: 99999 gives up at once and says why (finding 22)") {
    FlakyControlPlane cp;
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
    cp.put_mode = FlakyControlPlane::Mode::RetryAfter;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run(cli.argv({"rollback", plan.string()}), cli.options());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(cp.puts.load() == 1);
    CHECK(r.err.find("asked to retry after 27h46m39s, beyond the deadline") != std::string::npos);
  }

  TEST_CASE("a redirect is named, without its credentials, and not followed (finding 24)") {
    FlakyControlPlane cp;
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(cp.url()));
    cp.get_mode = FlakyControlPlane::Mode::Redirect;
    auto r = run(cli.argv({"rollback", plan.string()}), cli.options());
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("-> HTTP 302 redirect to http://[redacted]@127.0.0.2:5681/meshes?[redacted]; meshmove does not "
                     "follow redirects: point the URL at the final address") != std::string::npos);
    CHECK(r.err.find("hunter2") == std::string::npos);
    CHECK(r.err.find("s3cret") == std::string::npos);
  }
}
