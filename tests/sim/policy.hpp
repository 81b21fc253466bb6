#pragma once
// Kuma routing policies as meshsim understands them: validation with Kuma's rules and wording, and the
// routing each policy implies for the traffic model.
//
// Validation follows Kuma 2.x (see ../shared/reference/kuma-api.md): for the plugin policies
// (MeshHTTPRoute, MeshTCPRoute) the structural schema runs first (kube-openapi wording, e.g.
// `spec.to[0].rules[0].matches` "in body is required"), and only a schema-valid document reaches the spec
// validators (`spec.to[0].rules[0].default.backendRefs[1].name` "must be set when kind is
// MeshServiceSubset"), as Kuma validates inside unmarshal. TrafficRoute (legacy, flattened envelope) has
// no schema: a body of the wrong shape is a "Bad Request", then Kuma's TrafficRoute validator runs.
// Defaults applied like Kuma's schema defaulting: `mesh: default`, backendRef `weight: 1`.
//
// Deliberate strictness beyond Kuma (which silently drops unknown fields): `matches` in a MeshTCPRoute
// rule is refused ("field not declared in schema"), so a client that sends one learns of it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace meshmove::sim {

using Json = nlohmann::ordered_json;

enum class PolicyKind { MeshHTTPRoute, MeshTCPRoute, TrafficRoute };

// "MeshHTTPRoute", "MeshTCPRoute", "TrafficRoute".
std::string_view type_name(PolicyKind kind);
// The REST collection: "meshhttproutes", "meshtcproutes", "traffic-routes".
std::string_view collection_name(PolicyKind kind);
// Kuma's short name used in KRIs: "mhttpr", "mtcpr", "tr".
std::string_view short_name(PolicyKind kind);
std::optional<PolicyKind> kind_from_type(std::string_view type);
std::optional<PolicyKind> kind_from_collection(std::string_view collection);
// Plugin policies put their body under `spec`; legacy ones (TrafficRoute) are flattened.
bool is_plugin_policy(PolicyKind kind);

struct FieldError {
  std::string field;   // e.g. "spec.to[0].rules[0].default.backendRefs[1].name"
  std::string reason;  // Kuma's wording
};

// One weighted destination of a route.
struct Backend {
  enum class Kind {
    MeshService,        // every instance registered under `name`
    MeshServiceSubset,  // instances registered under `name` whose tags match `tags`
    Tags,               // TrafficRoute: instances whose tags (kuma.io/service included) match `tags`
    Unresolvable,       // MeshExternalService, MeshMultiZoneService: no simulated endpoints
  };
  Kind kind = Kind::MeshService;
  std::string name;
  std::map<std::string, std::string> tags;
  std::uint64_t weight = 1;  // relative; 0 gets nothing
};

// What a policy says about traffic to one destination service.
struct RouteRule {
  std::string service;        // kuma.io/service of the destination ("*" for a TrafficRoute wildcard)
  bool has_backends = false;  // false: the applicable rule names no backends, so the default route applies
  bool decides = true;        // MeshHTTPRoute: false when no rule matches the simulated GET /, so the policy
                              // decides none of that traffic (rules merge by matches across policies)
  std::vector<Backend> backends;
};

struct Policy {
  PolicyKind kind = PolicyKind::MeshHTTPRoute;
  std::string name;
  std::string mesh;
  int specificity = 0;  // rank of the top-level targetRef kind (Mesh 0 ... Dataplane 4); more specific wins
  std::uint64_t created = 0;  // creation order, set by Simulation::set_policy (TrafficRoute: later wins)
  std::vector<RouteRule> rules;
};

struct PolicyCheck {
  std::string bad_request;             // non-empty: the body does not have the shape of the type at all
  std::vector<FieldError> violations;  // schema or spec violations
  std::vector<std::string> warnings;   // returned in the PUT body (deprecations)
  Json normalized;                     // the document with Kuma's defaults applied
  std::optional<Policy> policy;        // set exactly when the document is valid

  [[nodiscard]] bool ok() const { return policy.has_value(); }
};

// Validates `doc` as a PUT body of `kind` and, when valid, extracts its routing. Never throws for any
// JSON input.
PolicyCheck check_policy(PolicyKind kind, const Json& doc);

namespace detail {
// Schema validation of plugin policies (policy_schema.cpp): appends kube-openapi style violations and
// applies defaults to `doc` in place.
void validate_plugin_schema(PolicyKind kind, Json& doc, std::vector<FieldError>& out);
}  // namespace detail

}  // namespace meshmove::sim
