#pragma once
// meshsim scenarios: what the simulated mesh serves, and what happens to it over time.
//
// Format (YAML; JSON works too). Every field but the services is optional; unknown fields are errors.
//
//   mesh: default              # the one mesh that exists (RFC 1123 name); default "default"
//   tagKey: env                # the dataplane tag that tells the subsets apart; default "env"
//   tick: 100ms                # simulation step (Prometheus duration, 1ms..10s); default 100ms
//   seed: 1                    # RNG seed (unsigned integer); default 1
//   services:
//     - name: apitier_default_svc_5000   # the kuma.io/service tag value
//       port: 5000             # service port; default: the name's _svc_<port> suffix, else 80
//       rps: 400               # requests per second offered to the service (>= 0); default 0
//       subsets:               # tag value -> subset, in this order (at least one)
//         vm-env:   {instances: 3, errorRate: 0.002, latency: {median: 20ms, p99: 90ms}}
//         kube-env: {instances: 2, errorRate: 0.002, latency: {median: 18ms, p99: 80ms},
//                    serviceName: apitier-kube_default_svc_5000}
//   events:
//     - {at: 20s, subset: kube-env, set: {errorRate: 0.2}}
//     - {whenWeight: {subset: kube-env, atLeast: 25}, subset: kube-env,
//        set: {latency: {median: 300ms, p99: 2s}}}
//     - {at: 40s, controlPlane: {status: 503, for: 5s}}
//     - {at: 50s, controlPlane: {delay: 3s, for: 5s}}
//     - {at: 55s, controlPlane: {down: true, for: 5s}}
//     - {at: 60s, set: {rps: 0}}
//
// Subsets: instances (integer >= 0, default 1), errorRate (fraction 0..1 of requests answered 503,
// default 0), latency {median, p99} (durations, 0 < median <= p99; default 10ms/50ms), serviceName
// (optional: the subset's instances also register under this kuma.io/service name, so that a route
// can split between two MeshServices, the form Kuma 3.0 keeps).
// Single-service shorthand: top-level `service`, `port`, `rps`, `subsets` instead of `services`.
// Events: exactly one trigger, `at` (time since start) or `whenWeight` {subset, atLeast: percent}
// (fires once, the first tick the subset's effective weight is at least that), and exactly one action:
//   set: {errorRate | latency | instances} of `subset`, or {rps} of the service;
//   controlPlane: {status: 100..599 | delay: DURATION | down: true, for: DURATION} - the API answers
//     that status with a /std-errors body, delays every response, or refuses connections, for that long.
// `service:` picks the service of an event (needed when there is more than one service).
// Dataplane names are `<service>-<subset>-<i>` (i from 1) made RFC 1123 compliant.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/diagnostic.hpp"

namespace meshmove::sim {

using Millis = std::chrono::milliseconds;

struct Latency {
  Millis median{10};
  Millis p99{50};
};

struct SubsetSpec {
  std::string name;  // the value of the tag key
  int instances = 1;
  double error_rate = 0;  // fraction of requests answered with a 5xx
  Latency latency;
  std::string service_name;  // additional kuma.io/service registration; empty when none
};

struct ServiceSpec {
  std::string name;  // kuma.io/service
  int port = 80;
  double rps = 0;  // requests per second
  std::vector<SubsetSpec> subsets;
};

struct SetChange {
  std::optional<double> error_rate;
  std::optional<Latency> latency;
  std::optional<int> instances;
  std::optional<double> rps;
};

struct ControlPlaneChange {
  std::optional<int> status;    // HTTP status every API request gets
  std::optional<Millis> delay;  // added before every API response
  bool down = false;            // the API listener refuses connections
  Millis duration{0};           // `for`
};

struct WhenWeight {
  std::string subset;
  double at_least = 0;  // percent
};

struct EventSpec {
  std::optional<Millis> at;               // sim time; absent for whenWeight or run-time injected events
  std::optional<WhenWeight> when_weight;  // alternative trigger
  std::string service;                    // resolved service name; empty for control-plane-only events
  std::string subset;                     // for subset settings
  std::optional<SetChange> set;
  std::optional<ControlPlaneChange> control_plane;
  int line = 0;  // where it was written (0 when injected without a file)
};

struct Scenario {
  std::string file;  // as given to parse_scenario
  std::string mesh = "default";
  std::string tag_key = "env";
  Millis tick{100};
  std::uint64_t seed = 1;
  std::vector<ServiceSpec> services;
  std::vector<EventSpec> events;
};

struct ScenarioParse {
  std::optional<Scenario> scenario;  // set when there are no errors
  std::vector<planner::Diagnostic> diagnostics;
};

// Parses and validates a scenario from text. Every problem is reported, located
// (file:line:col: field.path: message); `file` is only used in the diagnostics.
ScenarioParse parse_scenario(std::string_view text, const std::string& file = "<scenario>");

struct EventParse {
  std::optional<EventSpec> event;
  std::vector<planner::Diagnostic> diagnostics;
};

// Parses one event object (YAML or JSON) in the scenario's event format, validated against `scenario`
// (services and subsets must exist). Used by POST /_sim/events; `at` is optional there.
EventParse parse_event(std::string_view text, const Scenario& scenario, const std::string& file = "<event>");

// A one-line human description, e.g. "at 20s: set kube-env errorRate=0.2".
std::string describe_event(const EventSpec& event);

// The dataplane name of instance `ordinal` (1-based): "<service>-<subset>-<ordinal>", lower-cased, with
// every character outside [a-z0-9.-] replaced by '-' and leading/trailing '-' or '.' trimmed.
std::string dataplane_name(std::string_view service, std::string_view subset, int ordinal);

// The service port implied by a name ending in "_svc_<port>" (Kuma's Kubernetes naming), else 80.
int default_port(std::string_view service_name);

}  // namespace meshmove::sim
