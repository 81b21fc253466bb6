// Doubt is never a pass, end to end: a tampering proxy between meshmove and a real Prometheus (scraping
// meshsim) rewrites the answers about a release that fails (half its requests are errors, its p99 is
// seconds). Untampered, meshmove rolls it back; with NaN, -Inf or negative 5xx counts, an extra sample,
// a partial answer or a histogram without +Inf, it must hold and pause after maxHold, never promote.
#include <doctest/doctest.h>

#include <httplib.h>

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "tests/support/http.hpp"
#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove::testsupport;
using nlohmann::json;

namespace {

const char* k_service = "apitier_default_svc_5000";

// kube-env fails from the start: 50% errors, p99 3 s.
const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 400
subsets:
  vm-env: {instances: 3, errorRate: 0.001, latency: {median: 20ms, p99: 90ms}}
  kube-env: {instances: 1, errorRate: 0.5, latency: {median: 900ms, p99: 3s}}
)";

// Sits on 127.0.0.1 in front of Prometheus's /api/v1/query; `tamper` rewrites the JSON answer to the
// queries it picks (by PromQL). Everything else passes through unchanged.
class TamperingProxy {
 public:
  using Rule = std::function<void(const std::string& promql, json& answer)>;

  explicit TamperingProxy(const std::string& upstream_url) : m_upstream(upstream_url) {
    m_server.Post("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
      httplib::Client up(m_upstream);
      up.set_connection_timeout(5);
      up.set_read_timeout(10);
      auto r = up.Post("/api/v1/query", req.body, "application/x-www-form-urlencoded");
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      std::string body = r->body;
      Rule rule;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        rule = m_rule;
      }
      if (rule && r->status == 200) {
        json answer = json::parse(body, nullptr, false);
        if (!answer.is_discarded()) {
          rule(req.get_param_value("query"), answer);
          body = answer.dump();
        }
      }
      res.set_content(body, "application/json");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, std::chrono::seconds(5)));
  }
  ~TamperingProxy() {
    m_server.stop();
    m_thread.join();
  }
  TamperingProxy(const TamperingProxy&) = delete;
  TamperingProxy& operator=(const TamperingProxy&) = delete;

  void set(Rule rule) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_rule = std::move(rule);
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

 private:
  std::string m_upstream;
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  std::mutex m_mutex;
  Rule m_rule;
};

// The gates' own queries during a step (ranges of a few seconds), not the pre-flight's (1m), which
// checks that the queries are answered and is left alone here so that the gates see the tampering.
bool gate_query(const std::string& q, const std::string& part) {
  return q.find(part) != std::string::npos && q.find("[1m]") == std::string::npos;
}

const std::string k_5xx = "envoy_response_code_class=\"5\"";

std::string plan_text(const std::string& name, const std::string& cp, const std::string& prom, const std::string& slo) {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: " + name + "}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" + cp + "'}\n"
         "steps: [50, 100]\nbake: 4s\ninterval: 1s\nsettle: 1s\n"
         "gates:\n  prometheus: {url: '" + prom + "'}\n  minRequests: 20\n  maxHold: 5s\n"
         "  slos:\n    - " + slo + "\n";
}

const char* k_errors = "{name: errors, type: error-rate, max: 0.02}";
const char* k_latency = "{name: latency, type: latency, threshold: 500ms, maxSlowFraction: 0.05}";

struct Shape {
  const char* name;
  const char* slo;
  TamperingProxy::Rule rule;
  const char* reason;  // in the journal's gate reasons
};

void set_values(json& answer, const std::string& v) {
  for (auto& s : answer["data"]["result"]) s["value"][1] = v;
}

std::vector<Shape> shapes() {
  return {
      {"NaN 5xx count", k_errors, [](const std::string& q, json& a) { if (gate_query(q, k_5xx)) set_values(a, "NaN"); },
       "the 5xx count is NaN"},
      {"-Inf 5xx count", k_errors, [](const std::string& q, json& a) { if (gate_query(q, k_5xx)) set_values(a, "-Inf"); },
       "the 5xx count is -Inf"},
      {"negative 5xx count", k_errors,
       [](const std::string& q, json& a) { if (gate_query(q, k_5xx)) set_values(a, "-500"); }, "never negative"},
      {"a bogus million in the response count", k_errors,
       [](const std::string& q, json& a) {
         if (gate_query(q, "envoy_cluster_upstream_rq_xx") && q.find(k_5xx) == std::string::npos) {
           a["data"]["result"].push_back({{"metric", {{"x", "y"}}}, {"value", {1.0, "1000000"}}});
         }
       },
       "not the answer to its query"},
      {"a partial answer without the 5xx series", k_errors,
       [](const std::string& q, json& a) {
         if (!gate_query(q, k_5xx)) return;
         a["warnings"] = json::array({"partial response: some stores unavailable"});
         a["data"]["result"] = json::array();
       },
       "may be incomplete"},
      {"a histogram without its slow buckets and +Inf", k_latency,
       [](const std::string& q, json& a) {
         if (!gate_query(q, "_bucket")) return;
         const std::regex slow("^(1000|2500|5000|10000|30000|60000|300000|600000|1800000|3600000|\\+Inf)$");
         json kept = json::array();
         for (const auto& s : a["data"]["result"]) {
           if (!std::regex_match(s["metric"].value("le", ""), slow)) kept.push_back(s);
         }
         a["data"]["result"] = kept;
       },
       "no +Inf bucket"},
  };
}

// Removes every route of the mesh, so that each run starts from Kuma's split by instance count.
void delete_routes(const Meshsim& sim) {
  const auto list = http_get(sim.api_url() + "/meshes/default/meshhttproutes");
  REQUIRE(list.status == 200);
  for (const auto& item : list.json().value("items", json::array())) {
    CHECK(http_delete(sim.api_url() + "/meshes/default/meshhttproutes/" + item.value("name", "")).status == 200);
  }
}

RunOptions quiet_env() {
  RunOptions o;
  o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_STATE_DIR", "MESHMOVE_KUMA_TOKEN"};
  o.timeout = std::chrono::seconds(120);
  return o;
}

std::vector<json> journal(const std::filesystem::path& file) {
  std::vector<json> out;
  std::istringstream in(read_file(file));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

}  // namespace

TEST_SUITE("e2e::tamper") {
  TEST_CASE("a tampering proxy in front of Prometheus never gets a failing release promoted") {
    Meshsim sim(k_scenario);
    Prometheus prom(std::vector<std::string>{sim.metrics_target()});
    REQUIRE_MESSAGE(prom.wait_for_data("envoy_cluster_upstream_rq_total", std::chrono::seconds(60)), prom.log());
    TamperingProxy proxy(prom.url());
    TempDir dir;
    const auto state = dir.path() / "state";
    int n = 0;
    const auto apply = [&](const char* slo) {
      const std::string name = "tamper" + std::to_string(++n);
      const auto plan = dir.write(name + ".yaml", plan_text(name, sim.api_url(), proxy.url(), slo));
      auto r = run({binary("meshmove").string(), "--state-dir", state.string(), "apply", plan.string()}, quiet_env());
      return std::make_pair(r, journal(state / (name + ".journal")));
    };

    // Untampered, this release is rolled back by either gate: the tampering below is the only difference.
    for (const char* slo : {k_errors, k_latency}) {
      CAPTURE(slo);
      const auto result = apply(slo);
      const auto& r = result.first;
      INFO(r.out << r.err);
      CHECK(r.exit_code == 3);
      delete_routes(sim);
    }

    for (const Shape& shape : shapes()) {
      CAPTURE(shape.name);
      proxy.set(shape.rule);
      const auto result = apply(shape.slo);
      const auto& r = result.first;
      const auto& events = result.second;
      proxy.set(nullptr);
      INFO(r.out << r.err);
      CHECK(r.exit_code == 5);  // held at 50% until maxHold, then paused for a person
      CHECK(r.out.find("promoted") == std::string::npos);
      int errors = 0, passes = 0;
      for (const auto& e : events) {
        if (e.value("type", "") != "evaluation") continue;
        for (const auto& g : e["gates"]) {
          if (g["verdict"] == "PASS") ++passes;
          if (g["verdict"] == "ERROR") {
            ++errors;
            CHECK_MESSAGE(g["reason"].get<std::string>().find(shape.reason) != std::string::npos, g["reason"]);
          }
        }
        CHECK(e["toWeight"] != 100);
      }
      CHECK(errors > 0);
      CHECK(passes == 0);
      const auto weights = sim.state()["services"][k_service]["weights"];
      CHECK(weights.value("kube-env", -1.0) < 100.0);
      delete_routes(sim);
    }
  }
}
