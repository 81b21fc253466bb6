#pragma once
// Shared helpers of the meshsim unit tests: scenarios from text and routing policies as the JSON
// meshmove would PUT.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/scenario.hpp"
#include "tests/sim/simulation.hpp"

namespace meshmove::sim::testing {

// Parses a scenario that must be valid (fails the test otherwise).
inline Scenario scenario_from(const std::string& yaml) {
  ScenarioParse p = parse_scenario(yaml, "test.yaml");
  std::string problems;
  for (const auto& d : p.diagnostics) problems += planner::format_diagnostic(d) + "\n";
  INFO(problems);
  REQUIRE(p.scenario);
  return std::move(*p.scenario);
}

// backendRefs of MeshServiceSubset kind: {tag value, weight} pairs of `service`.
inline std::string subset_refs(const std::string& service,
                               const std::vector<std::pair<std::string, int>>& split,
                               const std::string& tag_key = "env") {
  std::string refs;
  for (const auto& [subset, weight] : split) {
    if (!refs.empty()) refs += ",";
    refs += R"({"kind":"MeshServiceSubset","name":")" + service + R"(","tags":{")" + tag_key + R"(":")" +
            subset + R"("},"weight":)" + std::to_string(weight) + "}";
  }
  return refs;
}

// A MeshHTTPRoute (or MeshTCPRoute) for `service` with the given backendRefs JSON.
inline std::string route_json(const std::string& type, const std::string& name, const std::string& service,
                              const std::string& refs) {
  const std::string rule =
      type == "MeshTCPRoute"
          ? R"({"default":{"backendRefs":[)" + refs + "]}}"
          : R"({"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"default":{"backendRefs":[)" + refs +
                "]}}";
  return R"({"type":")" + type + R"(","mesh":"default","name":")" + name +
         R"(","spec":{"targetRef":{"kind":"Mesh"},"to":[{"targetRef":{"kind":"MeshService","name":")" +
         service + R"("},"rules":[)" + rule + "]}]}}";
}

inline std::string http_route(const std::string& name, const std::string& service,
                              const std::vector<std::pair<std::string, int>>& split) {
  return route_json("MeshHTTPRoute", name, service, subset_refs(service, split));
}

inline std::string traffic_route(const std::string& name, const std::string& service,
                                 const std::vector<std::pair<std::string, int>>& split) {
  std::string entries;
  for (const auto& [subset, weight] : split) {
    if (!entries.empty()) entries += ",";
    entries += R"({"weight":)" + std::to_string(weight) + R"(,"destination":{"kuma.io/service":")" + service +
               R"(","env":")" + subset + R"("}})";
  }
  return R"({"type":"TrafficRoute","mesh":"default","name":")" + name +
         R"(","sources":[{"match":{"kuma.io/service":"*"}}],"destinations":[{"match":{"kuma.io/service":")" +
         service + R"("}}],"conf":{"split":[)" + entries + "]}}";
}

// Applies a policy document to the simulation; it must be valid.
inline void install(Simulation& sim, const std::string& json) {
  const PolicyCheck check = sim.apply_policy(Json::parse(json));
  std::string problems = check.bad_request;
  for (const auto& v : check.violations) problems += v.field + ": " + v.reason + "\n";
  INFO(problems);
  REQUIRE(check.ok());
}

// `k` standard deviations of a binomial count with n trials and probability p.
inline double binomial_sigmas(double k, double n, double p) { return k * std::sqrt(n * p * (1 - p)); }

}  // namespace meshmove::sim::testing
