// The transport's retry loop (send_with_retries) over a fake attempt and the fake clock: writes that
// undo risk retry for their deadline, Retry-After is honoured or refused with the reason, a signal stops
// the retries, redirects are named (hostile trial findings 5, 21, 22, 24).
#include <doctest/doctest.h>

#include <atomic>

#include "backends/http_transport.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using namespace meshmove::backends;
using namespace meshmove::testsupport;
using namespace std::chrono_literals;

namespace {

HttpResponse answer(int status, std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = status == 200 ? "{}" : "{\"title\":\"Service Unavailable\"}";
  r.headers = std::move(headers);
  return r;
}

// A server reached through the fake clock: every attempt takes 50 ms and is answered by `script`.
struct FakeServer {
  using Script = std::function<planner::Result<HttpResponse>(planner::TimePoint)>;
  FakeServer(FakeClock& c, Script s) : clock(c), script(std::move(s)) {}
  FakeClock& clock;
  Script script;
  std::vector<planner::TimePoint> attempts;
  std::vector<planner::Duration> timeouts;
  std::function<void()> after_attempt;

  AttemptFunction attempt() {
    return [this](const HttpRequest&, planner::Duration timeout) {
      attempts.push_back(clock.now());
      timeouts.push_back(timeout);
      clock.advance(50ms);
      auto r = script(attempts.back());
      if (after_attempt) after_attempt();
      return AttemptOutcome{std::move(r), false};
    };
  }
};

HttpRequest put() {
  HttpRequest r;
  r.method = "PUT";
  r.url = "http://127.0.0.1:5681/meshes/default/meshhttproutes/x";
  return r;
}

}  // namespace

TEST_SUITE("backends::http_retries") {
  TEST_CASE("a write that undoes risk retries through 20 s of 503 and lands within its 30 s deadline") {
    FakeClock clock{utc(2026, 12, 1)};
    const auto start = clock.now();
    FakeServer server{clock, [start](planner::TimePoint at) -> planner::Result<HttpResponse> {
                        return at - start < 20s ? answer(503) : answer(200);
                      }};
    auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->status == 200);
    CHECK(clock.now() - start >= 20s);
    CHECK(clock.now() - start <= 30s);
    CHECK(server.attempts.size() > 4);  // the ordinary policy gives up after 4
    // Exponential backoff, capped at 5 s: no two attempts more than 5 s (plus the attempt) apart.
    for (std::size_t i = 1; i < server.attempts.size(); ++i) CHECK(server.attempts[i] - server.attempts[i - 1] <= 5050ms);
  }

  TEST_CASE("the ordinary policy gives up on the same outage within seconds (what a rollback did before)") {
    FakeClock clock{utc(2026, 12, 1)};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> { return answer(503); }};
    auto r = send_with_retries(put(), RetryPolicy{}, 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Unavailable);
    CHECK(server.attempts.size() == 4);
  }

  TEST_CASE("an undo write that never succeeds gives up at its deadline, naming the last failure") {
    FakeClock clock{utc(2026, 12, 1)};
    const auto start = clock.now();
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> {
                        return planner::make_error(planner::ErrorKind::Unavailable, "PUT x: Connection refused");
                      }};
    auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, nullptr, server.attempt(), {}, 7);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Unavailable);
    CHECK(r.error().message.find("Connection refused") != std::string::npos);
    CHECK(clock.now() - start >= 30s);
    CHECK(clock.now() - start <= 31s);
    // Every attempt's timeout is cut to what remains of the deadline.
    for (std::size_t i = 0; i < server.attempts.size(); ++i) {
      CHECK(server.attempts[i] + server.timeouts[i] <= start + 31s);
    }
  }

  TEST_CASE("Retry-After beyond the deadline gives up at once and says so (finding 22)") {
    FakeClock clock{utc(2026, 12, 1)};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> {
                        return answer(429, {{"retry-after", "99999"}});
                      }};
    SUBCASE("an ordinary request") {
      auto r = send_with_retries(put(), RetryPolicy{}, 10s, clock, nullptr, server.attempt(), {}, 1);
      REQUIRE_FALSE(r.ok());
      CHECK(server.attempts.size() == 1);
      CHECK(r.error().message.find("asked to retry after 27h46m39s, beyond the deadline") != std::string::npos);
    }
    SUBCASE("a rollback") {
      auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, nullptr, server.attempt(), {}, 1);
      REQUIRE_FALSE(r.ok());
      CHECK(server.attempts.size() == 1);
      CHECK(r.error().message.find("asked to retry after 27h46m39s, beyond the deadline") != std::string::npos);
    }
  }

  TEST_CASE("Retry-After within the deadline is waited for exactly, in seconds or as an HTTP date") {
    FakeClock clock{utc(2026, 12, 1, 8, 0, 0)};
    std::string value;
    FakeServer server{clock, [&value, &server](planner::TimePoint) -> planner::Result<HttpResponse> {
                        if (server.attempts.size() == 1) return answer(503, {{"retry-after", value}});
                        return answer(200);
                      }};
    SUBCASE("seconds") { value = "7"; }
    SUBCASE("HTTP date") { value = "Tue, 01 Dec 2026 08:00:07 GMT"; }
    auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    REQUIRE(server.attempts.size() == 2);
    const auto waited = server.attempts[1] - server.attempts[0] - 50ms;
    CHECK(waited >= 6900ms);
    CHECK(waited <= 7050ms);
  }

  TEST_CASE("Retry-After above the 60 s cap of an ordinary request gives up at once") {
    FakeClock clock{utc(2026, 12, 1)};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> {
                        return answer(503, {{"retry-after", "90"}});
                      }};
    RetryPolicy long_budget;
    long_budget.max_total = 10min;
    auto r = send_with_retries(put(), long_budget, 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(server.attempts.size() == 1);
    CHECK(r.error().message.find("asked to retry after 1m30s, beyond the longest wait meshmove honours (1m)") !=
          std::string::npos);
  }

  TEST_CASE("a signal during the retries stops them within 100 ms as Interrupted (finding 21)") {
    FakeClock clock{utc(2026, 12, 1)};
    std::atomic<bool> stop{false};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> { return answer(503); }};
    server.after_attempt = [&] {
      if (server.attempts.size() == 3) stop = true;
    };
    const auto start = clock.now();
    auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, &stop, server.attempt(), {}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Interrupted);
    CHECK(server.attempts.size() == 3);
    CHECK(clock.now() - server.attempts.back() <= 150ms);
    CHECK(clock.now() - start < 30s);
    CHECK(r.error().message.find("interrupted by a signal after 3 attempts") != std::string::npos);
  }

  TEST_CASE("an attempt aborted by the signal is not retried") {
    FakeClock clock{utc(2026, 12, 1)};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> {
                        return planner::make_error(planner::ErrorKind::Interrupted, "PUT x: interrupted by a signal");
                      }};
    auto r = send_with_retries(put(), undo_retry_policy(30s), 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Interrupted);
    CHECK(server.attempts.size() == 1);
  }

  TEST_CASE("a redirect names its Location without credentials or query (finding 24)") {
    FakeClock clock{utc(2026, 12, 1)};
    FakeServer server{clock, [](planner::TimePoint) -> planner::Result<HttpResponse> {
                        return answer(302, {{"location", "http://admin:hunter2@127.0.0.2:5681/meshes?token=s3cret"}});
                      }};
    auto r = send_with_retries(put(), RetryPolicy{}, 10s, clock, nullptr, server.attempt(), {}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Config);
    CHECK(server.attempts.size() == 1);
    const std::string& m = r.error().message;
    INFO(m);
    CHECK(m.find("HTTP 302 redirect to http://[redacted]@127.0.0.2:5681/meshes?[redacted]; meshmove does not follow "
                 "redirects: point the URL at the final address") != std::string::npos);
    CHECK(m.find("hunter2") == std::string::npos);
    CHECK(m.find("s3cret") == std::string::npos);
  }

  TEST_CASE("redact_location") {
    CHECK(redact_location("https://cp.example:5682/x") == "https://cp.example:5682/x");
    CHECK(redact_location("/login?next=%2F") == "/login?[redacted]");
    CHECK(redact_location("https://u@h/p#frag") == "https://[redacted]@h/p");
    CHECK(redact_location("http://h/\x1b[31m") == "http://h/?[31m");
  }
}
