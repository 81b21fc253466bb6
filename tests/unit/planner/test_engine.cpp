// The engine over recording fakes and a fake clock: whole migrations, rollbacks, outages, crashes and
// operator situations in milliseconds.
#include <doctest/doctest.h>

#include <atomic>

#include "planner/engine.hpp"
#include "planner/plan_parser.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/fakes.hpp"

using namespace meshmove::planner;
using namespace meshmove::testsupport;
using namespace std::chrono_literals;

namespace {

Plan make_plan(const std::string& extra = "") {
  auto r = parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: vm\nto: kube\n"
                      "bake: 10m\ninterval: 30s\nsettle: 1m\n" + extra +
                      (extra.find("steps") == std::string::npos ? "steps: [10, 50, 100]\n" : "") +
                      (extra.find("gates") == std::string::npos
                           ? "gates: {failureLimit: 2, maxHold: 20m, slos: [{name: e, type: error-rate, max: 0.01}]}\n"
                           : ""),
                      "p.yaml");
  REQUIRE_MESSAGE(r.ok(), (r.diagnostics.empty() ? "" : format_diagnostic(r.diagnostics[0])));
  return *r.plan;
}

struct Rig {
  FakeClock clock{utc(2026, 11, 25, 10, 0)};
  FakeControlPlane cp;
  ScriptedMetrics metrics;
  MemoryStateStore store;
  RecordingReporter reporter;
  EngineOptions options;

  MigrationResult run(const Plan& plan) {
    Engine engine(store, clock, reporter, reporter, options);
    engine.add(plan, {&cp, &metrics});
    auto results = engine.run();
    REQUIRE(results.size() == 1);
    return results[0];
  }
  std::vector<int> written() const {
    std::vector<int> out;
    for (const auto& w : cp.writes) out.push_back(w.to_weight);
    return out;
  }
};

}  // namespace

TEST_SUITE("planner::engine") {
  TEST_CASE("a healthy migration is pinned, stepped through and promoted") {
    Rig rig;
    const auto start = rig.clock.now();
    const auto r = rig.run(make_plan());
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000});
    // Three steps of 10 minutes bake each (the evaluation at the end of the bake falls on it exactly).
    CHECK(rig.clock.now() - start == 30min);
    const auto transitions = rig.store.transitions("m");
    REQUIRE(transitions.size() == 4);
    for (std::size_t i = 0; i < transitions.size(); ++i) CHECK(transitions[i]["seq"] == static_cast<int>(i + 1));
    CHECK(rig.store.states["m"].phase == Phase::Promoted);
    CHECK(rig.reporter.count(EngineEvent::Kind::Promoted) == 1);
    // Every evaluation's window starts at the weight change plus settle, never earlier.
    for (const auto& c : rig.metrics.calls) CHECK(c.now >= c.window_start);
  }

  TEST_CASE("a fault at 50% rolls back after failureLimit FAILs") {
    Rig rig;
    rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 5000 ? Verdict::Fail : Verdict::Pass; };
    const auto r = rig.run(make_plan());
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::RolledBack);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 0});
    CHECK(r.message.find("2 consecutive failing evaluations at 50%") != std::string::npos);
    CHECK(rig.store.states["m"].phase == Phase::RolledBack);
    CHECK(std::count(rig.reporter.notified.begin(), rig.reporter.notified.end(), EngineEvent::Kind::RolledBack) == 1);
    // The first evaluation came one interval after settle, the second (and rollback) one interval later.
    CHECK(rig.metrics.calls.back().now - rig.metrics.calls.back().window_start == 60s);
  }

  TEST_CASE("a stepped rollback walks back down") {
    Rig rig;
    rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 10000 ? Verdict::Fail : Verdict::Pass; };
    const auto r = rig.run(make_plan("rollback: {mode: stepped, stepInterval: 1m}\n"));
    CHECK(r.outcome == Outcome::RolledBack);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000, 5000, 1000, 0});
  }

  TEST_CASE("a metrics outage holds the ramp and never fails it, and it continues after recovery") {
    Rig rig;
    const auto outage_start = rig.clock.now() + 5min;
    const auto outage_end = rig.clock.now() + 15min;
    rig.metrics.script = [&](int, TimePoint, TimePoint now) {
      return now >= outage_start && now < outage_end ? Verdict::Error : Verdict::Pass;
    };
    const auto r = rig.run(make_plan());
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000});
    CHECK(rig.reporter.count(EngineEvent::Kind::Held) >= 1);
    for (const auto& [name, s] : rig.store.states) CHECK(s.consecutive_failures == 0);
  }

  TEST_CASE("held longer than maxHold pauses (exit 5)") {
    Rig rig;
    rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 5000 ? Verdict::Hold : Verdict::Pass; };
    const auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Paused);
    CHECK(rig.store.states["m"].phase == Phase::Paused);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000});
  }

  TEST_CASE("--once: each run does at most one transition or evaluation, and a loop reaches promotion") {
    Rig rig;
    rig.options.once = true;
    const auto plan = make_plan();
    Outcome last = Outcome::InProgress;
    int runs = 0;
    std::size_t writes_before = 0;
    while (last == Outcome::InProgress && runs < 200) {
      last = rig.run(plan).outcome;
      ++runs;
      CHECK(rig.cp.writes.size() - writes_before <= 1);
      writes_before = rig.cp.writes.size();
      rig.clock.advance(30s);  // cron every 30 seconds
    }
    CHECK(last == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000});
    CHECK(runs > 10);
  }

  TEST_CASE("--once outside a window exits held") {
    Rig rig;
    rig.options.once = true;
    // The clock is Wednesday 10:00 UTC; only weekends are allowed.
    const auto plan = make_plan("windows: {allow: ['Sat,Sun 00:00-24:00']}\n");
    CHECK(rig.run(plan).outcome == Outcome::InProgress);  // the pin (safe direction) happens at once
    CHECK(rig.run(plan).outcome == Outcome::Held);
    CHECK(rig.written() == std::vector<int>{0});
  }

  TEST_CASE("a crash after the write and before the commit does not apply the step twice") {
    Rig rig;
    const auto plan = make_plan();
    struct Crash {};
    rig.cp.after_write = [](const FakeControlPlane::Write& w) {
      if (w.to_weight == 5000) throw Crash{};  // the process dies right after the policy reached the control plane
    };
    CHECK_THROWS_AS(rig.run(plan), Crash);
    CHECK(rig.store.states["m"].intent.has_value());
    rig.cp.after_write = nullptr;
    const auto r = rig.run(plan);
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000});
    const auto transitions = rig.store.transitions("m");
    REQUIRE(transitions.size() == 4);
    CHECK(transitions[2]["toWeight"] == 50);
    CHECK(transitions[2].value("recovered", false));
  }

  TEST_CASE("a crash before the write reached the control plane decides again") {
    Rig rig;
    const auto plan = make_plan();
    rig.cp.write_error = make_error(ErrorKind::Unavailable, "connection refused");
    auto r = rig.run(plan);
    CHECK(r.outcome == Outcome::Infrastructure);
    CHECK(rig.store.states["m"].intent.has_value());
    rig.cp.write_error.reset();
    r = rig.run(plan);
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 10000});
  }

  TEST_CASE("drift during a bake stops the run and is never overwritten") {
    Rig rig;
    rig.metrics.script = [&](int weight, TimePoint, TimePoint) {
      if (weight == 5000) rig.cp.external_change(3000);
      return Verdict::Pass;
    };
    const auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(r.message.find("drift") != std::string::npos);
    CHECK(r.message.find("30%") != std::string::npos);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000});
    CHECK(rig.reporter.count(EngineEvent::Kind::Drift) == 1);
    // --adopt takes the live 30% as the truth and continues from the step it belongs to.
    rig.metrics.script = [](int, TimePoint, TimePoint) { return Verdict::Pass; };
    rig.options.adopt = true;
    const auto again = rig.run(make_plan());
    CHECK(again.outcome == Outcome::Promoted);
    // The adopted 30% is first rewritten under meshmove's labels (step label of 10%), then stepped on.
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 3000, 5000, 10000});
  }

  TEST_CASE("a foreign policy stops the run unless --adopt") {
    Rig rig;
    rig.cp.live.ownership = Ownership::Foreign;
    rig.cp.live.to_weight = 2000;
    auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(rig.cp.writes.empty());
    rig.options.adopt = true;
    r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Promoted);
    // The live 20% is relabelled as meshmove's, then stepped on: step 1 (10%) was passed.
    CHECK(rig.written() == std::vector<int>{2000, 5000, 10000});
  }

  TEST_CASE("--adopt sticks: the adopted policy is relabelled, so later runs need no flag") {
    Rig rig;
    rig.cp.live.ownership = Ownership::Foreign;
    rig.cp.live.to_weight = 6000;
    rig.options.adopt = true;
    rig.options.once = true;
    auto r = rig.run(make_plan());
    INFO(rig.reporter.log());
    REQUIRE(rig.cp.writes.size() == 1);
    CHECK(rig.cp.writes[0].to_weight == 6000);  // the same weights ...
    CHECK(rig.cp.writes[0].migration == "m");   // ... under meshmove's labels
    CHECK(rig.cp.writes[0].step == 1);          // 60% is past step 2 (50%): step index 1
    CHECK(rig.cp.live.ownership == Ownership::Ours);
    bool journalled = false;
    for (const auto& e : *rig.store.journal("m")) journalled = journalled || e.value("type", "") == "relabel";
    CHECK(journalled);
    CHECK(rig.reporter.log().find("later runs need no --adopt") != std::string::npos);
    // The next run, without --adopt, is not stopped and goes on to promote.
    rig.options.adopt = false;
    rig.options.once = false;
    r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{6000, 10000});
  }

  TEST_CASE("--adopt at 100%: promoted, and the policy is meshmove's for a later rollback") {
    Rig rig;
    rig.cp.live.ownership = Ownership::Foreign;
    rig.cp.live.to_weight = 10000;
    rig.options.adopt = true;
    const auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{10000});
    CHECK(rig.cp.live.ownership == Ownership::Ours);
    CHECK(rig.cp.live.owner == "m");
    CHECK_FALSE(check_write_allowed(rig.cp.live, 10000, false, "m"));  // a plain rollback may write
  }

  TEST_CASE("another route that wins over meshmove's policy stops the run, naming it") {
    Rig rig;
    CompetingRoute other;
    other.kind = "MeshHTTPRoute";
    other.name = "mm-aaa";
    other.owner = "payments-a";
    other.to_weight = 100;
    other.wins = true;
    other.why = "the name mm-aaa sorts first";
    rig.cp.live.competing = {other};
    auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(rig.cp.writes.empty());
    CHECK(r.message.find("MeshHTTPRoute mm-aaa") != std::string::npos);
    CHECK(r.message.find("payments-a") != std::string::npos);
    // --adopt does not help: adopting meshmove's own policy would not change the traffic.
    rig.options.adopt = true;
    r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(rig.cp.writes.empty());
    // One that appears in the middle of a run stops it at the next evaluation, before any other write.
    Rig mid;
    mid.cp.after_write = [&mid, other](const FakeControlPlane::Write& w) {
      if (w.to_weight == 1000) mid.cp.live.competing = {other};
    };
    r = mid.run(make_plan());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(mid.written() == std::vector<int>{0, 1000});
    CHECK(r.message.find("mm-aaa") != std::string::npos);
    // A rollback the gates call for, with a route in the way by then: named, stopped, never "rolled back".
    Rig failing;
    int evaluations = 0;
    failing.metrics.script = [&](int weight, TimePoint, TimePoint) {
      if (weight == 0) return Verdict::Pass;
      if (++evaluations == 2) failing.cp.live.competing = {other};
      return Verdict::Fail;
    };
    r = failing.run(make_plan());
    INFO(failing.reporter.log());
    CHECK(r.outcome == Outcome::Stopped);
    CHECK(r.message.rfind("not rolled back: another route decides the traffic: MeshHTTPRoute mm-aaa", 0) == 0);
    CHECK(failing.written() == std::vector<int>{0, 1000});
    // A losing competitor is only reported, never in the way.
    Rig loses;
    other.wins = false;
    loses.cp.live.competing = {other};
    CHECK(loses.run(make_plan()).outcome == Outcome::Promoted);
  }

  TEST_CASE("lost state: the live policy tells where the migration is") {
    Rig rig;
    rig.cp.live.ownership = Ownership::Ours;
    rig.cp.live.owner = "m";
    rig.cp.live.to_weight = 5000;
    const auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Promoted);
    CHECK(rig.written() == std::vector<int>{10000});
  }

  TEST_CASE("a second runner is refused, and so is another plan identity") {
    Rig rig;
    auto lock = rig.store.lock("m");
    REQUIRE(lock.ok());
    auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Locked);
    lock->reset();
    rig.options.once = true;
    CHECK(rig.run(make_plan()).outcome == Outcome::InProgress);
    r = rig.run(make_plan("steps: [20, 100]\n"));
    CHECK(r.outcome == Outcome::Invalid);
    CHECK(r.message.find("--accept-plan-change") != std::string::npos);
    rig.options.accept_plan_change = true;
    CHECK(rig.run(make_plan("steps: [20, 100]\n")).outcome == Outcome::InProgress);
  }

  TEST_CASE("pre-flight refuses a set without instances") {
    Rig rig;
    rig.cp.to_instances = 0;
    auto r = rig.run(make_plan());
    CHECK(r.outcome == Outcome::Infrastructure);
    CHECK(r.message.find("0 of kube") != std::string::npos);
    CHECK(rig.cp.writes.empty());
    rig.options.skip_preflight = true;
    CHECK(rig.run(make_plan()).outcome == Outcome::Promoted);
  }

  TEST_CASE("an interrupt keeps the weight, or rolls back when asked") {
    for (const bool rollback : {false, true}) {
      CAPTURE(rollback);
      Rig rig;
      std::atomic<bool> stop{false};
      rig.options.stop = &stop;
      rig.options.rollback_on_interrupt = rollback;
      rig.metrics.script = [&](int weight, TimePoint, TimePoint) {
        if (weight == 5000) stop = true;  // SIGINT arrives during the 50% bake
        return Verdict::Pass;
      };
      const auto r = rig.run(make_plan());
      CHECK(r.outcome == Outcome::Interrupted);
      if (rollback) {
        CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 0});
      } else {
        CHECK(rig.written() == std::vector<int>{0, 1000, 5000});
        CHECK(rig.store.states["m"].weight == 5000);
      }
    }
  }

  TEST_CASE("a finished migration stays finished unless restarted") {
    Rig rig;
    CHECK(rig.run(make_plan()).outcome == Outcome::Promoted);
    CHECK(rig.run(make_plan()).outcome == Outcome::Promoted);
    CHECK(rig.cp.writes.size() == 4);
  }

  TEST_CASE("several migrations run concurrently in one engine") {
    FakeClock clock{utc(2026, 11, 25, 10, 0)};
    MemoryStateStore store;
    RecordingReporter reporter;
    FakeControlPlane cp_a, cp_b;
    ScriptedMetrics ok, bad;
    bad.script = [](int weight, TimePoint, TimePoint) { return weight >= 5000 ? Verdict::Fail : Verdict::Pass; };
    auto a = make_plan();
    auto b = make_plan();
    b.name = "other";
    Engine engine(store, clock, reporter, reporter, {});
    engine.add(a, {&cp_a, &ok});
    engine.add(b, {&cp_b, &bad});
    const auto start = clock.now();
    const auto results = engine.run();
    REQUIRE(results.size() == 2);
    CHECK(results[0].outcome == Outcome::Promoted);
    CHECK(results[1].outcome == Outcome::RolledBack);
    CHECK(clock.now() - start == 30min);  // interleaved, not one after the other
  }
}
