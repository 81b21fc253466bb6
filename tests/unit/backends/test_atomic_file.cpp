// write_file_atomically: the one way meshmove replaces a file (state, reports, the metrics file). New
// content or old, never a mix; a temporary name nobody can plant in advance; never through a link; no
// temporary file left behind when it fails.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "backends/atomic_file.hpp"
#include "tests/support/process.hpp"

using namespace meshmove;
using testsupport::TempDir;

namespace {

int entries_in(const std::filesystem::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_SUITE("backends::atomic_file") {
  TEST_CASE("the file gets the new content and the requested mode, whatever the umask") {
    TempDir dir;
    const auto path = dir.path() / "report.xml";
    const mode_t old_umask = ::umask(077);
    backends::AtomicWriteOptions o;
    o.mode = 0644;
    const auto st = backends::write_file_atomically(path.string(), "<xml/>\n", o);
    ::umask(old_umask);
    REQUIRE_MESSAGE(st.ok(), st.error().message);
    CHECK(testsupport::read_file(path) == "<xml/>\n");
    CHECK(mode_of(path) == 0644);
    o.mode = 0600;
    REQUIRE(backends::write_file_atomically(path.string(), "second", o).ok());
    CHECK(testsupport::read_file(path) == "second");
    CHECK(mode_of(path) == 0600);
    CHECK(entries_in(dir.path()) == 1);  // no temporary file left behind
  }

  TEST_CASE("temporary names are hidden, in the target's directory and unpredictable") {
    std::set<std::string> names;
    for (int i = 0; i < 200; ++i) {
      const std::string t = backends::temporary_name_for("/var/lib/meshmove/apitier.json");
      CHECK(t.rfind("/var/lib/meshmove/.apitier.json.", 0) == 0);
      CHECK(t.size() == std::string("/var/lib/meshmove/.apitier.json.").size() + 12);
      names.insert(t);
    }
    CHECK(names.size() == 200);
  }

  TEST_CASE("a link planted at the old predictable temporary name or at the target is never followed") {
    TempDir dir;
    const auto victim = dir.write("victim.txt", "IMPORTANT\n");
    const auto path = dir.path() / "r.xml";
    std::filesystem::create_symlink(victim, dir.path() / "r.xml.tmp");  // where 0.1.0 wrote the report
    REQUIRE(backends::write_file_atomically(path.string(), "<report/>").ok());
    CHECK(testsupport::read_file(victim) == "IMPORTANT\n");
    CHECK(testsupport::read_file(path) == "<report/>");
    // A link at the target itself is replaced by the file; its target stays as it was.
    std::filesystem::remove(path);
    std::filesystem::create_symlink(victim, path);
    REQUIRE(backends::write_file_atomically(path.string(), "<report/>").ok());
    CHECK(testsupport::read_file(victim) == "IMPORTANT\n");
    CHECK_FALSE(std::filesystem::is_symlink(path));
    CHECK(testsupport::read_file(path) == "<report/>");
  }

  TEST_CASE("a failure names the path and the errno text, and leaves the old file and no temporary file") {
    TempDir dir;
    backends::AtomicWriteOptions o;
    o.error_kind = planner::ErrorKind::Config;
    o.what = "the report";
    const auto missing = (dir.path() / "no-such-dir" / "r.xml").string();
    auto st = backends::write_file_atomically(missing, "x", o);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Config);
    CHECK(st.error().message == "cannot write the report " + missing + ": No such file or directory");

    // The rename fails (the target is a non-empty directory): the temporary file goes.
    const auto target = dir.path() / "occupied";
    dir.write("occupied/inside", "keep");
    st = backends::write_file_atomically(target.string(), "x");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == planner::ErrorKind::Unavailable);
    CHECK(contains(st.error().message, target.string()));
    CHECK(contains(st.error().message, "directory"));
    CHECK(entries_in(dir.path()) == 1);
    CHECK(testsupport::read_file(target / "inside") == "keep");

    // The write fails half-way (the file size limit stands in for a full disk): old content stays.
    const auto path = dir.write("state.json", "OLD");
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit limit{16, 16};
      if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
      const auto r = backends::write_file_atomically(path.string(), std::string(4096, 'n'));
      if (r.ok()) _exit(11);
      if (!contains(r.error().message, path.string()) || !contains(r.error().message, "File too large")) _exit(12);
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(testsupport::read_file(path) == "OLD");
    CHECK(entries_in(dir.path()) == 2);  // occupied/ and state.json: no temporary file
  }
}
