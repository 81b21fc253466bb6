// Webhook notifications without a network: which engine events notify, which targets want them, the
// JSON payload (Slack text and structured fields), and failures that are logged without the secret.
#include <doctest/doctest.h>

#include <mutex>

#include "backends/webhook_notifier.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using planner::EngineEvent;
using planner::NotifyEvent;
using testsupport::utc;

namespace {

planner::Plan sample_plan() {
  planner::Plan p;
  p.name = "orders-to-kube";
  p.service = "orders_default_svc_80";
  p.from = "vm";
  p.to = "kube";
  p.steps = {1000, 5000, 10000};
  return p;
}

planner::MigrationState sample_state(planner::Phase phase, int weight, int step) {
  planner::MigrationState s;
  s.migration = "orders-to-kube";
  s.phase = phase;
  s.weight = weight;
  s.step = step;
  return s;
}

EngineEvent event(EngineEvent::Kind kind, const planner::MigrationState* s, std::string message = "") {
  EngineEvent e;
  e.kind = kind;
  e.migration = "orders-to-kube";
  e.at = utc(2026, 11, 25, 17, 0, 0);
  e.message = std::move(message);
  e.state = s;
  e.step = s != nullptr ? s->step : -1;
  return e;
}

struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
  std::string all() {
    std::lock_guard lock(mutex);
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
  }
};

}  // namespace

TEST_SUITE("backends::webhook_notifier") {
  TEST_CASE("engine events that notify, and the ones that do not") {
    using K = EngineEvent::Kind;
    const auto s = sample_state(planner::Phase::Ramping, 1000, 0);
    CHECK(backends::notify_event_for(event(K::Started, &s)) == NotifyEvent::Start);
    CHECK(backends::notify_event_for(event(K::Held, &s)) == NotifyEvent::Hold);
    CHECK(backends::notify_event_for(event(K::Paused, &s)) == NotifyEvent::Paused);
    CHECK(backends::notify_event_for(event(K::RolledBack, &s)) == NotifyEvent::Rollback);
    CHECK(backends::notify_event_for(event(K::Promoted, &s)) == NotifyEvent::Promoted);
    CHECK(backends::notify_event_for(event(K::Drift, &s)) == NotifyEvent::Drift);
    CHECK(backends::notify_event_for(event(K::Error, &s)) == NotifyEvent::Error);
    auto wrote = event(K::Wrote, &s);
    wrote.step = 0;
    CHECK(backends::notify_event_for(wrote) == NotifyEvent::Step);
    wrote.step = -1;  // the pin to from before the first step
    CHECK_FALSE(backends::notify_event_for(wrote).has_value());
    for (const auto k : {K::Reconciled, K::Evaluated, K::Waiting, K::Interrupted}) {
      CAPTURE(planner::to_string(k));
      CHECK_FALSE(backends::notify_event_for(event(k, &s)).has_value());
    }
  }

  TEST_CASE("a target wants the events it lists, every event when it lists none") {
    planner::NotifyConfig all;
    CHECK(backends::wants(all, NotifyEvent::Start));
    CHECK(backends::wants(all, NotifyEvent::Resumed));
    planner::NotifyConfig some;
    some.events = {NotifyEvent::Rollback, NotifyEvent::Promoted};
    CHECK(backends::wants(some, NotifyEvent::Rollback));
    CHECK(backends::wants(some, NotifyEvent::Promoted));
    CHECK_FALSE(backends::wants(some, NotifyEvent::Step));
    CHECK_FALSE(backends::wants(some, NotifyEvent::Start));
  }

  TEST_CASE("a rollback: readable Slack text and every structured field") {
    const auto plan = sample_plan();
    auto s = sample_state(planner::Phase::RolledBack, 0, -1);
    s.last_verdicts.push_back(
        {"errors", "to", "FAIL", 0.05, 0.01, 4000.0, "error rate 5% > 1%", utc(2026, 11, 25, 16, 59, 30)});
    auto e = event(EngineEvent::Kind::RolledBack, &s,
                   "errors FAILED 2 times in a row: 5% > 1% & <rising>\nsee history");
    e.from_weight = 5000;
    e.to_weight = 0;
    e.step = -1;
    const auto j = backends::build_webhook_payload(plan, NotifyEvent::Rollback, e);
    CAPTURE(j.dump(2));
    CHECK(
        j["text"] ==
        "meshmove: orders-to-kube rolled back: 0% to kube - errors FAILED 2 times in a row: 5% &gt; 1% &amp; "
        "&lt;rising&gt; see history");
    CHECK(j["migration"] == "orders-to-kube");
    CHECK(j["event"] == "rollback");
    CHECK(j["service"] == "orders_default_svc_80");
    CHECK(j["mesh"] == "default");
    CHECK(j["from"] == "vm");
    CHECK(j["to"] == "kube");
    CHECK(j["weight"] == 0.0);
    CHECK(j["previousWeight"] == 50.0);
    CHECK(j["step"] == -1);
    CHECK(j["steps"] == 3);
    CHECK(j["phase"] == "rolled-back");
    CHECK(j["reason"] == "errors FAILED 2 times in a row: 5% > 1% & <rising>\nsee history");  // unescaped
    CHECK(j["at"] == "2026-11-25T17:00:00Z");
    CHECK(j["id"] == "orders-to-kube/rollback/-1/2026-11-25T17:00:00Z");
    REQUIRE(j["gates"].size() == 1);
    CHECK(j["gates"][0]["slo"] == "errors");
    CHECK(j["gates"][0]["set"] == "to");
    CHECK(j["gates"][0]["verdict"] == "FAIL");
    CHECK(j["gates"][0]["value"] == 0.05);
    CHECK(j["gates"][0]["bound"] == 0.01);
    CHECK(j["gates"][0]["samples"] == 4000.0);
    CHECK(j["gates"][0]["at"] == "2026-11-25T16:59:30Z");
  }

  TEST_CASE("a step up and a step back down") {
    const auto plan = sample_plan();
    const auto s = sample_state(planner::Phase::Ramping, 5000, 1);
    auto up = event(EngineEvent::Kind::Wrote, &s, "bake passed");
    up.from_weight = 1000;
    up.to_weight = 5000;
    up.step = 1;
    auto j = backends::build_webhook_payload(plan, NotifyEvent::Step, up);
    CHECK(j["text"] == "meshmove: orders-to-kube advanced: 50% to kube (step 2 of 3) - bake passed");
    CHECK(j["weight"] == 50.0);
    CHECK(j["previousWeight"] == 10.0);
    CHECK(j["step"] == 1);
    CHECK_FALSE(j.contains("gates"));

    const auto down_state = sample_state(planner::Phase::Ramping, 1000, 0);
    auto down = event(EngineEvent::Kind::Wrote, &down_state, "stepped rollback");
    down.from_weight = 5000;
    down.to_weight = 1000;
    down.step = 0;
    j = backends::build_webhook_payload(plan, NotifyEvent::Step, down);
    CHECK(j["text"] == "meshmove: orders-to-kube stepped back: 10% to kube (step 1 of 3) - stepped rollback");
  }

  TEST_CASE("gates of the event itself are preferred but a start carries no earlier verdicts") {
    const auto plan = sample_plan();
    auto s = sample_state(planner::Phase::Ramping, 1000, 0);
    s.last_verdicts.push_back({"old", "to", "PASS", 0.0, 0.01, 10.0, "earlier", {}});
    auto held = event(EngineEvent::Kind::Held, &s, "held at 10%");
    planner::GateEvaluation g;
    g.slo = "p99";
    g.set = "from";
    g.verdict = planner::Verdict::Hold;
    g.bound = 200;
    g.reason = "no data";
    held.gates = {g};
    auto j = backends::build_webhook_payload(plan, NotifyEvent::Hold, held);
    REQUIRE(j["gates"].size() == 1);
    CHECK(j["gates"][0]["slo"] == "p99");
    CHECK(j["gates"][0]["verdict"] == "HOLD");
    CHECK(j["gates"][0]["value"].is_null());
    CHECK(j["text"] == "meshmove: orders-to-kube is holding: 10% to kube (step 1 of 3) - held at 10%");

    j = backends::build_webhook_payload(plan, NotifyEvent::Start,
                                        event(EngineEvent::Kind::Started, &s, "resumed run"));
    CHECK_FALSE(j.contains("gates"));
    CHECK(j["event"] == "start");
    CHECK(j["weight"] == 10.0);
    CHECK(j["phase"] == "ramping");
  }

  TEST_CASE("without a state: weight unknown, the reason from the message, no phase") {
    const auto plan = sample_plan();
    const auto j = backends::build_webhook_payload(plan, NotifyEvent::Error,
                                                   event(EngineEvent::Kind::Error, nullptr, "boom"));
    CHECK(j["weight"].is_null());
    CHECK(j["phase"].is_null());
    CHECK(j["step"] == -1);
    CHECK(j["text"] == "meshmove: orders-to-kube error - boom");
  }

  TEST_CASE("invalid UTF-8 in a reason is replaced, not thrown") {
    testsupport::FakeClock clock(utc(2026, 11, 25));
    Log log;
    auto plan = sample_plan();
    planner::NotifyConfig target;
    target.webhook.url_file = "/nonexistent/meshmove-test/webhook-url";
    plan.notify = {target};
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = sample_state(planner::Phase::Ramping, 1000, 0);
    CHECK_NOTHROW(notifier->notify(plan, event(EngineEvent::Kind::Error, &s, "bad \xff\xfe bytes")));
    CHECK(notifier->flush(std::chrono::seconds(30)) == 0);
  }

  TEST_CASE("only wanted events are queued and an unreadable urlFile is logged by name and counted") {
    testsupport::FakeClock clock(utc(2026, 11, 25));
    Log log;
    auto plan = sample_plan();
    planner::NotifyConfig rollbacks;
    rollbacks.webhook.url_file = "/nonexistent/meshmove-test/webhook-url";
    rollbacks.events = {NotifyEvent::Rollback, NotifyEvent::Resumed};
    plan.notify = {rollbacks};
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = sample_state(planner::Phase::Ramping, 1000, 0);

    notifier->notify(plan, event(EngineEvent::Kind::Started, &s));
    notifier->notify(plan, event(EngineEvent::Kind::Evaluated, &s));
    notifier->notify(plan, event(EngineEvent::Kind::Promoted, &s));
    CHECK(notifier->flush(std::chrono::seconds(30)) == 0);
    auto stats = notifier->stats();
    CHECK(stats.delivered + stats.failed + stats.dropped == 0);  // none wanted
    CHECK(log.lines.empty());

    notifier->notify(plan, event(EngineEvent::Kind::RolledBack, &s, "failed"));
    notifier->notify_resumed(plan, s, "resumed by the operator");
    CHECK(notifier->flush(std::chrono::seconds(30)) == 0);
    stats = notifier->stats();
    CHECK(stats.failed == 2);
    CHECK(stats.queued == 0);
    CHECK_FALSE(stats.sending);
    const std::string all = log.all();
    CAPTURE(all);
    CHECK(log.lines.size() == 2);
    CHECK(all.find("(rollback of orders-to-kube) not sent: cannot read the secret file "
                   "/nonexistent/meshmove-test/webhook-url") != std::string::npos);
    CHECK(all.find("(resumed of orders-to-kube)") != std::string::npos);
  }

  TEST_CASE("a target without a URL is logged, and the notifier goes on") {
    testsupport::FakeClock clock(utc(2026, 11, 25));
    Log log;
    auto plan = sample_plan();
    plan.notify = {planner::NotifyConfig{}, planner::NotifyConfig{}};
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = sample_state(planner::Phase::Promoted, 10000, 2);
    notifier->notify(plan, event(EngineEvent::Kind::Promoted, &s));
    CHECK(notifier->flush(std::chrono::seconds(30)) == 0);
    CHECK(notifier->stats().failed == 2);
    CHECK(log.lines.size() == 2);
  }
}
