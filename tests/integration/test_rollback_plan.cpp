// `meshmove plan` (live) and `meshmove rollback` against meshsim, and the transport's secrecy and TLS
// behaviour through the real binary.
#include <doctest/doctest.h>

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"

using namespace meshmove::testsupport;

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 50
subsets:
  vm-env: {instances: 3, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
)";

std::string plan_text(const std::string& url, const std::string& control_plane_extra = "") {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: apitier-to-kube}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + url + "'" + control_plane_extra + "}\n"
         "steps: [10, 50, 100]\n"
         "gates: {slos: [{name: errors, type: error-rate, max: 0.01}]}\n";
}

struct Cli {
  TempDir dir;
  std::map<std::string, std::string> env;
  RunResult run_meshmove(std::vector<std::string> args) {
    args.insert(args.begin(), {binary("meshmove").string(), "--state-dir", (dir.path() / "state").string()});
    RunOptions options;
    options.env = env;
    options.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_KUMA_TOKEN",
                         "MESHMOVE_STATE_DIR"};
    options.timeout = std::chrono::seconds(120);
    return run(args, options);
  }
  std::string everything_written() {
    std::string all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
      if (e.is_regular_file()) all += read_file(e.path());
    }
    return all;
  }
};

// A stand-in server for cases meshsim does not cover: it records the Authorization header of every
// request and answers with a fixed status for writes.
class RecordingServer {
 public:
  explicit RecordingServer(int put_status, std::string put_body) {
    m_server.Get("/meshes/default", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"type":"Mesh","name":"default"})", "application/json");
    });
    m_server.Get(R"(/meshes/default/meshhttproutes/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = 404;
      res.set_content(R"({"type":"/std-errors","status":404,"title":"Could not retrieve a resource","detail":"Not found"})",
                      "application/json");
    });
    m_server.Get("/meshes/default/dataplanes", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"total":1,"items":[{"type":"Dataplane","mesh":"default","name":"vm-1","networking":{"address":"10.0.0.1","inbound":[{"port":15000,"servicePort":5000,"tags":{"kuma.io/service":"apitier_default_svc_5000","env":"vm-env"}}]}}],"next":null})",
                      "application/json");
    });
    m_server.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"tagline":"Kuma","version":"2.14.3"})", "application/json");
    });
    m_server.Put(R"(/meshes/default/meshhttproutes/.*)", [this, put_status, put_body](const httplib::Request& req,
                                                                                         httplib::Response& res) {
      record(req);
      res.status = put_status;
      res.set_content(put_body, "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, std::chrono::seconds(5)));
  }
  ~RecordingServer() {
    m_server.stop();
    m_thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<std::string> authorizations() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_auth;
  }

 private:
  void record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_auth.push_back(req.get_header_value("Authorization"));
    m_agents.push_back(req.get_header_value("User-Agent"));
  }
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::vector<std::string> m_auth;
  std::vector<std::string> m_agents;
};

}  // namespace

TEST_SUITE("integration::rollback_plan") {
  TEST_CASE("plan shows the live split, warnings and the exact next policy") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    auto r = cli.run_meshmove({"plan", "-o", "json", plan.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["current"]["exists"] == false);
    CHECK(j["next"]["action"] == "pin");
    CHECK(j["next"]["toWeight"] == 0);
    CHECK(j["policy"]["type"] == "MeshHTTPRoute");
    CHECK(j["policy"]["labels"]["meshmove.io/migration"] == "apitier-to-kube");
    CHECK(j["preflight"]["fromInstances"] == 3);
    CHECK(j["preflight"]["toInstances"] == 2);
    CHECK(j["warnings"].dump().find("instance count") != std::string::npos);
    CHECK(j["diff"].get<std::string>().find("+    weight: 100") == std::string::npos);  // YAML, indented deeper
    CHECK(j["diff"].get<std::string>().find("weight: 100") != std::string::npos);

    // After a rollback the policy exists and is ours; the next write advances to step 1.
    r = cli.run_meshmove({"rollback", plan.string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("vm-env", 0.0) == doctest::Approx(100.0);
    }, std::chrono::seconds(10)));
    r = cli.run_meshmove({"plan", "-o", "json", "--skip-preflight", plan.string()});
    REQUIRE(r.exit_code == 0);
    j = nlohmann::json::parse(r.out);
    CHECK(j["current"]["exists"] == true);
    CHECK(j["current"]["toWeight"] == 0);
    CHECK(j["next"].is_null());  // rolled back: nothing to write until a restart
    r = cli.run_meshmove({"plan", plan.string()});
    CHECK(r.out.find("rolled back") != std::string::npos);
  }

  TEST_CASE("rollback is idempotent, verified and journalled") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    // Pretend a migration is at 50%: meshmove's own policy with a 50/50 split.
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
                        "labels":{"meshmove.io/migration":"apitier-to-kube","meshmove.io/step":"2"},
                        "spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
                        "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":50},
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":50}]}}]}]}})")
                .status == 201);
    auto r = cli.run_meshmove({"rollback", "--reason", "kube pods OOM", plan.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("was 50% to kube-env") != std::string::npos);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(0.0);
    }, std::chrono::seconds(10)));
    r = cli.run_meshmove({"rollback", plan.string()});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("already rolled back") != std::string::npos);
    const auto journal = read_file(cli.dir.path() / "state" / "apitier-to-kube.journal");
    CHECK(std::count(journal.begin(), journal.end(), '\n') == 2);
    CHECK(journal.find("kube pods OOM") != std::string::npos);
    const auto state = nlohmann::json::parse(read_file(cli.dir.path() / "state" / "apitier-to-kube.json"));
    CHECK(state["phase"] == "rolled-back");
    CHECK(state["lastWritten"] == 0);
    CHECK(state["intent"].is_null());
  }

  TEST_CASE("rollback --no-state rolls back when no state can be written, touching no state store") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    // The state directory cannot be used: a regular file stands where it should be.
    const auto blocker = cli.dir.write("state", "not a directory\n");
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
                        "labels":{"meshmove.io/migration":"apitier-to-kube","meshmove.io/step":"2"},
                        "spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
                        "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":50},
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":50}]}}]}]}})")
                .status == 201);
    auto r = cli.run_meshmove({"rollback", plan.string()});
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("meshmove rollback --no-state " + plan.string()) != std::string::npos);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(50.0);
    }, std::chrono::seconds(10)));

    r = cli.run_meshmove({"rollback", "--no-state", plan.string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("now sends 100% to vm-env (was 50% to kube-env); verified by reading it back") !=
          std::string::npos);
    CHECK(r.out.find("Nothing was recorded") != std::string::npos);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(0.0);
    }, std::chrono::seconds(10)));
    const auto policy = nlohmann::json::parse(
        sim.api("GET", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000", "").body);
    CHECK(policy["labels"]["meshmove.io/migration"] == "apitier-to-kube");
    CHECK(read_file(blocker) == "not a directory\n");  // no state store was touched
    r = cli.run_meshmove({"rollback", "--no-state", "-o", "json", plan.string()});
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["alreadyRolledBack"] == true);
    CHECK(j["state"].is_null());

    // Without state there is no drift check, but a policy meshmove does not own is still refused.
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
                        "spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
                        "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":20},
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":80}]}}]}]}})")
                .status < 300);
    r = cli.run_meshmove({"rollback", "--no-state", plan.string()});
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("--adopt") != std::string::npos);
    r = cli.run_meshmove({"rollback", "--no-state", "--adopt", plan.string()});
    CHECK(r.exit_code == 0);
    CHECK(read_file(blocker) == "not a directory\n");
  }

  TEST_CASE("rollback refuses a policy meshmove does not own unless --adopt") {
    Meshsim sim(k_scenario);
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    REQUIRE(sim.api("PUT", "/meshes/default/traffic-routes/x", "{}").status == 400);  // meshsim validates
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
                        "spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
                        "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":20},
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":80}]}}]}]}})")
                .status == 201);
    auto r = cli.run_meshmove({"rollback", plan.string()});
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("not managed by meshmove") != std::string::npos);
    CHECK(r.err.find("--adopt") != std::string::npos);
    CHECK(sim.wait_for_state([](const nlohmann::json& s) {
      return s["services"]["apitier_default_svc_5000"]["weights"].value("kube-env", -1.0) == doctest::Approx(80.0);
    }, std::chrono::seconds(10)));
    r = cli.run_meshmove({"rollback", "--adopt", plan.string()});
    CHECK(r.exit_code == 0);
  }

  TEST_CASE("the token is sent and never printed or stored") {
    RecordingServer server(401, R"({"type":"/std-errors","status":401,"title":"Unauthorized","detail":"invalid token"})");
    Cli cli;
    const std::string secret = "s3cret-T0KEN-value";
    const auto token_file = cli.dir.write("kuma.token", secret + "\n");
    const auto plan = cli.dir.write("plan.yaml", plan_text(server.url(), ", tokenFile: '" + token_file.string() + "'"));
    auto r = cli.run_meshmove({"-vv", "rollback", plan.string()});
    CHECK(r.exit_code == 6);
    CHECK(r.err.find("tokenFile") != std::string::npos);
    const auto auth = server.authorizations();
    REQUIRE(!auth.empty());
    for (const auto& a : auth) CHECK(a == "Bearer " + secret);
    CHECK(r.out.find(secret) == std::string::npos);
    CHECK(r.err.find(secret) == std::string::npos);
    // The environment variable wins over the file, and is just as secret.
    cli.env["MESHMOVE_KUMA_TOKEN"] = "env-" + secret;
    r = cli.run_meshmove({"-vv", "-o", "json", "plan", plan.string()});
    CHECK(server.authorizations().back() == "Bearer env-" + secret);
    CHECK(r.out.find(secret) == std::string::npos);
    CHECK(r.err.find(secret) == std::string::npos);
    const std::string stored = cli.everything_written();
    CHECK(stored.find(secret) != std::string::npos);  // only in the token file itself
    CHECK(stored.find(secret) == stored.find(secret + "\n"));
    CHECK(stored.find("Bearer") == std::string::npos);
  }

  TEST_CASE("a Kubernetes-mode control plane's 405 says to use controlPlane.type: kubernetes") {
    RecordingServer server(405, R"({"type":"/std-errors","status":405,"title":"Method not allowed","detail":"On Kubernetes you cannot change the state of Kuma resources with 'kumactl apply' or via the HTTP API."})");
    Cli cli;
    const auto plan = cli.dir.write("plan.yaml", plan_text(server.url()));
    const auto r = cli.run_meshmove({"rollback", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("controlPlane.type: kubernetes") != std::string::npos);
    CHECK(r.err.find("HTTP 405") != std::string::npos);
  }

  TEST_CASE("TLS: a self-signed certificate is refused without caFile and accepted with it") {
    TempDir certs;
    const auto key = certs.path() / "key.pem";
    const auto cert = certs.path() / "cert.pem";
    const auto made = run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.string(), "-out",
                           cert.string()});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    MeshsimOptions options;
    options.tls_cert = cert.string();
    options.tls_key = key.string();
    Meshsim sim(k_scenario, options);
    REQUIRE(sim.api_url().rfind("https://", 0) == 0);
    Cli cli;
    auto plan = cli.dir.write("plan.yaml", plan_text(sim.api_url()));
    auto r = cli.run_meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("TLS") != std::string::npos);
    CHECK(r.err.find("caFile") != std::string::npos);
    plan = cli.dir.write("plan.yaml", plan_text(sim.api_url(), ", caFile: '" + cert.string() + "'"));
    r = cli.run_meshmove({"plan", plan.string()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    plan = cli.dir.write("plan.yaml", plan_text(sim.api_url(), ", insecureSkipVerify: true"));
    r = cli.run_meshmove({"plan", plan.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("not verified") != std::string::npos);
  }
}
