// Hostile and unusual input: size, encoding, YAML bombs, deep nesting, JSON plans with positions.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "planner/plan_parser.hpp"

using meshmove::planner::parse_plan;

namespace {

const char* k_json_plan = R"({
  "apiVersion": "meshmove/v1",
  "kind": "Migration",
  "metadata": {"name": "apitier-to-kube"},
  "service": "apitier_default_svc_5000",
  "from": "vm-env",
  "to": "kube-env",
  "steps": [10, 50, 100],
  "gates": {
    "slos": [
      {"name": "errors", "type": "error-rate", "max": 0.01}
    ]
  }
})";

bool has_message(const meshmove::planner::PlanParseResult& r, const std::string& needle, int line = -1) {
  for (const auto& d : r.diagnostics) {
    if (d.message.find(needle) != std::string::npos && (line < 0 || d.line == line)) return true;
  }
  return false;
}

std::string first(const meshmove::planner::PlanParseResult& r) {
  return r.diagnostics.empty() ? "" : meshmove::planner::format_diagnostic(r.diagnostics.front());
}

}  // namespace

TEST_SUITE("planner::plan_input") {
  TEST_CASE("a JSON plan parses, and its errors carry JSON line and column") {
    auto r = parse_plan(k_json_plan, "plan.json");
    INFO(first(r));
    REQUIRE(r.ok());
    CHECK(r.plan->steps == std::vector<int>{1000, 5000, 10000});

    std::string bad = k_json_plan;
    bad.replace(bad.find("0.01"), 4, "\"high\"");
    r = parse_plan(bad, "plan.json");
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.diagnostics.size() == 1);
    CHECK(r.diagnostics[0].field == "gates.slos[0].max");
    CHECK(r.diagnostics[0].line == 11);
    CHECK(r.diagnostics[0].column == 55);  // the opening quote of "high"

    bad = k_json_plan;
    bad.replace(bad.find("\"to\""), 4, "\"too\"");
    r = parse_plan(bad, "plan.json");
    CHECK(has_message(r, "did you mean 'to'?", 7));
    CHECK(has_message(r, "missing required field 'to'", 1));
    for (const auto& d : r.diagnostics) {
      if (d.field == "too") CHECK(d.column == 3);
    }
  }

  TEST_CASE("JSON syntax errors are located") {
    std::string bad = k_json_plan;
    bad.replace(bad.find("\"kind\""), 6, "kind");
    const auto r = parse_plan(bad, "plan.json");
    REQUIRE_FALSE(r.ok());
    INFO(first(r));
    CHECK(r.diagnostics[0].line == 3);
    CHECK(r.diagnostics[0].message.find("invalid JSON") != std::string::npos);
  }

  TEST_CASE("a YAML flow mapping that is not JSON is read as YAML") {
    const auto r = parse_plan("{apiVersion: meshmove/v1, kind: Migration}", "plan.yaml");
    CHECK(has_message(r, "missing required field 'metadata'"));
  }

  TEST_CASE("YAML syntax errors are located") {
    const auto r = parse_plan("apiVersion: meshmove/v1\nkind: [Migration\nmetadata: {}\n", "plan.yaml");
    REQUIRE_FALSE(r.ok());
    INFO(first(r));
    CHECK(r.diagnostics[0].message.find("invalid YAML") != std::string::npos);
    CHECK(r.diagnostics[0].line >= 2);
  }

  TEST_CASE("files over 1 MiB are refused") {
    std::string big = "# " + std::string(1024 * 1024, 'x') + "\n";
    const auto r = parse_plan(big, "big.yaml");
    CHECK_FALSE(r.ok());
    CHECK(has_message(r, "1 MiB"));
  }

  TEST_CASE("invalid UTF-8 is refused with its position") {
    const auto r = parse_plan("apiVersion: meshmove/v1\nkind: Migr\xC3\x28tion\n", "bad.yaml");
    CHECK_FALSE(r.ok());
    CHECK(has_message(r, "not valid UTF-8", 2));
    CHECK(r.diagnostics[0].column == 11);
    CHECK(meshmove::planner::find_invalid_utf8("\xED\xA0\x80") == 0u);  // a UTF-16 surrogate
    CHECK(meshmove::planner::find_invalid_utf8("\xC0\xAF") == 0u);      // overlong '/'
    CHECK_FALSE(meshmove::planner::find_invalid_utf8("Zürich → 東京").has_value());
  }

  TEST_CASE("a YAML alias bomb is refused quickly") {
    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    char prev = 'a';
    for (char c = 'b'; c <= 'k'; ++c) {
      bomb += std::string(1, c) + ": &" + c + " [";
      for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
      bomb += "]\n";
      prev = c;
    }
    const auto r = parse_plan(bomb, "bomb.yaml");
    CHECK_FALSE(r.ok());
    CHECK(has_message(r, "aliases"));
  }

  TEST_CASE("deep nesting is refused, not a stack overflow") {
    SUBCASE("flow") {
      const auto r = parse_plan("a: " + std::string(100000, '[') + std::string(100000, ']'), "deep.yaml");
      CHECK_FALSE(r.ok());
      CHECK(has_message(r, "nesting deeper"));
    }
    SUBCASE("block") {
      std::string deep = "a:\n";
      for (int i = 0; i < 5000; ++i) deep += "- ";
      deep += "x\n";
      const auto r = parse_plan(deep, "deep.yaml");
      CHECK_FALSE(r.ok());
      CHECK(has_message(r, "nesting deeper"));
    }
    SUBCASE("json") {
      const auto r = parse_plan(std::string(100000, '[') + std::string(100000, ']'), "deep.json");
      CHECK_FALSE(r.ok());
      CHECK(has_message(r, "nesting deeper"));
    }
  }

  TEST_CASE("empty, multi-document, non-mapping and binary input") {
    CHECK(has_message(parse_plan("", "e.yaml"), "empty"));
    CHECK(has_message(parse_plan("# only a comment\n", "e.yaml"), "empty"));
    CHECK(has_message(parse_plan("a: 1\n---\nb: 2\n", "m.yaml"), "more than one YAML document", 2));
    CHECK(has_message(parse_plan("# x\n,apiVersion: meshmove/v1\nkind: Migration\n", "m.yaml"), "more than one YAML document"));
    CHECK(has_message(parse_plan("- a\n- b\n", "l.yaml"), "a plan is a mapping"));
    CHECK(has_message(parse_plan(std::string("a: b\0c\n", 7), "n.yaml"), "NUL byte"));
  }

  TEST_CASE("the example plans are valid") {
    for (const char* name : {"vm-to-kube.yaml", "business-hours.yaml", "tcp-service.yaml", "ci-gate.yaml"}) {
      CAPTURE(name);
      std::ifstream f(std::string(MESHMOVE_SOURCE_DIR) + "/plans/" + name);
      REQUIRE(f.good());
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const auto r = parse_plan(text, name);
      INFO(first(r));
      CHECK(r.ok());
    }
  }
}
