// The Kuma control plane passes the rollback deadline to its transport: a rollback's PUT and read-back
// retry through a 20 s outage and land; an ordinary write gives up as before (hostile trial finding 5).
// The transport is the real retry loop (send_with_retries) over a scripted server and the fake clock.
#include <doctest/doctest.h>

#include <algorithm>

#include "backends/http_transport.hpp"
#include "backends/kuma_control_plane.hpp"
#include "planner/plan_parser.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using namespace meshmove::backends;
using namespace meshmove::testsupport;
using namespace std::chrono_literals;

namespace {

// A Kuma stand-in that answers 503 to everything until `outage_end`, then serves the policy it was sent.
class ScriptedKuma final : public HttpTransport {
 public:
  explicit ScriptedKuma(FakeClock& clock) : m_clock(clock) {}
  planner::TimePoint outage_end{};
  std::vector<std::optional<RetryPolicy>> policies;  // the retry policy of every request sent

  planner::Result<HttpResponse> send(const HttpRequest& request) override {
    policies.push_back(request.retry);
    const RetryPolicy policy = request.retry.value_or(RetryPolicy{});
    return send_with_retries(
        request, policy, 10s, m_clock, nullptr,
        [this](const HttpRequest& r, planner::Duration) { return AttemptOutcome{answer(r), false}; }, {}, 42);
  }

 private:
  planner::Result<HttpResponse> answer(const HttpRequest& r) {
    m_clock.advance(20ms);
    HttpResponse res;
    if (m_clock.now() < outage_end) {
      res.status = 503;
      res.body = R"({"title":"Service Unavailable"})";
      return res;
    }
    res.status = 200;
    const std::string path = r.url.substr(r.url.find("/meshes"));
    const std::string collection = path.substr(0, path.find('?'));
    if (path == "/meshes/default") {
      res.body = R"({"type":"Mesh","name":"default"})";
    } else if (r.method == "GET" && std::count(collection.begin(), collection.end(), '/') == 3) {
      // A list of the routes of one kind (meshmove reads every route that targets the service).
      const bool ours = collection.find("meshhttproutes") != std::string::npos && !m_policy.empty();
      res.body = ours ? R"({"total":1,"items":[)" + m_policy + "]}" : R"({"total":0,"items":[]})";
    } else if (r.method == "PUT") {
      m_policy = r.body;
      res.body = "{}";
    } else if (m_policy.empty()) {
      res.status = 404;
      res.body = R"({"title":"Not found"})";
    } else {
      res.body = m_policy;
    }
    return res;
  }
  FakeClock& m_clock;
  std::string m_policy;
};

planner::Plan make_plan() {
  auto r = planner::parse_plan(
      "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: vm\nto: kube\n"
      "controlPlane: {url: 'http://127.0.0.1:5681'}\nsteps: [10, 50, 100]\n"
      "gates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n",
      "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

}  // namespace

TEST_SUITE("backends::kuma_undo_write") {
  TEST_CASE("a rollback's PUT and read-back retry through 20 s of 503 and land within the 30 s deadline") {
    FakeClock clock{utc(2026, 12, 1)};
    ScriptedKuma kuma(clock);
    const auto plan = make_plan();
    auto cp = make_kuma_control_plane(plan, kuma);
    const auto start = clock.now();
    kuma.outage_end = start + 20s;
    planner::PolicyWrite w{0, "m", -1};
    w.retry_deadline = 30s;
    auto written = cp->write(w);
    REQUIRE_MESSAGE(written.ok(), written.error().message);
    CHECK(written->to_weight == 0);
    CHECK(clock.now() - start >= 20s);
    CHECK(clock.now() - start <= 30s);
    REQUIRE_FALSE(kuma.policies.empty());
    for (const auto& p : kuma.policies) {
      REQUIRE(p.has_value());
      CHECK(p->max_total == 30s);
      CHECK(p->deadline);
    }
    // Later requests use the ordinary policy again.
    kuma.policies.clear();
    REQUIRE(cp->read().ok());
    REQUIRE_FALSE(kuma.policies.empty());  // the policy, and the lists of every route kind
    for (const auto& p : kuma.policies) CHECK_FALSE(p.has_value());
  }

  TEST_CASE("an ordinary write keeps the ordinary retries and gives up on the same outage") {
    FakeClock clock{utc(2026, 12, 1)};
    ScriptedKuma kuma(clock);
    const auto plan = make_plan();
    auto cp = make_kuma_control_plane(plan, kuma);
    kuma.outage_end = clock.now() + 20s;
    auto written = cp->write({1000, "m", 0});
    REQUIRE_FALSE(written.ok());
    CHECK(written.error().kind == planner::ErrorKind::Unavailable);
    CHECK(written.error().message.find("failed after 4 attempts") != std::string::npos);
    for (const auto& p : kuma.policies) CHECK_FALSE(p.has_value());
  }
}
