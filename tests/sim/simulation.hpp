#pragma once
// The traffic model of meshsim, usable in-process with a virtual clock (no I/O, no real time).
//
// Each tick (scenario `tick`, default 100 ms) of sim time t:
//   1. routing is recomputed if a policy or an instance count changed since the last tick;
//   2. due events fire in scenario order (`at` <= t, `whenWeight` reached, injected ones at once);
//   3. control-plane fault windows are evaluated at t;
//   4. each service offers floor(rps x tick + carry) requests, split over the route's backends by weight
//      (multinomial, so the split is random like Envoy's weighted clusters), and round-robin over each
//      backend's endpoints (instances); a backend without endpoints drops its share ("unrouted");
//   5. every instance that received n requests answers Binomial(n, errorRate) of them with 503 and draws
//      n latencies from its subset's log-normal (whole milliseconds, as Envoy records upstream_rq_time;
//      for n > 32 by a multinomial over the histogram buckets with each bucket's conditional mean).
// Routing for a service S: the MeshHTTPRoute, else MeshTCPRoute, else TrafficRoute whose `to[].targetRef`
// (MeshService name) or destination `kuma.io/service` names S; among several of one kind Kuma's order
// picks one (see recompute_routing: the most specific top-level targetRef, then the smallest name; for
// TrafficRoutes the exact destination, then the latest created). With none, or when the rule that applies names no
// backends, traffic goes to every instance registered under S (Kuma's default round robin).
// Deterministic: one seeded generator, fixed iteration order; the same seed and the same writes at the
// same ticks give the same counts. Not thread-safe: the caller serialises access.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tests/sim/policy.hpp"
#include "tests/sim/random.hpp"
#include "tests/sim/scenario.hpp"

namespace meshmove::sim {

// Envoy's default histogram bounds for upstream_rq_time, in milliseconds.
inline constexpr std::array<double, 19> k_latency_bounds_ms = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
inline constexpr std::size_t k_bucket_count = k_latency_bounds_ms.size() + 1;  // the last one is +Inf

// Cumulative counters of an instance or a subset; they never decrease.
struct Counters {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;                             // answered 503
  std::array<std::uint64_t, k_bucket_count> buckets{};  // per bucket, NOT cumulative; last: above 3600000 ms
  std::uint64_t latency_sum_ms = 0;                     // sum of whole-millisecond latencies

  void add(const Counters& other);
};

struct EffectivePolicy {
  std::optional<PolicyKind> kind;  // nullopt: no policy routes the service
  std::string name;
};

struct ControlPlaneState {
  int status = 0;     // 0: none; otherwise every API request is answered with this status
  Millis delay{0};    // added before every API response
  bool down = false;  // the API listener must refuse connections
};

struct FiredEvent {
  std::size_t index = 0;  // scenario order; injected events continue the numbering
  Millis sim_time{0};
  std::string description;
};

struct InboundInfo {
  int port = 0;
  int service_port = 0;
  std::map<std::string, std::string> tags;  // kuma.io/service and the tag key
};

struct DataplaneInfo {
  std::string name;
  std::string service;  // the scenario service it belongs to
  std::string subset;
  std::vector<InboundInfo> inbounds;  // one per kuma.io/service name it registers under
};

class Simulation {
 public:
  // `scenario` must be valid (as returned by parse_scenario).
  explicit Simulation(Scenario scenario);

  // Advances sim time, running every whole tick that fits; the remainder carries over to the next call.
  void advance(Millis duration);
  // Runs exactly one tick.
  void run_tick();
  // Sim time: number of ticks run x tick length.
  [[nodiscard]] Millis now() const { return m_now; }
  [[nodiscard]] const Scenario& scenario() const { return m_scenario; }

  // Validates `doc` (a PUT body: its `type` picks the kind) like Kuma's API and installs the policy when
  // valid; it takes effect from the next tick. A policy for another mesh is refused (violation on "mesh").
  PolicyCheck apply_policy(const Json& doc);
  // Installs an already validated policy, replacing the one of the same kind and name.
  void set_policy(Policy policy);
  // Removes a policy; false when there was none. Takes effect from the next tick.
  bool delete_policy(PolicyKind kind, std::string_view name);

  // Queues an event; it fires at the first tick its trigger allows (at once when it has none).
  void inject_event(EventSpec event);

  // Cumulative counters of a subset (all its instances, current and removed). Throws std::out_of_range
  // for an unknown service or subset.
  [[nodiscard]] Counters subset_counters(std::string_view service, std::string_view subset) const;
  // The effective share (percent, 0..100) of the service's traffic that reaches the subset.
  [[nodiscard]] double weight_percent(std::string_view service, std::string_view subset) const;
  [[nodiscard]] EffectivePolicy policy_in_effect(std::string_view service) const;
  // Requests of the service dropped because a backend had no endpoints.
  [[nodiscard]] std::uint64_t unrouted(std::string_view service) const;
  [[nodiscard]] int active_instances(std::string_view service, std::string_view subset) const;
  [[nodiscard]] ControlPlaneState control_plane() const { return m_control_plane; }
  [[nodiscard]] const std::vector<FiredEvent>& fired_events() const { return m_fired; }
  // The active dataplanes, in scenario order.
  [[nodiscard]] std::vector<DataplaneInfo> dataplanes() const;

  // Prometheus text exposition (format 0.0.4) of every active instance's Envoy inbound-cluster metrics.
  [[nodiscard]] std::string metrics_text() const;
  // Appends the exposition to `out` (reuse one buffer to avoid reallocating).
  void write_metrics(std::string& out) const;
  // The /_sim/state document (see README.md).
  [[nodiscard]] Json state_json() const;

 private:
  struct SubsetState {
    std::string name;
    std::string service_name;  // extra registration; empty when none
    double error_rate = 0;
    LogNormal latency;
    std::array<double, k_bucket_count> bucket_p{};     // P(whole-ms latency falls in bucket b)
    std::array<double, k_bucket_count> bucket_mean{};  // E[whole-ms latency | bucket b]
    int active = 0;
    std::vector<std::uint32_t> instances;  // every instance ever created, by ordinal
    Counters totals;
    double weight_percent = 0;
  };
  struct RouteEntry {
    std::uint64_t weight = 0;
    std::vector<std::uint32_t> endpoints;  // instance ids
    std::size_t cursor = 0;                // round-robin position
  };
  struct ServiceState {
    std::string name;
    int port = 80;
    double rps = 0;
    double carry = 0;  // fractional request carried to the next tick
    std::vector<SubsetState> subsets;
    std::vector<RouteEntry> route;
    std::uint64_t route_weight = 0;
    EffectivePolicy policy;
    std::uint64_t unrouted = 0;
  };
  struct Instance {
    std::uint32_t service = 0;
    std::uint32_t subset = 0;
    int ordinal = 0;
    bool active = true;
    std::uint64_t pending = 0;  // requests received this tick
    Counters counters;
    std::string name;
    std::vector<std::string> registered;  // kuma.io/service names: the service first, then serviceName
    std::string labels;                   // rendered Prometheus labels, without braces
  };
  struct PendingEvent {
    EventSpec spec;
    std::size_t index = 0;
    bool fired = false;
  };
  struct ControlPlaneWindow {
    Millis start{0};
    Millis end{0};
    ControlPlaneChange change;
  };

  void set_latency(SubsetState& subset, const Latency& latency);
  void set_instances(std::uint32_t service, std::uint32_t subset, int count);
  void recompute_routing();
  std::vector<std::uint32_t> resolve(const Backend& backend) const;
  [[nodiscard]] bool instance_matches(const Instance& inst, const std::string& registered_name,
                                      const std::map<std::string, std::string>& tags) const;
  void fire_due_events();
  void fire(PendingEvent& event);
  void generate(Instance& inst);
  [[nodiscard]] const ServiceState& service(std::string_view name) const;
  [[nodiscard]] const SubsetState& subset(std::string_view service, std::string_view name) const;

  Scenario m_scenario;
  Rng m_rng;
  Millis m_now{0};
  Millis m_pending_time{0};
  std::vector<ServiceState> m_services;
  std::vector<Instance> m_instances;
  std::unordered_map<std::string, std::vector<std::uint32_t>> m_by_name;  // active instances per registration
  std::map<std::pair<PolicyKind, std::string>, Policy> m_policies;
  std::uint64_t m_policies_created = 0;  // policies ever created (their creation order)
  bool m_routing_dirty = true;
  std::vector<PendingEvent> m_events;
  std::size_t m_next_event_index = 0;
  std::vector<FiredEvent> m_fired;
  std::vector<ControlPlaneWindow> m_windows;
  ControlPlaneState m_control_plane;
  std::string m_tag_label;         // sanitised tag key, e.g. "env"
  std::string m_tag_plural_label;  // e.g. "envs"
};

}  // namespace meshmove::sim
