// Every transition of the pure state machine, on a fake clock.
#include <doctest/doctest.h>

#include "planner/plan_parser.hpp"
#include "planner/state_machine.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove::planner;
using meshmove::testsupport::utc;
using namespace std::chrono_literals;

namespace {

Plan make_plan(const std::string& extra = "") {
  auto r = parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: vm\nto: kube\n"
                      "bake: 10m\ninterval: 30s\nsettle: 1m\n" + extra +
                      (extra.find("steps") == std::string::npos && extra.find("stepWeight") == std::string::npos
                           ? "steps: [10, 50, 100]\n" : "") +
                      (extra.find("gates") == std::string::npos
                           ? "gates: {failureLimit: 2, maxHold: 20m, slos: [{name: e, type: error-rate, max: 0.01}]}\n"
                           : ""),
                      "p.yaml");
  REQUIRE_MESSAGE(r.ok(), (r.diagnostics.empty() ? "" : format_diagnostic(r.diagnostics[0])));
  return *r.plan;
}

const TimePoint t0 = utc(2026, 11, 25, 10, 0);
const WindowView open{true, std::nullopt};

MigrationState at_step(int step, int weight, TimePoint started) {
  MigrationState s;
  s.migration = "m";
  s.phase = Phase::Ramping;
  s.step = step;
  s.weight = weight;
  s.last_written = weight;
  s.step_started_at = started;
  return s;
}

std::vector<GateEvaluation> verdicts(Verdict v) { return {GateEvaluation{"e", "to", v, 0.001, 0.01, 1000.0, "", ""}}; }

}  // namespace

TEST_SUITE("planner::state_machine") {
  TEST_CASE("pending waits for a window before the pin: it is a traffic change too") {
    MigrationState s;
    auto d = decide(make_plan(), s, WindowView{false, t0 + 1h}, t0);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "window");
    CHECK(d.held);
    CHECK(d.until == t0 + 1h);
    CHECK(d.reason.find("waiting for a change window") != std::string::npos);
    // A freeze that outlasts the horizon: held, and the reason says no window opens.
    d = decide(make_plan(), s, WindowView{false, std::nullopt}, t0);
    CHECK(d.action == Action::Wait);
    CHECK(d.held);
    CHECK(d.reason.find("none opens within 400 days") != std::string::npos);
  }

  TEST_CASE("pending pins 100% to from once a window is open") {
    MigrationState s;
    const auto d = decide(make_plan(), s, open, t0);
    CHECK(d.action == Action::Write);
    CHECK(d.write == "pin");
    CHECK(d.to_weight == 0);
    const auto after = record_write(make_plan(), s, d, t0);
    CHECK(after.phase == Phase::Ramping);
    CHECK(after.step == -1);
    CHECK(after.last_written == 0);
    CHECK(after.transitions == 1);
  }

  TEST_CASE("pinned: the first step waits only for a window") {
    const auto plan = make_plan();
    const auto s = at_step(-1, 0, t0);
    auto d = decide(plan, s, open, t0);
    CHECK(d.write == "advance");
    CHECK(d.step == 0);
    CHECK(d.to_weight == 1000);
    d = decide(plan, s, WindowView{false, t0 + 3h}, t0);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "window");
    CHECK(d.held);
    CHECK(d.until == t0 + 3h);
  }

  TEST_CASE("settle, evaluate, bake, advance") {
    const auto plan = make_plan();
    auto s = at_step(0, 1000, t0);
    auto d = decide(plan, s, open, t0 + 20s);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "settle");
    CHECK(d.until == t0 + 1min + 30s);  // settle, then one interval of data
    CHECK(decide(plan, s, open, t0 + 1min).action == Action::Wait);
    d = decide(plan, s, open, t0 + 1min + 30s);
    CHECK(d.action == Action::Evaluate);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 1min + 30s);
    d = decide(plan, s, open, t0 + 1min + 30s);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "bake");
    CHECK(d.until == t0 + 2min);  // the next evaluation comes before the end of the bake
    // Still passing when the bake ends: advance.
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 9min + 50s);
    d = decide(plan, s, open, t0 + 10min);
    CHECK(d.action == Action::Write);
    CHECK(d.write == "advance");
    CHECK(d.step == 1);
    CHECK(d.to_weight == 5000);
    // ...but only inside a window; gates keep being evaluated while waiting.
    d = decide(plan, s, WindowView{false, t0 + 2h}, t0 + 10min);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "window");
    CHECK(d.until == t0 + 9min + 50s + 30s);
  }

  TEST_CASE("an evaluation from before the end of settle does not count") {
    const auto plan = make_plan();
    auto s = at_step(0, 1000, t0);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 30s);
    CHECK(decide(plan, s, open, t0 + 1min + 30s).action == Action::Evaluate);
  }

  TEST_CASE("an evaluation older than the interval is repeated") {
    const auto plan = make_plan();
    auto s = at_step(0, 1000, t0);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 2min);
    CHECK(decide(plan, s, open, t0 + 2min + 29s).action == Action::Wait);
    CHECK(decide(plan, s, open, t0 + 2min + 30s).action == Action::Evaluate);
  }

  TEST_CASE("an evaluation slower than the interval still lets a passing step advance") {
    // Queries (or a slow store) take longer than the interval: every pass finds the last evaluation
    // already an interval old. A passing evaluation made after the bake ended is enough to advance.
    const auto plan = make_plan();
    auto s = at_step(0, 1000, t0);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 10min);
    const auto d = decide(plan, s, open, t0 + 10min + 45s);
    CHECK(d.action == Action::Write);
    CHECK(d.write == "advance");
    // Outside a window it keeps evaluating while it waits (no busy loop on a stale verdict).
    CHECK(decide(plan, s, WindowView{false, t0 + 1h}, t0 + 10min + 45s).action == Action::Evaluate);
    // Before the end of the bake an old evaluation is still repeated.
    auto early = at_step(0, 1000, t0);
    early = record_evaluation(early, verdicts(Verdict::Pass), t0 + 9min);
    CHECK(decide(plan, early, open, t0 + 10min + 1s).action == Action::Evaluate);
  }

  TEST_CASE("the final step with passing gates after the bake is promoted") {
    const auto plan = make_plan();
    auto s = at_step(2, 10000, t0);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 10min);
    const auto d = decide(plan, s, WindowView{false, std::nullopt}, t0 + 10min);  // no window needed
    CHECK(d.action == Action::Finish);
    CHECK(d.phase == Phase::Promoted);
    CHECK(record_finish(s, d, t0 + 10min).phase == Phase::Promoted);
  }

  TEST_CASE("maxWeight below 100 is promoted at that share") {
    const auto plan = make_plan("stepWeight: 30\nmaxWeight: 90\n");
    auto s = at_step(2, 9000, t0);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 10min);
    const auto d = decide(plan, s, open, t0 + 10min);
    CHECK(d.phase == Phase::Promoted);
    CHECK(d.reason.find("90%") != std::string::npos);
  }

  TEST_CASE("failureLimit consecutive FAILs roll back, HOLD neither counts nor resets, PASS resets") {
    const auto plan = make_plan();
    auto s = at_step(1, 5000, t0);
    s = record_evaluation(s, verdicts(Verdict::Fail), t0 + 1min);
    CHECK(s.consecutive_failures == 1);
    CHECK(decide(plan, s, open, t0 + 1min).action == Action::Wait);
    s = record_evaluation(s, verdicts(Verdict::Hold), t0 + 1min + 30s);
    CHECK(s.consecutive_failures == 1);
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 2min);
    CHECK(s.consecutive_failures == 0);
    s = record_evaluation(s, verdicts(Verdict::Fail), t0 + 2min + 30s);
    s = record_evaluation(s, verdicts(Verdict::Error), t0 + 3min);
    s = record_evaluation(s, verdicts(Verdict::Fail), t0 + 3min + 30s);
    CHECK(s.consecutive_failures == 2);
    const auto d = decide(plan, s, WindowView{false, std::nullopt}, t0 + 3min + 30s);  // windows do not matter
    CHECK(d.action == Action::Write);
    CHECK(d.write == "rollback");
    CHECK(d.to_weight == 0);
    CHECK(d.reason.find("2 consecutive failing evaluations at 50%") != std::string::npos);
    const auto after = record_write(plan, s, d, t0 + 3min + 30s);
    CHECK(after.phase == Phase::RolledBack);
    CHECK(after.weight == 0);
    CHECK(decide(plan, after, open, t0 + 4min).phase == Phase::RolledBack);
  }

  TEST_CASE("a stepped rollback walks down one step per stepInterval") {
    const auto plan = make_plan("rollback: {mode: stepped, stepInterval: 2m}\n");
    auto s = at_step(2, 10000, t0);
    s.consecutive_failures = 2;
    auto d = decide(plan, s, open, t0 + 5min);
    CHECK(d.write == "rollback-step");
    CHECK(d.to_weight == 5000);
    s = record_write(plan, s, d, t0 + 5min);
    CHECK(s.rollback_step == 1);
    CHECK(s.phase == Phase::Ramping);
    d = decide(plan, s, open, t0 + 6min);
    CHECK(d.action == Action::Wait);
    CHECK(d.wait_for == "rollback-step");
    d = decide(plan, s, open, t0 + 7min);
    CHECK(d.write == "rollback-step");
    CHECK(d.to_weight == 1000);
    s = record_write(plan, s, d, t0 + 7min);
    d = decide(plan, s, open, t0 + 9min);
    CHECK(d.write == "rollback");
    CHECK(d.to_weight == 0);
    s = record_write(plan, s, d, t0 + 9min);
    CHECK(s.phase == Phase::RolledBack);
    CHECK(s.reason.find("consecutive failing") != std::string::npos);
  }

  TEST_CASE("held longer than maxHold: pause, or roll back when asked") {
    auto plan = make_plan();
    auto s = at_step(1, 5000, t0);
    s = record_evaluation(s, verdicts(Verdict::Hold), t0 + 1min);
    CHECK(s.held_since == t0 + 1min);
    auto d = decide(plan, s, open, t0 + 1min);
    CHECK(d.action == Action::Wait);
    CHECK(d.held);
    s = record_evaluation(s, verdicts(Verdict::Error), t0 + 21min);
    CHECK(s.held_since == t0 + 1min);
    d = decide(plan, s, open, t0 + 21min);
    CHECK(d.action == Action::Finish);
    CHECK(d.phase == Phase::Paused);
    CHECK(d.reason.find("longer than maxHold 20m") != std::string::npos);
    plan.gates.on_max_hold = MaxHoldAction::Rollback;
    d = decide(plan, s, open, t0 + 21min);
    CHECK(d.write == "rollback");
    // A PASS ends the hold.
    s = record_evaluation(s, verdicts(Verdict::Pass), t0 + 22min);
    CHECK_FALSE(s.held_since.has_value());
  }

  TEST_CASE("operator pause and resume") {
    const auto plan = make_plan();
    auto s = at_step(1, 5000, t0);
    s.held_since = t0;
    CHECK_FALSE(operator_pause(s, "", t0 + 1min));
    CHECK(s.phase == Phase::Paused);
    CHECK(decide(plan, s, open, t0 + 2min).phase == Phase::Paused);
    CHECK(operator_pause(s, "", t0 + 2min).has_value());
    CHECK_FALSE(operator_resume(s, t0 + 3min));
    CHECK(s.phase == Phase::Ramping);
    CHECK_FALSE(s.held_since.has_value());
    MigrationState fresh;
    CHECK_FALSE(operator_pause(fresh, "", t0));
    CHECK_FALSE(operator_resume(fresh, t0));
    CHECK(fresh.phase == Phase::Pending);
    s.phase = Phase::Promoted;
    CHECK(operator_resume(s, t0).has_value());
  }
}
