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
    // Not even the pin is written: it changes traffic too (finding 12).
    auto r = rig.run(plan);
    CHECK(r.outcome == Outcome::Held);
    CHECK(r.message.find("waiting for a change window") != std::string::npos);
    CHECK(rig.cp.writes.empty());
    CHECK(rig.run(plan).outcome == Outcome::Held);
    CHECK(rig.cp.writes.empty());
    // Saturday 00:00: the window opens, the pin comes first, then the first step.
    rig.clock.set(utc(2026, 11, 28, 0, 0));
    CHECK(rig.run(plan).outcome == Outcome::InProgress);
    CHECK(rig.written() == std::vector<int>{0});
    CHECK(rig.run(plan).outcome == Outcome::InProgress);
    CHECK(rig.written() == std::vector<int>{0, 1000});
  }

  TEST_CASE("a freeze over the whole horizon holds a fresh migration without any write") {
    Rig rig;
    const auto plan = make_plan("windows: {freeze: ['2000-01-01/2999-12-31']}\n");
    rig.options.once = true;
    const auto r = rig.run(plan);
    CHECK(r.outcome == Outcome::Held);
    CHECK(r.message.find("none opens within 400 days") != std::string::npos);
    CHECK(rig.cp.writes.empty());
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

  TEST_CASE("nothing moves blind: gates that cannot be read stop the run before its first write") {
    SUBCASE("Prometheus does not answer: infrastructure (exit 6), try later") {
      Rig rig;
      rig.metrics.preflight_answer = make_error(ErrorKind::Unavailable, "Prometheus at http://p did not answer");
      const auto r = rig.run(make_plan());
      CHECK(r.outcome == Outcome::Infrastructure);
      CHECK(r.message == "pre-flight of the gates: Prometheus at http://p did not answer");
      CHECK(rig.cp.writes.empty());
      CHECK(rig.metrics.calls.empty());
      CHECK(rig.store.journal("m")->back()["type"] == "error");
    }
    SUBCASE("a refused query or a selector that matches nothing: a plan problem (exit 2)") {
      Rig rig;
      rig.metrics.preflight_answer = make_error(ErrorKind::Invalid, "the from set has no request series");
      const auto r = rig.run(make_plan());
      CHECK(r.outcome == Outcome::Invalid);
      CHECK(rig.cp.writes.empty());
      rig.options.skip_preflight = true;
      CHECK(rig.run(make_plan()).outcome == Outcome::Promoted);
    }
    SUBCASE("asked once per run, before the pin; each --once run asks again before it moves traffic") {
      Rig rig;
      CHECK(rig.run(make_plan()).outcome == Outcome::Promoted);
      REQUIRE(rig.metrics.preflights.size() == 1);
      CHECK(rig.written().size() == 4);
      Rig once;
      once.options.once = true;
      CHECK(once.run(make_plan()).outcome == Outcome::InProgress);  // the pin
      CHECK(once.metrics.preflights.size() == 1);
      CHECK(once.run(make_plan()).outcome == Outcome::InProgress);  // the first step
      CHECK(once.metrics.preflights.size() == 2);
      CHECK(once.written() == std::vector<int>{0, 1000});
    }
    SUBCASE("a rollback never waits for the gates") {
      Rig rig;
      rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 1000 ? Verdict::Fail : Verdict::Pass; };
      rig.options.once = true;
      // --once runs a minute apart until the first FAIL at 10% is recorded (failureLimit 2).
      for (int i = 0; i < 20 && rig.store.states["m"].consecutive_failures < 1; ++i) {
        (void)rig.run(make_plan());
        rig.clock.advance(1min);
      }
      REQUIRE(rig.store.states["m"].consecutive_failures == 1);
      // Prometheus goes away: the second FAIL cannot come, but a rollback owed must never wait for it.
      rig.store.states["m"].consecutive_failures = 2;
      rig.metrics.preflight_answer = make_error(ErrorKind::Unavailable, "down");
      const auto preflights = rig.metrics.preflights.size();
      const auto r = rig.run(make_plan());
      CHECK(r.outcome == Outcome::RolledBack);
      CHECK(rig.written().back() == 0);
      CHECK(rig.metrics.preflights.size() == preflights);
    }
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
        REQUIRE_FALSE(rig.cp.attempts.empty());
        CHECK(rig.cp.attempts.back().retry_deadline == std::optional<Duration>(30s));  // it retries like any rollback
      } else {
        CHECK(rig.written() == std::vector<int>{0, 1000, 5000});
        CHECK(rig.store.states["m"].weight == 5000);
      }
    }
  }

  TEST_CASE("a rollback retries past an outage longer than its deadline, slower, evaluating nothing meanwhile") {
    Rig rig;
    rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 5000 ? Verdict::Fail : Verdict::Pass; };
    std::optional<TimePoint> outage_end;
    std::size_t evaluations_at_rollback = 0;
    rig.cp.write_gate = [&](const PolicyWrite& w) -> std::optional<Error> {
      if (!w.retry_deadline) return std::nullopt;
      if (!outage_end) {
        outage_end = rig.clock.now() + 2min;
        evaluations_at_rollback = rig.metrics.calls.size();
      }
      if (rig.clock.now() >= *outage_end) return std::nullopt;
      rig.clock.advance(*w.retry_deadline);  // the transport retried for the whole deadline
      return make_error(ErrorKind::Unavailable, "PUT /meshes/default/meshhttproutes/m failed after 41 attempts in 30s: "
                                                "HTTP 503");
    };
    const auto r = rig.run(make_plan());
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::RolledBack);
    CHECK(rig.written() == std::vector<int>{0, 1000, 5000, 0});
    CHECK(rig.metrics.calls.size() == evaluations_at_rollback);  // no evaluation while the rollback was owed
    // Only the rollback carries the deadline; it was tried three times, 60 s apart (30 s deadline + 30 s pace).
    for (const auto& a : rig.cp.attempts) {
      if (a.to_weight == 0 && a.step == -1 && a.retry_deadline) {
        CHECK(*a.retry_deadline == 30s);
      } else {
        CHECK_FALSE(a.retry_deadline.has_value());
      }
    }
    CHECK(std::count_if(rig.cp.attempts.begin(), rig.cp.attempts.end(),
                        [](const PolicyWrite& a) { return a.retry_deadline.has_value(); }) == 3);
    const std::string log = rig.reporter.log();
    std::size_t said = 0;
    for (std::size_t p = 0; (p = log.find("rollback to 0% still not written: PUT", p)) != std::string::npos; ++p) ++said;
    CHECK(said == 2);
    CHECK(log.find("HTTP 503; retrying in 30s") != std::string::npos);
    CHECK_FALSE(rig.store.states["m"].rollback_owed.has_value());
    CHECK(rig.store.states["m"].phase == Phase::RolledBack);
  }

  TEST_CASE("--once: a rollback not written is owed (exit 6), and the next run writes it before anything else") {
    Rig rig;
    rig.options.once = true;
    const auto plan = make_plan();
    for (int i = 0; i < 100 && rig.cp.live.to_weight != 1000; ++i) {
      rig.run(plan);
      rig.clock.advance(30s);
    }
    REQUIRE(rig.cp.live.to_weight == 1000);
    // An operator's rollback, handled by the runner, meets a control plane that stays down.
    REQUIRE(rig.store.post_request("m", {{"action", "rollback"}, {"reason", "pager: kube errors"}, {"by", "op"}}).ok());
    rig.cp.write_gate = [&](const PolicyWrite& w) -> std::optional<Error> {
      if (!w.retry_deadline) return std::nullopt;
      rig.clock.advance(*w.retry_deadline);
      return make_error(ErrorKind::Unavailable, "PUT x failed after 40 attempts in 30s: Connection refused");
    };
    auto r = rig.run(plan);
    INFO(rig.reporter.log());
    CHECK(r.outcome == Outcome::Infrastructure);
    CHECK(r.message.find("rollback to 0% not written: PUT x failed after 40 attempts in 30s: Connection refused; it "
                         "is recorded as owed: the next meshmove apply or rollback writes it first") != std::string::npos);
    REQUIRE(rig.store.states["m"].rollback_owed.has_value());
    CHECK(rig.store.states["m"].rollback_owed->reason == "pager: kube errors");
    CHECK(rig.cp.live.to_weight == 1000);
    // The next run: the control plane is back, the gates would pass and the to set shows no instances
    // (pre-flight would refuse a ramp): it rolls back first, evaluating nothing.
    rig.cp.write_gate = nullptr;
    rig.cp.to_instances = 0;
    const auto evaluations = rig.metrics.calls.size();
    const auto writes = rig.cp.writes.size();
    rig.clock.advance(30s);
    r = rig.run(plan);
    CHECK(r.outcome == Outcome::RolledBack);
    CHECK(rig.metrics.calls.size() == evaluations);
    REQUIRE(rig.cp.writes.size() == writes + 1);
    CHECK(rig.cp.writes.back().to_weight == 0);
    CHECK(rig.store.states["m"].phase == Phase::RolledBack);
    CHECK(rig.store.states["m"].reason == "pager: kube errors");
    CHECK_FALSE(rig.store.states["m"].rollback_owed.has_value());
  }

  TEST_CASE("a signal during a write's retries ends the run Interrupted with the intent kept") {
    for (const bool undo : {false, true}) {
      CAPTURE(undo);
      Rig rig;
      if (undo) rig.metrics.script = [](int weight, TimePoint, TimePoint) { return weight >= 5000 ? Verdict::Fail : Verdict::Pass; };
      rig.cp.write_gate = [&](const PolicyWrite& w) -> std::optional<Error> {
        if (undo ? w.retry_deadline.has_value() : w.to_weight == 5000) {
          return make_error(ErrorKind::Interrupted, "PUT x: interrupted by a signal after 3 attempts in 2s");
        }
        return std::nullopt;
      };
      const auto r = rig.run(make_plan());
      INFO(rig.reporter.log());
      CHECK(r.outcome == Outcome::Interrupted);
      const auto& st = rig.store.states["m"];
      REQUIRE(st.intent.has_value());
      CHECK(st.intent->to_weight == (undo ? 0 : 5000));
      CHECK(st.weight == (undo ? 5000 : 1000));
      CHECK(st.rollback_owed.has_value() == undo);
    }
  }

  TEST_CASE("an owed rollback survives the state document, and old documents load without one") {
    MigrationState s;
    s.migration = "m";
    s.rollback_owed = OwedRollback{"rollback-step", 1000, 0, "2 consecutive failing evaluations", utc(2026, 12, 1), "HTTP 503"};
    auto back = state_from_json(to_json(s));
    REQUIRE(back.ok());
    REQUIRE(back->rollback_owed.has_value());
    CHECK(back->rollback_owed->action == "rollback-step");
    CHECK(back->rollback_owed->to_weight == 1000);
    CHECK(back->rollback_owed->since == utc(2026, 12, 1));
    CHECK(back->rollback_owed->last_error == "HTTP 503");
    auto old = to_json(MigrationState{});
    CHECK_FALSE(old.contains("rollbackOwed"));
    old["migration"] = "m";
    auto loaded = state_from_json(old);
    REQUIRE(loaded.ok());
    CHECK_FALSE(loaded->rollback_owed.has_value());
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
