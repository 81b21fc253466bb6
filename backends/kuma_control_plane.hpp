#pragma once
// The Kuma control plane (universal-mode REST API, Kuma 2.x) as a planner::ControlPlane.
// Facts: ../shared/reference/kuma-api.md §1.
#include <memory>

#include "backends/http_transport.hpp"
#include "planner/control_plane.hpp"
#include "planner/plan.hpp"

namespace meshmove::backends {

// `transport` carries the URL's TLS settings and token; it must outlive the control plane.
std::unique_ptr<planner::ControlPlane> make_kuma_control_plane(const planner::Plan& plan, HttpTransport& transport);

// The REST collection of a route kind: meshhttproutes, meshtcproutes or traffic-routes.
const char* kuma_collection(planner::RouteKind route);
// The resource type of a route kind: MeshHTTPRoute, MeshTCPRoute or TrafficRoute.
const char* kuma_type(planner::RouteKind route);

}  // namespace meshmove::backends
