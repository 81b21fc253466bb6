// The file state store: atomic replace (a crash between temp write and rename leaves the old state),
// exclusive locks that name the holder, the append-only journal, and refusal of unreadable state.
#include <doctest/doctest.h>

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

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

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const char* k_link_words = "is a symbolic link; meshmove does not follow links in its state directory";

// Runs `body` in a child process as the unused uid/gid 65534 and returns its exit code (or -1 when it
// could not drop privileges). Only meaningful when the test runs as root.
int as_nobody(const std::function<int()>& body) {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(100);
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status) == 100 ? -1 : WEXITSTATUS(status);
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

  TEST_CASE("a link planted at the lock, journal, state or request is refused, never written through") {
    TempDir dir;
    FakeClock clock(testsupport::utc(2026, 11, 25));
    const auto victim = dir.write("victim.txt", "IMPORTANT\n");
    const auto st = dir.path() / "st";
    std::filesystem::create_directory(st);
    auto store = backends::make_file_state_store({st.string(), {}}, clock);
    const auto check_refused = [&](const planner::Error& e, const std::filesystem::path& link) {
      CHECK(e.kind == planner::ErrorKind::Config);
      CHECK(contains(e.message, link.string() + " " + k_link_words));
      CHECK(testsupport::read_file(victim) == "IMPORTANT\n");
    };
    for (const char* name : {"m.lock", "m.journal", "m.json", "m.request"}) {
      std::filesystem::create_symlink(victim, st / name);
    }
    auto lock = store->lock("m");
    REQUIRE_FALSE(lock.ok());
    check_refused(lock.error(), st / "m.lock");
    auto appended = store->append("m", {{"type", "start"}});
    REQUIRE_FALSE(appended.ok());
    check_refused(appended.error(), st / "m.journal");
    auto events = store->journal("m");
    REQUIRE_FALSE(events.ok());
    check_refused(events.error(), st / "m.journal");
    auto loaded = store->load("m");
    REQUIRE_FALSE(loaded.ok());
    check_refused(loaded.error(), st / "m.json");
    CHECK_FALSE(contains(loaded.error().message, "IMPORTANT"));  // nothing of the link's target is shown
    auto saved = store->save([] {
      auto s = sample(100);
      s.migration = "m";
      return s;
    }());
    REQUIRE_FALSE(saved.ok());
    check_refused(saved.error(), st / "m.json");
    auto posted = store->post_request("m", {{"action", "pause"}});
    REQUIRE_FALSE(posted.ok());
    check_refused(posted.error(), st / "m.request");
    auto taken = store->take_request("m");
    REQUIRE_FALSE(taken.ok());
    check_refused(taken.error(), st / "m.request");
    CHECK(std::filesystem::is_symlink(st / "m.request"));  // left where it was for the operator to see

    // A dangling link is refused too: nothing is created at its target.
    std::filesystem::create_symlink(dir.path() / "created-through-link", st / "d.lock");
    lock = store->lock("d");
    REQUIRE_FALSE(lock.ok());
    check_refused(lock.error(), st / "d.lock");
    CHECK_FALSE(std::filesystem::exists(dir.path() / "created-through-link"));
  }

  TEST_CASE("the state's temporary file has an unpredictable name, so planted guesses are never followed") {
    TempDir dir;
    FakeClock clock;
    const auto victim = dir.write("victim.txt", "IMPORTANT\n");
    const auto st = dir.path() / "st";
    std::filesystem::create_directory(st);
    // 0.1.0 wrote NAME.json.tmp.PID: plant links for this pid and the next ones.
    for (int pid = ::getpid(); pid < ::getpid() + 20; ++pid) {
      std::filesystem::create_symlink(victim, st / ("apitier-to-kube.json.tmp." + std::to_string(pid)));
    }
    auto store = backends::make_file_state_store({st.string(), {}}, clock);
    REQUIRE(store->save(sample(1000)).ok());
    CHECK(testsupport::read_file(victim) == "IMPORTANT\n");
    CHECK((*store->load("apitier-to-kube"))->weight == 1000);
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(st)) {
      const std::string name = e.path().filename().string();
      if (name.find(".tmp.") == std::string::npos) {
        ++entries;
        CHECK(name == "apitier-to-kube.json");  // no temporary file left behind
      }
    }
    CHECK(entries == 1);
    REQUIRE(store->post_request("apitier-to-kube", {{"action", "pause"}}).ok());
    auto taken = store->take_request("apitier-to-kube");
    REQUIRE(taken.ok());
    REQUIRE(taken->has_value());
    CHECK((**taken)["action"] == "pause");
  }

  TEST_CASE("a --state-dir that links to a directory of one's own is used, and nothing is chmod'ed through it") {
    TempDir dir;
    FakeClock clock;
    const auto real = dir.path() / "real";
    std::filesystem::create_directory(real);
    ::chmod(real.c_str(), 0750);
    std::filesystem::create_directory_symlink(real, dir.path() / "statelink");
    auto store = backends::make_file_state_store({(dir.path() / "statelink").string(), {}}, clock);
    REQUIRE(store->save(sample(100)).ok());
    CHECK(std::filesystem::exists(real / "apitier-to-kube.json"));
    CHECK(mode_of(real) == 0750);  // 0.1.0 made it 0700 through the link
    // A directory meshmove creates is 0700, also with a trailing slash.
    auto fresh = backends::make_file_state_store({(dir.path() / "a" / "b" / "state").string() + "/", {}}, clock);
    REQUIRE(fresh->lock("m").ok());
    CHECK(mode_of(dir.path() / "a" / "b" / "state") == 0700);
  }

  TEST_CASE("a world-writable state directory is refused with the fix, and group-writable is fine") {
    TempDir dir;
    FakeClock clock;
    for (const mode_t mode : {mode_t{0777}, mode_t{01777}, mode_t{0703}}) {
      CAPTURE(mode);
      const auto st = dir.path() / ("ww" + std::to_string(mode));
      std::filesystem::create_directory(st);
      REQUIRE(::chmod(st.c_str(), mode) == 0);
      auto store = backends::make_file_state_store({st.string(), {}}, clock);
      auto lock = store->lock("m");
      REQUIRE_FALSE(lock.ok());
      CHECK(lock.error().kind == planner::ErrorKind::Config);
      CHECK(contains(lock.error().message, st.string()));
      CHECK(contains(lock.error().message, "writable by every user"));
      CHECK(contains(lock.error().message, "chmod 700 " + st.string()));
      CHECK_FALSE(store->save(sample(100)).ok());
      CHECK(std::filesystem::is_empty(st));  // nothing written there
      CHECK(mode_of(st) == mode);            // and nothing chmod'ed
    }
    const auto group = dir.path() / "fsgroup";
    std::filesystem::create_directory(group);
    REQUIRE(::chmod(group.c_str(), 02770) == 0);  // a Kubernetes volume with fsGroup
    auto store = backends::make_file_state_store({group.string(), {}}, clock);
    CHECK(store->lock("m").ok());
    CHECK(store->save(sample(100)).ok());
  }

  TEST_CASE("a state directory owned by another user is refused, and one owned by root is fine") {
    TempDir dir;
    FakeClock clock;
    if (::geteuid() != 0) {
      MESSAGE("not root: cannot give a directory to another user; the check runs in CI, as root");
      return;
    }
    const auto foreign = dir.path() / "foreign";
    std::filesystem::create_directory(foreign);
    ::chmod(foreign.c_str(), 0700);
    REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
    auto store = backends::make_file_state_store({foreign.string(), {}}, clock);
    auto lock = store->lock("m");
    REQUIRE_FALSE(lock.ok());
    CHECK(lock.error().kind == planner::ErrorKind::Config);
    CHECK(contains(lock.error().message, foreign.string()));
    CHECK(contains(lock.error().message, "uid 65534"));
    CHECK(contains(lock.error().message, "a directory of your own"));
    CHECK(std::filesystem::is_empty(foreign));
    // Through a link too: the check is on the resolved directory.
    std::filesystem::create_directory_symlink(foreign, dir.path() / "link");
    auto linked = backends::make_file_state_store({(dir.path() / "link").string(), {}}, clock);
    CHECK(linked->lock("m").error().kind == planner::ErrorKind::Config);

    // A runner that is not root may use a root-owned directory it can write, e.g. a group-writable one.
    const auto shared = dir.path() / "shared";
    std::filesystem::create_directory(shared);
    REQUIRE(::chown(shared.c_str(), 0, 65534) == 0);
    REQUIRE(::chmod(shared.c_str(), 0770) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const int code = as_nobody([&] {
      auto s = backends::make_file_state_store({shared.string(), {}}, clock);
      return s->lock("m").ok() && s->save(sample(100)).ok() ? 0 : 1;
    });
    CHECK(code == 0);
  }

  TEST_CASE("a state directory this runner cannot write is 'cannot write state in DIR', not locked") {
    TempDir dir;
    FakeClock clock;
    const auto st = dir.path() / "st";
    std::filesystem::create_directory(st);
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const auto check_unwritable = [&st](const planner::Error& e) {
      return e.kind == planner::ErrorKind::Unavailable &&
             contains(e.message, "cannot write state in " + st.string() + ": Permission denied");
    };
    if (::geteuid() == 0) {
      // Root writes anywhere: the runner is the unused uid 65534, in a root-owned 0755 directory.
      REQUIRE(::chmod(st.c_str(), 0755) == 0);
      const int code = as_nobody([&] {
        auto s = backends::make_file_state_store({st.string(), {}}, clock);
        auto lock = s->lock("m");
        if (lock.ok()) return 1;
        if (!check_unwritable(lock.error())) return 2;
        if (s->post_request("m", {{"action", "pause"}}).ok()) return 3;
        // A directory it would have to create under one it cannot write: the same words.
        auto nested = backends::make_file_state_store({(st / "sub").string(), {}}, clock);
        auto l2 = nested->lock("m");
        if (l2.ok() || l2.error().kind != planner::ErrorKind::Unavailable) return 4;
        if (!contains(l2.error().message, "cannot write state in " + (st / "sub").string())) return 5;
        return 0;
      });
      CHECK(code == 0);
    } else {
      REQUIRE(::chmod(st.c_str(), 0500) == 0);
      auto s = backends::make_file_state_store({st.string(), {}}, clock);
      auto lock = s->lock("m");
      REQUIRE_FALSE(lock.ok());
      CHECK(check_unwritable(lock.error()));
      ::chmod(st.c_str(), 0700);
    }
  }
}
