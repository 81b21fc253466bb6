// Statistics and routing of the traffic model, on the virtual clock. Tolerances are 5 binomial standard
// deviations (a false failure about once in 1.7 million runs), and every seed is fixed.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/unit/sim/sim_test_helpers.hpp"

using namespace meshmove::sim;
using namespace meshmove::sim::testing;

namespace {

constexpr const char* k_two_subsets = R"(
service: api_default_svc_5000
rps: 400
subsets:
  vm-env:   {instances: 3, errorRate: 0.002, latency: {median: 20ms, p99: 90ms}}
  kube-env: {instances: 2, errorRate: 0.05, latency: {median: 18ms, p99: 80ms}}
)";
constexpr const char* k_svc = "api_default_svc_5000";

// Counts from now on: the difference of a subset's counters over `ticks` more ticks.
Counters delta_over(Simulation& sim, const char* subset, int ticks) {
  const Counters before = sim.subset_counters(k_svc, subset);
  for (int i = 0; i < ticks; ++i) sim.run_tick();
  Counters after = sim.subset_counters(k_svc, subset);
  after.requests -= before.requests;
  after.errors -= before.errors;
  after.latency_sum_ms -= before.latency_sum_ms;
  for (std::size_t b = 0; b < k_bucket_count; ++b) after.buckets[b] -= before.buckets[b];
  return after;
}

// Prometheus' histogram_quantile on whole-bucket counts (linear interpolation inside the bucket).
double histogram_quantile(double q, const Counters& c) {
  const double rank = q * static_cast<double>(c.requests);
  double cumulative = 0;
  double lower = 0;
  for (std::size_t b = 0; b < k_latency_bounds_ms.size(); ++b) {
    const double next = cumulative + static_cast<double>(c.buckets[b]);
    if (next >= rank) {
      return lower +
             (k_latency_bounds_ms[b] - lower) * (rank - cumulative) / static_cast<double>(c.buckets[b]);
    }
    cumulative = next;
    lower = k_latency_bounds_ms[b];
  }
  return lower;
}

}  // namespace

TEST_SUITE("sim::Simulation") {
  TEST_CASE("without a policy traffic splits by instance count") {
    Simulation sim(scenario_from(k_two_subsets));
    CHECK(sim.weight_percent(k_svc, "vm-env") == doctest::Approx(60));
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(40));
    CHECK_FALSE(sim.policy_in_effect(k_svc).kind);
    sim.advance(Millis(10000));
    CHECK(sim.now() == Millis(10000));
    const auto vm = sim.subset_counters(k_svc, "vm-env").requests;
    const auto kube = sim.subset_counters(k_svc, "kube-env").requests;
    CHECK(vm + kube == 4000);  // 400 rps x 10 s
    // Kuma's default round robin over all five endpoints: exact to a request per instance.
    CHECK(vm == doctest::Approx(2400).epsilon(0.001));
  }

  TEST_CASE("a MeshHTTPRoute splits the traffic by backendRef weights, from the next tick") {
    Simulation sim(scenario_from(k_two_subsets));
    install(sim, http_route("meshmove-api", k_svc, {{"vm-env", 30}, {"kube-env", 70}}));
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(40));  // not yet in effect
    sim.run_tick();
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(70));
    CHECK(sim.policy_in_effect(k_svc).kind == PolicyKind::MeshHTTPRoute);
    CHECK(sim.policy_in_effect(k_svc).name == "meshmove-api");
    const Counters kube_before = sim.subset_counters(k_svc, "kube-env");
    const Counters vm_before = sim.subset_counters(k_svc, "vm-env");
    for (int i = 0; i < 600; ++i) sim.run_tick();
    const double kube =
        static_cast<double>(sim.subset_counters(k_svc, "kube-env").requests - kube_before.requests);
    const double total =
        kube + static_cast<double>(sim.subset_counters(k_svc, "vm-env").requests - vm_before.requests);
    CHECK(total == 24000);
    CHECK(std::abs(kube - 0.7 * total) <= binomial_sigmas(5, total, 0.7));
  }

  TEST_CASE("weight 0 and an absent backendRef get nothing") {
    Simulation sim(scenario_from(k_two_subsets));
    install(sim, http_route("zero", k_svc, {{"vm-env", 100}, {"kube-env", 0}}));
    sim.run_tick();
    CHECK(delta_over(sim, "kube-env", 100).requests == 0);
    CHECK(sim.weight_percent(k_svc, "kube-env") == 0);
    install(sim, http_route("zero", k_svc, {{"vm-env", 1}}));
    sim.run_tick();
    CHECK(delta_over(sim, "kube-env", 100).requests == 0);
    CHECK(delta_over(sim, "vm-env", 100).requests == 4000);
  }

  TEST_CASE("MeshHTTPRoute wins over MeshTCPRoute, which wins over TrafficRoute") {
    Simulation sim(scenario_from(k_two_subsets));
    install(sim, traffic_route("tr", k_svc, {{"vm-env", 75}, {"kube-env", 25}}));
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).kind == PolicyKind::TrafficRoute);
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(25));
    install(sim,
            route_json("MeshTCPRoute", "tcp", k_svc, subset_refs(k_svc, {{"vm-env", 50}, {"kube-env", 50}})));
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).kind == PolicyKind::MeshTCPRoute);
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(50));
    install(sim, http_route("http", k_svc, {{"vm-env", 10}, {"kube-env", 90}}));
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).kind == PolicyKind::MeshHTTPRoute);
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(90));
    CHECK(sim.delete_policy(PolicyKind::MeshHTTPRoute, "http"));
    CHECK_FALSE(sim.delete_policy(PolicyKind::MeshHTTPRoute, "http"));
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).kind == PolicyKind::MeshTCPRoute);
  }

  TEST_CASE("among routes of one kind Kuma's order picks the winner: the smaller name, the later TrafficRoute") {
    // Kuma sorts targetRef policies by name in inverted lexicographic order and merges later over
    // earlier, so "mm-aaa" has priority over "mm-zzz" (pkg/plugins/policies/core/rules/sort.go).
    Simulation sim(scenario_from(k_two_subsets));
    install(sim, http_route("mm-zzz", k_svc, {{"vm-env", 0}, {"kube-env", 100}}));
    install(sim, http_route("mm-aaa", k_svc, {{"vm-env", 100}, {"kube-env", 0}}));
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).name == "mm-aaa");
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(0));
    // A more specific top-level targetRef beats the name.
    std::string narrow = http_route("mm-zzz", k_svc, {{"vm-env", 0}, {"kube-env", 100}});
    narrow.replace(narrow.find(R"({"kind":"Mesh"})"), 15, R"({"kind":"MeshSubset","tags":{"app":"x"}})");
    install(sim, narrow);
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).name == "mm-zzz");
    // A route whose rules do not match GET / decides none of that traffic, however specific.
    std::string partial = http_route("mm-000", k_svc, {{"vm-env", 50}, {"kube-env", 50}});
    partial.replace(partial.find(R"("value":"/")"), 11, R"("value":"/v2")");
    partial.replace(partial.find(R"({"kind":"Mesh"})"), 15, R"({"kind":"Dataplane","labels":{"app":"x"}})");
    install(sim, partial);
    sim.run_tick();
    CHECK(sim.policy_in_effect(k_svc).name == "mm-zzz");
    // TrafficRoutes: of equally specific ones the one created last wins, whatever its name.
    Simulation legacy(scenario_from(k_two_subsets));
    install(legacy, traffic_route("tr-b", k_svc, {{"vm-env", 100}, {"kube-env", 0}}));
    install(legacy, traffic_route("tr-a", k_svc, {{"vm-env", 0}, {"kube-env", 100}}));
    install(legacy, traffic_route("tr-b", k_svc, {{"vm-env", 90}, {"kube-env", 10}}));  // an update keeps its age
    legacy.run_tick();
    CHECK(legacy.policy_in_effect(k_svc).name == "tr-a");
    CHECK(legacy.weight_percent(k_svc, "kube-env") == doctest::Approx(100));
  }

  TEST_CASE("a route to two MeshServices splits between subsets registered under their own names") {
    Simulation sim(scenario_from(R"(
service: api_default_svc_5000
rps: 1000
subsets:
  vm-env:   {instances: 2, serviceName: api-vm_default_svc_5000}
  kube-env: {instances: 3, serviceName: api-kube_default_svc_5000}
)"));
    const std::string refs = R"({"kind":"MeshService","name":"api-vm_default_svc_5000","weight":20},)"
                             R"({"kind":"MeshService","name":"api-kube_default_svc_5000","weight":80})";
    install(sim, route_json("MeshHTTPRoute", "by-service", k_svc, refs));
    sim.run_tick();
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(80));
    const double kube = static_cast<double>(delta_over(sim, "kube-env", 300).requests);
    CHECK(std::abs(kube - 0.8 * 30000) <=
          binomial_sigmas(5, 30000, 0.8) + 100);  // +100: the vm share's variance
    // The apex name selects every instance of the apex service.
    install(sim, route_json("MeshHTTPRoute", "by-service", k_svc,
                            R"({"kind":"MeshService","name":"api_default_svc_5000"})"));
    sim.run_tick();
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(60));
  }

  TEST_CASE("a backend without endpoints drops its share") {
    Simulation sim(scenario_from(k_two_subsets));
    const std::string refs =
        subset_refs(k_svc, {{"vm-env", 50}}) + R"(,{"kind":"MeshService","name":"gone","weight":50})";
    install(sim, route_json("MeshHTTPRoute", "half", k_svc, refs));
    sim.run_tick();
    const auto unrouted_before = sim.unrouted(k_svc);
    const double vm = static_cast<double>(delta_over(sim, "vm-env", 500).requests);
    const double dropped = static_cast<double>(sim.unrouted(k_svc) - unrouted_before);
    CHECK(vm + dropped == 20000);
    CHECK(std::abs(dropped - 10000) <= binomial_sigmas(5, 20000, 0.5));
    CHECK(sim.weight_percent(k_svc, "vm-env") == doctest::Approx(50));
  }

  TEST_CASE("5xx counts stay within the binomial interval") {
    Simulation sim(scenario_from(k_two_subsets));
    sim.run_tick();
    const Counters kube = delta_over(sim, "kube-env", 3000);  // 300 s: ~48000 requests at 5 %
    const double n = static_cast<double>(kube.requests);
    CHECK(n == doctest::Approx(48000).epsilon(0.001));
    CHECK(std::abs(static_cast<double>(kube.errors) - 0.05 * n) <= binomial_sigmas(5, n, 0.05));
  }

  TEST_CASE("latency buckets follow the log-normal fitted to the median and p99") {
    // One instance takes 10 requests a tick on the first subset (one draw per request) and 500 on the second
    // (a multinomial over the buckets); both must give the same distribution.
    Simulation sim(scenario_from(R"(
services:
  - name: low
    rps: 100
    subsets: {a: {instances: 1, latency: {median: 20ms, p99: 90ms}}}
  - name: high
    rps: 5000
    subsets: {a: {instances: 1, latency: {median: 20ms, p99: 90ms}}}
)"));
    for (int i = 0; i < 1200; ++i) sim.run_tick();
    const LogNormal dist = LogNormal::fit(20, 90);
    for (const char* service : {"low", "high"}) {
      CAPTURE(service);
      const Counters c = sim.subset_counters(service, "a");
      const double n = static_cast<double>(c.requests);
      REQUIRE(n > 10000);
      double cumulative = 0;
      for (std::size_t b = 0; b < k_latency_bounds_ms.size(); ++b) {
        cumulative += static_cast<double>(c.buckets[b]);
        // A whole-millisecond latency v falls at or below the bound when the real one is below floor(bound)
        // + 1.
        const double p = dist.cdf(std::floor(k_latency_bounds_ms[b]) + 1);
        CAPTURE(k_latency_bounds_ms[b]);
        CHECK(std::abs(cumulative - p * n) <= binomial_sigmas(5, n, p) + 1e-9);
      }
      const double median = histogram_quantile(0.5, c);
      const double p99 = histogram_quantile(0.99, c);
      CHECK(median == doctest::Approx(20).epsilon(0.15));
      CHECK(p99 == doctest::Approx(90).epsilon(0.15));
      // Envoy records whole milliseconds: the mean is E[X] - 0.5 give or take.
      const double mean = static_cast<double>(c.latency_sum_ms) / n;
      const double true_mean = std::exp(dist.mu() + dist.sigma() * dist.sigma() / 2);
      const double sd = true_mean * std::sqrt(std::exp(dist.sigma() * dist.sigma()) - 1);
      CHECK(std::abs(mean - (true_mean - 0.5)) <= 5 * sd / std::sqrt(n) + 0.1);
    }
  }

  TEST_CASE("the same seed and the same writes at the same ticks give the same counts") {
    auto run = [](std::uint64_t seed) {
      Scenario s = scenario_from(k_two_subsets);
      s.seed = seed;
      Simulation sim(std::move(s));
      for (int i = 0; i < 50; ++i) sim.run_tick();
      install(sim, http_route("r", k_svc, {{"vm-env", 40}, {"kube-env", 60}}));
      for (int i = 0; i < 150; ++i) sim.run_tick();
      return sim.metrics_text() + sim.state_json().dump();
    };
    CHECK(run(7) == run(7));
    CHECK(run(7) != run(8));
  }

  TEST_CASE("events fire at their time and change the model") {
    Simulation sim(scenario_from(R"(
service: api_default_svc_5000
rps: 100
subsets: {vm-env: {instances: 1}, kube-env: {instances: 1}}
events:
  - {at: 1s, subset: kube-env, set: {errorRate: 1}}
  - {at: 2s, set: {rps: 0}}
  - {at: 1s, controlPlane: {status: 503, for: 500ms}}
  - {at: 3s, subset: kube-env, set: {instances: 3}}
)"));
    sim.advance(Millis(1000));
    CHECK(sim.subset_counters(k_svc, "kube-env").errors == 0);
    CHECK(sim.control_plane().status == 0);
    sim.run_tick();  // the tick at 1.0 s
    CHECK(sim.control_plane().status == 503);
    CHECK(sim.subset_counters(k_svc, "kube-env").errors == 5);  // every request of that tick
    sim.advance(Millis(400));  // ticks at 1.1 .. 1.4 s: still inside the window
    CHECK(sim.control_plane().status == 503);
    sim.run_tick();  // 1.5 s: the window [1 s, 1.5 s) is over
    CHECK(sim.control_plane().status == 0);
    sim.advance(Millis(1000));
    const auto requests = sim.subset_counters(k_svc, "vm-env").requests;
    sim.advance(Millis(300));                                          // ticks at 2.6 .. 2.8 s
    CHECK(sim.subset_counters(k_svc, "vm-env").requests == requests);  // rps 0 since 2 s
    CHECK(sim.active_instances(k_svc, "kube-env") == 1);
    sim.advance(Millis(200));  // ticks at 2.9 and 3.0 s
    CHECK(sim.active_instances(k_svc, "kube-env") == 3);
    CHECK(sim.dataplanes().size() == 4);
    CHECK(sim.weight_percent(k_svc, "kube-env") == doctest::Approx(75));
    REQUIRE(sim.fired_events().size() == 4);
    CHECK(sim.fired_events()[0].description == "at 1s: set api_default_svc_5000/kube-env errorRate=1");
    CHECK(sim.fired_events()[3].sim_time == Millis(3000));
  }

  TEST_CASE("whenWeight fires the first tick the weight is reached, and injected events at the next tick") {
    Simulation sim(scenario_from(R"(
service: api_default_svc_5000
rps: 100
subsets: {vm-env: {instances: 1}, kube-env: {instances: 1}}
events:
  - {whenWeight: {subset: kube-env, atLeast: 60}, subset: kube-env, set: {errorRate: 1}}
)"));
    sim.advance(Millis(2000));
    CHECK(sim.fired_events().empty());  // 50 % by instance count
    install(sim, http_route("r", k_svc, {{"vm-env", 30}, {"kube-env", 70}}));
    sim.run_tick();
    REQUIRE(sim.fired_events().size() == 1);
    CHECK(sim.fired_events()[0].sim_time == Millis(2000));
    const Counters kube = delta_over(sim, "kube-env", 10);
    CHECK(kube.errors == kube.requests);

    EventSpec down;
    down.control_plane = ControlPlaneChange{std::nullopt, std::nullopt, true, Millis(300)};
    sim.inject_event(down);
    CHECK_FALSE(sim.control_plane().down);
    sim.run_tick();
    CHECK(sim.control_plane().down);
    sim.advance(Millis(300));
    CHECK_FALSE(sim.control_plane().down);
    CHECK(sim.fired_events().back().index == 1);
  }

  TEST_CASE("an invalid policy is refused and changes nothing") {
    Simulation sim(scenario_from(k_two_subsets));
    const PolicyCheck check =
        sim.apply_policy(Json::parse(R"({"type":"MeshHTTPRoute","name":"x","spec":{"to":[
      {"targetRef":{"kind":"MeshService","name":"api_default_svc_5000"},
       "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/"}}],
                 "default":{"backendRefs":[{"kind":"MeshServiceSubset","tags":{"env":"vm-env"}}]}}]}]}})"));
    CHECK_FALSE(check.ok());
    REQUIRE(check.violations.size() == 1);
    CHECK(check.violations[0].field == "spec.to[0].rules[0].default.backendRefs[0].name");
    CHECK(check.violations[0].reason == "must be set when kind is MeshServiceSubset");
    Json doc = Json::parse(http_route("y", k_svc, {{"vm-env", 1}}));
    doc["mesh"] = "other";
    const PolicyCheck other_mesh = sim.apply_policy(doc);
    CHECK_FALSE(other_mesh.ok());
    REQUIRE(other_mesh.violations.size() == 1);
    CHECK(other_mesh.violations[0].reason == "mesh of name other is not found");
    sim.run_tick();
    CHECK_FALSE(sim.policy_in_effect(k_svc).kind);
  }
}
