#include <doctest/doctest.h>

#include <string>

#include "tests/sim/scenario.hpp"

using namespace meshmove::sim;
using meshmove::planner::format_diagnostic;

namespace {

// The scenario of issue 3, verbatim.
constexpr const char* k_issue_scenario = R"(mesh: default
tagKey: env                # default env
tick: 100ms                # default 100ms
seed: 1                    # default 1
services:
  - name: apitier_default_svc_5000
    port: 5000             # default: from the name's _svc_<port> suffix, else 80
    rps: 400
    subsets:
      vm-env:   {instances: 3, errorRate: 0.002, latency: {median: 20ms, p99: 90ms}}
      kube-env: {instances: 2, errorRate: 0.002, latency: {median: 18ms, p99: 80ms},
                 serviceName: apitier-kube_default_svc_5000}   # optional
events:
  - {at: 20s, subset: kube-env, set: {errorRate: 0.2}}
  - {whenWeight: {subset: kube-env, atLeast: 25}, subset: kube-env, set: {latency: {median: 300ms, p99: 2s}}}
  - {at: 40s, controlPlane: {status: 503, for: 5s}}
  - {at: 50s, controlPlane: {delay: 3s, for: 5s}}
  - {at: 55s, controlPlane: {down: true, for: 5s}}
  - {at: 60s, set: {rps: 0}}
)";

// All diagnostics of a parse, one per line.
std::string diagnostics_of(const ScenarioParse& p) {
  std::string out;
  for (const auto& d : p.diagnostics) out += format_diagnostic(d) + "\n";
  return out;
}

}  // namespace

TEST_SUITE("sim::Scenario") {
  TEST_CASE("the issue's scenario parses into exactly what it says") {
    const ScenarioParse p = parse_scenario(k_issue_scenario, "issue.yaml");
    INFO(diagnostics_of(p));
    REQUIRE(p.scenario);
    const Scenario& s = *p.scenario;
    CHECK(s.mesh == "default");
    CHECK(s.tag_key == "env");
    CHECK(s.tick == Millis(100));
    CHECK(s.seed == 1);
    REQUIRE(s.services.size() == 1);
    const ServiceSpec& svc = s.services[0];
    CHECK(svc.name == "apitier_default_svc_5000");
    CHECK(svc.port == 5000);
    CHECK(svc.rps == 400);
    REQUIRE(svc.subsets.size() == 2);
    CHECK(svc.subsets[0].name == "vm-env");  // written order is kept
    CHECK(svc.subsets[0].instances == 3);
    CHECK(svc.subsets[0].error_rate == doctest::Approx(0.002));
    CHECK(svc.subsets[0].latency.median == Millis(20));
    CHECK(svc.subsets[0].latency.p99 == Millis(90));
    CHECK(svc.subsets[0].service_name.empty());
    CHECK(svc.subsets[1].name == "kube-env");
    CHECK(svc.subsets[1].service_name == "apitier-kube_default_svc_5000");
    REQUIRE(s.events.size() == 6);
    CHECK(s.events[0].at == Millis(20000));
    CHECK(s.events[0].service == "apitier_default_svc_5000");  // implied: the only service
    CHECK(s.events[0].subset == "kube-env");
    CHECK(s.events[0].set->error_rate == doctest::Approx(0.2));
    REQUIRE(s.events[1].when_weight);
    CHECK(s.events[1].when_weight->subset == "kube-env");
    CHECK(s.events[1].when_weight->at_least == 25);
    CHECK(s.events[1].set->latency->p99 == Millis(2000));
    CHECK(s.events[2].control_plane->status == 503);
    CHECK(s.events[2].control_plane->duration == Millis(5000));
    CHECK(s.events[3].control_plane->delay == Millis(3000));
    CHECK(s.events[4].control_plane->down);
    CHECK(s.events[5].set->rps == 0);
    CHECK(describe_event(s.events[0]) == "at 20s: set apitier_default_svc_5000/kube-env errorRate=0.2");
    CHECK(describe_event(s.events[4]) == "at 55s: control plane down for 5s");
  }

  TEST_CASE("the single-service shorthand and the defaults") {
    const ScenarioParse p =
        parse_scenario("service: web_shop_svc_8080\nrps: 10\nsubsets: {a: {}, b: {instances: 4}}\n");
    INFO(diagnostics_of(p));
    REQUIRE(p.scenario);
    const Scenario& s = *p.scenario;
    CHECK(s.mesh == "default");
    CHECK(s.tag_key == "env");
    CHECK(s.tick == Millis(100));
    CHECK(s.seed == 1);
    REQUIRE(s.services.size() == 1);
    CHECK(s.services[0].port == 8080);  // from the _svc_<port> suffix
    CHECK(s.services[0].subsets[0].instances == 1);
    CHECK(s.services[0].subsets[0].error_rate == 0);
    CHECK(s.services[0].subsets[0].latency.median == Millis(10));
    CHECK(s.services[0].subsets[1].instances == 4);
    CHECK(parse_scenario("service: plain\nsubsets: {a: {}}\n").scenario->services[0].port == 80);
  }

  TEST_CASE("dataplane names and default ports") {
    CHECK(dataplane_name("apitier_default_svc_5000", "vm-env", 1) == "apitier-default-svc-5000-vm-env-1");
    CHECK(dataplane_name("Web:Front", "Kube.Env", 12) == "web-front-kube.env-12");
    CHECK(default_port("api_default_svc_5000") == 5000);
    CHECK(default_port("api_default_svc_99999") == 80);
    CHECK(default_port("api") == 80);
  }

  TEST_CASE("invalid scenarios are refused with located messages") {
    struct Case {
      const char* yaml;
      const char* expected;  // a whole diagnostic line
    };
    const Case cases[] = {
        {"service: a\nsubsets: {x: {}}\nrsp: 3\n",
         "s.yaml:3:1: rsp: unknown field \"rsp\" (did you mean \"rps\"?)"},
        {"service: a\nrps: -1\nsubsets: {x: {}}\n",
         "s.yaml:2:6: rps: must be between 0 and 1e7 requests per second"},
        {"service: a\nsubsets:\n  x: {errorRate: 1.5}\n",
         "s.yaml:3:18: subsets.x.errorRate: must be a fraction between 0 and 1"},
        {"service: a\nsubsets:\n  x: {latency: {median: 50ms, p99: 20ms}}\n",
         "s.yaml:3:36: subsets.x.latency.p99: must be at least the median (50ms)"},
        {"service: a\nsubsets:\n  x: {latency: {median: 50}}\n",
         "s.yaml:3:25: subsets.x.latency.median: invalid duration \"50\": use Prometheus syntax like 250ms, "
         "30s or "
         "1m30s"},
        {"service: a\nsubsets:\n  x: {latency: {median: 5ms}}\n",
         "s.yaml:3:16: subsets.x.latency.p99: is required"},
        {"service: a\nrps: 5\n",
         "s.yaml:1:1: subsets: is required: at least one subset (tag value -> settings)"},
        {"service: a\nsubsets:\n  x: {instances: two}\n",
         "s.yaml:3:18: subsets.x.instances: must be an integer, not \"two\""},
        {"service: a b\nsubsets: {x: {}}\n",
         "s.yaml:1:10: service: must be a Kuma tag value: alphanumeric characters, dots, dashes, colons and "
         "underscores"},
        {"services:\n  - {name: a, subsets: {x: {}}}\n  - {name: a, subsets: {y: {}}}\n",
         "s.yaml:3:5: services[1].name: duplicate service \"a\""},
        {"tagKey: kuma.io/service\nservice: a\nsubsets: {x: {}}\n",
         "s.yaml:1:9: tagKey: must be a Kuma tag name other than kuma.io/service: alphanumeric characters, "
         "dots, "
         "dashes, colons, slashes and underscores"},
        {"tagKey: mesh\nservice: a\nsubsets: {x: {}}\n",
         "s.yaml:1:9: tagKey: \"mesh\" would clash with a label meshsim exports (mesh); pick another tag "
         "name"},
        {"mesh: Default\nservice: a\nsubsets: {x: {}}\n",
         "s.yaml:1:7: mesh: invalid characters. A lowercase RFC 1123 subdomain must consist of lower case "
         "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"},
        {"tick: 0s\nservice: a\nsubsets: {x: {}}\n", "s.yaml:1:7: tick: must be between 1ms and 10s"},
        {"service: a\nport: 70000\nsubsets: {x: {}}\n", "s.yaml:2:7: port: must be between 1 and 65535"},
        {"services: []\n", "s.yaml:1:11: services: must be a non-empty list of services"},
        {"services:\n  - {name: a, subsets: {x: {}}}\nservice: b\n",
         "s.yaml:2:3: services: use either `services` or the single-service shorthand (service, port, rps, "
         "subsets), not both"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, whenWeight: {subset: x, atLeast: 5}, set: "
         "{rps: 1}}\n",
         "s.yaml:4:5: events[0]: use either `at` or `whenWeight`, not both"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s}\n",
         "s.yaml:4:5: events[0]: needs exactly one action: `set` or `controlPlane`"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {set: {rps: 1}}\n",
         "s.yaml:4:5: events[0]: needs a trigger: `at: DURATION` or `whenWeight: {subset, atLeast}`"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, subset: y, set: {errorRate: 0.5}}\n",
         "s.yaml:4:22: events[0].subset: no subset \"y\" in service a"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, set: {errorRate: 0.5}}\n",
         "s.yaml:4:5: events[0].subset: is required to change errorRate, latency or instances"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {whenWeight: {subset: x, atLeast: 150}, set: {rps: "
         "1}}\n",
         "s.yaml:4:39: events[0].whenWeight.atLeast: must be a percentage between 0 and 100"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, controlPlane: {status: 503, delay: 1s, for: "
         "1s}}\n",
         "s.yaml:4:28: events[0].controlPlane: needs exactly one of status, delay, down"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, controlPlane: {status: 503}}\n",
         "s.yaml:4:28: events[0].controlPlane.for: is required: how long the control-plane fault lasts"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, controlPlane: {status: 700, for: 1s}}\n",
         "s.yaml:4:37: events[0].controlPlane.status: must be an HTTP status code (100..599)"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, controlPlane: {down: false, for: 1s}}\n",
         "s.yaml:4:35: events[0].controlPlane.down: must be true (omit the event to keep the API up)"},
        {"services:\n  - {name: a, subsets: {x: {}}}\n  - {name: b, subsets: {x: {}}}\nevents:\n"
         "  - {at: 1s, set: {rps: 1}}\n",
         "s.yaml:5:5: events[0].service: is required when the scenario has more than one service"},
        {"service: a\nsubsets: {x: {}}\nevents:\n  - {at: 1s, service: zz, set: {rps: 1}}\n",
         "s.yaml:4:23: events[0].service: no service \"zz\" in the scenario"},
        {"service: a\nsubsets:\n  x: {serviceName: a}\n",
         "s.yaml:3:20: subsets.x.serviceName: must differ from the "
         "service's own name"},
        {"service: a\nsubsets: {x: {}\n", "s.yaml:3:1: invalid YAML: end of map flow not found"},
        {"service: a\nsubsets: {x: {}}\nservice: b\n", "s.yaml:3:1: service: duplicate key"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.yaml);
      const ScenarioParse p = parse_scenario(c.yaml, "s.yaml");
      CHECK_FALSE(p.scenario);
      const std::string all = diagnostics_of(p);
      CAPTURE(all);
      CHECK(all.find(std::string(c.expected) + "\n") != std::string::npos);
    }
  }

  TEST_CASE("every problem is reported at once") {
    const ScenarioParse p = parse_scenario(
        "service: a\nrps: -5\nsubsets:\n  x: {instances: -1, errorRate: 2, latency: {median: 0ms, p99: 1s}}\n"
        "colour: blue\n",
        "s.yaml");
    CHECK_FALSE(p.scenario);
    CHECK(p.diagnostics.size() == 5);
  }

  TEST_CASE("run-time events parse against the scenario, `at` optional") {
    const ScenarioParse p = parse_scenario(k_issue_scenario);
    REQUIRE(p.scenario);
    const EventParse ok = parse_event(R"({"controlPlane": {"status": 503, "for": "5s"}})", *p.scenario);
    REQUIRE(ok.event);
    CHECK_FALSE(ok.event->at);
    CHECK(ok.event->control_plane->status == 503);
    const EventParse set = parse_event(R"({"subset": "kube-env", "set": {"errorRate": 0.5}})", *p.scenario);
    REQUIRE(set.event);
    CHECK(set.event->service == "apitier_default_svc_5000");
    const EventParse bad = parse_event(R"({"subset": "nope", "set": {"errorRate": 0.5}})", *p.scenario);
    CHECK_FALSE(bad.event);
    REQUIRE(bad.diagnostics.size() == 1);
    CHECK(format_diagnostic(bad.diagnostics[0]) ==
          "<event>:1:12: subset: no subset \"nope\" in service apitier_default_svc_5000");
  }
}
