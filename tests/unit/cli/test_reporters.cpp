// What apply prints: timestamped lines, JSON events, the JUnit report and the live view.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/reporters.hpp"
#include "planner/plan_parser.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using Kind = planner::EngineEvent::Kind;

namespace {

planner::Plan plan() {
  auto r = planner::parse_plan("apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\n"
                               "from: vm\nto: kube\nsteps: [10, 100]\n"
                               "gates: {slos: [{name: errors, type: error-rate, max: 0.01}]}\n",
                               "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

struct Script {
  planner::Plan p = plan();
  planner::MigrationState state;
  std::vector<planner::EngineEvent> events;

  Script() {
    state.migration = "m";
    const auto t0 = testsupport::utc(2026, 11, 25, 10, 0);
    auto add = [&](Kind k, int minutes, std::string msg) {
      planner::EngineEvent e;
      e.kind = k;
      e.migration = "m";
      e.at = t0 + std::chrono::minutes(minutes);
      e.message = std::move(msg);
      e.state = &state;
      events.push_back(e);
      return &events.back();
    };
    add(Kind::Started, 0, "pending at 0% to kube");
    auto* w = add(Kind::Wrote, 1, "step 1 of 2: 10% to kube");
    w->from_weight = 0;
    w->to_weight = 1000;
    w->step = 0;
    auto* ev = add(Kind::Evaluated, 2, "gates evaluated at 10%");
    ev->gates.push_back({"errors", "to", planner::Verdict::Fail, 0.3, 0.01, 600.0, "error rate 0.3 <& 0.01", ""});
    auto* rb = add(Kind::RolledBack, 3, "2 consecutive failing evaluations");
    rb->from_weight = 1000;
    rb->to_weight = 0;
  }
  void play(planner::Reporter& r) {
    for (auto& e : events) {
      if (e.kind == Kind::Wrote) {
        state.step = 0;
        state.weight = 1000;
        state.phase = planner::Phase::Ramping;
      }
      if (e.kind == Kind::RolledBack) {
        state.step = -1;
        state.weight = 0;
        state.phase = planner::Phase::RolledBack;
      }
      r.report(p, e);
    }
  }
};

}  // namespace

TEST_SUITE("cli::reporters") {
  TEST_CASE("timestamped lines, with every gate when one fails") {
    std::ostringstream out;
    cli::LineReporter lines(out, false);
    Script s;
    s.play(lines);
    const std::string text = out.str();
    CHECK(text.find("2026-11-25T10:01:00Z m wrote: step 1 of 2: 10% to kube [10% to kube, was 0%]") != std::string::npos);
    CHECK(text.find("2026-11-25T10:02:00Z m evaluated at 10%: errors FAIL") != std::string::npos);
    CHECK(text.find("errors [to] FAIL 0.3 (bound 0.01, 600 requests)") != std::string::npos);
    CHECK(text.find("rolled-back: 2 consecutive failing evaluations") != std::string::npos);
  }

  TEST_CASE("one JSON event per line") {
    std::ostringstream out;
    cli::JsonEventReporter json(out);
    Script s;
    s.play(json);
    std::istringstream in(out.str());
    std::string line;
    std::vector<nlohmann::json> events;
    while (std::getline(in, line)) events.push_back(nlohmann::json::parse(line));
    REQUIRE(events.size() == 4);
    CHECK(events[1]["event"] == "wrote");
    CHECK(events[1]["toWeight"] == 10);
    CHECK(events[2]["gates"][0]["verdict"] == "FAIL");
    CHECK(events[3]["event"] == "rolled-back");
    CHECK(events[3]["phase"] == "rolled-back");
  }

  TEST_CASE("a JUnit report: a testsuite per migration, a testcase per step, a rollback is a failure") {
    cli::JUnitReport junit;
    Script s;
    s.play(junit);
    const std::string xml = junit.xml();
    CHECK(xml.find("<testsuite name=\"m\"") != std::string::npos);
    CHECK(xml.find("<testcase classname=\"m\" name=\"step 1 of 2: 10% to kube\"") != std::string::npos);
    CHECK(xml.find("<failure message=\"2 consecutive failing evaluations\" type=\"rollback\"/>") != std::string::npos);
    CHECK(xml.find("error rate 0.3 &lt;&amp; 0.01") != std::string::npos);  // escaped
    CHECK(xml.find("failures=\"1\"") != std::string::npos);
  }

  TEST_CASE("the live view redraws in place and honours no colour") {
    std::ostringstream out;
    testsupport::FakeClock clock(testsupport::utc(2026, 11, 25, 10, 0));
    {
      cli::LiveView view(out, clock, false);
      Script s;
      s.play(view);
      view.stop();
    }
    const std::string text = out.str();
    CHECK(text.find("\033[3") == std::string::npos);  // no colour codes
    CHECK(text.find("\033[") != std::string::npos);    // but cursor movement to redraw
    CHECK(text.find("m  rolled-back") != std::string::npos);
    CHECK(text.find("[--------------------") != std::string::npos);
  }

  TEST_CASE("an event line never says its kind twice") {
    planner::EngineEvent e;
    e.kind = Kind::Drift;
    e.message = "drift: the policy meshmove last wrote (10%) now sends 50%";
    CHECK(cli::describe_event(plan(), e) == "drift: the policy meshmove last wrote (10%) now sends 50%");
    e.message = "someone else changed it";
    CHECK(cli::describe_event(plan(), e) == "drift: someone else changed it");
  }

  TEST_CASE("the weight bar") {
    CHECK(cli::weight_bar(0, 10) == "[----------]");
    CHECK(cli::weight_bar(2500, 10) == "[##--------]");
    CHECK(cli::weight_bar(10000, 10) == "[##########]");
  }
}
