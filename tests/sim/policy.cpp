// Spec validation of MeshHTTPRoute, MeshTCPRoute and TrafficRoute with Kuma's wording
// (pkg/plugins/policies/mesh{http,tcp}route/api/v1alpha1/valid*.go, pkg/core/resources/apis/mesh/
// traffic_route_validator.go and the targetRef validator, messages as of Kuma 2.14 per kuma-api.md), and
// the extraction of the routing each valid policy implies.
#include "tests/sim/policy.hpp"

#include <algorithm>
#include <regex>

#include "tests/sim/kuma_names.hpp"

namespace meshmove::sim {
namespace {

constexpr std::string_view k_service_tag = "kuma.io/service";
using Errors = std::vector<FieldError>;

std::string str(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool non_empty(const Json& obj, const char* key) {
  if (!obj.is_object()) return false;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_string()) return !it->get_ref<const std::string&>().empty();
  if (it->is_object() || it->is_array()) return !it->empty();
  return true;
}

std::map<std::string, std::string> string_map(const Json& obj, const char* key) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (kv.value().is_string()) out[kv.key()] = kv.value().get<std::string>();
  }
  return out;
}

// ValidateTags / ValidateSelector of Kuma's mesh validators, at `path` (keys as path["key"]).
void validate_tags(const std::map<std::string, std::string>& tags, const std::string& path, bool selector,
                   Errors& out) {
  for (const auto& [key, value] : tags) {
    if (key.empty()) out.push_back({path, "tag name must be non-empty"});
    if (!is_tag_name(key)) {
      out.push_back({path + quoted_key(key),
                     "tag name must consist of alphanumeric characters, dots, dashes, "
                     "slashes and underscores"});
    }
    if (value.empty()) out.push_back({path + quoted_key(key), "tag value must be non-empty"});
    if (selector && !is_selector_value(value)) {
      out.push_back({path + quoted_key(key),
                     "tag value must consist of alphanumeric characters, dots, dashes, "
                     "slashes and underscores or be \"*\""});
    } else if (!selector && !is_tag_value(value)) {
      out.push_back({path + quoted_key(key),
                     "tag value must consist of alphanumeric characters, dots, dashes and "
                     "underscores"});
    }
  }
}

// Kuma's ValidateTargetRef for one reference at `path` (e.g. "spec.to[0].targetRef").
void validate_target_ref(const Json& ref, const std::vector<std::string_view>& supported,
                         const std::string& path, Errors& out) {
  const std::string kind = str(ref, "kind");
  auto at = [&](const char* field) { return path + "." + field; };
  if (kind.empty()) {
    out.push_back({at("kind"), "must be defined"});
    return;
  }
  if (std::find(supported.begin(), supported.end(), kind) == supported.end()) {
    out.push_back({at("kind"), "value '" + kind + "' is not supported"});
    return;
  }
  auto disallow = [&](std::initializer_list<const char*> fields) {
    for (const auto* f : fields) {
      if (non_empty(ref, f)) out.push_back({at(f), "must not be set when kind is " + kind});
    }
  };
  auto require = [&](const char* field) {
    if (!non_empty(ref, field)) out.push_back({at(field), "must be set when kind is " + kind});
  };
  auto check_name = [&] {
    const std::string name = str(ref, "name");
    if (!name.empty() && !is_reference_name(name)) {
      out.push_back({at("name"),
                     "invalid characters: must consist of lower case alphanumeric characters, '-', '.' "
                     "and '_'."});
    }
  };
  const bool labels = non_empty(ref, "labels");
  if (kind == "Mesh") {
    if (non_empty(ref, "name")) out.push_back({at("name"), "using name with kind Mesh is not yet supported"});
    disallow({"mesh", "tags", "labels", "namespace", "sectionName"});
  } else if (kind == "Dataplane") {
    disallow({"tags", "mesh", "proxyTypes"});
    if (labels && (non_empty(ref, "name") || non_empty(ref, "namespace"))) {
      out.push_back({at("labels"), "either labels or name and namespace must be specified"});
    }
    if (non_empty(ref, "sectionName"))
      out.push_back({at("sectionName"), "can only be used with inbound policies"});
  } else if (kind == "MeshSubset") {
    disallow({"name", "mesh"});
    validate_tags(string_map(ref, "tags"), at("tags"), false, out);
    disallow({"labels", "namespace", "sectionName"});
  } else if (kind == "MeshService" || kind == "MeshHTTPRoute") {
    check_name();
    disallow({"mesh", "tags", "proxyTypes"});
    if (!labels) require("name");
    if (labels && (non_empty(ref, "name") || non_empty(ref, "namespace"))) {
      out.push_back({at("labels"), "either labels or name and namespace must be specified"});
    }
    if (labels && non_empty(ref, "sectionName")) {
      out.push_back({at("sectionName"), "sectionName should not be combined with labels"});
    }
  } else if (kind == "MeshServiceSubset" || kind == "MeshGateway") {
    require("name");
    check_name();
    disallow({"mesh", "proxyTypes"});
    if (kind == "MeshServiceSubset") require("tags");  // the rule: a subset needs its tags
    validate_tags(string_map(ref, "tags"), at("tags"), true, out);
    disallow({"labels", "namespace", "sectionName"});
  } else {  // MeshExternalService, MeshMultiZoneService
    check_name();
    disallow({"mesh", "tags", "proxyTypes"});
    if (!labels) require("name");
    if (labels && non_empty(ref, "name"))
      out.push_back({at("labels"), "either labels or name must be specified"});
    if (kind == "MeshExternalService") disallow({"sectionName"});
  }
}

using Kinds = std::vector<std::string_view>;
const Kinds k_top_kinds = {"Mesh", "MeshSubset", "MeshService", "MeshServiceSubset", "Dataplane"};
const Kinds k_to_kinds = {"MeshService", "MeshExternalService", "MeshMultiZoneService"};
const Kinds k_backend_kinds = {"MeshService", "MeshServiceSubset", "MeshExternalService",
                               "MeshMultiZoneService"};

const Json& member(const Json& obj, const char* key) {
  static const Json null_json;
  if (!obj.is_object()) return null_json;
  const auto it = obj.find(key);
  return it == obj.end() ? null_json : *it;
}

void validate_http_rule(const Json& rule, const std::string& path, Errors& out) {
  const Json& matches = member(rule, "matches");
  for (std::size_t k = 0; k < matches.size(); ++k) {
    const std::string mp = path + ".matches[" + std::to_string(k) + "]";
    const Json& p = member(matches[k], "path");
    if (p.is_object()) {
      const std::string type = str(p, "type");
      const std::string value = str(p, "value");
      if (type == "PathPrefix" && value != "/") {
        if (!value.empty() && value.back() == '/') {
          out.push_back({mp + ".path.value",
                         "does not need a trailing slash because only a `/`-separated prefix or "
                         "an entire path is matched"});
        }
        if (value.empty() || value.front() != '/')
          out.push_back({mp + ".path.value", "must be an absolute path"});
      } else if (type == "Exact" && (value.empty() || value.front() != '/')) {
        out.push_back({mp + ".path.value", "must be an absolute path"});
      }
    }
    const Json& params = member(matches[k], "queryParams");
    std::vector<std::string> names;
    for (std::size_t q = 0; q < params.size(); ++q) {
      const std::string name = str(params[q], "name");
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        out.push_back(
            {mp + ".queryParams[" + std::to_string(q) + "].name", "multiple entries for name " + name});
      }
      names.push_back(name);
    }
    const Json& headers = member(matches[k], "headers");
    for (std::size_t h = 0; h < headers.size(); ++h) {
      const std::string type = str(headers[h], "type");
      if ((type == "Present" || type == "Absent") && non_empty(headers[h], "value")) {
        out.push_back({mp + ".headers[" + std::to_string(h) + "].value", "must not be defined"});
      }
    }
  }
}

void validate_routes(PolicyKind kind, const Json& spec, Errors& out) {
  if (spec.contains("targetRef")) validate_target_ref(spec["targetRef"], k_top_kinds, "spec.targetRef", out);
  const Json& tos = member(spec, "to");
  for (std::size_t i = 0; i < tos.size(); ++i) {
    const std::string tp = "spec.to[" + std::to_string(i) + "]";
    validate_target_ref(member(tos[i], "targetRef"), k_to_kinds, tp + ".targetRef", out);
    const Json& rules = member(tos[i], "rules");
    for (std::size_t j = 0; j < rules.size(); ++j) {
      const std::string rp = tp + ".rules[" + std::to_string(j) + "]";
      if (kind == PolicyKind::MeshHTTPRoute) validate_http_rule(rules[j], rp, out);
      const Json& refs = member(member(rules[j], "default"), "backendRefs");
      for (std::size_t k = 0; k < refs.size(); ++k) {
        validate_target_ref(refs[k], k_backend_kinds, rp + ".default.backendRefs[" + std::to_string(k) + "]",
                            out);
      }
    }
    if (kind == PolicyKind::MeshHTTPRoute && non_empty(tos[i], "hostnames")) {
      out.push_back({tp + ".hostnames", "must not be defined"});
    }
  }
}

// Selectors of TrafficRoute sources/destinations (Kuma's ValidateSelectors).
void validate_selectors(const Json& list, const std::string& path, bool only_service, Errors& out) {
  if (!list.is_array() || list.empty()) {
    out.push_back({path, "must have at least one element"});
    return;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string mp = path + "[" + std::to_string(i) + "].match";
    const auto match = string_map(list[i], "match");
    if (!only_service && match.empty()) out.push_back({mp, "must have at least one tag"});
    if (only_service && (match.size() != 1 || match.count(std::string(k_service_tag)) == 0)) {
      out.push_back({mp, "must consist of exactly one tag \"kuma.io/service\""});
    }
    if (only_service) {
      for (const auto& [key, value] : match) {
        if (key != k_service_tag) out.push_back({mp + quoted_key(key), "tag \"" + key + "\" is not allowed"});
      }
    }
    validate_tags(match, mp, true, out);
    if (match.count(std::string(k_service_tag)) == 0) {
      out.push_back({mp, "mandatory tag \"kuma.io/service\" is missing"});
    }
  }
}

void validate_destination_tags(const std::map<std::string, std::string>& tags, const std::string& path,
                               Errors& out) {
  if (tags.empty()) out.push_back({path, "must have at least one tag"});
  validate_tags(tags, path, true, out);
  if (tags.count(std::string(k_service_tag)) == 0)
    out.push_back({path, "mandatory tag \"kuma.io/service\" is missing"});
}

void validate_traffic_route(const Json& doc, Errors& out) {
  validate_selectors(member(doc, "sources"), "sources", false, out);
  validate_selectors(member(doc, "destinations"), "destinations", true, out);
  const Json& conf = member(doc, "conf");
  if (!conf.is_object() || conf.empty()) {
    out.push_back({"conf", "cannot be empty"});
    return;
  }
  const bool has_split = conf.contains("split") && !conf["split"].is_null();
  const bool has_destination = conf.contains("destination") && !conf["destination"].is_null();
  if (!has_split && !has_destination) out.push_back({"conf", "requires either \"destination\" or \"split\""});
  if (has_split && has_destination) {
    out.push_back({"conf", "\"split\" cannot be defined at the same time as \"destination\""});
  }
  if (has_split) {
    const Json& split = conf["split"];
    if (split.empty()) {
      out.push_back({"conf.split", "must have at least one element"});
    } else {
      std::uint64_t total = 0;
      for (std::size_t i = 0; i < split.size(); ++i) {
        const std::string sp = "conf.split[" + std::to_string(i) + "]";
        const Json& weight = member(split[i], "weight");
        if (weight.is_null()) {
          out.push_back({sp + ".weight", "needs to be defined"});
        } else {
          total += weight.get<std::uint64_t>();
        }
        validate_destination_tags(string_map(split[i], "destination"), sp + ".destination", out);
      }
      if (total == 0)
        out.push_back({"conf.split", "there must be at least one split entry with weight above 0"});
    }
  }
  if (has_destination) validate_destination_tags(string_map(conf, "destination"), "conf.destination", out);
}

// The shape a TrafficRoute body must have for Kuma to read it at all; empty when fine.
std::string traffic_route_shape_problem(const Json& doc) {
  auto string_values = [](const Json& m) {
    return m.is_object() && std::all_of(m.begin(), m.end(), [](const Json& v) { return v.is_string(); });
  };
  for (const char* key : {"type", "name", "mesh"}) {
    if (doc.contains(key) && !doc[key].is_string()) return std::string(key) + ": must be a string";
  }
  if (doc.contains("labels") && !string_values(doc["labels"])) return "labels: must be a map of strings";
  for (const char* key : {"sources", "destinations"}) {
    if (!doc.contains(key) || doc[key].is_null()) continue;
    if (!doc[key].is_array()) return std::string(key) + ": must be a list";
    for (std::size_t i = 0; i < doc[key].size(); ++i) {
      const Json& s = doc[key][i];
      if (!s.is_object() || (s.contains("match") && !string_values(s["match"]))) {
        return std::string(key) + "[" + std::to_string(i) + "]: must be {match: {tag: value}}";
      }
    }
  }
  if (!doc.contains("conf") || doc["conf"].is_null()) return {};
  const Json& conf = doc["conf"];
  if (!conf.is_object()) return "conf: must be an object";
  if (conf.contains("destination") && !conf["destination"].is_null() && !string_values(conf["destination"])) {
    return "conf.destination: must be a map of strings";
  }
  if (conf.contains("split") && !conf["split"].is_null()) {
    if (!conf["split"].is_array()) return "conf.split: must be a list";
    for (std::size_t i = 0; i < conf["split"].size(); ++i) {
      const Json& s = conf["split"][i];
      const std::string p = "conf.split[" + std::to_string(i) + "]";
      if (!s.is_object()) return p + ": must be an object";
      if (s.contains("weight") && !s["weight"].is_null() &&
          (!s["weight"].is_number_unsigned() || s["weight"].get<std::uint64_t>() > 0xffffffffULL)) {
        return p + ".weight: must be an unsigned 32-bit integer";
      }
      if (s.contains("destination") && !s["destination"].is_null() && !string_values(s["destination"])) {
        return p + ".destination: must be a map of strings";
      }
    }
  }
  return {};
}

int specificity(const Json& spec) {
  const std::string kind = str(member(spec, "targetRef"), "kind");
  if (kind == "MeshSubset") return 1;
  if (kind == "MeshService") return 2;
  if (kind == "MeshServiceSubset") return 3;
  if (kind == "Dataplane") return 4;
  return 0;
}

Backend backend_from_ref(const Json& ref) {
  Backend b;
  const std::string kind = str(ref, "kind");
  b.kind = kind == "MeshService"         ? Backend::Kind::MeshService
           : kind == "MeshServiceSubset" ? Backend::Kind::MeshServiceSubset
                                         : Backend::Kind::Unresolvable;
  b.name = str(ref, "name");
  b.tags = string_map(ref, "tags");
  const Json& w = member(ref, "weight");
  b.weight = w.is_number() ? w.get<std::uint64_t>() : 1;
  return b;
}

// Whether an HTTP rule's matches accept the simulated traffic: GET / without headers or query.
bool rule_matches_root(const Json& rule) {
  for (const Json& m : member(rule, "matches")) {
    const std::string method = str(m, "method");
    if (!method.empty() && method != "GET") continue;
    if (non_empty(m, "queryParams")) continue;
    bool headers_ok = true;
    for (const Json& h : member(m, "headers")) headers_ok = headers_ok && str(h, "type") == "Absent";
    if (!headers_ok) continue;
    const Json& p = member(m, "path");
    if (!p.is_object()) return true;
    const std::string type = str(p, "type");
    const std::string value = str(p, "value");
    if ((type == "PathPrefix" || type == "Exact") && value == "/") return true;
    if (type == "RegularExpression") {
      try {
        if (std::regex_match("/", std::regex(value))) return true;
      } catch (const std::regex_error&) {
      }
    }
  }
  return false;
}

Policy extract(PolicyKind kind, const Json& doc) {
  Policy p;
  p.kind = kind;
  p.name = str(doc, "name");
  p.mesh = str(doc, "mesh");
  if (kind == PolicyKind::TrafficRoute) {
    RouteRule base;
    const Json& conf = member(doc, "conf");
    base.has_backends = true;
    if (!member(conf, "split").is_null()) {
      for (const Json& s : member(conf, "split")) {
        Backend b;
        b.kind = Backend::Kind::Tags;
        b.tags = string_map(s, "destination");
        b.weight = member(s, "weight").get<std::uint64_t>();
        base.backends.push_back(std::move(b));
      }
    } else {
      Backend b;
      b.kind = Backend::Kind::Tags;
      b.tags = string_map(conf, "destination");
      base.backends.push_back(std::move(b));
    }
    for (const Json& d : member(doc, "destinations")) {
      RouteRule r = base;
      r.service = string_map(d, "match")[std::string(k_service_tag)];
      p.rules.push_back(std::move(r));
    }
    return p;
  }
  const Json& spec = member(doc, "spec");
  p.specificity = specificity(spec);
  for (const Json& to : member(spec, "to")) {
    const Json& target = member(to, "targetRef");
    if (str(target, "kind") != "MeshService" || str(target, "name").empty()) continue;
    RouteRule r;
    r.service = str(target, "name");
    const Json* chosen = nullptr;
    for (const Json& rule : member(to, "rules")) {
      if (kind == PolicyKind::MeshTCPRoute || rule_matches_root(rule))
        chosen = &rule;  // later rules override
    }
    r.decides = chosen != nullptr;
    if (chosen != nullptr) {
      const Json& refs = member(member(*chosen, "default"), "backendRefs");
      for (const Json& ref : refs) r.backends.push_back(backend_from_ref(ref));
      r.has_backends = !r.backends.empty();
    }
    p.rules.push_back(std::move(r));
  }
  return p;
}

}  // namespace

std::string_view type_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::MeshHTTPRoute:
      return "MeshHTTPRoute";
    case PolicyKind::MeshTCPRoute:
      return "MeshTCPRoute";
    case PolicyKind::TrafficRoute:
      break;
  }
  return "TrafficRoute";
}

std::string_view collection_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::MeshHTTPRoute:
      return "meshhttproutes";
    case PolicyKind::MeshTCPRoute:
      return "meshtcproutes";
    case PolicyKind::TrafficRoute:
      break;
  }
  return "traffic-routes";
}

std::string_view short_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::MeshHTTPRoute:
      return "mhttpr";
    case PolicyKind::MeshTCPRoute:
      return "mtcpr";
    case PolicyKind::TrafficRoute:
      break;
  }
  return "tr";
}

std::optional<PolicyKind> kind_from_type(std::string_view type) {
  for (const auto k : {PolicyKind::MeshHTTPRoute, PolicyKind::MeshTCPRoute, PolicyKind::TrafficRoute}) {
    if (type_name(k) == type) return k;
  }
  return std::nullopt;
}

std::optional<PolicyKind> kind_from_collection(std::string_view collection) {
  for (const auto k : {PolicyKind::MeshHTTPRoute, PolicyKind::MeshTCPRoute, PolicyKind::TrafficRoute}) {
    if (collection_name(k) == collection) return k;
  }
  return std::nullopt;
}

bool is_plugin_policy(PolicyKind kind) { return kind != PolicyKind::TrafficRoute; }

PolicyCheck check_policy(PolicyKind kind, const Json& doc) {
  PolicyCheck out;
  out.normalized = doc;
  if (!doc.is_object()) {
    out.bad_request = "invalid " + std::string(type_name(kind)) + " object: the body must be a JSON object";
    return out;
  }
  if (is_plugin_policy(kind)) {
    detail::validate_plugin_schema(kind, out.normalized, out.violations);
    if (!out.violations.empty()) return out;
    validate_routes(kind, out.normalized["spec"], out.violations);
    const std::string top = str(member(out.normalized["spec"], "targetRef"), "kind");
    if (top == "MeshService" || top == "MeshServiceSubset" || top == "MeshSubset") {
      out.warnings.push_back(top +
                             " value for 'targetRef.kind' is deprecated, use Dataplane with labels instead");
    }
  } else {
    if (const std::string problem = traffic_route_shape_problem(doc); !problem.empty()) {
      out.bad_request = "invalid TrafficRoute object \"" + str(doc, "name") + "\": " + problem;
      return out;
    }
    validate_traffic_route(doc, out.violations);
  }
  if (out.violations.empty()) out.policy = extract(kind, out.normalized);
  return out;
}

}  // namespace meshmove::sim
