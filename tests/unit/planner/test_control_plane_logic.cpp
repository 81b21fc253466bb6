// Pure pieces behind `plan` and `rollback`: the ownership/drift guard, the next write, the diff and
// YAML rendering of policies.
#include <doctest/doctest.h>

#include "planner/control_plane.hpp"
#include "planner/next_write.hpp"
#include "planner/plan_parser.hpp"
#include "planner/text_diff.hpp"
#include "planner/yaml_render.hpp"

using namespace meshmove::planner;

namespace {

Plan plan() {
  auto r = parse_plan(
      "apiVersion: meshmove/v1\nkind: Migration\nmetadata: {name: m}\nservice: s\nfrom: a\nto: b\n"
      "steps: [10, 50, 100]\ngates: {slos: [{name: e, type: error-rate, max: 0.01}]}\n",
      "p.yaml");
  REQUIRE(r.ok());
  return *r.plan;
}

LiveRouting live(Ownership o, std::optional<int> weight, std::string owner = "m") {
  LiveRouting l;
  l.ownership = o;
  l.kind = "MeshHTTPRoute";
  l.name = "meshmove-s";
  l.owner = std::move(owner);
  l.to_weight = weight;
  return l;
}

}  // namespace

TEST_SUITE("planner::control_plane") {
  TEST_CASE("a competing route that wins decides the effective split and blocks every write") {
    LiveRouting l = live(Ownership::Ours, 0);
    CHECK(l.effective_to_weight() == 0);
    CHECK(l.winner() == nullptr);
    CompetingRoute loser{"MeshTCPRoute", "tcp", "", 5000, false, "a MeshHTTPRoute takes priority over a MeshTCPRoute"};
    CompetingRoute other{"MeshHTTPRoute", "mm-aaa", "pa", 10000, true, "the name mm-aaa sorts first"};
    l.competing = {loser};
    CHECK(l.effective_to_weight() == 0);
    CHECK_FALSE(check_write_allowed(l, 0, false, "m"));
    l.competing = {other, loser};
    REQUIRE(l.winner() != nullptr);
    CHECK(l.winner()->name == "mm-aaa");
    CHECK(l.effective_to_weight() == 10000);
    for (bool adopt : {false, true}) {
      const auto refusal = check_write_allowed(l, 0, adopt, "m");
      REQUIRE(refusal.has_value());
      CHECK(refusal->kind == ErrorKind::Conflict);
      CHECK(refusal->message.find("MeshHTTPRoute mm-aaa (managed by the migration 'pa')") != std::string::npos);
      CHECK(refusal->message.find("100% to the to set") != std::string::npos);
      CHECK(refusal->message.find("policyName: mm-aaa") != std::string::npos);
    }
    CHECK(describe(CompetingRoute{"TrafficRoute", "legacy", "", std::nullopt, true, ""}) ==
          "TrafficRoute legacy (hand-written: no meshmove.io/migration label)");
  }

  TEST_CASE("the write guard") {
    CHECK_FALSE(check_write_allowed(live(Ownership::Absent, std::nullopt), std::nullopt, false, "m"));
    CHECK_FALSE(check_write_allowed(live(Ownership::Ours, 5000), 5000, false, "m"));
    CHECK_FALSE(check_write_allowed(live(Ownership::Ours, 5000), std::nullopt, false, "m"));  // state lost: reconcile
    auto e = check_write_allowed(live(Ownership::Ours, 4000), 5000, false, "m");
    REQUIRE(e);
    CHECK(e->kind == ErrorKind::Conflict);
    CHECK(e->message.find("40%") != std::string::npos);
    CHECK(e->message.find("50%") != std::string::npos);
    CHECK_FALSE(check_write_allowed(live(Ownership::Ours, 4000), 5000, true, "m"));
    CHECK(check_write_allowed(live(Ownership::Ours, std::nullopt), 5000, false, "m"));
    CHECK(check_write_allowed(live(Ownership::Absent, std::nullopt), 5000, false, "m"));
    CHECK(check_write_allowed(live(Ownership::Foreign, 1000, ""), std::nullopt, false, "m"));
    CHECK(check_write_allowed(live(Ownership::OtherMigration, 1000, "x"), std::nullopt, false, "m"));
    CHECK_FALSE(check_write_allowed(live(Ownership::Foreign, 1000, ""), std::nullopt, true, "m"));
  }

  TEST_CASE("the next write") {
    const Plan p = plan();
    std::string why;
    auto n = next_write(p, live(Ownership::Absent, std::nullopt), std::nullopt, &why);
    REQUIRE(n);
    CHECK(n->action == "pin");
    CHECK(n->to_weight == 0);
    n = next_write(p, live(Ownership::Ours, 0), std::nullopt, &why);
    REQUIRE(n);
    CHECK(n->step == 0);
    CHECK(n->to_weight == 1000);
    n = next_write(p, live(Ownership::Foreign, 2000, ""), std::nullopt, &why);  // between steps 1 and 2
    REQUIRE(n);
    CHECK(n->step == 1);
    MigrationState s;
    s.phase = Phase::Ramping;
    s.step = 1;
    n = next_write(p, live(Ownership::Ours, 5000), s, &why);
    REQUIRE(n);
    CHECK(n->to_weight == 10000);
    s.step = 2;
    CHECK_FALSE(next_write(p, live(Ownership::Ours, 10000), s, &why));
    CHECK(why.find("final step") != std::string::npos);
    s.phase = Phase::RolledBack;
    CHECK_FALSE(next_write(p, live(Ownership::Ours, 0), s, &why));
    CHECK(why.find("rolled back") != std::string::npos);
    CHECK(step_for_weight(p, 0) == -1);
    CHECK(step_for_weight(p, 1000) == 0);
    CHECK(step_for_weight(p, 9999) == 1);
  }

  TEST_CASE("unified diff") {
    CHECK(unified_diff("a\nb\n", "a\nb\n", "x", "y").empty());
    const auto d = unified_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n", "live", "next", 2);
    CHECK(d == "--- live\n+++ next\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+FIVE\n 6\n 7\n");
    CHECK(unified_diff("", "a\n", "l", "n") == "--- l\n+++ n\n@@ -0,0 +1,1 @@\n+a\n");
  }

  TEST_CASE("policies render as kumactl-style YAML") {
    const auto y = to_yaml(nlohmann::json{{"spec", {{"w", 5}}},
                                          {"name", "n"},
                                          {"type", "MeshHTTPRoute"},
                                          {"labels", {{"meshmove.io/step", "0"}, {"x", "true"}}}});
    CHECK(y == "type: MeshHTTPRoute\nname: n\nlabels:\n  meshmove.io/step: \"0\"\n  x: \"true\"\nspec:\n  w: 5\n");
  }
}
