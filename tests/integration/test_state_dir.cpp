// The state directory is meshmove's own, through the real binary: planted links are refused and never
// written through (lock, journal, state, --state-dir, the report's temporary file), a world-writable
// directory is refused with the fix, a read-only one is "cannot write state" (exit 6, not "locked" 7),
// and status says when a state is unusable instead of exiting 0. The control plane is a closed port:
// every case here is decided before (or regardless of) the first request.
#include <doctest/doctest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using namespace meshmove::testsupport;

namespace {

std::string plan_text() {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: sym}\n"
         "service: apitier_default_svc_5000\nfrom: vm-env\nto: kube-env\n"
         "controlPlane: {url: 'http://127.0.0.1:9', timeout: 1s}\n"
         "steps: [10, 50, 100]\n"
         "gates: {prometheus: {url: 'http://127.0.0.1:9', timeout: 1s}, slos: [{name: errors, type: error-rate, max: "
         "0.01}]}\n";
}

RunResult meshmove_cli(std::vector<std::string> args, RunOptions options = {}) {
  args.insert(args.begin(), binary("meshmove").string());
  options.unset_env.insert(options.unset_env.end(), {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL",
                                                     "MESHMOVE_STATE_DIR", "MESHMOVE_STATE"});
  options.timeout = std::chrono::seconds(60);
  return run(args, options);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const char* k_link_words = "is a symbolic link; meshmove does not follow links in its state directory";

}  // namespace

TEST_SUITE("integration::state_dir") {
  TEST_CASE("planted links at the lock and the journal are refused and their targets left alone") {
    TempDir dir;
    const auto plan = dir.write("plan.yaml", plan_text());
    const auto st = dir.path() / "st";
    std::filesystem::create_directory(st);
    const auto victim_lock = dir.write("victim-lock.txt", "IMPORTANT\n");
    const auto victim_journal = dir.write("victim-journal.txt", "IMPORTANT\n");
    std::filesystem::create_symlink(victim_lock, st / "sym.lock");
    std::filesystem::create_symlink(victim_journal, st / "sym.journal");
    auto r = meshmove_cli({"--state-dir", st.string(), "apply", "--once", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, (st / "sym.lock").string() + " " + k_link_words));
    CHECK(read_file(victim_lock) == "IMPORTANT\n");  // 0.1.0: {"host":…,"pid":…}
    // With the lock free the run goes on (to the unreachable control plane); the journal is not appended
    // through the link.
    std::filesystem::remove(st / "sym.lock");
    r = meshmove_cli({"--state-dir", st.string(), "apply", "--once", plan.string()});
    CHECK(r.exit_code == 6);
    CHECK(contains(r.out + r.err, (st / "sym.journal").string() + " " + k_link_words));
    CHECK(read_file(victim_journal) == "IMPORTANT\n");
  }

  TEST_CASE("a --state-dir link to a directory of one's own works and chmods nothing, and the report's temp is not followed") {
    TempDir dir;
    const auto plan = dir.write("plan.yaml", plan_text());
    const auto victim_dir = dir.path() / "victimdir";
    std::filesystem::create_directory(victim_dir);
    REQUIRE(::chmod(victim_dir.c_str(), 0755) == 0);
    std::filesystem::create_directory_symlink(victim_dir, dir.path() / "statelink");
    const auto victim_report = dir.write("victim-report.txt", "IMPORTANT\n");
    std::filesystem::create_symlink(victim_report, dir.path() / "r.xml.tmp");
    const auto r = meshmove_cli({"--state-dir", (dir.path() / "statelink").string(), "apply", "--once", "--report",
                             (dir.path() / "r.xml").string(), plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);  // the control plane is unreachable
    CHECK(mode_of(victim_dir) == 0755);  // 0.1.0: drwx------
    CHECK(std::filesystem::exists(victim_dir / "sym.lock"));
    CHECK(read_file(victim_report) == "IMPORTANT\n");  // 0.1.0: the JUnit XML
    CHECK(contains(read_file(dir.path() / "r.xml"), "<testsuites"));
    CHECK(mode_of(dir.path() / "r.xml") == 0644);
  }

  TEST_CASE("a world-writable state directory is refused with the fix") {
    TempDir dir;
    const auto plan = dir.write("plan.yaml", plan_text());
    const auto ww = dir.path() / "ww";
    std::filesystem::create_directory(ww);
    REQUIRE(::chmod(ww.c_str(), 01777) == 0);
    const auto r = meshmove_cli({"--state-dir", ww.string(), "apply", "--once", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "writable by every user"));
    CHECK(contains(r.err, "chmod 700 " + ww.string()));
    CHECK(std::filesystem::is_empty(ww));
  }

  TEST_CASE("a read-only state directory is 'cannot write state' with exit 6, not locked (7)") {
    TempDir dir;
    const auto plan = dir.write("plan.yaml", plan_text());
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const auto mnt = dir.path() / "ro";
    std::filesystem::create_directory(mnt);
    const auto st = mnt / "st";
    // How to make `st` unwritable for the runner: a read-only tmpfs in a private mount namespace (as
    // root, where unshare is allowed), else run meshmove as the unused uid 65534 in a root-owned
    // directory, else (not root) take the write bit away.
    std::vector<std::string> prefix;
    std::string expected = "Read-only file system";
    const std::string mount_ro = "m=\"$1\"; shift; mount -t tmpfs none \"$m\" && mkdir \"$m/st\" && "
                                 "mount -o remount,ro \"$m\" && exec \"$@\"";
    if (::geteuid() == 0 && run({"unshare", "-m", "sh", "-c", mount_ro, "sh", mnt.string(), "true"}).exit_code == 0) {
      prefix = {"unshare", "-m", "sh", "-c", mount_ro, "sh", mnt.string()};
    } else if (::geteuid() == 0) {
      std::filesystem::create_directory(st);
      REQUIRE(::chmod(st.c_str(), 0755) == 0);
      prefix = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
      expected = "Permission denied";
    } else {
      std::filesystem::create_directory(st);
      REQUIRE(::chmod(st.c_str(), 0500) == 0);
      expected = "Permission denied";
    }
    const auto in_readonly = [&](const std::vector<std::string>& args) {
      std::vector<std::string> argv = prefix;
      argv.push_back(binary("meshmove").string());
      argv.insert(argv.end(), {"--state-dir", st.string()});
      argv.insert(argv.end(), args.begin(), args.end());
      RunOptions o;
      o.unset_env = {"MESHMOVE_PROMETHEUS_URL", "MESHMOVE_CONTROL_PLANE_URL", "MESHMOVE_STATE_DIR", "MESHMOVE_STATE"};
      o.timeout = std::chrono::seconds(60);
      return run(argv, o);
    };
    auto r = in_readonly({"apply", "--once", plan.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 6);
    CHECK(contains(r.err, "cannot write state in " + st.string() + ": " + expected));
    CHECK_FALSE(contains(r.err, "locked"));
    r = in_readonly({"pause", plan.string()});
    CHECK(r.exit_code == 6);
    CHECK(contains(r.err, "cannot write state in " + st.string()));
    r = in_readonly({"rollback", plan.string()});
    CHECK(r.exit_code == 6);
    CHECK(contains(r.err, "meshmove rollback --no-state " + plan.string()));
    if (::geteuid() != 0) ::chmod(st.c_str(), 0700);
  }

  TEST_CASE("status: a corrupt or linked state is an error naming the file, and no state names the directory") {
    TempDir dir;
    const auto st = dir.path() / "st";
    std::filesystem::create_directory(st);
    REQUIRE(::chmod(st.c_str(), 0700) == 0);
    dir.write("st/bad.json", "{not json");
    auto r = meshmove_cli({"--state-dir", st.string(), "status"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.out + r.err, (st / "bad.json").string() + " is not valid JSON"));
    r = meshmove_cli({"--state-dir", st.string(), "status", "-o", "json"});
    CHECK(r.exit_code == 2);
    std::filesystem::remove(st / "bad.json");

    const auto secret = dir.write("secret.txt", "root:secret-content-here\n");
    std::filesystem::create_symlink(secret, st / "sym.json");
    r = meshmove_cli({"--state-dir", st.string(), "status"});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.out + r.err, (st / "sym.json").string() + " " + k_link_words));
    CHECK_FALSE(contains(r.out + r.err, "secret-content"));
    CHECK_FALSE(contains(r.out + r.err, "last read"));

    const std::string nowhere = (dir.path() / "nonexistent").string();
    r = meshmove_cli({"--state-dir", nowhere, "status"});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "no migration has state yet in " + nowhere + " (the directory does not exist)"));
  }

  TEST_CASE("an operator without $USER is named by the password database, not '?'") {
    TempDir dir;
    const auto plan = dir.write("plan.yaml", plan_text());
    const auto st = dir.path() / "st";
    RunOptions o;
    o.unset_env = {"USER"};
    const auto r = meshmove_cli({"--state-dir", st.string(), "pause", plan.string()}, o);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const passwd* pw = ::getpwuid(::geteuid());
    const std::string me = pw != nullptr ? pw->pw_name : std::to_string(::geteuid());
    const auto state = nlohmann::json::parse(read_file(st / "sym.json"));
    CHECK(state["reason"].get<std::string>().rfind("paused by " + me + "@", 0) == 0);
    CHECK_FALSE(contains(read_file(st / "sym.journal"), "?@"));
  }
}
