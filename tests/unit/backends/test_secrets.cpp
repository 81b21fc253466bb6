// The secret redactor, the one-line rule for tokens, and read_secret_file's checks of a token file's type,
// owner, mode, size and content (temporary files, symlinks as Kubernetes Secret volumes lay them out).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backends/http_transport.hpp"
#include "backends/secrets.hpp"
#include "tests/support/process.hpp"

using namespace meshmove;
using backends::SecretRedactor;
namespace fs = std::filesystem;

namespace {

fs::path write_file(const fs::path& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

struct Warnings {
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& w) { lines.push_back(w); };
  }
};

}  // namespace

TEST_SUITE("backends::secrets") {
  TEST_CASE("registered secrets are replaced wherever they appear, longest first") {
    SecretRedactor r;
    r.add("tok-8f3a9c1e");
    r.add("");  // ignored
    CHECK(r.redact("invalid credentials tok-8f3a9c1e (tok-8f3a9c1e)") ==
          "invalid credentials [REDACTED] ([REDACTED])");
    r.add_url("https://hooks.example/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX");
    CHECK(r.redact("POST https://hooks.example/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX failed") ==
          "POST [REDACTED] failed");
    CHECK(r.redact("no such hook: /services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX") == "no such hook: /[REDACTED]");
    CHECK(r.redact("token XXXXXXXXXXXXXXXXXXXXXXXX is revoked") == "token [REDACTED] is revoked");
    // A short path is not a secret of its own: "hook" stays readable in "webhook".
    r.add_url("http://127.0.0.1:8080/hook");
    CHECK(r.redact("webhook http://127.0.0.1:8080/hook") == "webhook [REDACTED]");
  }

  TEST_CASE("what a server echoes of a request's credentials is redacted without being registered") {
    const SecretRedactor r;
    CHECK(r.redact("unauthorized Bearer ENVPROMTOKEN-dddd-4444") == "unauthorized Bearer [REDACTED]");
    CHECK(r.redact("Authorization: Bearer abc.def-ghi_jkl==\n") == "Authorization: Bearer [REDACTED]\n");
    CHECK(r.redact("header Authorization: Basic dXNlcjpodW50ZXIy rejected") ==
          "header Authorization: Basic [REDACTED] rejected");
    CHECK(r.redact(R"({"authorization":"raw-token-1"})") == R"({"authorization":"[REDACTED]"})");
    CHECK(r.redact("map[Authorization:[Bearer xyz123]]") == "map[Authorization:[Bearer [REDACTED]]]");
    CHECK(r.redact("GET http://user:hunter2@127.0.0.1:9090/api") == "GET http://[REDACTED]@127.0.0.1:9090/api");
    CHECK(r.redact("/api/v1/query?token=abc123&x=1") == "/api/v1/query?token=[REDACTED]&x=1");
    CHECK(r.redact("password=pw1 api_key=k2") == "password=[REDACTED] api_key=[REDACTED]");
    // Prose and meshmove's own messages stay as they are.
    for (const std::string text :
         {"set a bearer token with tokenFile", "basic checks passed", "use tokenFile or basicAuth",
          "p.yaml:3:5: controlPlane.authorization: inline secrets are refused (the value is not shown)",
          "the Authorization header was refused", "errors [to] PASS: 0.1% of 2000 requests",
          "sum(rate(x{token=\"a\"}[1m]))"}) {
      CHECK(r.redact(text) == text);
    }
    // Redacting twice changes nothing more.
    const std::string once = r.redact("Bearer abc Authorization: xyz http://u:p@h/");
    CHECK(r.redact(once) == once);
  }

  TEST_CASE("every string of a JSON document is redacted, keys too") {
    SecretRedactor r;
    r.add("s3cr3t-value");
    const nlohmann::json in{{"reason", "Prometheus: bad_data: unauthorized Bearer s3cr3t-value"},
                            {"gates", {{{"reason", "s3cr3t-value"}, {"value", 1.5}}}},
                            {"s3cr3t-value", true}};
    const auto out = r.redact_json(in);
    CHECK(out.dump().find("s3cr3t") == std::string::npos);
    CHECK(out["reason"] == "Prometheus: bad_data: unauthorized Bearer [REDACTED]");
    CHECK(out["gates"][0]["value"] == 1.5);
    CHECK(out.contains("[REDACTED]"));
  }

  TEST_CASE("a token is one line: a trailing newline goes, control characters are refused") {
    CHECK(*backends::single_line_secret("tok\n", "X") == "tok");
    CHECK(*backends::single_line_secret("tok\r\n", "X") == "tok");
    for (const std::string& bad : std::vector<std::string>{"tok\r\nX-Injected: yes\n", "tok\nsecond", "to\tk",
                                                           std::string("to\0k", 4), "tok\x1b[31m", "tok\x7f"}) {
      const auto r = backends::single_line_secret(bad, "MESHMOVE_KUMA_TOKEN");
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == planner::ErrorKind::Config);
      CHECK(r.error().message.find("MESHMOVE_KUMA_TOKEN") != std::string::npos);
      CHECK(r.error().message.find("Injected") == std::string::npos);
      CHECK(r.error().message.find("second") == std::string::npos);
    }
    CHECK_FALSE(backends::single_line_secret("\n", "X").ok());
  }

  TEST_CASE("a private token file is read, trimmed and registered") {
    testsupport::TempDir dir;
    const auto file = write_file(dir.path() / "token", "private-tok-51c0a7\n", 0600);
    Warnings w;
    const auto r = backends::read_secret_file(file.string(), w.sink());
    REQUIRE(r.ok());
    CHECK(*r == "private-tok-51c0a7");
    CHECK(w.lines.empty());
    CHECK(backends::redact_secrets("echo private-tok-51c0a7") == "echo [REDACTED]");
    // 0400 too (a Secret volume with defaultMode: 0400).
    REQUIRE(::chmod(file.c_str(), 0400) == 0);
    CHECK(backends::read_secret_file(file.string(), w.sink()).ok());
    CHECK(w.lines.empty());
  }

  TEST_CASE("a token file readable by others is used with a warning naming the fix") {
    testsupport::TempDir dir;
    for (const mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0444}}) {
      const auto file = write_file(dir.path() / "token", "readable-tok-" + std::to_string(mode) + "\n", mode);
      Warnings w;
      const auto r = backends::read_secret_file(file.string(), w.sink());
      REQUIRE(r.ok());
      REQUIRE(w.lines.size() == 1);
      CHECK(w.lines[0].find(file.string()) != std::string::npos);
      CHECK(w.lines[0].find("chmod 600 " + file.string()) != std::string::npos);
      CHECK(w.lines[0].find("defaultMode: 0400") != std::string::npos);
    }
  }

  TEST_CASE("a token file writable by its group or by everyone is refused with chmod 600") {
    testsupport::TempDir dir;
    for (const mode_t mode : {mode_t{0666}, mode_t{0660}, mode_t{0622}, mode_t{0602}}) {
      const auto file = write_file(dir.path() / "token", "writable-tok\n", mode);
      const auto r = backends::read_secret_file(file.string());
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().kind == planner::ErrorKind::Config);
      CHECK(r.error().message.find("writable") != std::string::npos);
      CHECK(r.error().message.find("chmod 600 " + file.string()) != std::string::npos);
    }
  }

  TEST_CASE("not a regular file, too large, empty or several lines: refused, naming the file and never the content") {
    testsupport::TempDir dir;
    auto r = backends::read_secret_file(dir.path().string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a regular file") != std::string::npos);

    const auto fifo = dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    r = backends::read_secret_file(fifo.string());  // must not block waiting for a writer
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a regular file") != std::string::npos);

    r = backends::read_secret_file("/dev/null");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a regular file") != std::string::npos);

    const auto big = write_file(dir.path() / "big", std::string(64 * 1024 + 1, 'a'), 0600);
    r = backends::read_secret_file(big.string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("64 KiB") != std::string::npos);
    CHECK(backends::read_secret_file(write_file(dir.path() / "cap", std::string(64 * 1024, 'a'), 0600).string()).ok());

    r = backends::read_secret_file(write_file(dir.path() / "empty", "\n", 0600).string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("empty") != std::string::npos);

    const auto inject = write_file(dir.path() / "inj.token", "tok\r\nX-Injected: yes\n", 0600);
    r = backends::read_secret_file(inject.string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(inject.string()) != std::string::npos);
    CHECK(r.error().message.find("Injected") == std::string::npos);
    CHECK(r.error().message.find("control character") != std::string::npos);

    r = backends::read_secret_file((dir.path() / "missing").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("missing") != std::string::npos);
  }

  TEST_CASE("a Kubernetes Secret volume: token -> ..data/token, ..data -> ..TIMESTAMP/") {
    testsupport::TempDir dir;
    const auto stamp = dir.path() / "..2026_12_01_00_00_00.123456789";
    fs::create_directory(stamp);
    write_file(stamp / "token", "k8s-tok-77ee01\n", 0644);  // Kubernetes' default defaultMode
    fs::create_directory_symlink(stamp.filename(), dir.path() / "..data");
    fs::create_symlink(fs::path("..data") / "token", dir.path() / "token");
    Warnings w;
    const auto r = backends::read_secret_file((dir.path() / "token").string(), w.sink());
    REQUIRE(r.ok());
    CHECK(*r == "k8s-tok-77ee01");
    REQUIRE(w.lines.size() == 1);
    CHECK(w.lines[0].find("defaultMode: 0400") != std::string::npos);
    // The checks apply to the target: a link to a world-writable file is refused.
    REQUIRE(::chmod((stamp / "token").c_str(), 0666) == 0);
    CHECK_FALSE(backends::read_secret_file((dir.path() / "token").string()).ok());
    // And a link to a directory is not a token file.
    fs::create_directory_symlink(stamp.filename(), dir.path() / "dirlink");
    CHECK_FALSE(backends::read_secret_file((dir.path() / "dirlink").string()).ok());
  }

  TEST_CASE("a token file owned by another user (not root) is refused") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: needs root to chown a file to another user");
      return;
    }
    testsupport::TempDir dir;
    const auto file = write_file(dir.path() / "token", "owned-tok-65534\n", 0600);
    REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
    auto r = backends::read_secret_file(file.string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("owned by uid 65534") != std::string::npos);
    CHECK(r.error().message.find("chown") != std::string::npos);
    // Root's own file is fine (Secret volumes are root-owned).
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
    CHECK(backends::read_secret_file(file.string()).ok());
  }

  TEST_CASE("the transport registers its credentials and refuses a token that would inject headers") {
    struct NoClock final : planner::Clock {
      [[nodiscard]] planner::TimePoint now() const override { return {}; }
      void sleep(planner::Duration) override {}
    } clock;
    backends::TransportConfig config;
    config.bearer_token = "transport-tok-4b2d";
    config.basic_auth = std::make_pair(std::string("meshmove"), std::string("basic-pw-9e31"));
    auto transport = backends::make_curl_transport(config, clock);
    CHECK(backends::redact_secrets("transport-tok-4b2d basic-pw-9e31") == "[REDACTED] [REDACTED]");
    // base64("meshmove:basic-pw-9e31"), as an Authorization: Basic header carries it.
    CHECK(backends::redact_secrets("bWVzaG1vdmU6YmFzaWMtcHctOWUzMQ==") == "[REDACTED]");

    config.bearer_token = "inject-tok\r\nX-Injected: yes";
    config.basic_auth.reset();
    auto bad = backends::make_curl_transport(config, clock);
    backends::HttpRequest req;
    req.url = "http://127.0.0.1:1/";
    const auto r = bad->send(req);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == planner::ErrorKind::Config);
    CHECK(r.error().message.find("Injected") == std::string::npos);
  }
}
