// meshmove's own metrics: the exposition after a sequence of engine events (weights, phase, step, gate
// values and verdicts, transitions, rollbacks), states from commands that do not run the engine, and a
// written file that promtool accepts.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "meshmove/version.hpp"
#include "metrics/telemetry.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using planner::EngineEvent;
using planner::Verdict;
using testsupport::TempDir;

namespace {

planner::Plan sample_plan() {
  planner::Plan p;
  p.name = "orders-to-kube";
  p.service = "orders_default_svc_80";
  p.from = "vm";
  p.to = "kube";
  p.steps = {1000, 5000, 10000};
  planner::Slo errors;
  errors.name = "errors";
  errors.type = planner::SloType::ErrorRate;
  errors.max = 0.01;
  planner::Slo latency;
  latency.name = "p99";
  latency.type = planner::SloType::Latency;
  latency.set = planner::SetSelector::Both;
  latency.percentile = 99;
  latency.max = 200;
  p.gates.slos = {errors, latency};
  return p;
}

planner::MigrationState state_at(planner::Phase phase, int weight, int step) {
  planner::MigrationState s;
  s.migration = "orders-to-kube";
  s.phase = phase;
  s.weight = weight;
  s.step = step;
  return s;
}

EngineEvent event(EngineEvent::Kind kind, const planner::MigrationState& s) {
  EngineEvent e;
  e.kind = kind;
  e.migration = s.migration;
  e.at = testsupport::utc(2026, 11, 25, 10, 0, 0);
  e.state = &s;
  e.step = s.step;
  return e;
}

planner::GateEvaluation gate(const std::string& slo, const std::string& set, Verdict v,
                             std::optional<double> value) {
  planner::GateEvaluation g;
  g.slo = slo;
  g.set = set;
  g.verdict = v;
  g.value = value;
  return g;
}

// The sample lines of `text` (no comments), for exact comparisons.
std::vector<std::string> samples(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

bool has_sample(const std::string& text, const std::string& line) {
  const auto all = samples(text);
  return std::find(all.begin(), all.end(), line) != all.end();
}

bool mentions(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("metrics::telemetry") {
  TEST_CASE("build info from the start and HELP and TYPE for every family") {
    metrics::Telemetry t;
    CHECK(samples(t.text()) ==
          std::vector<std::string>{std::string("meshmove_build_info{version=\"") + k_version + "\"} 1"});
    const auto plan = sample_plan();
    const auto s = state_at(planner::Phase::Ramping, 1000, 0);
    auto e = event(EngineEvent::Kind::Evaluated, s);
    e.gates = {gate("errors", "to", Verdict::Pass, 0.001)};
    t.report(plan, e);
    t.count_control_plane_response(200);
    const std::string text = t.text();
    for (const std::string family :
         {"meshmove_build_info gauge", "meshmove_migration_weight gauge", "meshmove_migration_phase gauge",
          "meshmove_migration_step gauge", "meshmove_gate_value gauge",
          "meshmove_gate_verdicts_total counter", "meshmove_transitions_total counter",
          "meshmove_rollbacks_total counter", "meshmove_control_plane_requests_total counter"}) {
      CAPTURE(family);
      CHECK(mentions(text, "# TYPE " + family + "\n"));
      CHECK(mentions(text, "# HELP " + family.substr(0, family.find(' ')) + " "));
    }
    CHECK(mentions(text, "# HELP meshmove_migration_weight Percent"));
  }

  TEST_CASE("a migration's series exist at their initial values from its first event") {
    metrics::Telemetry t;
    const auto plan = sample_plan();
    const auto s = state_at(planner::Phase::Pending, 0, -1);
    t.report(plan, event(EngineEvent::Kind::Started, s));
    const std::string text = t.text();
    CAPTURE(text);
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="from",subset="vm"} 100)"));
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"} 0)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="pending"} 1)"));
    for (const char* p : {"ramping", "paused", "promoted", "rolled-back"}) {
      CHECK(has_sample(
          text, std::string(R"(meshmove_migration_phase{migration="orders-to-kube",phase=")") + p + "\"} 0"));
    }
    CHECK(has_sample(text, R"(meshmove_migration_step{migration="orders-to-kube"} -1)"));
    CHECK(has_sample(text, R"(meshmove_transitions_total{migration="orders-to-kube"} 0)"));
    CHECK(has_sample(text, R"(meshmove_rollbacks_total{migration="orders-to-kube"} 0)"));
    // Every verdict of every gate (p99 is judged for both sets) starts at 0, so increase() sees the first.
    for (const char* v : {"PASS", "FAIL", "HOLD", "ERROR"}) {
      CAPTURE(v);
      CHECK(has_sample(
          text,
          std::string(
              R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="errors",verdict=")") +
              v + "\"} 0"));
      CHECK(has_sample(
          text,
          std::string(
              R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="from",slo="p99",verdict=")") +
              v + "\"} 0"));
      CHECK_FALSE(mentions(text, std::string(R"(set="from",slo="errors",verdict=")") + v));
    }
    CHECK_FALSE(mentions(text, "meshmove_gate_value{"));  // no estimate yet
  }

  TEST_CASE("a ramp, two evaluations and a rollback") {
    metrics::Telemetry t;
    const auto plan = sample_plan();

    auto s = state_at(planner::Phase::Pending, 0, -1);
    t.report(plan, event(EngineEvent::Kind::Started, s));
    s = state_at(planner::Phase::Ramping, 0, -1);
    auto pin = event(EngineEvent::Kind::Wrote, s);
    pin.from_weight = 0;
    pin.to_weight = 0;
    t.report(plan, pin);
    s = state_at(planner::Phase::Ramping, 1000, 0);
    auto advance = event(EngineEvent::Kind::Wrote, s);
    advance.from_weight = 0;
    advance.to_weight = 1000;
    t.report(plan, advance);
    t.report(plan, event(EngineEvent::Kind::Waiting, s));

    auto first = event(EngineEvent::Kind::Evaluated, s);
    first.gates = {gate("errors", "to", Verdict::Pass, 0.002), gate("p99", "to", Verdict::Fail, 250),
                   gate("p99", "from", Verdict::Hold, std::nullopt)};
    t.report(plan, first);
    std::string text = t.text();
    CAPTURE(text);
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"} 10)"));
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="from",subset="vm"} 90)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="ramping"} 1)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="pending"} 0)"));
    CHECK(has_sample(text, R"(meshmove_migration_step{migration="orders-to-kube"} 0)"));
    CHECK(has_sample(text, R"(meshmove_gate_value{migration="orders-to-kube",set="to",slo="errors"} 0.002)"));
    CHECK(has_sample(text, R"(meshmove_gate_value{migration="orders-to-kube",set="to",slo="p99"} 250)"));
    CHECK_FALSE(mentions(text, R"(meshmove_gate_value{migration="orders-to-kube",set="from",slo="p99"})"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="from",slo="p99",verdict="HOLD"} 1)"));

    auto second = event(EngineEvent::Kind::Evaluated, s);
    second.gates = {gate("errors", "to", Verdict::Fail, 0.05), gate("p99", "to", Verdict::Fail, 300),
                    gate("p99", "from", Verdict::Pass, 120)};
    t.report(plan, second);
    s = state_at(planner::Phase::RolledBack, 0, -1);
    auto rollback = event(EngineEvent::Kind::RolledBack, s);
    rollback.from_weight = 1000;
    rollback.to_weight = 0;
    rollback.step = -1;
    t.report(plan, rollback);

    text = t.text();
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"} 0)"));
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="from",subset="vm"} 100)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="rolled-back"} 1)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="ramping"} 0)"));
    CHECK(has_sample(text, R"(meshmove_migration_step{migration="orders-to-kube"} -1)"));
    CHECK(has_sample(text, R"(meshmove_gate_value{migration="orders-to-kube",set="to",slo="errors"} 0.05)"));
    CHECK(has_sample(text, R"(meshmove_gate_value{migration="orders-to-kube",set="from",slo="p99"} 120)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="errors",verdict="PASS"} 1)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="errors",verdict="FAIL"} 1)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="p99",verdict="FAIL"} 2)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="from",slo="p99",verdict="PASS"} 1)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="errors",verdict="HOLD"} 0)"));
    CHECK(has_sample(text, R"(meshmove_transitions_total{migration="orders-to-kube"} 3)"));
    CHECK(has_sample(text, R"(meshmove_rollbacks_total{migration="orders-to-kube"} 1)"));
  }

  TEST_CASE("a stepped rollback counts its writes as transitions and its end as one rollback") {
    metrics::Telemetry t;
    const auto plan = sample_plan();
    auto s = state_at(planner::Phase::Ramping, 1000, 0);
    auto down = event(EngineEvent::Kind::Wrote, s);
    down.from_weight = 5000;
    down.to_weight = 1000;
    t.report(plan, down);
    s = state_at(planner::Phase::RolledBack, 0, -1);
    t.report(plan, event(EngineEvent::Kind::RolledBack, s));  // the end: no write of its own
    const std::string text = t.text();
    CHECK(has_sample(text, R"(meshmove_transitions_total{migration="orders-to-kube"} 1)"));
    CHECK(has_sample(text, R"(meshmove_rollbacks_total{migration="orders-to-kube"} 1)"));
  }

  TEST_CASE("two migrations keep separate series") {
    metrics::Telemetry t;
    auto a = sample_plan();
    auto b = sample_plan();
    b.name = "billing-to-kube";
    b.from = "vm-billing";
    const auto sa = state_at(planner::Phase::Promoted, 10000, 2);
    const auto sb = state_at(planner::Phase::Paused, 5000, 1);
    t.report(a, event(EngineEvent::Kind::Promoted, sa));
    t.report(b, event(EngineEvent::Kind::Paused, sb));
    const std::string text = t.text();
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"} 100)"));
    CHECK(has_sample(
        text, R"(meshmove_migration_weight{migration="billing-to-kube",set="from",subset="vm-billing"} 50)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="promoted"} 1)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="billing-to-kube",phase="paused"} 1)"));
    CHECK(has_sample(text, R"(meshmove_migration_step{migration="billing-to-kube"} 1)"));
  }

  TEST_CASE("a changed from subset replaces the weight series instead of leaving a stale one") {
    metrics::Telemetry t;
    auto plan = sample_plan();
    const auto s = state_at(planner::Phase::Ramping, 2500, 0);
    t.report(plan, event(EngineEvent::Kind::Started, s));
    plan.from = "vm-new";
    t.report(plan, event(EngineEvent::Kind::Started, s));
    const std::string text = t.text();
    CHECK_FALSE(mentions(text, R"(subset="vm")"));
    CHECK(has_sample(
        text, R"(meshmove_migration_weight{migration="orders-to-kube",set="from",subset="vm-new"} 75)"));
  }

  TEST_CASE("record_state shows a saved state without counting anything") {
    metrics::Telemetry t;
    const auto plan = sample_plan();
    auto s = state_at(planner::Phase::Paused, 5000, 1);
    s.transitions = 7;
    s.last_verdicts.push_back({"errors", "to", "HOLD", 0.004, 0.01, 80.0, "too few requests", {}});
    t.record_state(plan, s);
    const std::string text = t.text();
    CHECK(has_sample(text,
                     R"(meshmove_migration_weight{migration="orders-to-kube",set="to",subset="kube"} 50)"));
    CHECK(has_sample(text, R"(meshmove_migration_phase{migration="orders-to-kube",phase="paused"} 1)"));
    CHECK(has_sample(text, R"(meshmove_gate_value{migration="orders-to-kube",set="to",slo="errors"} 0.004)"));
    CHECK(has_sample(text, R"(meshmove_transitions_total{migration="orders-to-kube"} 0)"));
    CHECK(has_sample(
        text,
        R"(meshmove_gate_verdicts_total{migration="orders-to-kube",set="to",slo="errors",verdict="HOLD"} 0)"));
  }

  TEST_CASE("control plane responses are counted by status code, 0 for no response") {
    metrics::Telemetry t;
    t.count_control_plane_response(200);
    t.count_control_plane_response(200);
    t.count_control_plane_response(503);
    t.count_control_plane_response(0);
    const std::string text = t.text();
    CHECK(has_sample(text, R"(meshmove_control_plane_requests_total{code="200"} 2)"));
    CHECK(has_sample(text, R"(meshmove_control_plane_requests_total{code="503"} 1)"));
    CHECK(has_sample(text, R"(meshmove_control_plane_requests_total{code="0"} 1)"));
  }

  TEST_CASE("label values are escaped") {
    metrics::Telemetry t;
    auto plan = sample_plan();
    plan.gates.slos[0].name = "quote\" back\\slash";
    const auto s = state_at(planner::Phase::Ramping, 1000, 0);
    auto e = event(EngineEvent::Kind::Evaluated, s);
    e.gates = {gate(plan.gates.slos[0].name, "to", Verdict::Pass, 0.001)};
    t.report(plan, e);
    CHECK(has_sample(
        t.text(),
        R"(meshmove_gate_value{migration="orders-to-kube",set="to",slo="quote\" back\\slash"} 0.001)"));
  }

  TEST_CASE("the written file replaces the old one atomically, is world-readable, and promtool accepts it") {
    TempDir dir;
    const auto path = dir.path() / "meshmove.prom";
    dir.write("meshmove.prom", "stale content\n");
    metrics::Telemetry t;
    const auto plan = sample_plan();
    auto s = state_at(planner::Phase::Ramping, 5000, 1);
    s.last_verdicts.push_back({"p99", "from", "PASS", 120.0, 200, 5000.0, "fine", {}});
    t.record_state(plan, s);
    auto e = event(EngineEvent::Kind::Evaluated, s);
    e.gates = {gate("errors", "to", Verdict::Pass, 0.001), gate("p99", "to", Verdict::Fail, 250)};
    t.report(plan, e);
    t.count_control_plane_response(200);

    const auto st = t.write_file(path.string());
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));
    const std::string written = testsupport::read_file(path);
    CHECK(written == t.text());
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0644);
    int entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);  // no temporary file left behind

    testsupport::RunOptions options;
    options.stdin_data = written;
    options.timeout = std::chrono::seconds(60);
    const auto lint = testsupport::run({"/usr/bin/promtool", "check", "metrics"}, options);
    INFO("promtool stdout: " << lint.out);
    INFO("promtool stderr: " << lint.err);
    CHECK(lint.exit_code == 0);
    CHECK(lint.out.empty());
    CHECK(lint.err.empty());
  }

  TEST_CASE("an unwritable metrics file is an error naming it, not an exception") {
    TempDir dir;
    metrics::Telemetry t;
    const std::string path = (dir.path() / "missing-dir" / "meshmove.prom").string();
    const auto st = t.write_file(path);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Config);
    CHECK(mentions(st.error().message, path));
  }

  TEST_CASE("a Pushgateway URL that is not http(s) is a configuration error and hides credentials") {
    metrics::Telemetry t;
    const auto bad = t.push("ftp://user:hunter2@gateway:9091");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == planner::ErrorKind::Config);
    CHECK_FALSE(mentions(bad.error().message, "hunter2"));
    const auto job = t.push("http://127.0.0.1:9091", "a/b");
    REQUIRE_FALSE(job.ok());
    CHECK(job.error().kind == planner::ErrorKind::Config);
  }
}
