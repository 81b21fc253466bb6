// Secrets through the real binary (issue 10, findings 7, 10, 17, 20 of the hostile trial): servers on
// 127.0.0.1 that echo the Authorization header in their errors, token files laid out as a Kubernetes
// Secret volume, credentials in URL flags, and JSON log lines.
#include <doctest/doctest.h>

#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove::testsupport;
namespace fs = std::filesystem;

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 200
subsets:
  vm-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
)";

std::string plan_text(const std::string& name, const std::string& cp, const std::string& prom,
                      const std::string& cp_extra = "", const std::string& prom_extra = "") {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: " + name + "}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + cp + "', timeout: 3s" + cp_extra + "}\n"
         "steps: [10, 50, 100]\nbake: 4s\ninterval: 1s\nsettle: 1s\n"
         "gates:\n  prometheus: {url: '" + prom + "', timeout: 2s" + prom_extra + "}\n"
         "  minRequests: 20\n  maxHold: 4s\n"
         "  slos:\n    - {name: errors, type: error-rate, max: 0.01}\n";
}

// An HTTP server on 127.0.0.1 that records the Authorization header of every request and hands each
// request to `answer`.
class EchoServer {
 public:
  using Answer = std::function<void(const httplib::Request&, httplib::Response&)>;
  explicit EchoServer(Answer answer) : m_answer(std::move(answer)) {
    const auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_auth.push_back(req.get_header_value("Authorization"));
        m_requests.push_back(req.method + " " + req.path);
        for (const auto& [name, value] : req.headers) m_header_names.push_back(name);
      }
      m_answer(req, res);
    };
    m_server.Get(".*", handle);
    m_server.Post(".*", handle);
    m_server.Put(".*", handle);
    m_server.Delete(".*", handle);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, std::chrono::seconds(5)));
  }
  ~EchoServer() {
    m_server.stop();
    m_thread.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<std::string> authorizations() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_auth;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_requests;
  }
  std::vector<std::string> header_names() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_header_names;
  }

 private:
  Answer m_answer;
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::vector<std::string> m_auth;
  std::vector<std::string> m_requests;
  std::vector<std::string> m_header_names;
};

// Prometheus refusing every query with 400 bad_data "unauthorized <Authorization header>" (the trial's
// echofmt rule).
void prometheus_echo(const httplib::Request& req, httplib::Response& res) {
  res.status = 400;
  res.set_content(nlohmann::json{{"status", "error"},
                                 {"errorType", "bad_data"},
                                 {"error", "unauthorized " + req.get_header_value("Authorization")}}
                      .dump(),
                  "application/json");
}

// A Kuma control plane with one VM and one pod of the service, no policy yet, that refuses every PUT with
// `put_status` and a body quoting the Authorization header (Kong AIP-193 style).
EchoServer::Answer kuma_echo(int put_status) {
  return [put_status](const httplib::Request& req, httplib::Response& res) {
    const std::string auth = req.get_header_value("Authorization");
    if (req.method == "PUT") {
      res.status = put_status;
      res.set_content(nlohmann::json{{"type", "/std-errors"},
                                     {"status", put_status},
                                     {"title", put_status == 400 ? "Bad Request" : "Internal Server Error"},
                                     {"detail", "could not authenticate Authorization: " + auth}}
                          .dump(),
                      "application/json");
    } else if (req.path == "/") {
      res.set_content(R"({"tagline":"Kuma","version":"2.14.3"})", "application/json");
    } else if (req.path == "/meshes/default") {
      res.set_content(R"({"type":"Mesh","name":"default"})", "application/json");
    } else if (req.path == "/meshes/default/dataplanes") {
      res.set_content(
          R"({"total":2,"items":[)"
          R"({"type":"Dataplane","mesh":"default","name":"vm-1","networking":{"address":"10.0.0.1","inbound":[{"port":15000,"servicePort":5000,"tags":{"kuma.io/service":"apitier_default_svc_5000","env":"vm-env"}}]}},)"
          R"({"type":"Dataplane","mesh":"default","name":"pod-1","networking":{"address":"10.0.0.2","inbound":[{"port":15000,"servicePort":5000,"tags":{"kuma.io/service":"apitier_default_svc_5000","env":"kube-env"}}]}})"
          R"(],"next":null})",
          "application/json");
    } else if (req.path.rfind("/meshes/default/", 0) == 0 && req.path.find('/', 16) == std::string::npos) {
      res.set_content(R"({"total":0,"items":[],"next":null})", "application/json");  // a list of policies
    } else {
      res.status = 404;
      res.set_content(R"({"type":"/std-errors","status":404,"title":"Could not retrieve a resource","detail":"Not found"})",
                      "application/json");
    }
  };
}

struct Cli {
  TempDir dir;
  std::map<std::string, std::string> env;
  [[nodiscard]] fs::path state_dir() const { return dir.path() / "state"; }
  RunResult meshmove(std::vector<std::string> args) {
    args.insert(args.begin(), binary("meshmove").string());
    RunOptions options;
    options.env = env;
    options.env["MESHMOVE_STATE_DIR"] = state_dir().string();
    options.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_KUMA_TOKEN",
                         "MESHMOVE_PROMETHEUS_TOKEN", "MESHMOVE_STATE", "NO_COLOR"};
    options.timeout = std::chrono::seconds(120);
    return run(args, options);
  }
  // The content of every file meshmove may have written under the test directory but the plan and
  // token files the test wrote itself.
  std::string written(const std::vector<fs::path>& own) {
    std::string all;
    for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
      if (!e.is_regular_file()) continue;
      if (std::find(own.begin(), own.end(), e.path()) != own.end()) continue;
      all += e.path().string() + ":\n" + read_file(e.path()) + "\n";
    }
    return all;
  }
};

// Every output of a run, labelled, for one search.
std::string outputs(const std::vector<std::pair<std::string, RunResult>>& runs) {
  std::string all;
  for (const auto& [what, r] : runs) all += "== " + what + " stdout:\n" + r.out + "\n== " + what + " stderr:\n" + r.err + "\n";
  return all;
}

// Kubernetes' layout of a Secret volume at `mount`: KEY -> ..data/KEY, ..data -> ..TIMESTAMP/, the
// file in the timestamped directory with `mode` (owned by root when the test runs as root).
fs::path secret_volume(const fs::path& mount, const std::string& key, const std::string& value, mode_t mode) {
  const std::string stamp = "..2026_12_01_00_00_00.123456789";
  fs::create_directories(mount / stamp);
  const auto file = mount / stamp / key;
  {
    std::ofstream out(file, std::ios::binary);
    out << value;
  }
  REQUIRE(::chmod(file.c_str(), mode) == 0);
  if (!fs::exists(fs::symlink_status(mount / "..data"))) fs::create_directory_symlink(stamp, mount / "..data");
  if (!fs::exists(fs::symlink_status(mount / key))) fs::create_symlink(fs::path("..data") / key, mount / key);
  return mount / key;
}

}  // namespace

TEST_SUITE("integration::secrets") {
  TEST_CASE("a Prometheus echoing the Authorization header: the token is nowhere meshmove writes") {
    Meshsim sim(k_scenario);
    EchoServer prom(prometheus_echo);
    Cli cli;
    const std::string token = "ENVPROMTOKEN-dddd-4444";
    cli.env["MESHMOVE_PROMETHEUS_TOKEN"] = token;
    const auto plan = cli.dir.write("s.yaml", plan_text("echo-prom", sim.api_url(), prom.url()));
    const auto report1 = cli.dir.path() / "r1.xml";
    const auto report2 = cli.dir.path() / "r2.xml";
    std::vector<std::pair<std::string, RunResult>> runs;
    runs.emplace_back("check", cli.meshmove({"-vv", "check", "--window", "1m", plan.string()}));
    runs.emplace_back("check -o json", cli.meshmove({"-vv", "-o", "json", "check", "--window", "1m", plan.string()}));
    runs.emplace_back("apply --once",
                      cli.meshmove({"-vv", "apply", "--once", "--report", report1.string(), plan.string()}));
    runs.emplace_back("apply", cli.meshmove({"-v", "apply", "--report", report2.string(), plan.string()}));
    runs.emplace_back("apply --log-format json",
                      cli.meshmove({"-vv", "--log-format", "json", "apply", "--once", plan.string()}));
    runs.emplace_back("status", cli.meshmove({"status", "-o", "json", plan.string()}));
    runs.emplace_back("status text", cli.meshmove({"status", plan.string()}));
    runs.emplace_back("history", cli.meshmove({"history", "-o", "json", plan.string()}));
    runs.emplace_back("history text", cli.meshmove({"history", plan.string()}));
    const std::string all = outputs(runs) + cli.written({plan});
    INFO(all);

    // Prometheus did get the token, and echoed it.
    const auto auth = prom.authorizations();
    REQUIRE(!auth.empty());
    for (const auto& a : auth) CHECK(a == "Bearer " + token);
    CHECK(all.find(token) == std::string::npos);
    CHECK(all.find("dddd-4444") == std::string::npos);
    // What Prometheus said is still shown, redacted.
    CHECK(all.find("unauthorized Bearer [REDACTED]") != std::string::npos);
    CHECK(fs::exists(cli.state_dir() / "echo-prom.journal"));
  }

  TEST_CASE("a control plane echoing the Authorization header in a 400 or a 500: the token is nowhere") {
    for (const int status : {400, 500}) {
      EchoServer kuma(kuma_echo(status));
      EchoServer prom(prometheus_echo);
      Cli cli;
      const std::string token = "KUMATOKEN-" + std::to_string(status) + "-eeee-5555";
      cli.env["MESHMOVE_KUMA_TOKEN"] = token;
      const auto plan = cli.dir.write("k.yaml", plan_text("echo-kuma", kuma.url(), prom.url()));
      const auto report = cli.dir.path() / "r.xml";
      std::vector<std::pair<std::string, RunResult>> runs;
      runs.emplace_back("apply", cli.meshmove({"-vv", "apply", "--once", "--skip-preflight", "--report", report.string(),
                                               plan.string()}));
      runs.emplace_back("rollback", cli.meshmove({"-vv", "rollback", "--skip-preflight", plan.string()}));
      runs.emplace_back("plan", cli.meshmove({"-vv", "plan", plan.string()}));
      runs.emplace_back("status", cli.meshmove({"status", "-o", "json", plan.string()}));
      runs.emplace_back("history", cli.meshmove({"history", "-o", "json", plan.string()}));
      const std::string all = outputs(runs) + cli.written({plan});
      INFO(status << "\n" << all);
      const auto requests = kuma.requests();
      CHECK(std::count_if(requests.begin(), requests.end(), [](const std::string& r) { return r.rfind("PUT ", 0) == 0; }) >= 1);
      for (const auto& a : kuma.authorizations()) CHECK(a == "Bearer " + token);
      CHECK(all.find(token) == std::string::npos);
      CHECK(all.find("eeee-5555") == std::string::npos);
      CHECK(all.find("[REDACTED]") != std::string::npos);
    }
  }

  TEST_CASE("the README's CronJob: a token from a Secret volume (symlinks, root-owned 0644 or 0400) or the env") {
    Meshsim sim(k_scenario);
    Prometheus prom({sim.metrics_target()});
    REQUIRE_MESSAGE(prom.wait_for_data("envoy_cluster_upstream_rq_total", std::chrono::seconds(60)), prom.log());
    Cli cli;
    // The plan from a ConfigMap volume (the same symlink layout), the tokens from Secret volumes with
    // Kubernetes' default defaultMode 0644.
    const auto kuma_token = secret_volume(cli.dir.path() / "kuma-admin", "token", "cron-kuma-tok\n", 0644);
    const auto prom_token = secret_volume(cli.dir.path() / "prom", "token", "cron-prom-tok\n", 0644);
    const auto plan = secret_volume(cli.dir.path() / "plans", "vm-to-kube.yaml",
                                    plan_text("cron", sim.api_url(), prom.url(), ", tokenFile: " + kuma_token.string(),
                                              ", tokenFile: " + prom_token.string()),
                                    0644);
    auto r = cli.meshmove({"apply", "--once", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);  // moved (the pin): run again later
    CHECK(r.err.find("the secret file " + kuma_token.string() + " is readable by everyone") != std::string::npos);
    CHECK(r.err.find("defaultMode: 0400") != std::string::npos);
    CHECK(r.out.find("cron-kuma-tok") == std::string::npos);
    CHECK(r.err.find("cron-prom-tok") == std::string::npos);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("vm-env", -1.0) == doctest::Approx(100.0);
    }, std::chrono::seconds(10)));

    // defaultMode: 0400: no warning.
    REQUIRE(::chmod(fs::canonical(kuma_token).c_str(), 0400) == 0);
    REQUIRE(::chmod(fs::canonical(prom_token).c_str(), 0400) == 0);
    r = cli.meshmove({"apply", "--once", plan.string()});
    INFO(r.out << r.err);
    CHECK((r.exit_code == 4 || r.exit_code == 5));
    CHECK(r.err.find("warning") == std::string::npos);

    // As the README has it: the token in MESHMOVE_KUMA_TOKEN from a secretKeyRef (a trailing newline from
    // `kubectl create secret --from-file` is fine).
    // The variable wins over the plan's tokenFile.
    cli.env["MESHMOVE_KUMA_TOKEN"] = "cron-env-tok\n";
    r = cli.meshmove({"apply", "--once", plan.string()});
    INFO(r.out << r.err);
    CHECK((r.exit_code == 4 || r.exit_code == 5));
    CHECK(r.out.find("cron-env-tok") == std::string::npos);
    CHECK(r.err.find("cron-env-tok") == std::string::npos);
    cli.env.erase("MESHMOVE_KUMA_TOKEN");

    // A Secret volume file that is group-writable is refused, naming the fix.
    REQUIRE(::chmod(fs::canonical(kuma_token).c_str(), 0664) == 0);
    r = cli.meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("chmod 600 " + kuma_token.string()) != std::string::npos);
  }

  TEST_CASE("a token with CR/LF is refused before anything is sent (file and environment)") {
    EchoServer kuma(kuma_echo(400));
    Cli cli;
    const auto token_file = cli.dir.write("inj.token", "tok\r\nX-Injected: yes\n");
    REQUIRE(::chmod(token_file.c_str(), 0600) == 0);
    const auto plan = cli.dir.write("p.yaml", plan_text("inj", kuma.url(), "http://127.0.0.1:1",
                                                        ", tokenFile: " + token_file.string()));
    auto r = cli.meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(token_file.string()) != std::string::npos);
    CHECK(r.err.find("Injected") == std::string::npos);

    cli.env["MESHMOVE_KUMA_TOKEN"] = "tok\r\nX-Env-Injected: 1";
    r = cli.meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("MESHMOVE_KUMA_TOKEN") != std::string::npos);
    CHECK(r.err.find("Injected") == std::string::npos);

    // A world-writable token file, and /etc/shadow's kind of file (several lines), are refused too.
    REQUIRE(::chmod(token_file.c_str(), 0666) == 0);
    cli.env.erase("MESHMOVE_KUMA_TOKEN");
    r = cli.meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("chmod 600") != std::string::npos);
    const auto lines = cli.dir.write("lines.token", "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n");
    REQUIRE(::chmod(lines.c_str(), 0600) == 0);
    const auto plan2 = cli.dir.write("p2.yaml", plan_text("lines", kuma.url(), "http://127.0.0.1:1",
                                                          ", tokenFile: " + lines.string()));
    r = cli.meshmove({"plan", plan2.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("root:") == std::string::npos);
    CHECK(kuma.requests().empty());
    const auto names = kuma.header_names();
    CHECK(std::find(names.begin(), names.end(), "X-Injected") == names.end());
  }

  TEST_CASE("credentials in --prometheus-url, --control-plane-url and MESHMOVE_*_URL: exit 2, never printed") {
    EchoServer server(prometheus_echo);
    Cli cli;
    const auto plan = cli.dir.write("p.yaml", plan_text("creds", server.url(), server.url()));
    const std::string with_creds = "http://u:hunter2pass@127.0.0.1:1";
    std::vector<std::pair<std::string, RunResult>> runs;
    runs.emplace_back("check flag", cli.meshmove({"check", "--prometheus-url", with_creds, plan.string()}));
    runs.emplace_back("plan flag", cli.meshmove({"plan", "--control-plane-url", with_creds, plan.string()}));
    cli.env["MESHMOVE_PROMETHEUS_URL"] = with_creds;
    runs.emplace_back("check env", cli.meshmove({"check", plan.string()}));
    cli.env.erase("MESHMOVE_PROMETHEUS_URL");
    cli.env["MESHMOVE_CONTROL_PLANE_URL"] = "https://token-only@127.0.0.1:1/";
    runs.emplace_back("plan env", cli.meshmove({"plan", plan.string()}));
    for (const auto& run_result : runs) {
      const std::string& what = run_result.first;
      const RunResult& r = run_result.second;
      INFO(what << "\n" << r.out << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("credentials in the URL are refused") != std::string::npos);
      CHECK(r.out.find("hunter2pass") == std::string::npos);
      CHECK(r.err.find("hunter2pass") == std::string::npos);
      CHECK(r.err.find("token-only") == std::string::npos);
    }
    CHECK(server.requests().empty());
  }

  TEST_CASE("--log-format json: every line on stderr is JSON, -vv included") {
    Meshsim sim(k_scenario);
    EchoServer prom(prometheus_echo);
    Cli cli;
    const auto plan = cli.dir.write("j.yaml", plan_text("json-logs", sim.api_url(), prom.url()));
    std::vector<std::pair<std::string, RunResult>> runs;
    runs.emplace_back("apply", cli.meshmove({"-vv", "--log-format", "json", "apply", "--once", plan.string()}));
    runs.emplace_back("apply -o json",
                      cli.meshmove({"-vv", "--log-format", "json", "-o", "json", "apply", "--once", plan.string()}));
    runs.emplace_back("validate a missing plan", cli.meshmove({"--log-format", "json", "validate", "missing.yaml"}));
    runs.emplace_back("check", cli.meshmove({"-vv", "--log-format", "json", "check", "--window", "1m", plan.string()}));
    runs.emplace_back("plan", cli.meshmove({"-vv", "--log-format", "json", "plan", plan.string()}));
    int debug = 0;
    int lines = 0;
    for (const auto& run_result : runs) {
      const std::string& what = run_result.first;
      const RunResult& r = run_result.second;
      std::istringstream in(r.err);
      for (std::string line; std::getline(in, line);) {
        INFO(what << ": " << line);
        ++lines;
        nlohmann::json j;
        REQUIRE_NOTHROW(j = nlohmann::json::parse(line));
        CHECK(j.is_object());
        if (j.value("level", "") == "debug") ++debug;
      }
    }
    CHECK(lines > 5);
    CHECK(debug > 0);  // the "POST .../api/v1/query -> 400 in N ms" lines of -vv
  }
}
