// Plans that are absurd rather than malformed (hostile trial, issue 10): weights below a basis point,
// endless step lists, durations beyond the horizon, windows that never open, control characters in
// echoed plan text, and the smaller consistency rules. Each is refused (or warned about) quickly and
// with a message that says why.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "planner/duration.hpp"
#include "planner/plan_parser.hpp"
#include "planner/schedule.hpp"
#include "planner/time_format.hpp"
#include "planner/windows.hpp"
#include "tests/unit/fake_clock.hpp"

using namespace meshmove::planner;
using meshmove::testsupport::utc;
using namespace std::chrono_literals;

namespace {

// A valid plan; `steps` replaces the steps line, `extra` is appended (top-level fields).
std::string plan_text(const std::string& steps, const std::string& extra = "") {
  return "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: vm\nto: kube\n" + steps +
         "\nbake: 10m\ninterval: 30s\nsettle: 1m\n" + extra +
         (extra.find("gates:") == std::string::npos
              ? "gates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n"
              : "");
}

std::string dump(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += "  " + format_diagnostic(d) + "\n";
  return out;
}

// The first diagnostic of `severity` at `field`, or nullptr.
const Diagnostic* find(const std::vector<Diagnostic>& ds, const std::string& field,
                       Severity severity = Severity::Error) {
  for (const auto& d : ds) {
    if (d.field == field && d.severity == severity) return &d;
  }
  return nullptr;
}

bool has_message(const std::vector<Diagnostic>& ds, const std::string& needle) {
  for (const auto& d : ds) {
    if (d.message.find(needle) != std::string::npos) return true;
  }
  return false;
}

// Milliseconds that parse_plan takes on `text`.
template <class F>
long long elapsed_ms(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_SUITE("planner::plan_limits") {
  TEST_CASE("weights below a basis point are refused at once, not looped over (findings 6, 19)") {
    for (const char* w : {"1e-8", "5e-9", "1e-9", "1e-12", "1e-300", "5e-324", "0.004", "0.000001"}) {
      CAPTURE(w);
      PlanParseResult r;
      const auto ms = elapsed_ms([&] { r = parse_plan(plan_text(std::string("stepWeight: ") + w), "p.yaml"); });
      INFO(dump(r.diagnostics));
      CHECK_FALSE(r.ok());
      const auto* d = find(r.diagnostics, "stepWeight");
      REQUIRE(d != nullptr);
      CHECK(d->message.find("weights have at most two decimals") != std::string::npos);
      CHECK(ms < 1000);  // a bounded parse takes microseconds; the old loop never ended
    }
    SUBCASE("maxWeight too") {
      const auto r = parse_plan(plan_text("stepWeight: 1e-9\nmaxWeight: 1e-9"), "p.yaml");
      CHECK_FALSE(r.ok());
      REQUIRE(find(r.diagnostics, "maxWeight") != nullptr);
      CHECK(find(r.diagnostics, "maxWeight")->message.find("two decimals") != std::string::npos);
    }
    SUBCASE("in a JSON plan") {
      const std::string json =
          R"({"apiVersion": "meshmove/v1", "kind": "Migration", "metadata": {"name": "m"}, "service": "s",
              "from": "vm", "to": "kube", "stepWeight": 1e-300,
              "gates": {"slos": [{"name": "e", "type": "error-rate", "max": 0.01}]}})";
      PlanParseResult r;
      const auto ms = elapsed_ms([&] { r = parse_plan(json, "p.json"); });
      CHECK_FALSE(r.ok());
      REQUIRE(find(r.diagnostics, "stepWeight") != nullptr);
      CHECK(find(r.diagnostics, "stepWeight")->message.find("two decimals") != std::string::npos);
      CHECK(ms < 1000);
    }
    SUBCASE("a tiny step in a list gets the two-decimals message, not 'follows 0'") {
      const auto r = parse_plan(plan_text("steps: [0.000000001, 100]"), "p.yaml");
      INFO(dump(r.diagnostics));
      CHECK_FALSE(r.ok());
      REQUIRE(find(r.diagnostics, "steps[0]") != nullptr);
      CHECK(find(r.diagnostics, "steps[0]")->message.find("two decimals") != std::string::npos);
      CHECK_FALSE(has_message(r.diagnostics, "follows"));
    }
    SUBCASE("binary rounding of two-decimal weights is still accepted") {
      const auto r = parse_plan(plan_text("steps: [0.01, 0.07, 0.29, 1.15, 33.33, 99.99, 100]"), "p.yaml");
      INFO(dump(r.diagnostics));
      REQUIRE(r.ok());
      CHECK(r.plan->steps == std::vector<int>{1, 7, 29, 115, 3333, 9999, 10000});
    }
  }

  TEST_CASE("one limit of 1000 steps for steps lists and stepWeight") {
    SUBCASE("stepWeight: counted before any step is built") {
      auto r = parse_plan(plan_text("stepWeight: 0.1"), "p.yaml");
      INFO(dump(r.diagnostics));
      REQUIRE(r.ok());
      CHECK(r.plan->steps.size() == 1000);
      r = parse_plan(plan_text("stepWeight: 0.01"), "p.yaml");
      CHECK_FALSE(r.ok());
      REQUIRE(find(r.diagnostics, "stepWeight") != nullptr);
      CHECK(find(r.diagnostics, "stepWeight")->message.find("10000 steps; at most 1000") != std::string::npos);
    }
    SUBCASE("an explicit list") {
      const auto list = [](int n) {
        std::string s = "steps: [";
        for (int i = 1; i < n; ++i) s += std::to_string(i * 0.01).substr(0, 5) + ", ";
        return s + "100]";
      };
      auto r = parse_plan(plan_text(list(1000)), "p.yaml");
      INFO(dump(r.diagnostics));
      REQUIRE(r.ok());
      CHECK(r.plan->steps.size() == 1000);
      r = parse_plan(plan_text(list(1001)), "p.yaml");
      CHECK_FALSE(r.ok());
      REQUIRE(find(r.diagnostics, "steps") != nullptr);
      CHECK(find(r.diagnostics, "steps")->message.find("1001 steps; at most 1000") != std::string::npos);
      CHECK(r.diagnostics.size() == 1);  // one message, not one per entry
    }
  }

  TEST_CASE("durations beyond the 400-day horizon are refused, overflow says too large (findings 15, 24)") {
    SUBCASE("every duration field") {
      const std::vector<std::pair<std::string, std::string>> fields = {
          {"bake: 100000000w", "bake"},
          {"settle: 1000y", "settle"},
          {"interval: 401d", "interval"},
          {"gates: {maxHold: 2y, slos: [{name: e, type: error-rate, max: 0.01}]}", "gates.maxHold"},
          {"rollback: {stepInterval: 500d}", "rollback.stepInterval"},
          {"controlPlane: {url: 'http://127.0.0.1:5681', timeout: 2y}", "controlPlane.timeout"},
      };
      for (const auto& entry : fields) {
        const std::string& line = entry.first;
        const std::string& field = entry.second;
        CAPTURE(line);
        // Replace the default field of the same name where the base plan has one.
        std::string text = plan_text("steps: [10, 100]", line + "\n");
        for (const char* base : {"bake: 10m\n", "interval: 30s\n", "settle: 1m\n"}) {
          if (line.rfind(std::string(base).substr(0, 4), 0) == 0) text.erase(text.find(base), std::string(base).size());
        }
        const auto r = parse_plan(text, "p.yaml");
        INFO(dump(r.diagnostics));
        CHECK_FALSE(r.ok());
        const auto* d = find(r.diagnostics, field);
        REQUIRE(d != nullptr);
        CHECK(d->message.find("limited to 400 days") != std::string::npos);
      }
    }
    SUBCASE("400 days is allowed") {
      const auto r = parse_plan(plan_text("steps: [10, 100]", "rollback: {stepInterval: 400d}\n"), "p.yaml");
      INFO(dump(r.diagnostics));
      CHECK(r.ok());
    }
    SUBCASE("a value past 64-bit milliseconds") {
      std::string text = plan_text("steps: [10, 100]");
      text.replace(text.find("bake: 10m"), 9, "bake: 9223372036854775807ms");
      const auto r = parse_plan(text, "p.yaml");
      REQUIRE(find(r.diagnostics, "bake") != nullptr);
      CHECK(find(r.diagnostics, "bake")->message.find("too large") != std::string::npos);
      CHECK(find(r.diagnostics, "bake")->message.find("Prometheus syntax") == std::string::npos);
      DurationProblem why = DurationProblem::None;
      CHECK_FALSE(parse_duration("9223372036854775807ms", &why));
      CHECK(why == DurationProblem::TooLarge);
      CHECK_FALSE(parse_duration("300000000000y", &why));
      CHECK(why == DurationProblem::TooLarge);
      CHECK_FALSE(parse_duration("10x", &why));
      CHECK(why == DurationProblem::Syntax);
      CHECK(parse_duration("1h30m", &why) == Duration{90min});
      CHECK(why == DurationProblem::None);
    }
    SUBCASE("quoted and unquoted garbage get the same message") {
      std::string plain = plan_text("steps: [10, 100]");
      std::string quoted = plain;
      plain.replace(plain.find("bake: 10m"), 9, "bake: 10x");
      quoted.replace(quoted.find("bake: 10m"), 9, "bake: \"10x\"");
      const auto a = parse_plan(plain, "p.yaml");
      const auto b = parse_plan(quoted, "p.yaml");
      REQUIRE(find(a.diagnostics, "bake") != nullptr);
      REQUIRE(find(b.diagnostics, "bake") != nullptr);
      CHECK(find(a.diagnostics, "bake")->message == find(b.diagnostics, "bake")->message);
      CHECK(find(a.diagnostics, "bake")->message.find("got '10x'") != std::string::npos);
    }
  }

  TEST_CASE("windows that never open within 400 days make the plan unable to run (finding 15)") {
    const TimePoint now = utc(2026, 12, 1, 12, 0);
    SUBCASE("a freeze over the whole horizon") {
      const auto r = parse_plan(plan_text("steps: [10, 100]", "windows: {freeze: ['2000-01-01/2999-12-31']}\n"),
                                "p.yaml");
      REQUIRE(r.ok());  // valid at some time, so the parser accepts it
      const auto ds = check_schedule(*r.plan, now);
      INFO(dump(ds));
      REQUIRE(ds.size() == 1);
      CHECK(ds[0].severity == Severity::Error);
      CHECK(ds[0].field == "windows.freeze");
      CHECK(ds[0].line == 11);
      CHECK(ds[0].message.find("no change window opens within 400 days") != std::string::npos);
    }
    SUBCASE("an allow window blocked by a freeze that covers it is blamed on the freeze; a plan that opens is fine") {
      const auto r = parse_plan(
          plan_text("steps: [10, 100]", "windows: {allow: ['Sat 00:00-01:00'], freeze: ['2026-01-01/2028-01-01']}\n"),
          "p.yaml");
      REQUIRE(r.ok());
      REQUIRE(check_schedule(*r.plan, now).size() == 1);
      CHECK(check_schedule(*r.plan, now)[0].field == "windows.freeze");
      CHECK(check_schedule(*r.plan, utc(2027, 12, 1)).empty());  // the freeze ends within 400 days
      const auto open = parse_plan(plan_text("steps: [10, 100]", "windows: {allow: ['Sat 00:00-01:00']}\n"), "p.yaml");
      REQUIRE(open.ok());
      CHECK(check_schedule(*open.plan, now).empty());
    }
  }

  TEST_CASE("failureLimit and breachFactor that never decide get warnings (finding 24)") {
    auto r = parse_plan(plan_text("steps: [10, 100]",
                                  "gates: {failureLimit: 99999999999999, slos: [{name: e, type: error-rate, max: 0.01}]}\n"),
                        "p.yaml");
    INFO(dump(r.diagnostics));
    CHECK(r.ok());
    REQUIRE(find(r.diagnostics, "gates.failureLimit", Severity::Warning) != nullptr);
    CHECK(find(r.diagnostics, "gates.failureLimit", Severity::Warning)->message.find("practically never") !=
          std::string::npos);
    r = parse_plan(plan_text("steps: [10, 100]",
                             "gates: {breachFactor: 1.0000000001, slos: [{name: e, type: error-rate, max: 0.01}]}\n"),
                   "p.yaml");
    CHECK(r.ok());
    REQUIRE(find(r.diagnostics, "gates.breachFactor", Severity::Warning) != nullptr);
    CHECK(find(r.diagnostics, "gates.breachFactor", Severity::Warning)->message.find("never decide") !=
          std::string::npos);
    r = parse_plan(plan_text("steps: [10, 100]",
                             "gates: {failureLimit: 3, breachFactor: 2, slos: [{name: e, type: error-rate, max: 0.01}]}\n"),
                   "p.yaml");
    CHECK(r.ok());
    CHECK(r.diagnostics.empty());
  }

  TEST_CASE("YAML merge keys are refused with a message that says so (finding 24)") {
    const std::string text = "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: vm\n"
                             "to: kube\nsteps: [100]\nbase: &b {minRequests: 10}\n"
                             "gates:\n  <<: *b\n  slos: [{name: e, type: error-rate, max: 0.01}]\n";
    const auto r = parse_plan(text, "p.yaml");
    INFO(dump(r.diagnostics));
    CHECK_FALSE(r.ok());
    CHECK(has_message(r.diagnostics, "YAML merge keys are not supported; write the keys out"));
    CHECK_FALSE(has_message(r.diagnostics, "unknown field '<<'"));
  }

  TEST_CASE("timezone localtime is warned about and never suggested (finding 24)") {
    const auto r = parse_plan(plan_text("steps: [10, 100]", "windows: {timezone: localtime}\n"), "p.yaml");
    INFO(dump(r.diagnostics));
    const auto* w = find(r.diagnostics, "windows.timezone", Severity::Warning);
    REQUIRE(w != nullptr);
    CHECK(w->message.find("/etc/localtime") != std::string::npos);
    CHECK(w->message.find("container") != std::string::npos);
    CHECK(suggest_timezone("/etc/localtime") != std::optional<std::string>("localtime"));
  }

  TEST_CASE("control characters from a plan never reach a diagnostic (finding 18)") {
    SUBCASE("escape_control") {
      CHECK(escape_control("a\x1b]0;PWNED\a\x1b[31mRED") == "a\\x1b]0;PWNED\\x07\\x1b[31mRED");
      CHECK(escape_control("a\nb\rc\td\x7f") == "a\\nb\\rc\\td\\x7f");
      CHECK(escape_control("\xc2\x9b" "31m") == "\\u009b31m");  // C1 CSI, UTF-8 encoded
      CHECK(escape_control("Zürich \\x1b") == "Zürich \\x1b");  // UTF-8 and backslashes stay
      CHECK(escape_control(escape_control("x\x1b")) == escape_control("x\x1b"));
    }
    const auto no_controls = [](const std::string& s) {
      for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return false;
      }
      return true;
    };
    SUBCASE("values, keys and forged lines") {
      const std::string text =
          "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\n"
          "service: \"x\\e]0;PWNED\\a\\e[31mRED\\e[0m\"\n"
          "from: \"a\\nplan.yaml: valid: migration m\"\nto: kube\nsteps: [100]\n"
          "\"\\e[31mevil\": 1\n"
          "bake: \"\\e[2J\"\n"
          "gates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n";
      const auto r = parse_plan(text, "p.yaml");
      INFO(dump(r.diagnostics));
      CHECK_FALSE(r.ok());
      CHECK(r.diagnostics.size() >= 4);
      for (const auto& d : r.diagnostics) {
        CHECK(no_controls(d.message));
        CHECK(no_controls(d.field));
        CHECK(no_controls(format_diagnostic(d)));
      }
      CHECK(has_message(r.diagnostics, "x\\x1b]0;PWNED\\x07\\x1b[31mRED"));
      CHECK(has_message(r.diagnostics, "a\\nplan.yaml: valid"));
      REQUIRE(find(r.diagnostics, "\\x1b[31mevil") != nullptr);
      // The values are refused, not only escaped: they would reach logs and reports later.
      REQUIRE(find(r.diagnostics, "service") != nullptr);
      CHECK(find(r.diagnostics, "service")->message.find("contains a control character (at offset 1)") !=
            std::string::npos);
    }
    SUBCASE("tabs and newlines in a multi-line query are fine") {
      const auto r = parse_plan(
          plan_text("steps: [100]", "gates: {slos: [{name: c, max: 1, query: \"sum(rate(x[1m]))\\n\\t/ 2\"}]}\n"),
          "p.yaml");
      INFO(dump(r.diagnostics));
      CHECK(r.ok());
      REQUIRE(r.plan);
      CHECK(r.plan->gates.slos[0].query == "sum(rate(x[1m]))\n\t/ 2");
    }
    SUBCASE("format_diagnostic escapes diagnostics made elsewhere too") {
      const Diagnostic d{"f\n.yaml", 1, 2, "k\x1b", "m\x07", Severity::Error};
      CHECK(format_diagnostic(d) == "f\\n.yaml:1:2: k\\x1b: m\\x07");
    }
  }

  TEST_CASE("far-future and far-past instants format as valid RFC 3339") {
    const TimePoint far{Duration{std::numeric_limits<Duration::rep>::max() / 2}};
    CHECK_FALSE(is_calendar_time(far));
    CHECK(format_rfc3339(far) == "9999-12-31T23:59:59.999Z");
    CHECK(format_rfc3339(TimePoint::min()) == "0001-01-01T00:00:00Z");
    CHECK(format_local(far, "UTC") == "9999-12-31 23:59 UTC");
    CHECK(is_calendar_time(utc(2026, 12, 1)));
    CHECK(format_rfc3339(utc(2026, 12, 1, 12, 0)) == "2026-12-01T12:00:00Z");
  }
}
