// meshmove's own metrics seen by the real consumers: Prometheus scraping the exposer, and Debian's
// prometheus-pushgateway receiving a push. Servers run on free 127.0.0.1 ports and are stopped by PID.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "metrics/telemetry.hpp"
#include "tests/support/http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

using namespace meshmove;
using planner::EngineEvent;
using testsupport::wait_until;

namespace {

planner::Plan sample_plan() {
  planner::Plan p;
  p.name = "orders-to-kube";
  p.service = "orders_default_svc_80";
  p.from = "vm";
  p.to = "kube";
  p.steps = {2500, 5000, 10000};
  planner::Slo errors;
  errors.name = "errors";
  errors.type = planner::SloType::ErrorRate;
  errors.max = 0.01;
  p.gates.slos = {errors};
  return p;
}

// Reports a ramp to 25 % with one passing evaluation.
void ramp_to_25(metrics::Telemetry& t, const planner::Plan& plan) {
  planner::MigrationState s;
  s.migration = plan.name;
  s.phase = planner::Phase::Ramping;
  s.weight = 2500;
  s.step = 0;
  EngineEvent wrote;
  wrote.kind = EngineEvent::Kind::Wrote;
  wrote.migration = plan.name;
  wrote.state = &s;
  wrote.from_weight = 0;
  wrote.to_weight = 2500;
  wrote.step = 0;
  t.report(plan, wrote);
  EngineEvent evaluated = wrote;
  evaluated.kind = EngineEvent::Kind::Evaluated;
  planner::GateEvaluation g;
  g.slo = "errors";
  g.set = "to";
  g.verdict = planner::Verdict::Pass;
  g.value = 0.002;
  evaluated.gates = {g};
  t.report(plan, evaluated);
}

// A Pushgateway on a free loopback port (three attempts if the port was taken meanwhile), ready.
struct Pushgateway {
  testsupport::Process process;
  int port = 0;

  Pushgateway() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port = testsupport::free_port();
      process = testsupport::Process::start(
          {"/usr/bin/prometheus-pushgateway", "--web.listen-address=127.0.0.1:" + std::to_string(port)});
      testsupport::HttpOptions quick;
      quick.timeout = std::chrono::seconds(2);
      const bool ready = wait_until(
          [&] {
            return !process.running() || testsupport::http_get(url() + "/-/ready", quick).status == 200;
          },
          std::chrono::seconds(30), std::chrono::milliseconds(20));
      if (ready && process.running()) return;
      process.stop();
    }
    FAIL("the Pushgateway did not start: " << process.err());
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::string metrics() { return testsupport::http_get(url() + "/metrics").body; }
};

// The sample lines of an exposition whose name is `name` and that have every label of `labels`.
std::vector<std::string> find_samples(const std::string& text, const std::string& name,
                                      const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_SUITE("integration::telemetry") {
  TEST_CASE("Prometheus scrapes the served metrics") {
    metrics::Telemetry t;
    const auto plan = sample_plan();
    ramp_to_25(t, plan);
    t.count_control_plane_response(200);
    const auto port = t.serve("127.0.0.1:0");
    REQUIRE_MESSAGE(port.ok(), (port.ok() ? "" : port.error().message));
    const std::string target = "127.0.0.1:" + std::to_string(*port);

    // The endpoint itself answers at once.
    const auto direct = testsupport::http_get("http://" + target + "/metrics");
    REQUIRE(direct.status == 200);
    CHECK(direct.body.find("meshmove_migration_weight{") != std::string::npos);

    testsupport::Prometheus prom({target});
    INFO(prom.log());
    REQUIRE(prom.wait_for_data(R"(meshmove_migration_weight{migration="orders-to-kube",set="to"})",
                               std::chrono::seconds(60)));
    CHECK(prom.value(R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"})") ==
          25.0);
    CHECK(prom.value(R"(meshmove_migration_weight{migration="orders-to-kube",set="from"})") == 75.0);
    CHECK(prom.value(R"(meshmove_migration_phase{migration="orders-to-kube",phase="ramping"})") == 1.0);
    CHECK(prom.value(R"(meshmove_migration_step{migration="orders-to-kube"})") == 0.0);
    CHECK(prom.value(R"(meshmove_gate_value{migration="orders-to-kube",slo="errors",set="to"})") == 0.002);
    CHECK(prom.value(
              R"(meshmove_gate_verdicts_total{migration="orders-to-kube",slo="errors",verdict="PASS"})") ==
          1.0);
    CHECK(prom.value(R"(meshmove_transitions_total{migration="orders-to-kube"})") == 1.0);
    CHECK(prom.value(R"(meshmove_control_plane_requests_total{code="200"})") == 1.0);
    CHECK(prom.value("meshmove_build_info") == 1.0);
    CHECK(prom.value("up") == 1.0);

    // Later changes reach Prometheus too.
    planner::MigrationState s;
    s.migration = plan.name;
    s.phase = planner::Phase::Promoted;
    s.weight = 10000;
    s.step = 2;
    t.record_state(plan, s);
    const auto v =
        prom.wait_for_value(R"(meshmove_migration_phase{migration="orders-to-kube",phase="promoted"})",
                            [](double x) { return x == 1.0; }, std::chrono::seconds(30));
    CHECK(v == 1.0);
  }

  TEST_CASE("serving on an address in use or malformed is an error value") {
    metrics::Telemetry first;
    const auto port = first.serve("127.0.0.1:0");
    REQUIRE(port.ok());
    metrics::Telemetry second;
    const auto taken = second.serve("127.0.0.1:" + std::to_string(*port));
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.error().kind == planner::ErrorKind::Config);
    CHECK(taken.error().message.find("127.0.0.1:" + std::to_string(*port)) != std::string::npos);
    const auto bad = second.serve("127.0.0.1:notaport");
    CHECK_FALSE(bad.ok());
    // Serving again replaces the endpoint.
    const auto again = first.serve("127.0.0.1:0");
    REQUIRE(again.ok());
    CHECK(testsupport::http_get("http://127.0.0.1:" + std::to_string(*again) + "/metrics").status == 200);
  }

  TEST_CASE("a push shows the metrics on the Pushgateway, grouped by job and labels") {
    Pushgateway gateway;
    metrics::Telemetry t;
    const auto plan = sample_plan();
    ramp_to_25(t, plan);

    const auto pushed = t.push(gateway.url(), "meshmove", {{"instance", "cron-host"}});
    REQUIRE_MESSAGE(pushed.ok(), (pushed.ok() ? "" : pushed.error().message));
    const std::string text = gateway.metrics();
    CAPTURE(text);
    const auto weight = find_samples(
        text, "meshmove_migration_weight",
        {R"(job="meshmove")", R"(instance="cron-host")", R"(set="to")", R"(migration="orders-to-kube")"});
    REQUIRE(weight.size() == 1);
    CHECK(weight[0].substr(weight[0].rfind(' ') + 1) == "25");
    CHECK(find_samples(text, "meshmove_gate_verdicts_total", {R"(job="meshmove")", R"(verdict="PASS")"})
              .size() == 1);
    CHECK(find_samples(text, "meshmove_build_info", {R"(job="meshmove")"}).size() == 1);

    // A second push replaces the values in the group.
    planner::MigrationState s;
    s.migration = plan.name;
    s.phase = planner::Phase::Promoted;
    s.weight = 10000;
    s.step = 2;
    t.record_state(plan, s);
    REQUIRE(t.push(gateway.url(), "meshmove", {{"instance", "cron-host"}}).ok());
    const auto after = find_samples(gateway.metrics(), "meshmove_migration_weight",
                                    {R"(job="meshmove")", R"(set="to")", R"(migration="orders-to-kube")"});
    REQUIRE(after.size() == 1);
    CHECK(after[0].substr(after[0].rfind(' ') + 1) == "100");
  }

  TEST_CASE("a push to a gateway that is down or never answers is a bounded error") {
    metrics::Telemetry t;
    SUBCASE("nothing listens") {
      const auto st = t.push("http://127.0.0.1:" + std::to_string(testsupport::free_port()));
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().kind == planner::ErrorKind::Unavailable);
      CHECK(st.error().message.find("cannot push to the Pushgateway at http://127.0.0.1:") !=
            std::string::npos);
    }
    SUBCASE("a listener that never accepts: the push gives up at its timeout") {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      REQUIRE(fd >= 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = 0;
      REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
      REQUIRE(::listen(fd, 16) == 0);
      socklen_t len = sizeof addr;
      REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
      const int port = ntohs(addr.sin_port);
      const auto st = t.push("http://user:hunter2@127.0.0.1:" + std::to_string(port), "meshmove", {},
                             std::chrono::milliseconds(300));
      ::close(fd);  // resets the pending connection: the abandoned push ends
      REQUIRE_FALSE(st.ok());
      CHECK(st.error().kind == planner::ErrorKind::Unavailable);
      CHECK(st.error().message.find("took longer than 300ms") != std::string::npos);
      CHECK(st.error().message.find("hunter2") == std::string::npos);
    }
  }
}
