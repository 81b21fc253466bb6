// Webhook notifications against a real HTTP receiver in the test process (cpp-httplib on 127.0.0.1, port
// 0): the JSON that arrives, retries after a 500, a blocked or down receiver that never blocks notify(),
// and a secret URL from urlFile that never reaches a log line.
#include <doctest/doctest.h>

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "backends/webhook_notifier.hpp"
#include "cli/system_clock.hpp"
#include "tests/support/process.hpp"

using namespace meshmove;
using planner::EngineEvent;
using planner::NotifyEvent;
using testsupport::wait_until;

namespace {

struct Received {
  std::string path;
  std::string body;
  std::string content_type;
  std::string idempotency_key;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// Records every POST; answers with the scripted statuses in turn (then 200), and can hold requests until
// released, to play a slow receiver.
class Receiver {
 public:
  explicit Receiver(std::deque<int> statuses = {}) : m_statuses(std::move(statuses)) {
    m_server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(m_mutex);
      m_received.push_back({req.path, req.body, req.get_header_value("Content-Type"),
                            req.get_header_value("Idempotency-Key")});
      m_changed.notify_all();
      // Bounded: a forgotten release cannot hang the test run.
      m_changed.wait_for(lock, std::chrono::seconds(60), [this] { return !m_holding; });
      res.status = 200;
      if (!m_statuses.empty()) {
        res.status = m_statuses.front();
        m_statuses.pop_front();
      }
      // An error body that quotes the request path, and the token on its own, as some receivers do.
      const std::string token = req.path.substr(req.path.rfind('/') + 1);
      res.set_content(res.status == 200 ? "ok" : "no such hook: " + req.path + " (token " + token + ")",
                      "text/plain");
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    REQUIRE(m_port > 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    REQUIRE(wait_until([this] { return m_server.is_running(); }, std::chrono::seconds(5)));
  }
  ~Receiver() {
    release();
    m_server.stop();
    m_thread.join();
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  [[nodiscard]] std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  [[nodiscard]] int port() const { return m_port; }
  void hold() {
    std::lock_guard lock(m_mutex);
    m_holding = true;
  }
  void release() {
    std::lock_guard lock(m_mutex);
    m_holding = false;
    m_changed.notify_all();
  }
  // Waits (at most `timeout`) until `n` requests have arrived.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_received.size() >= n; });
  }
  std::vector<Received> received() {
    std::lock_guard lock(m_mutex);
    return m_received;
  }

 private:
  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<Received> m_received;
  std::deque<int> m_statuses;
  bool m_holding = false;
};

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
  std::size_t count(const std::string& needle) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(needle) != std::string::npos;
    }));
  }
};

planner::NotifyConfig target(const std::string& url, std::vector<NotifyEvent> events = {}, int retries = 2,
                             planner::Duration timeout = std::chrono::seconds(10)) {
  planner::NotifyConfig t;
  t.webhook.url = url;
  t.webhook.retries = retries;
  t.webhook.timeout = timeout;
  t.events = std::move(events);
  return t;
}

planner::Plan sample_plan(std::vector<planner::NotifyConfig> targets) {
  planner::Plan p;
  p.name = "orders-to-kube";
  p.service = "orders_default_svc_80";
  p.from = "vm";
  p.to = "kube";
  p.steps = {1000, 5000, 10000};
  p.notify = std::move(targets);
  return p;
}

EngineEvent event(EngineEvent::Kind kind, const planner::MigrationState& s, std::string message,
                  int seconds = 0) {
  EngineEvent e;
  e.kind = kind;
  e.migration = s.migration;
  e.at = planner::TimePoint{std::chrono::seconds(1795000000 + seconds)};
  e.message = std::move(message);
  e.state = &s;
  e.step = s.step;
  return e;
}

planner::MigrationState state(planner::Phase phase, int weight, int step) {
  planner::MigrationState s;
  s.migration = "orders-to-kube";
  s.phase = phase;
  s.weight = weight;
  s.step = step;
  return s;
}

constexpr auto k_flush = std::chrono::seconds(60);

}  // namespace

TEST_SUITE("integration::webhook") {
  TEST_CASE("each target gets the events it wants, in order, as JSON") {
    Receiver receiver;
    cli::SystemClock clock;
    Log log;
    const auto plan = sample_plan(
        {target(receiver.url("/all")), target(receiver.url("/rollbacks"), {NotifyEvent::Rollback})});
    auto notifier = backends::make_webhook_notifier(clock, log.sink());

    const auto pending = state(planner::Phase::Pending, 0, -1);
    notifier->notify(plan, event(EngineEvent::Kind::Started, pending, "started", 0));
    const auto ramping = state(planner::Phase::Ramping, 1000, 0);
    auto step = event(EngineEvent::Kind::Wrote, ramping, "first step", 1);
    step.from_weight = 0;
    step.to_weight = 1000;
    notifier->notify(plan, step);
    notifier->notify(
        plan, event(EngineEvent::Kind::Evaluated, ramping, "gates evaluated", 2));  // not a notification
    notifier->notify(plan, event(EngineEvent::Kind::Held, ramping, "held at 10%: too few requests", 3));
    const auto back = state(planner::Phase::RolledBack, 0, -1);
    auto rollback = event(EngineEvent::Kind::RolledBack, back, "errors failed twice", 4);
    rollback.from_weight = 1000;
    rollback.to_weight = 0;
    notifier->notify(plan, rollback);

    REQUIRE(notifier->flush(k_flush) == 0);
    INFO(log.all());
    const auto got = receiver.received();
    REQUIRE(got.size() == 5);
    std::vector<std::string> all_events;
    std::vector<std::string> rollback_events;
    for (const auto& r : got) {
      CHECK(r.content_type == "application/json");
      const auto j = r.json();
      CHECK(r.idempotency_key == j["id"].get<std::string>());
      (r.path == "/all" ? all_events : rollback_events).push_back(j["event"]);
    }
    CHECK(all_events == std::vector<std::string>{"start", "step", "hold", "rollback"});
    CHECK(rollback_events == std::vector<std::string>{"rollback"});

    const auto j = got.back().json();
    CHECK(j["migration"] == "orders-to-kube");
    CHECK(j["service"] == "orders_default_svc_80");
    CHECK(j["weight"] == 0.0);
    CHECK(j["previousWeight"] == 10.0);
    CHECK(j["phase"] == "rolled-back");
    CHECK(j["reason"] == "errors failed twice");
    CHECK(j["text"] == "meshmove: orders-to-kube rolled back: 0% to kube - errors failed twice");
    const auto stats = notifier->stats();
    CHECK(stats.delivered == 5);
    CHECK(stats.failed == 0);
    CHECK(log.lines.empty());
  }

  TEST_CASE("a 500 is retried and the retry carries the same id but a 400 is not retried") {
    cli::SystemClock clock;
    Log log;
    const auto s = state(planner::Phase::Promoted, 10000, 2);
    SUBCASE("500 then 200") {
      Receiver receiver({500});
      const auto plan = sample_plan({target(receiver.url(), {}, 2)});
      auto notifier = backends::make_webhook_notifier(clock, log.sink());
      notifier->notify(plan, event(EngineEvent::Kind::Promoted, s, "promoted"));
      REQUIRE(notifier->flush(k_flush) == 0);
      const auto got = receiver.received();
      REQUIRE(got.size() == 2);
      CHECK(got[0].body == got[1].body);
      CHECK(got[0].idempotency_key == got[1].idempotency_key);
      CHECK(notifier->stats().delivered == 1);
      CHECK(log.count("retrying POST http://127.0.0.1:" + std::to_string(receiver.port()) + "/[redacted]") ==
            1);
    }
    SUBCASE("400") {
      Receiver receiver({400});
      const auto plan = sample_plan({target(receiver.url(), {}, 2)});
      auto notifier = backends::make_webhook_notifier(clock, log.sink());
      notifier->notify(plan, event(EngineEvent::Kind::Promoted, s, "promoted"));
      REQUIRE(notifier->flush(k_flush) == 0);
      CHECK(receiver.received().size() == 1);
      CHECK(notifier->stats().failed == 1);
      CHECK(log.count("was refused: HTTP 400") == 1);
    }
    SUBCASE("500 every time: gives up after the retries") {
      Receiver receiver({500, 500, 500, 500});
      const auto plan = sample_plan({target(receiver.url(), {}, 1)});
      auto notifier = backends::make_webhook_notifier(clock, log.sink());
      notifier->notify(plan, event(EngineEvent::Kind::Promoted, s, "promoted"));
      REQUIRE(notifier->flush(k_flush) == 0);
      CHECK(receiver.received().size() == 2);
      CHECK(notifier->stats().failed == 1);
      CHECK(log.count("failed after 2 attempts") == 1);
    }
  }

  TEST_CASE("a receiver that does not answer never blocks notify() and the full queue drops its oldest") {
    Receiver receiver;
    receiver.hold();
    cli::SystemClock clock;
    Log log;
    const auto plan = sample_plan({target(receiver.url(), {}, 0, std::chrono::seconds(60))});
    auto notifier = backends::make_webhook_notifier(clock, log.sink(), {.queue_capacity = 3});
    const auto s = state(planner::Phase::Ramping, 1000, 0);

    notifier->notify(plan, event(EngineEvent::Kind::Started, s, "first"));
    REQUIRE(receiver.wait_for_requests(1, std::chrono::seconds(30)));  // the worker is now stuck in it
    // Five more while the receiver holds the first: each returns although nothing can be sent, so the
    // engine (a rollback included) would have gone on.
    for (int i = 1; i <= 5; ++i) {
      notifier->notify(plan, event(EngineEvent::Kind::Held, s, "held " + std::to_string(i), i));
    }
    auto stats = notifier->stats();
    CHECK(stats.sending);
    CHECK(stats.queued == 3);
    CHECK(stats.dropped == 2);
    CHECK(stats.delivered == 0);
    CHECK(receiver.received().size() == 1);
    CHECK(log.count("webhook queue full (3): dropped the oldest notification (hold of orders-to-kube)") == 2);

    receiver.release();
    REQUIRE(notifier->flush(k_flush) == 0);
    const auto got = receiver.received();
    REQUIRE(got.size() == 4);
    std::vector<std::string> reasons;
    for (const auto& r : got) reasons.push_back(r.json()["reason"]);
    CHECK(reasons == std::vector<std::string>{"first", "held 3", "held 4", "held 5"});
    CHECK(notifier->stats().delivered == 4);
  }

  TEST_CASE("flush gives up at its deadline while a receiver holds a request") {
    Receiver receiver;
    receiver.hold();
    cli::SystemClock clock;
    Log log;
    const auto plan = sample_plan({target(receiver.url(), {}, 0, std::chrono::seconds(60))});
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = state(planner::Phase::Ramping, 1000, 0);
    notifier->notify(plan, event(EngineEvent::Kind::Started, s, "first"));
    notifier->notify(plan, event(EngineEvent::Kind::Paused, s, "second", 1));
    REQUIRE(receiver.wait_for_requests(1, std::chrono::seconds(30)));
    CHECK(notifier->flush(std::chrono::milliseconds(200)) == 2);  // one in flight, one queued
    receiver.release();
    CHECK(notifier->flush(k_flush) == 0);
    CHECK(receiver.received().size() == 2);
  }

  TEST_CASE("destruction drops what is queued, logs it, and waits only for the request in flight") {
    Receiver receiver;
    receiver.hold();
    cli::SystemClock clock;
    Log log;
    // The held request ends at its 1 s timeout (no retries), which is all the destructor waits for.
    const auto plan = sample_plan({target(receiver.url(), {}, 0, std::chrono::seconds(1))});
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = state(planner::Phase::Ramping, 1000, 0);
    notifier->notify(plan, event(EngineEvent::Kind::Started, s, "first"));
    REQUIRE(receiver.wait_for_requests(1, std::chrono::seconds(30)));
    notifier->notify(plan, event(EngineEvent::Kind::Paused, s, "second", 1));
    notifier->notify(plan, event(EngineEvent::Kind::Promoted, s, "third", 2));
    notifier.reset();
    CHECK(log.count("dropped 2 webhook notification(s) not sent before exit") == 1);
    CHECK(log.count("(start of orders-to-kube)") == 1);  // the timed-out request is logged as failed
    receiver.release();
    CHECK(receiver.received().size() == 1);
  }

  TEST_CASE("a receiver that is down: notify() returns, the failure is logged once after the retries") {
    cli::SystemClock clock;
    Log log;
    const int port = testsupport::free_port();  // nothing listens there
    const auto plan = sample_plan({target("http://127.0.0.1:" + std::to_string(port) + "/hook", {}, 1)});
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = state(planner::Phase::RolledBack, 0, -1);
    notifier->notify(plan, event(EngineEvent::Kind::RolledBack, s, "rolled back"));
    REQUIRE(notifier->flush(k_flush) == 0);
    CHECK(notifier->stats().failed == 1);
    INFO(log.all());
    CHECK(log.count("webhook notification (rollback of orders-to-kube) to http://127.0.0.1:" +
                    std::to_string(port) + "/[redacted] failed") == 1);
  }

  TEST_CASE("a URL from urlFile is used and never appears in a log line") {
    const std::string secret_path = "/services/T0SECRET/B0SECRET/xoxSECRETTOKEN0123456789";
    testsupport::TempDir dir;
    cli::SystemClock clock;
    Log log;
    Receiver receiver({500, 500, 404});
    const int down = testsupport::free_port();
    const auto good_file = dir.write("good-url", receiver.url(secret_path) + "\n");
    const auto down_file =
        dir.write("down-url", "http://127.0.0.1:" + std::to_string(down) + secret_path + "\n");
    planner::NotifyConfig good;
    good.webhook.url_file = good_file.string();
    good.webhook.retries = 2;
    planner::NotifyConfig gone;
    gone.webhook.url_file = down_file.string();
    gone.webhook.retries = 1;
    const auto plan = sample_plan({good, gone});
    auto notifier = backends::make_webhook_notifier(clock, log.sink());
    const auto s = state(planner::Phase::RolledBack, 0, -1);
    notifier->notify(plan, event(EngineEvent::Kind::RolledBack, s, "rolled back"));  // 500, 500, 404: refused
    notifier->notify(plan, event(EngineEvent::Kind::Promoted, s, "promoted", 1));    // 200
    REQUIRE(notifier->flush(k_flush) == 0);

    const auto got = receiver.received();
    REQUIRE(got.size() == 4);
    for (const auto& r : got) CHECK(r.path == secret_path);
    const std::string all = log.all();
    CAPTURE(all);
    CHECK(log.lines.size() >= 4);  // two retries, the refusal, the down receiver's failure and retry
    CHECK(all.find("was refused: HTTP 404") != std::string::npos);
    CHECK(all.find("SECRET") == std::string::npos);
    CHECK(all.find("/services") == std::string::npos);
    CHECK(all.find("http://127.0.0.1:" + std::to_string(receiver.port()) + "/[redacted]") !=
          std::string::npos);
    CHECK(notifier->stats().delivered == 1);
    CHECK(notifier->stats().failed == 3);
  }
}
