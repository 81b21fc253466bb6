#pragma once
// Fixed plans for the fuzz targets that need one, parsed once (a plan that does not parse is a bug of
// the target: it traps at start-up).
#include <string>

#include "planner/plan.hpp"
#include "planner/plan_parser.hpp"

namespace meshmove::fuzz {

inline planner::Plan fixed_plan(const std::string& yaml) {
  auto parsed = planner::parse_plan(yaml, "fuzz.yaml");
  if (!parsed.ok()) __builtin_trap();
  return *parsed.plan;
}

// A plan with every kind of gate: error rate, latency by percentile and by slow fraction, relative,
// custom with a max and with a min, judged on both sets. `decision` is "sequential" or "threshold".
inline std::string gates_plan_yaml(const std::string& decision) {
  return R"(apiVersion: meshmove/v1
kind: Migration
metadata: {name: fuzz-gates}
service: apitier_default_svc_5000
mesh: default
tagKey: env
from: vm-env
to: kube-env
steps: [10, 50, 100]
bake: 10m
interval: 30s
settle: 30s
gates:
  prometheus: {url: http://127.0.0.1:9090, timeout: 5s}
  minRequests: 10
  onNoData: hold
  decision: )" + decision + R"(
  confidence: 0.99
  slos:
    - {name: errors, type: error-rate, max: 0.01, set: both}
    - {name: latency, type: latency, percentile: 99, max: 500ms, set: both}
    - {name: slow, type: latency, threshold: 300ms, maxSlowFraction: 0.05}
    - {name: no-worse-than-vms, type: error-rate, relativeTo: from, maxIncrease: 0.005}
    - name: connect-errors
      query: 'sum(increase(envoy_cluster_upstream_cx_connect_fail{mesh="{{mesh}}",{{tagKey}}="{{subset}}"}[{{window}}]))'
      max: 5
    - name: throughput
      query: 'sum(rate(envoy_cluster_upstream_rq_total{mesh="{{mesh}}",{{tagKey}}="{{subset}}"}[{{window}}]))'
      min: 1
)";
}

// A plan for the Kuma control plane with the given controlPlane.route; for mesh-service the sets are
// services of their own.
inline std::string kuma_plan_yaml(const std::string& route) {
  const bool services = route == "mesh-service";
  return std::string(R"(apiVersion: meshmove/v1
kind: Migration
metadata: {name: fuzz-kuma}
service: apitier_default_svc_5000
mesh: default
tagKey: env
)") + (services ? "from: apitier-vm_default_svc_5000\nto: apitier-kube_default_svc_5000\n"
                : "from: vm-env\nto: kube-env\n") +
         R"(controlPlane: {type: kuma, url: 'http://127.0.0.1:5681/', route: )" + route + R"(}
steps: [10, 50, 100]
bake: 1m
gates:
  slos:
    - {name: errors, type: error-rate, max: 0.01}
)";
}

}  // namespace meshmove::fuzz
