// Secrets a server echoes never travel on: a fake Prometheus and a fake Kuma answering 400/500 with a
// body that quotes the request's Authorization header, through the real client code and the engine into
// a recording reporter and store; the redacting decorators of the ports; Output's JSON log lines; the
// URL flag check.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/http_transport.hpp"
#include "backends/kuma_control_plane.hpp"
#include "backends/secrets.hpp"
#include "cli/output.hpp"
#include "cli/redacting_ports.hpp"
#include "cli/wiring.hpp"
#include "metrics/prometheus_client.hpp"
#include "metrics/prometheus_gates.hpp"
#include "planner/engine.hpp"
#include "planner/plan_parser.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/fakes.hpp"

using namespace meshmove;
using namespace std::chrono_literals;
using Kind = planner::EngineEvent::Kind;

namespace {

planner::Plan make_plan() {
  auto r = planner::parse_plan(
      "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: echo}\nservice: s\nfrom: vm\nto: kube\n"
      "controlPlane: {url: 'http://kuma.invalid:5681'}\n"
      "steps: [10, 100]\nbake: 2m\ninterval: 30s\nsettle: 30s\n"
      "gates: {prometheus: {url: 'http://prom.invalid:9090'}, maxHold: 3m,\n"
      "        slos: [{name: errors, type: error-rate, max: 0.01}]}\n",
      "p.yaml");
  REQUIRE_MESSAGE(r.ok(), (r.diagnostics.empty() ? "" : planner::format_diagnostic(r.diagnostics[0])));
  return *r.plan;
}

// Plays a server that saw `Authorization: Bearer <token>` and quotes it in its error bodies, as the
// hostile trial's proxy did: Prometheus answers 400 bad_data, Kuma answers GET /meshes/M and 404 for the
// policy, and `put_status` with the header quoted to every PUT.
class EchoingServer final : public backends::HttpTransport {
 public:
  EchoingServer(std::string token, int put_status) : m_token(std::move(token)), m_put_status(put_status) {}
  std::vector<std::string> requests;

  planner::Result<backends::HttpResponse> send(const backends::HttpRequest& req) override {
    requests.push_back(req.method + " " + req.url);
    backends::HttpResponse r;
    const std::string auth = "Bearer " + m_token;
    if (req.url.find("/api/v1/query") != std::string::npos) {
      r.status = 400;
      r.body = nlohmann::json{{"status", "error"}, {"errorType", "bad_data"}, {"error", "unauthorized " + auth}}.dump();
    } else if (req.method == "PUT") {
      r.status = m_put_status;
      r.body = nlohmann::json{{"type", "/std-errors"},
                              {"status", m_put_status},
                              {"title", "Bad Request"},
                              {"detail", "header Authorization: " + auth + " is not valid"},
                              {"invalid_parameters", {{{"field", "headers"}, {"reason", "got " + auth}}}}}
                   .dump();
    } else if (req.url.find("/meshhttproutes/") != std::string::npos) {
      r.status = 404;
      r.body = R"({"title":"Could not retrieve a resource","detail":"Not found"})";
    } else {
      r.status = 200;
      r.body = R"({"type":"Mesh","name":"default"})";
    }
    return r;
  }

 private:
  std::string m_token;
  int m_put_status;
};

std::string everything(const testsupport::RecordingReporter& reporter, testsupport::MemoryStateStore& store,
                       const std::string& migration) {
  std::string all = reporter.log();
  if (auto s = store.inner.load(migration); s.ok() && s->has_value()) all += planner::to_json(**s).dump();
  for (const auto& [name, state] : store.states) all += planner::to_json(state).dump();
  if (auto j = store.inner.journal(migration); j.ok()) {
    for (const auto& e : *j) all += e.dump();
  }
  return all;
}

}  // namespace

TEST_SUITE("cli::redacting_ports") {
  TEST_CASE("a Prometheus 400 quoting the Authorization header: no message, verdict, state or journal has the token") {
    const std::string token = "echo-prom-tok-1a2b3c";  // never registered: the pattern alone must catch it
    EchoingServer server(token, 201);
    const auto parsed = metrics::parse_query_response(
        400, R"({"status":"error","errorType":"bad_data","error":"unauthorized Bearer )" + token + "\"}");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message == "Prometheus: bad_data: unauthorized Bearer [REDACTED]");
    CHECK(metrics::parse_query_response(400, "unauthorized Bearer " + token).error().message.find(token) ==
          std::string::npos);

    metrics::PrometheusClient client("http://prom.invalid:9090", server);
    metrics::PrometheusGates gates(client);
    const auto plan = make_plan();
    testsupport::FakeClock clock(testsupport::utc(2026, 12, 1, 10, 0));
    const auto now = clock.now();
    const auto evaluations = gates.evaluate(plan, now - 5min, now, 1000);
    REQUIRE_FALSE(evaluations.empty());
    for (const auto& e : evaluations) {
      CHECK(e.verdict == planner::Verdict::Error);
      CHECK(e.reason.find(token) == std::string::npos);
      CHECK(e.reason.find("[REDACTED]") != std::string::npos);
    }

    // The whole engine, with recording fakes that do not redact: nothing arrives with the token.
    testsupport::FakeControlPlane cp;
    testsupport::MemoryStateStore store;
    testsupport::RecordingReporter reporter;
    planner::Engine engine(store, clock, reporter, reporter, planner::EngineOptions{});
    engine.add(plan, {&cp, &gates});
    const auto results = engine.run();
    REQUIRE(results.size() == 1);
    CHECK(results[0].message.find(token) == std::string::npos);
    const std::string all = everything(reporter, store, plan.name) + results[0].message;
    CHECK(all.find(token) == std::string::npos);
    CHECK(all.find("unauthorized Bearer [REDACTED]") != std::string::npos);
  }

  TEST_CASE("a Kuma 400 or 500 quoting the Authorization header: the write error has no token") {
    for (const int status : {400, 500}) {
      const std::string token = "echo-kuma-tok-" + std::to_string(status);
      EchoingServer server(token, status);
      const auto plan = make_plan();
      auto cp = backends::make_kuma_control_plane(plan, server);
      const auto w = cp->write(planner::PolicyWrite{0, "echo", -1});
      REQUIRE_FALSE(w.ok());
      INFO(w.error().message);
      CHECK(w.error().message.find(token) == std::string::npos);
      CHECK(w.error().message.find("HTTP " + std::to_string(status)) != std::string::npos);
      CHECK(w.error().message.find("[REDACTED]") != std::string::npos);

      // Through the engine: the error event, the state's reason and the journal.
      testsupport::FakeClock clock(testsupport::utc(2026, 12, 1, 10, 0));
      testsupport::ScriptedMetrics metrics;
      testsupport::MemoryStateStore store;
      testsupport::RecordingReporter reporter;
      planner::EngineOptions options;
      options.once = true;
      options.skip_preflight = true;
      planner::Engine engine(store, clock, reporter, reporter, options);
      engine.add(plan, {cp.get(), &metrics});
      const auto results = engine.run();
      REQUIRE(results.size() == 1);
      CHECK(results[0].message.find(token) == std::string::npos);
      CHECK(everything(reporter, store, plan.name).find(token) == std::string::npos);
      CHECK(std::count_if(server.requests.begin(), server.requests.end(),
                          [](const std::string& r) { return r.rfind("PUT ", 0) == 0; }) >= 2);
    }
  }

  TEST_CASE("the decorators redact what reaches the reporter, the notifier and the store, both ways") {
    const std::string secret = "port-secret-5d6e7f";
    backends::register_secret(secret);
    const auto plan = make_plan();

    planner::MigrationState state;
    state.migration = "echo";
    state.phase = planner::Phase::Ramping;
    state.reason = "held: errors: " + secret;
    state.last_verdicts.push_back({"errors", "to", "ERROR", std::nullopt, 0.01, std::nullopt,
                                   "Prometheus: unauthorized " + secret, {}});
    state.last_transition = {{"reason", secret}, {"nested", {secret, 1}}};
    planner::EngineEvent event;
    event.kind = Kind::Held;
    event.migration = "echo";
    event.message = "gates hold: " + secret;
    event.gates.push_back({"errors", "to", planner::Verdict::Error, std::nullopt, 0.01, std::nullopt,
                           "unauthorized " + secret, "sum(x)"});
    event.state = &state;

    struct Capture final : planner::Reporter, planner::Notifier {
      std::string seen;
      void take(const planner::EngineEvent& e) {
        seen += e.message;
        for (const auto& g : e.gates) seen += g.reason + g.query;
        if (e.state != nullptr) seen += planner::to_json(*e.state).dump();
      }
      void report(const planner::Plan&, const planner::EngineEvent& e) override { take(e); }
      void notify(const planner::Plan&, const planner::EngineEvent& e) override { take(e); }
    } capture;
    cli::RedactingReporter reporter(capture);
    cli::RedactingNotifier notifier(capture);
    reporter.report(plan, event);
    notifier.notify(plan, event);
    CHECK(capture.seen.find(secret) == std::string::npos);
    CHECK(capture.seen.find("gates hold: [REDACTED]") != std::string::npos);
    CHECK(state.reason.find(secret) != std::string::npos);  // the engine's own state is left alone

    auto inner = std::make_unique<testsupport::MemoryStateStore>();
    auto* raw = inner.get();
    cli::RedactingStateStore store(std::move(inner));
    REQUIRE(store.save(state).ok());
    REQUIRE(store.append("echo", {{"type", "held"}, {"reason", "unauthorized Bearer " + secret}}).ok());
    REQUIRE(store.post_request("echo", {{"action", "pause"}, {"reason", secret}}).ok());
    std::string stored = planner::to_json(raw->states.at("echo")).dump();
    for (const auto& e : *raw->inner.journal("echo")) stored += e.dump();
    const auto request = raw->inner.take_request("echo");
    REQUIRE(request.ok());
    REQUIRE(request->has_value());
    stored += (*request)->dump();
    CHECK(stored.find(secret) == std::string::npos);
    CHECK(stored.find("Bearer [REDACTED]") != std::string::npos);

    // What an older meshmove stored is redacted on the way out too.
    REQUIRE(raw->inner.append("echo", {{"reason", "Bearer old-tok-0000"}}).ok());
    REQUIRE(raw->inner.save(state).ok());
    const auto journal = store.journal("echo");
    REQUIRE(journal.ok());
    CHECK(journal->back()["reason"] == "Bearer [REDACTED]");
    const auto loaded = store.load("echo");
    REQUIRE(loaded.ok());
    REQUIRE(loaded->has_value());
    CHECK((*loaded)->reason == "held: errors: [REDACTED]");
    CHECK(store.location("echo") == raw->location("echo"));
  }

  TEST_CASE("with --log-format json every line on stderr is a JSON object, redacted") {
    backends::register_secret("log-secret-8899");
    cli::GlobalOptions options;
    options.log_format = cli::LogFormat::Json;
    options.verbosity = 2;
    options.color = true;  // no ANSI codes in JSON all the same
    std::ostringstream out, err;
    cli::Output o(options, out, err);
    o.log(1, "GET http://127.0.0.1:9090/api/v1/query -> 200 in 3 ms");
    o.log(2, "retrying with Bearer log-secret-8899");
    o.warning("the secret file /t is readable by everyone");
    o.error("PUT /x -> HTTP 400: bad\n  field: reason");
    o.diagnostic("p.yaml:3:1: steps: must not be empty");
    std::istringstream lines(err.str());
    std::vector<nlohmann::json> parsed;
    for (std::string line; std::getline(lines, line);) {
      INFO(line);
      REQUIRE_NOTHROW(parsed.push_back(nlohmann::json::parse(line)));
      CHECK(parsed.back()["event"] == "log");
    }
    REQUIRE(parsed.size() == 5);
    CHECK(parsed[0]["level"] == "info");
    CHECK(parsed[0]["message"] == "GET http://127.0.0.1:9090/api/v1/query -> 200 in 3 ms");
    CHECK(parsed[1]["level"] == "debug");
    CHECK(parsed[1]["message"] == "retrying with Bearer [REDACTED]");
    CHECK(parsed[2]["level"] == "warning");
    CHECK(parsed[3]["level"] == "error");
    CHECK(parsed[3]["message"] == "PUT /x -> HTTP 400: bad\n  field: reason");
    CHECK(parsed[4]["level"] == "diagnostic");
    CHECK(err.str().find("log-secret") == std::string::npos);
    CHECK(err.str().find('\033') == std::string::npos);

    // Text logs are as before, redacted too.
    cli::GlobalOptions text_options;
    text_options.verbosity = 1;
    text_options.color = false;
    std::ostringstream out2, err2;
    cli::Output t(text_options, out2, err2);
    t.log(1, "x log-secret-8899");
    t.log(2, "not shown at -v");
    t.result("Authorization: Bearer abc");
    CHECK(err2.str() == "meshmove: x [REDACTED]\n");
    CHECK(out2.str() == "Authorization: Bearer [REDACTED]\n");
  }

  TEST_CASE("URL flags with credentials are refused with the plan's message, without the URL") {
    const std::string refused = "credentials in the URL are refused (they would be logged); use tokenFile or basicAuth";
    CHECK(cli::url_override_problem("http://u:hunter2pass@127.0.0.1:41090") == refused);
    CHECK(cli::url_override_problem("https://token@prom.example/") == refused);
    CHECK(cli::url_override_problem("u:hunter2pass@127.0.0.1:41090") == refused);
    CHECK(cli::url_override_problem("127.0.0.1:9090") == "'127.0.0.1:9090' is not an http:// or https:// URL");
    CHECK(cli::url_override_problem("http://127.0.0.1:9090").empty());
    CHECK(cli::url_override_problem("https://prom.example/prefix/a@b").empty());  // '@' in the path is fine
  }
}
