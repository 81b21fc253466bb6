// The real binary on the example plans and on broken plans: exit codes, messages, JSON output.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/support/process.hpp"

using meshmove::testsupport::binary;
using meshmove::testsupport::run;
using meshmove::testsupport::RunOptions;
using meshmove::testsupport::source;
using meshmove::testsupport::TempDir;

namespace {

meshmove::testsupport::RunResult meshmove_cli(std::vector<std::string> args, RunOptions options = {}) {
  args.insert(args.begin(), binary("meshmove").string());
  options.unset_env.push_back("MESHMOVE_PROMETHEUS_URL");
  options.unset_env.push_back("MESHMOVE_CONTROL_PLANE_URL");
  options.timeout = std::chrono::seconds(60);
  return run(args, options);
}

const char* k_plans[] = {"plans/vm-to-kube.yaml", "plans/business-hours.yaml", "plans/tcp-service.yaml",
                         "plans/ci-gate.yaml"};

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("validate accepts every example plan") {
    std::vector<std::string> args{"validate"};
    for (const char* p : k_plans) args.push_back(source(p).string());
    const auto r = meshmove_cli(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    for (const char* p : k_plans) CHECK(r.out.find(source(p).string() + ": valid") != std::string::npos);
  }

  TEST_CASE("validate exits 2 naming file, line, field and the fix") {
    TempDir dir;
    std::string text = meshmove::testsupport::read_file(source("plans/vm-to-kube.yaml"));
    text.replace(text.find("bake: 10m"), 9, "bake: 10");
    const auto plan = dir.write("broken.yaml", text);
    const auto r = meshmove_cli({"validate", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(plan.string() + ":17:7: bake: '10' has no unit; write a duration such as 10s or 10m") !=
          std::string::npos);
  }

  TEST_CASE("validate -o json prints the diagnostics as an array") {
    TempDir dir;
    const auto plan = dir.write("broken.yaml", "apiVersion: meshmove/v1\nkind: Migration\nmetdata: {name: x}\n");
    const auto r = meshmove_cli({"validate", "-o", "json", plan.string()});
    CHECK(r.exit_code == 2);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.is_array());
    REQUIRE(!j.empty());
    bool typo = false;
    for (const auto& d : j) {
      CHECK(d.contains("file"));
      CHECK(d.contains("line"));
      CHECK(d.contains("column"));
      CHECK(d.contains("field"));
      CHECK(d.contains("message"));
      if (d["field"] == "metdata") {
        typo = true;
        CHECK(d["line"] == 3);
        CHECK(d["message"].get<std::string>().find("did you mean 'metadata'?") != std::string::npos);
      }
    }
    CHECK(typo);
  }

  TEST_CASE("validate reads a plan from stdin and reports unreadable files") {
    RunOptions in;
    in.stdin_data = meshmove::testsupport::read_file(source("plans/ci-gate.yaml"));
    auto r = meshmove_cli({"validate", "-"}, in);
    CHECK(r.exit_code == 0);
    r = meshmove_cli({"validate", "/nonexistent/plan.yaml"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("/nonexistent/plan.yaml: cannot read the plan: No such file or directory") != std::string::npos);
  }

  TEST_CASE("plan --offline -o json gives steps and resolved gate queries") {
    const auto r = meshmove_cli({"plan", "--offline", "-o", "json", "--start", "2026-12-18T16:30:00+01:00",
                                 source("plans/business-hours.yaml").string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["steps"].size() == 10);
    CHECK(j["steps"][0]["index"] == 0);
    CHECK(j["steps"][0]["weight"] == 10);
    CHECK(j["steps"][0]["earliestStart"] == "2026-12-18T15:30:00Z");
    // Friday 17:30 is after hours and the freeze runs to 2027-01-04 inclusive: Tuesday 09:00 CET.
    CHECK(j["steps"][1]["earliestStart"] == "2027-01-05T08:00:00Z");
    REQUIRE(j["gates"].size() == 2);
    CHECK(j["gates"][0]["name"] == "errors");
    const std::string q = j["gates"][0]["query"];
    CHECK(q.find("env=\"kube-env\"") != std::string::npos);
    CHECK(q.find("envoy_response_code_class=\"5\"") != std::string::npos);
    CHECK(q.find("kuma_io_services=~\".*,payments_default_svc_8080,.*\"") != std::string::npos);
  }

  TEST_CASE("plan --offline text shows the timeline and the queries") {
    const auto r = meshmove_cli({"plan", "--offline", source("plans/vm-to-kube.yaml").string()});
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("STEP") != std::string::npos);
    CHECK(r.out.find("histogram_quantile") == std::string::npos);  // sequential latency reads buckets
    CHECK(r.out.find("envoy_cluster_upstream_rq_time_bucket") != std::string::npos);
    CHECK(r.out.find("meshmove-apitier-default-svc-5000") != std::string::npos);
  }

  TEST_CASE("--prometheus-url and its environment variable override the plan") {
    auto r = meshmove_cli({"plan", "--offline", "-o", "json", "--prometheus-url", "http://prom.example:9090",
                           source("plans/vm-to-kube.yaml").string()});
    CHECK(r.exit_code == 0);
    RunOptions env;
    env.env["MESHMOVE_PROMETHEUS_URL"] = "http://bad url";
    r = meshmove_cli({"validate", source("plans/vm-to-kube.yaml").string()}, env);
    CHECK(r.exit_code == 0);  // validate checks the file as written
  }

  TEST_CASE("--version, --help on every command, and usage errors") {
    auto r = meshmove_cli({"--version"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("meshmove 0.") == 0);
    for (const char* cmd : {"validate", "plan"}) {
      CAPTURE(cmd);
      r = meshmove_cli({cmd, "--help"});
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("Usage") != std::string::npos);
    }
    r = meshmove_cli({"--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Exit codes") != std::string::npos);
    r = meshmove_cli({"frobnicate"});
    CHECK(r.exit_code == 2);
    r = meshmove_cli({"validate"});
    CHECK(r.exit_code == 2);
    r = meshmove_cli({});
    CHECK(r.exit_code == 2);
    r = meshmove_cli({"plan", "--offline", "--start", "yesterday", source("plans/vm-to-kube.yaml").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("RFC 3339") != std::string::npos);
  }
}

TEST_SUITE("cli::hostile_plans") {
  // A small valid plan; `extra` lines are appended.
  std::string small_plan(const std::string& steps, const std::string& extra = "") {
    return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: hostile}\nservice: s\nfrom: vm\nto: kube\n"
           "controlPlane: {url: 'http://127.0.0.1:1', timeout: 2s}\n" +
           steps + "\ngates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n" + extra;
  }

  bool has_control_characters(const std::string& s) {
    for (unsigned char c : s) {
      if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
    }
    return false;
  }

  TEST_CASE("a sub-basis-point stepWeight is refused at once by validate and plan --offline (finding 6)") {
    TempDir dir;
    for (const char* w : {"1e-8", "1e-300"}) {
      CAPTURE(w);
      const auto plan = dir.write("tiny.yaml", small_plan(std::string("stepWeight: ") + w));
      const auto json = dir.write(
          "tiny.json", std::string(R"({"apiVersion": "meshmove/v1", "kind": "Migration", "metadata": {"name": "m"},
              "service": "s", "from": "vm", "to": "kube", "stepWeight": )") + w +
                           R"(, "gates": {"slos": [{"name": "e", "type": "error-rate", "max": 0.01}]}})");
      for (const std::vector<std::string>& args :
           {std::vector<std::string>{"validate", plan.string()}, {"plan", "--offline", plan.string()},
            {"validate", json.string()}}) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = meshmove_cli(args);
        const auto took = std::chrono::steady_clock::now() - start;
        INFO(r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("stepWeight: weights have at most two decimals") != std::string::npos);
        CHECK(took < std::chrono::seconds(10));  // the old loop ran until memory ran out
      }
    }
  }

  TEST_CASE("validate refuses a plan whose freeze never ends within 400 days (finding 15)") {
    TempDir dir;
    const auto plan = dir.write("frozen.yaml", small_plan("steps: [10, 100]", "windows: {freeze: ['2000-01-01/2999-12-31']}\n"));
    auto r = meshmove_cli({"validate", plan.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("windows.freeze: no change window opens within 400 days") != std::string::npos);
    CHECK(r.out.find("valid") == std::string::npos);
    r = meshmove_cli({"validate", "-o", "json", plan.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("no change window opens within 400 days") != std::string::npos);
  }

  TEST_CASE("status of a migration that can never run says never, not a nonsense date (finding 15)") {
    TempDir dir;
    const auto plan = dir.write("frozen.yaml", small_plan("steps: [10, 100]", "windows: {freeze: ['2000-01-01/2999-12-31']}\n"));
    const auto state = dir.path() / "state";
    std::filesystem::create_directory(state);
    std::filesystem::permissions(state, std::filesystem::perms::owner_all);
    dir.write("state/hostile.json", R"({"schemaVersion": 1, "migration": "hostile", "phase": "pending", "step": -1})");
    auto r = meshmove_cli({"--state-dir", state.string(), "status", "-o", "json", plan.string()});
    INFO(r.out << r.err);
    const auto j = nlohmann::json::parse(r.out);
    const auto& row = j.is_array() ? j[0] : j;
    REQUIRE(row.contains("next"));
    CHECK(row["next"]["action"] == "wait");
    CHECK(row["next"]["at"].is_null());
    r = meshmove_cli({"--state-dir", state.string(), "status", plan.string()});
    CHECK(r.out.find("never (no change window opens within 400 days)") != std::string::npos);
    CHECK(r.out.find("-16443") == std::string::npos);
  }

  TEST_CASE("control characters in a plan are escaped in diagnostics (finding 18)") {
    TempDir dir;
    const auto plan = dir.write("esc.yaml", "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\n"
                                            "service: \"x\\e]0;PWNED\\a\\e[31mRED\\e[0m\"\n"
                                            "from: \"a\\nesc.yaml: valid: migration m\"\nto: kube\nsteps: [100]\n"
                                            "\"\\e[31mevil\": 1\n"
                                            "gates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n");
    const auto r = meshmove_cli({"validate", plan.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(has_control_characters(r.err));
    CHECK_FALSE(has_control_characters(r.out));
    CHECK(r.err.find("x\\x1b]0;PWNED\\x07") != std::string::npos);
    CHECK(r.err.find("\nesc.yaml: valid") == std::string::npos);  // no forged line
  }

  TEST_CASE("validate refuses a FIFO at once and follows a symlink to a plan (finding 24)") {
    TempDir dir;
    const auto fifo = dir.path() / "plan.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto start = std::chrono::steady_clock::now();
    auto r = meshmove_cli({"validate", fifo.string()});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("it is a FIFO (named pipe), not a regular file") != std::string::npos);
    r = meshmove_cli({"validate", dir.path().string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("it is a directory") != std::string::npos);
    const auto link = dir.path() / "link.yaml";
    std::filesystem::create_symlink(source("plans/ci-gate.yaml"), link);
    r = meshmove_cli({"validate", link.string()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }

  TEST_CASE("an unknown command and an unknown output format are named plainly (finding 24)") {
    auto r = meshmove_cli({"frobnicate"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown command 'frobnicate'") != std::string::npos);
    r = meshmove_cli({"valdate", "x.yaml"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("unknown command 'valdate'; did you mean 'validate'?") != std::string::npos);
    r = meshmove_cli({"-o", "yaml", "validate", source("plans/ci-gate.yaml").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--output must be text or json, got 'yaml'") != std::string::npos);
    r = meshmove_cli({});
    CHECK(r.exit_code == 2);
  }
}

TEST_SUITE("cli::completion") {
  TEST_CASE("bash and zsh completions name every subcommand and flag") {
    const auto help = meshmove_cli({"--help"});
    REQUIRE(help.exit_code == 0);
    // The subcommands, from the help text.
    std::vector<std::string> commands;
    const auto at = help.out.find("Subcommands:");
    REQUIRE(at != std::string::npos);
    std::istringstream in(help.out.substr(at));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line) && line.rfind("  ", 0) == 0) {
      std::istringstream words(line);
      std::string name;
      words >> name;
      commands.push_back(name);
    }
    REQUIRE(commands.size() >= 11);
    const auto bash = meshmove_cli({"completion", "bash"});
    const auto zsh = meshmove_cli({"completion", "zsh"});
    REQUIRE(bash.exit_code == 0);
    REQUIRE(zsh.exit_code == 0);
    const std::regex flag(R"((^|[\s,\[])(--[a-z][a-z-]+|-[a-zA-Z])\b)");
    std::size_t flags = 0;
    for (const auto& cmd : commands) {
      CAPTURE(cmd);
      CHECK(bash.out.find(cmd) != std::string::npos);
      CHECK(zsh.out.find("'" + cmd + ":") != std::string::npos);
      const auto sub = meshmove_cli({cmd, "--help"});
      REQUIRE(sub.exit_code == 0);
      for (std::sregex_iterator it(sub.out.begin(), sub.out.end(), flag), end; it != end; ++it) {
        const std::string f = (*it)[2];
        CAPTURE(f);
        CHECK(bash.out.find(f) != std::string::npos);
        CHECK(zsh.out.find(f) != std::string::npos);
        ++flags;
      }
    }
    CHECK(flags > 40);
    // The bash script is valid bash and completes commands, flags and values.
    TempDir dir;
    const auto script = dir.write("meshmove.bash", bash.out);
    const auto r = run({"bash", "-c",
                        "source " + script.string() +
                            "; COMP_WORDS=(meshmove ap); COMP_CWORD=1; _meshmove; echo \"${COMPREPLY[*]}\";"
                            " COMP_WORDS=(meshmove apply --onc); COMP_CWORD=2; _meshmove; echo \"${COMPREPLY[*]}\";"
                            " COMP_WORDS=(meshmove -o ''); COMP_CWORD=2; _meshmove; echo \"${COMPREPLY[*]}\""});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "apply\n--once\ntext json\n");
    if (run({"sh", "-c", "command -v zsh"}).exit_code == 0) {
      const auto zfile = dir.write("_meshmove", zsh.out);
      CHECK(run({"zsh", "-n", zfile.string()}).exit_code == 0);
    }
  }
}

TEST_SUITE("cli::readme") {
  TEST_CASE("every meshmove command and flag the README shows exists") {
    const std::string readme = meshmove::testsupport::read_file(source("README.md"));
    const std::regex invocation(R"((?:^|[\s`(=])(?:/usr/bin/)?meshmove ([a-z]+)([^`\n|]*))");
    std::size_t checked = 0;
    const std::string global_help = meshmove_cli({"--help"}).out;  // flags that work with every command
    for (std::sregex_iterator it(readme.begin(), readme.end(), invocation), end; it != end; ++it) {
      const std::string cmd = (*it)[1];
      const std::string rest = (*it)[2];
      const auto help = meshmove_cli({cmd, "--help"});
      if (help.exit_code != 0) continue;  // prose such as "meshmove moves"
      CAPTURE(cmd);
      const std::regex flag(R"(--[a-z][a-z-]+)");
      for (std::sregex_iterator f(rest.begin(), rest.end(), flag), fend; f != fend; ++f) {
        const std::string name = f->str();
        CAPTURE(name);
        CHECK((help.out + global_help).find(name) != std::string::npos);
        ++checked;
      }
    }
    CHECK(checked >= 6);
  }
}
