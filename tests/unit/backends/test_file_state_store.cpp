// The file state store: atomic replace (a crash between temp write and rename leaves the old state),
// exclusive locks that name the holder, the append-only journal, and refusal of unreadable state.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backends/file_state_store.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove;
using testsupport::FakeClock;
using testsupport::TempDir;

namespace {

planner::MigrationState sample(int weight) {
  planner::MigrationState s;
  s.migration = "apitier-to-kube";
  s.plan_hash = "0123456789abcdef";
  s.phase = planner::Phase::Ramping;
  s.step = 2;
  s.weight = weight;
  s.last_written = weight;
  s.step_started_at = testsupport::utc(2026, 11, 25, 10, 0, 0);
  s.intent = planner::Intent{"advance", weight, 2, testsupport::utc(2026, 11, 25, 10, 0, 0)};
  s.last_verdicts.push_back({"errors", "to", "PASS", 0.001, 0.01, 4000.0, "fine", testsupport::utc(2026, 11, 25, 10, 1)});
  return s;
}

}  // namespace

TEST_SUITE("backends::file_state_store") {
  TEST_CASE("state round-trips and is private to its owner") {
    TempDir dir;
    FakeClock clock(testsupport::utc(2026, 11, 25));
    auto store = backends::make_file_state_store({(dir.path() / "state").string(), {}}, clock);
    auto none = store->load("apitier-to-kube");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
    REQUIRE(store->save(sample(2500)).ok());
    auto got = store->load("apitier-to-kube");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    const auto& s = **got;
    CHECK(s.phase == planner::Phase::Ramping);
    CHECK(s.weight == 2500);
    CHECK(s.last_written == 2500);
    CHECK(s.step_started_at == testsupport::utc(2026, 11, 25, 10, 0, 0));
    REQUIRE(s.intent.has_value());
    CHECK(s.intent->action == "advance");
    REQUIRE(s.last_verdicts.size() == 1);
    CHECK(s.last_verdicts[0].value == doctest::Approx(0.001));
    struct stat st {};
    REQUIRE(::stat(store->location("apitier-to-kube").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((dir.path() / "state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    auto names = store->migrations();
    REQUIRE(names.ok());
    CHECK(*names == std::vector<std::string>{"apitier-to-kube"});
  }

  TEST_CASE("a crash between the temp write and the rename leaves the old state readable") {
    TempDir dir;
    FakeClock clock;
    const std::string path = (dir.path() / "state").string();
    auto store = backends::make_file_state_store({path, {}}, clock);
    REQUIRE(store->save(sample(1000)).ok());
    for (const char* point : {"after-temp-write", "before-rename"}) {
      CAPTURE(point);
      const pid_t child = fork();
      REQUIRE(child >= 0);
      if (child == 0) {
        // The child dies abruptly (no destructors, no flush) at the failpoint, as kill -9 would.
        backends::FileStoreOptions crashing{path, [point](const char* at) {
                                              if (std::string(at) == point) _exit(9);
                                            }};
        auto s = backends::make_file_state_store(crashing, clock);
        (void)s->save(sample(5000));
        _exit(0);
      }
      int status = 0;
      REQUIRE(waitpid(child, &status, 0) == child);
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 9);
      auto got = store->load("apitier-to-kube");
      REQUIRE(got.ok());
      REQUIRE(got->has_value());
      CHECK((*got)->weight == 1000);
      auto names = store->migrations();
      REQUIRE(names.ok());
      CHECK(names->size() == 1);  // the stray temp file is not a migration
    }
    REQUIRE(store->save(sample(5000)).ok());
    CHECK((*store->load("apitier-to-kube"))->weight == 5000);
  }

  TEST_CASE("a second runner is refused and told who holds the lock") {
    TempDir dir;
    FakeClock clock(testsupport::utc(2026, 11, 25, 9, 30));
    auto store = backends::make_file_state_store({dir.path().string(), {}}, clock);
    auto first = store->lock("apitier-to-kube");
    REQUIRE(first.ok());
    auto second = store->lock("apitier-to-kube");
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().kind == planner::ErrorKind::Locked);
    CHECK(second.error().message.find("pid " + std::to_string(::getpid())) != std::string::npos);
    CHECK(second.error().message.find("since 2026-11-25T09:30:00Z") != std::string::npos);
    CHECK(store->lock("other-migration").ok());
    first->reset();  // released
    CHECK(store->lock("apitier-to-kube").ok());
  }

  TEST_CASE("the lock dies with its process") {
    TempDir dir;
    FakeClock clock;
    const std::string path = dir.path().string();
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      auto s = backends::make_file_state_store({path, {}}, clock);
      auto l = s->lock("apitier-to-kube");
      (void)!write(ready[1], "x", 1);
      pause();  // killed by the parent
      _exit(0);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    auto store = backends::make_file_state_store({path, {}}, clock);
    CHECK_FALSE(store->lock("apitier-to-kube").ok());
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(store->lock("apitier-to-kube").ok());
    close(ready[0]);
    close(ready[1]);
  }

  TEST_CASE("the journal is append-only and survives a torn last line") {
    TempDir dir;
    FakeClock clock;
    auto store = backends::make_file_state_store({dir.path().string(), {}}, clock);
    REQUIRE(store->append("m", {{"type", "start"}}).ok());
    REQUIRE(store->append("m", {{"type", "advance"}, {"step", 0}}).ok());
    {
      std::ofstream torn(dir.path() / "m.journal", std::ios::app);
      torn << "{\"type\": \"advan";  // a crash in the middle of an append
    }
    auto events = store->journal("m");
    REQUIRE(events.ok());
    REQUIRE(events->size() == 2);
    CHECK((*events)[1]["step"] == 0);
  }

  TEST_CASE("unreadable state is refused with a way out") {
    TempDir dir;
    FakeClock clock;
    auto store = backends::make_file_state_store({dir.path().string(), {}}, clock);
    dir.write("bad.json", "{not json");
    auto r = store->load("bad");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("move it away") != std::string::npos);
    auto j = planner::to_json(sample(100));
    j["migration"] = "newer";
    j["schemaVersion"] = 99;
    dir.write("newer.json", j.dump());
    r = store->load("newer");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("newer meshmove") != std::string::npos);
  }
}
