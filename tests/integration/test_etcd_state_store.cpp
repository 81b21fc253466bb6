// The etcd state store against a real etcd 3.4 on loopback: the file store's contract (round trip,
// locks that name their holder and die with it, an append-only journal, requests taken once), plus what
// only a shared store needs: compare-and-swap saves between runners, lease expiry, and fencing of a
// runner that lost its lock. Then meshmove itself with --state etcd://.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "backends/etcd_gateway.hpp"
#include "backends/etcd_state_store.hpp"
#include "cli/system_clock.hpp"
#include "tests/support/etcd.hpp"
#include "tests/support/meshsim.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using namespace meshmove::testsupport;

namespace {

const std::string k_name = "apitier-to-kube";

planner::MigrationState sample(int weight, const std::string& name = k_name) {
  planner::MigrationState s;
  s.migration = name;
  s.plan_hash = "0123456789abcdef";
  s.phase = planner::Phase::Ramping;
  s.step = 2;
  s.weight = weight;
  s.last_written = weight;
  s.step_started_at = utc(2026, 11, 25, 10, 0, 0);
  s.intent = planner::Intent{"advance", weight, 2, utc(2026, 11, 25, 10, 0, 0)};
  s.last_verdicts.push_back({"errors", "to", "PASS", 0.001, 0.01, 4000.0, "fine", utc(2026, 11, 25, 10, 1)});
  return s;
}

std::unique_ptr<planner::StateStore> open_store(const std::string& url, planner::Clock& clock,
                                                std::chrono::seconds ttl = std::chrono::seconds(1)) {
  backends::EtcdStoreOptions o;
  o.lock_ttl = ttl;
  auto store = backends::make_etcd_state_store(url, clock, o);
  REQUIRE_MESSAGE(store.ok(), store.error().message);
  return std::move(store).value();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("integration::etcd_state_store") {
  TEST_CASE("etcd URLs give scheme, host, port and prefix, and anything else is a usage error") {
    auto u = backends::parse_etcd_url("etcd://127.0.0.1:2379/meshmove");
    REQUIRE(u.ok());
    CHECK(u->endpoint == "http://127.0.0.1:2379");
    CHECK(u->prefix == "/meshmove");
    u = backends::parse_etcd_url("etcd+https://etcd.meshmove.svc/fleet/a/");
    REQUIRE(u.ok());
    CHECK(u->endpoint == "https://etcd.meshmove.svc:2379");
    CHECK(u->prefix == "/fleet/a");
    CHECK(u->shown == "etcd+https://etcd.meshmove.svc:2379/fleet/a");
    u = backends::parse_etcd_url("etcd://[::1]:2379");
    REQUIRE(u.ok());
    CHECK(u->endpoint == "http://[::1]:2379");
    CHECK(u->prefix == "/meshmove");
    for (const char* bad :
         {"http://127.0.0.1:2379/x", "etcd://", "etcd://:2379/x", "etcd://h:0/x", "etcd://h:99999/x",
          "etcd://h:port/x", "etcd://user:pw@h:2379/x", "etcd://h:2379/x?y=1", "etcd://h:2379/a//b"}) {
      CAPTURE(bad);
      FakeClock clock;
      auto store = backends::make_etcd_state_store(bad, clock);
      REQUIRE_FALSE(store.ok());
      CHECK(store.error().kind == planner::ErrorKind::Config);
      CHECK(contains(store.error().message, "etcd://host:port/prefix"));
    }
    CHECK(backends::base64_decode(backends::base64_encode(std::string("\0\xff/a", 4))) ==
          std::string("\0\xff/a", 4));
    CHECK(backends::base64_encode("ab") == Etcd::base64("ab"));
    CHECK_FALSE(backends::base64_decode("a=bc").has_value());
  }

  TEST_CASE("state round-trips, and the migrations are those with state") {
    Etcd etcd;
    FakeClock clock(utc(2026, 11, 25));
    auto store = open_store(etcd.state_url("/fleet"), clock);
    auto none = store->load(k_name);
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    REQUIRE(store->save(sample(2500)).ok());
    auto got = store->load(k_name);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    const auto& s = **got;
    CHECK(s.phase == planner::Phase::Ramping);
    CHECK(s.weight == 2500);
    CHECK(s.step_started_at == utc(2026, 11, 25, 10, 0, 0));
    REQUIRE(s.intent.has_value());
    CHECK(s.intent->action == "advance");
    REQUIRE(s.last_verdicts.size() == 1);
    CHECK(s.last_verdicts[0].value == doctest::Approx(0.001));
    // The layout other tools (etcdctl) see: the state as JSON under <prefix>/<migration>/state.
    const auto raw = etcd.get("/fleet/" + k_name + "/state");
    REQUIRE(raw.has_value());
    CHECK(nlohmann::json::parse(*raw)["weight"] == 2500);
    CHECK(store->location(k_name) == etcd.state_url("/fleet") + "/" + k_name + "/state");

    REQUIRE(store->save(sample(100, "b")).ok());
    REQUIRE(store->append("c-journal-only", {{"type", "start"}}).ok());
    REQUIRE(store->post_request("d-request-only", {{"action", "pause"}}).ok());
    etcd.put("/fleet/stray", "not a migration");
    etcd.put("/fleetwood/e/state", "{}");  // another prefix
    auto names = store->migrations();
    REQUIRE(names.ok());
    CHECK(*names == std::vector<std::string>{k_name, "b"});
    auto empty = open_store(etcd.state_url("/nothing-here"), clock)->migrations();
    REQUIRE(empty.ok());
    CHECK(empty->empty());
  }

  TEST_CASE("a save that races another runner's is refused with Conflict, never lost") {
    Etcd etcd;
    FakeClock clock;
    auto a = open_store(etcd.state_url(), clock);
    auto b = open_store(etcd.state_url(), clock);
    REQUIRE(a->load(k_name).ok());
    REQUIRE(b->load(k_name).ok());
    REQUIRE(a->save(sample(1000)).ok());
    auto stale = b->save(sample(5000));  // b read "no state" before a created it
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error().kind == planner::ErrorKind::Conflict);
    CHECK(contains(stale.error().message, "'" + k_name + "'"));
    CHECK(contains(stale.error().message, "another runner changed the state"));
    CHECK((*a->load(k_name))->weight == 1000);
    // After reading again, b saves; now a is the stale one, and stays stale until it reads.
    REQUIRE((*b->load(k_name))->weight == 1000);
    REQUIRE(b->save(sample(2000)).ok());
    REQUIRE(b->save(sample(3000)).ok());  // its own saves move its revision on
    CHECK(a->save(sample(9999)).error().kind == planner::ErrorKind::Conflict);
    CHECK(a->save(sample(9999)).error().kind == planner::ErrorKind::Conflict);
    REQUIRE((*a->load(k_name))->weight == 3000);
    CHECK(a->save(sample(4000)).ok());
    // A store that never read the migration cannot overwrite it blindly.
    CHECK(open_store(etcd.state_url(), clock)->save(sample(1)).error().kind == planner::ErrorKind::Conflict);
  }

  TEST_CASE("a second runner is refused and told who holds the lock, and destruction releases it at once") {
    Etcd etcd;
    FakeClock clock(utc(2026, 11, 25, 9, 30));
    auto store = open_store(etcd.state_url(), clock, std::chrono::seconds(15));
    auto first = store->lock(k_name);
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    const std::string lock_key = "/meshmove/" + k_name + "/lock";
    CHECK(etcd.lease_of(lock_key) != 0);
    const auto holder = nlohmann::json::parse(etcd.get(lock_key).value_or("{}"));
    CHECK(holder["pid"] == ::getpid());
    CHECK(holder["since"] == "2026-11-25T09:30:00Z");

    auto other = open_store(etcd.state_url(), clock);
    auto second = other->lock(k_name);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().kind == planner::ErrorKind::Locked);
    CHECK(contains(second.error().message, "locked by host " + holder["host"].get<std::string>()));
    CHECK(contains(second.error().message, "pid " + std::to_string(::getpid())));
    CHECK(contains(second.error().message, "since 2026-11-25T09:30:00Z"));
    CHECK(contains(second.error().message, "if it died, its lock expires in"));
    CHECK(other->lock("other-migration").ok());
    first->reset();  // revokes the lease: the key goes now, not after the TTL
    CHECK_FALSE(etcd.get(lock_key).has_value());
    CHECK(other->lock(k_name).ok());
  }

  TEST_CASE("a held lock outlives many TTLs: its holder keeps the lease alive") {
    Etcd etcd;
    cli::SystemClock clock;
    auto holder = open_store(etcd.state_url(), clock, std::chrono::seconds(1));
    auto lock = holder->lock(k_name);
    REQUIRE(lock.ok());
    auto other = open_store(etcd.state_url(), clock);
    // Three TTLs pass; every attempt meanwhile is refused (wait_until gives up after 3 s: good).
    CHECK_FALSE(wait_until([&] { return other->lock(k_name).ok(); }, std::chrono::seconds(3),
                           std::chrono::milliseconds(200)));
    CHECK(etcd.get("/meshmove/" + k_name + "/lock").has_value());
  }

  TEST_CASE("the lock of a runner that was killed expires after its TTL") {
    Etcd etcd;
    const std::string url = etcd.state_url();
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      cli::SystemClock child_clock;
      backends::EtcdStoreOptions o;
      o.lock_ttl = std::chrono::seconds(1);
      auto s = backends::make_etcd_state_store(url, child_clock, o);
      auto l =
          s.ok() ? s.value()->lock(k_name) : planner::Result<std::unique_ptr<planner::StateLock>>(s.error());
      (void)!write(ready[1], l.ok() ? "y" : "n", 1);
      if (l.ok()) pause();  // killed by the parent, keep-alive thread and all
      _exit(1);
    }
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    cli::SystemClock clock;
    auto store = open_store(url, clock);
    auto refused = store->lock(k_name);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message, "pid " + std::to_string(child)));
    // While the child lives, its lock holds beyond the TTL.
    CHECK_FALSE(wait_until([&] { return store->lock(k_name).ok(); }, std::chrono::milliseconds(1500)));
    kill(child, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    const auto killed = std::chrono::steady_clock::now();
    REQUIRE(wait_until([&] { return store->lock(k_name).ok(); }, std::chrono::seconds(10),
                       std::chrono::milliseconds(100)));
    CHECK(std::chrono::steady_clock::now() - killed < std::chrono::seconds(5));
    close(ready[0]);
    close(ready[1]);
  }

  TEST_CASE("a runner whose lease expired cannot overwrite the state of the runner that took over") {
    Etcd etcd;
    FakeClock clock;
    auto a = open_store(etcd.state_url(), clock, std::chrono::seconds(15));
    auto a_lock = a->lock(k_name);
    REQUIRE(a_lock.ok());
    REQUIRE(a->load(k_name).ok());
    REQUIRE(a->save(sample(1000)).ok());
    // a stalls (a long GC pause, a partition) and its lease expires: revoked here, as etcd would.
    const std::string lock_key = "/meshmove/" + k_name + "/lock";
    (void)etcd.call("lease/revoke", {{"ID", std::to_string(etcd.lease_of(lock_key))}});
    auto lost = a->save(sample(2000));
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().kind == planner::ErrorKind::Locked);  // the run ends "locked" (exit 7)
    CHECK(contains(lost.error().message, "my lock on '" + k_name + "' expired"));
    CHECK(contains(lost.error().message, "nobody holds it now"));
    auto b = open_store(etcd.state_url(), clock, std::chrono::seconds(15));
    auto b_lock = b->lock(k_name);
    REQUIRE(b_lock.ok());
    REQUIRE(b->load(k_name).ok());
    REQUIRE(b->save(sample(3000)).ok());
    lost = a->save(sample(2000));
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().kind == planner::ErrorKind::Locked);
    CHECK(contains(lost.error().message, "another runner holds it now by host"));
    CHECK(contains(lost.error().message, "the state was not saved"));
    CHECK((*b->load(k_name))->weight == 3000);
    a_lock->reset();  // revoking an expired lease is harmless
    CHECK(etcd.get(lock_key).has_value());
  }

  TEST_CASE("a runner whose lease expired appends nothing to the journal and takes no request") {
    Etcd etcd;
    FakeClock clock;
    auto a = open_store(etcd.state_url(), clock, std::chrono::seconds(15));
    auto a_lock = a->lock(k_name);
    REQUIRE(a_lock.ok());
    REQUIRE(a->append(k_name, {{"type", "start"}}).ok());
    const std::string lock_key = "/meshmove/" + k_name + "/lock";
    (void)etcd.call("lease/revoke", {{"ID", std::to_string(etcd.lease_of(lock_key))}});
    auto b = open_store(etcd.state_url(), clock, std::chrono::seconds(15));
    auto b_lock = b->lock(k_name);
    REQUIRE(b_lock.ok());
    REQUIRE(b->post_request(k_name, {{"action", "pause"}, {"reason", "for b"}}).ok());

    auto appended = a->append(k_name, {{"type", "drift"}, {"message", "someone else changed it"}});
    REQUIRE_FALSE(appended.ok());
    CHECK(appended.error().kind == planner::ErrorKind::Locked);
    CHECK(contains(appended.error().message, "my lock on '" + k_name + "' expired; "));
    CHECK(contains(appended.error().message, "another runner holds it now"));
    CHECK(contains(appended.error().message, "nothing was appended"));
    CHECK(etcd.keys("/meshmove/" + k_name + "/journal/").size() == 1);
    auto taken = a->take_request(k_name);
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.error().kind == planner::ErrorKind::Locked);
    CHECK(etcd.get("/meshmove/" + k_name + "/request").has_value());  // still there for b

    // The runner that holds the lock appends and takes as before.
    REQUIRE(b->append(k_name, {{"type", "adopt"}}).ok());
    CHECK(etcd.keys("/meshmove/" + k_name + "/journal/").size() == 2);
    taken = b->take_request(k_name);
    REQUIRE(taken.ok());
    REQUIRE(taken->has_value());
    CHECK((**taken)["reason"] == "for b");
    CHECK_FALSE(etcd.get("/meshmove/" + k_name + "/request").has_value());
    taken = b->take_request(k_name);
    REQUIRE(taken.ok());
    CHECK_FALSE(taken->has_value());
  }

  TEST_CASE("the journal is append-only and in order, also with two runners appending at once") {
    Etcd etcd;
    FakeClock clock;
    auto store = open_store(etcd.state_url(), clock);
    REQUIRE(store->append("m", {{"type", "start"}}).ok());
    REQUIRE(store->append("m", {{"type", "advance"}, {"step", 0}}).ok());
    CHECK(etcd.keys("/meshmove/m/journal/") ==
          std::vector<std::string>{"/meshmove/m/journal/00000000000000000001",
                                   "/meshmove/m/journal/00000000000000000002"});
    auto events = store->journal("m");
    REQUIRE(events.ok());
    REQUIRE(events->size() == 2);
    CHECK((*events)[1]["step"] == 0);

    constexpr int k_each = 40;
    auto store_a = open_store(etcd.state_url(), clock);
    auto store_b = open_store(etcd.state_url(), clock);
    const auto writer = [](planner::StateStore& s, const std::string& name) {
      for (int i = 0; i < k_each; ++i) {
        if (!s.append("m", {{"writer", name}, {"i", i}}).ok()) return;
      }
    };
    std::thread one(writer, std::ref(*store_a), "a");
    std::thread two(writer, std::ref(*store_b), "b");
    one.join();
    two.join();
    events = store->journal("m");
    REQUIRE(events.ok());
    REQUIRE(events->size() == 2 + 2 * k_each);
    std::map<std::string, int> next;
    for (const auto& e : *events) {
      if (!e.contains("writer")) continue;
      const std::string w = e["writer"];
      CHECK(e["i"] == next[w]);  // each writer's events in its order, none lost or doubled
      ++next[w];
    }
    CHECK(next["a"] == k_each);
    CHECK(next["b"] == k_each);
    // This store's idea of the next sequence number is stale; it still appends after the last event.
    REQUIRE(store->append("m", {{"type", "end"}}).ok());
    events = store->journal("m");
    REQUIRE(events.ok());
    CHECK(events->back()["type"] == "end");
    CHECK(etcd.keys("/meshmove/m/journal/").back() == "/meshmove/m/journal/00000000000000000083");
  }

  TEST_CASE("a long journal is read in pages, in order, skipping values that are not JSON") {
    Etcd etcd;
    FakeClock clock;
    constexpr int k_events = 2500;
    for (int first = 1; first <= k_events; first += 100) {  // etcd allows 128 operations per transaction
      nlohmann::json puts = nlohmann::json::array();
      for (int i = first; i < first + 100; ++i) {
        char key[64];
        std::snprintf(key, sizeof key, "/meshmove/long/journal/%020d", i);
        puts.push_back(
            {{"request_put",
              {{"key", Etcd::base64(key)}, {"value", Etcd::base64(nlohmann::json{{"i", i}}.dump())}}}});
      }
      (void)etcd.call("kv/txn", {{"success", puts}});
    }
    etcd.put("/meshmove/long/journal/00000000000000000007", "{torn");
    auto events = open_store(etcd.state_url(), clock)->journal("long");
    REQUIRE(events.ok());
    REQUIRE(events->size() == k_events - 1);
    CHECK((*events)[5]["i"] == 6);
    CHECK((*events)[6]["i"] == 8);
    CHECK(events->back()["i"] == k_events);
  }

  TEST_CASE("an operator request is taken exactly once, and a later one replaces an earlier one") {
    Etcd etcd;
    FakeClock clock;
    auto poster = open_store(etcd.state_url(), clock);
    auto taken = poster->take_request(k_name);
    REQUIRE(taken.ok());
    CHECK_FALSE(taken->has_value());
    REQUIRE(poster->post_request(k_name, {{"action", "pause"}}).ok());
    REQUIRE(poster->post_request(k_name, {{"action", "rollback"}, {"reason", "errors"}}).ok());
    taken = poster->take_request(k_name);
    REQUIRE(taken.ok());
    REQUIRE(taken->has_value());
    CHECK((**taken)["action"] == "rollback");
    CHECK_FALSE(poster->take_request(k_name)->has_value());

    auto a = open_store(etcd.state_url(), clock);
    auto b = open_store(etcd.state_url(), clock);
    for (int round = 0; round < 10; ++round) {
      REQUIRE(poster->post_request(k_name, {{"action", "pause"}, {"round", round}}).ok());
      std::atomic<int> got{0};
      std::atomic<int> failed{0};
      const auto taker = [&](planner::StateStore& s) {
        auto t = s.take_request(k_name);
        if (!t.ok()) ++failed;
        if (t.ok() && t->has_value() && (**t)["round"] == round) ++got;
      };
      std::thread ta(taker, std::ref(*a));
      std::thread tb(taker, std::ref(*b));
      ta.join();
      tb.join();
      CHECK(failed == 0);
      CHECK(got == 1);
    }
  }

  TEST_CASE("errors: etcd unreachable is Unavailable, and etcd's own error bodies are quoted") {
    FakeClock clock;
    backends::EtcdStoreOptions fast;
    fast.transport.retry.max_attempts = 2;
    fast.transport.retry.initial_backoff = std::chrono::milliseconds(10);
    const std::string nowhere = "etcd://127.0.0.1:" + std::to_string(free_port()) + "/meshmove";
    auto down = backends::make_etcd_state_store(nowhere, clock, fast);
    REQUIRE(down.ok());
    auto loaded = (*down)->load(k_name);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().kind == planner::ErrorKind::Unavailable);
    CHECK(contains(loaded.error().message, nowhere));
    CHECK(contains(loaded.error().message, "2 attempts"));
    CHECK((*down)->lock(k_name).error().kind == planner::ErrorKind::Unavailable);

    EtcdOptions small;
    small.extra_args = {"--max-request-bytes", "4096"};
    Etcd etcd(small);
    auto store = open_store(etcd.state_url(), clock);
    auto too_big = store->append(k_name, {{"type", "verdict"}, {"detail", std::string(8000, 'x')}});
    REQUIRE_FALSE(too_big.ok());
    CHECK(too_big.error().kind == planner::ErrorKind::Rejected);
    CHECK(contains(too_big.error().message, "\"etcdserver: request is too large\""));
    CHECK(contains(too_big.error().message, "appending to the journal of '" + k_name + "'"));

    etcd.put("/meshmove/" + k_name + "/state", "{not json");
    auto bad = store->load(k_name);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == planner::ErrorKind::Invalid);
    CHECK(contains(bad.error().message, "delete the key"));
  }
}

namespace {

const char* k_scenario = R"(
service: apitier_default_svc_5000
rps: 50
subsets:
  vm-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
  kube-env: {instances: 2, errorRate: 0, latency: {median: 10ms, p99: 50ms}}
)";

// Prometheus is deliberately unreachable: gates give ERROR, so a running apply holds (never fails).
std::string plan_text(const std::string& cp) {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: ops}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: '" +
         cp +
         "'}\nsteps: [10, 50, 100]\nbake: 1m\ninterval: 2s\nsettle: 1s\n"
         "gates:\n  prometheus: {url: 'http://127.0.0.1:9', timeout: 1s}\n  maxHold: 10m\n"
         "  slos: [{name: errors, type: error-rate, max: 0.01}]\n";
}

// meshmove with --state URL; a file store would go to `home` (it must stay empty).
struct EtcdCli {
  TempDir home;
  std::string state;
  RunResult operator()(const std::vector<std::string>& args,
                       std::map<std::string, std::string> env = {}) const {
    RunOptions o;
    o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_STATE_DIR",
                   "MESHMOVE_STATE"};
    o.env = std::move(env);
    o.env["XDG_STATE_HOME"] = home.path().string();
    o.timeout = std::chrono::seconds(120);
    return run(this->args(args), o);
  }
  [[nodiscard]] std::vector<std::string> args(std::vector<std::string> a) const {
    a.insert(a.begin(), {binary("meshmove").string(), "--state", state});
    return a;
  }
};

nlohmann::json etcd_state(Etcd& etcd) {
  const auto raw = etcd.get("/meshmove/ops/state");
  return raw ? nlohmann::json::parse(*raw) : nlohmann::json::object();
}

}  // namespace

TEST_SUITE("integration::etcd_cli") {
  TEST_CASE("apply --once --state etcd:// pins the policy and keeps state and journal in etcd") {
    Meshsim sim(k_scenario);
    Etcd etcd;
    EtcdCli cli{{}, etcd.state_url()};
    const auto plan = cli.home.write("plan.yaml", plan_text(sim.api_url()));
    auto r = cli({"apply", "--skip-preflight", "--once", plan.string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 4);
    CHECK(sim.wait_for_state(
        [](const nlohmann::json& s) {
          return s["services"]["apitier_default_svc_5000"]["weights"].value("vm-env", -1.0) ==
                 doctest::Approx(100.0);
        },
        std::chrono::seconds(10)));
    const auto state = etcd_state(etcd);
    CHECK(state["migration"] == "ops");
    CHECK(state["weight"] == 0);
    CHECK_FALSE(etcd.keys("/meshmove/ops/journal/").empty());
    CHECK_FALSE(etcd.get("/meshmove/ops/lock").has_value());             // released at exit
    CHECK_FALSE(std::filesystem::exists(cli.home.path() / "meshmove"));  // no file store on the side
    CHECK(contains(r.out, etcd.state_url() + "/ops/state"));

    r = cli({"status", "-o", "json"});
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.size() == 1);
    CHECK(j[0]["migration"] == "ops");
    CHECK(j[0]["state"] == etcd.state_url() + "/ops/state");
    r = cli({"status", plan.string()});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "ops"));
    // The environment variable selects the same store.
    RunOptions env_only;
    env_only.unset_env = {"MESHMOVE_STATE_DIR"};
    env_only.env = {{"MESHMOVE_STATE", etcd.state_url()}, {"XDG_STATE_HOME", cli.home.path().string()}};
    r = run({binary("meshmove").string(), "history", plan.string()}, env_only);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "vm-env"));
    // --state and --state-dir conflict; a URL of another kind is a usage error.
    CHECK(cli({"--state-dir", cli.home.path().string(), "status"}).exit_code == 2);
    r = run({binary("meshmove").string(), "--state", "http://127.0.0.1:2379", "status"});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "etcd://host:port/prefix"));
  }

  TEST_CASE("a runner stopped past its lease wakes, says its lock expired, appends nothing and exits 7") {
    Meshsim sim(k_scenario);
    Etcd etcd;
    EtcdCli cli{{}, etcd.state_url()};
    const auto plan = cli.home.write("plan.yaml", plan_text(sim.api_url()));
    Process a = Process::start(cli.args({"apply", "--skip-preflight", plan.string()}));
    REQUIRE(wait_until([&] { return etcd_state(etcd).value("weight", 0) == 1000 || !a.running(); },
                       std::chrono::seconds(30)));
    REQUIRE(a.running());
    REQUIRE(::kill(a.pid(), SIGSTOP) == 0);
    // While a is stopped its lease runs out (revoked here, as etcd does after the TTL), and b takes over
    // and moves the migration on: 50 % in the policy and in the state.
    const std::string lock_key = "/meshmove/ops/lock";
    (void)etcd.call("lease/revoke", {{"ID", std::to_string(etcd.lease_of(lock_key))}});
    FakeClock clock;
    auto b = open_store(etcd.state_url(), clock, std::chrono::seconds(30));
    auto b_lock = b->lock("ops");
    REQUIRE(b_lock.ok());
    auto b_state = b->load("ops");
    REQUIRE(b_state.ok());
    REQUIRE(b_state->has_value());
    planner::MigrationState moved = **b_state;
    moved.weight = 5000;
    moved.last_written = 5000;
    moved.step = 1;
    REQUIRE(b->save(moved).ok());
    REQUIRE(sim.api("PUT", "/meshes/default/meshhttproutes/meshmove-apitier-default-svc-5000",
                    R"({"type":"MeshHTTPRoute","mesh":"default","name":"meshmove-apitier-default-svc-5000",
                        "labels":{"meshmove.io/migration":"ops","meshmove.io/step":"2"},
                        "spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":"apitier_default_svc_5000"},
                        "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"vm-env"},"weight":50},
                        {"kind":"MeshServiceSubset","name":"apitier_default_svc_5000","tags":{"env":"kube-env"},"weight":50}]}}]}]}})")
                .status < 300);
    const auto journal_before = etcd.keys("/meshmove/ops/journal/");

    REQUIRE(::kill(a.pid(), SIGCONT) == 0);
    const auto code = a.wait(std::chrono::seconds(30));
    INFO(a.out() << a.err());
    REQUIRE(code.has_value());
    CHECK(*code == 7);
    CHECK(contains(a.err(), "my lock on 'ops' expired"));
    CHECK(contains(a.err(), "another runner holds it now"));
    CHECK_FALSE(contains(a.out() + a.err(), "drift"));
    CHECK(etcd.keys("/meshmove/ops/journal/") == journal_before);  // a appended nothing
    CHECK(etcd_state(etcd)["weight"] == 5000);                      // b's state stands
    const auto holder = etcd.get(lock_key);
    REQUIRE(holder.has_value());
    CHECK(nlohmann::json::parse(*holder)["pid"] == ::getpid());  // b still holds the lock
  }

  TEST_CASE("a running apply holds the etcd lock, and pause reaches it through etcd") {
    Meshsim sim(k_scenario);
    Etcd etcd;
    EtcdCli cli{{}, etcd.state_url()};
    const auto plan = cli.home.write("plan.yaml", plan_text(sim.api_url()));
    Process apply = Process::start(cli.args({"apply", "--skip-preflight", plan.string()}));
    REQUIRE(wait_until([&] { return etcd_state(etcd).value("weight", 0) == 1000 || !apply.running(); },
                       std::chrono::seconds(30)));
    REQUIRE(apply.running());
    auto second = cli({"apply", "--skip-preflight", "--once", plan.string()});
    CHECK(second.exit_code == 7);
    CHECK(contains(second.err, "pid " + std::to_string(apply.pid())));
    const auto paused = cli({"pause", "--reason", "look at the dashboards", plan.string()});
    INFO(paused.out << paused.err);
    CHECK(paused.exit_code == 0);
    CHECK(contains(paused.out, "carried out 'pause'"));
    const auto code = apply.wait(std::chrono::seconds(30));
    REQUIRE(code.has_value());
    CHECK(*code == 5);
    CHECK(etcd_state(etcd)["phase"] == "paused");
    CHECK_FALSE(etcd.get("/meshmove/ops/lock").has_value());
  }
}
