// The structural schemas of MeshHTTPRoute and MeshTCPRoute (the parts meshsim checks, after Kuma's
// pkg/plugins/policies/mesh{http,tcp}route/api/v1alpha1/schema.yaml) and a validator that words its
// violations like kube-openapi does in Kuma's API: field "spec.targetRef.name", reason
// `in body must be of type string: "number"`.
#include <cmath>
#include <memory>
#include <utility>

#include "tests/sim/policy.hpp"

namespace meshmove::sim::detail {
namespace {

struct SchemaNode;
using NodePtr = std::shared_ptr<const SchemaNode>;

struct SchemaNode {
  enum class Type { Object, Array, String, Integer, Boolean, StringMap, Any };
  Type type = Type::Any;
  std::vector<std::pair<std::string, NodePtr>> properties;  // Object
  std::vector<std::string> required;                        // Object
  std::vector<std::string> forbidden;                       // Object: meshsim's deliberate strictness
  NodePtr items;                                            // Array
  int min_items = -1;
  int max_items = -1;
  std::vector<std::string> enum_values;  // String
  int min_length = -1;                   // String
  std::optional<long long> minimum;      // Integer
  std::optional<Json> default_value;
};

NodePtr make(SchemaNode n) { return std::make_shared<const SchemaNode>(std::move(n)); }

NodePtr any() { return make({}); }

NodePtr string_node(int min_length = -1) {
  SchemaNode n;
  n.type = SchemaNode::Type::String;
  n.min_length = min_length;
  return make(std::move(n));
}

NodePtr enum_node(std::vector<std::string> values, std::optional<Json> default_value = std::nullopt) {
  SchemaNode n;
  n.type = SchemaNode::Type::String;
  n.enum_values = std::move(values);
  n.default_value = std::move(default_value);
  return make(std::move(n));
}

NodePtr integer_node(std::optional<long long> minimum = std::nullopt,
                     std::optional<Json> def = std::nullopt) {
  SchemaNode n;
  n.type = SchemaNode::Type::Integer;
  n.minimum = minimum;
  n.default_value = std::move(def);
  return make(std::move(n));
}

NodePtr string_map() {
  SchemaNode n;
  n.type = SchemaNode::Type::StringMap;
  return make(std::move(n));
}

NodePtr array_of(NodePtr items, int min_items = -1, int max_items = -1) {
  SchemaNode n;
  n.type = SchemaNode::Type::Array;
  n.items = std::move(items);
  n.min_items = min_items;
  n.max_items = max_items;
  return make(std::move(n));
}

NodePtr object(std::vector<std::pair<std::string, NodePtr>> properties,
               std::vector<std::string> required = {}, std::vector<std::string> forbidden = {}) {
  SchemaNode n;
  n.type = SchemaNode::Type::Object;
  n.properties = std::move(properties);
  n.required = std::move(required);
  n.forbidden = std::move(forbidden);
  return make(std::move(n));
}

std::vector<std::pair<std::string, NodePtr>> target_ref_properties() {
  return {
      {"kind", enum_node({"Mesh", "MeshSubset", "MeshGateway", "MeshService", "MeshExternalService",
                          "MeshMultiZoneService", "MeshServiceSubset", "MeshHTTPRoute", "Dataplane"})},
      {"labels", string_map()},
      {"mesh", string_node()},
      {"name", string_node()},
      {"namespace", string_node()},
      {"proxyTypes", array_of(enum_node({"Sidecar", "Gateway"}), 1)},
      {"sectionName", string_node()},
      {"tags", string_map()},
  };
}

NodePtr target_ref() { return object(target_ref_properties()); }

NodePtr backend_ref() {
  auto props = target_ref_properties();
  props.emplace_back("port", integer_node());
  props.emplace_back("weight", integer_node(0, Json(1)));
  return object(std::move(props));
}

NodePtr envelope(const std::string& type, NodePtr spec) {
  return object({{"type", enum_node({type})},
                 {"mesh",
                  [] {
                    SchemaNode n;
                    n.type = SchemaNode::Type::String;
                    n.default_value = Json("default");
                    return make(std::move(n));
                  }()},
                 {"name", string_node()},
                 {"labels", string_map()},
                 {"spec", std::move(spec)}},
                {"type", "name", "spec"});
}

NodePtr http_route_schema() {
  const NodePtr path_match =
      object({{"type", enum_node({"Exact", "PathPrefix", "RegularExpression"})}, {"value", string_node(1)}},
             {"type", "value"});
  const NodePtr header_match = object(
      {{"name", string_node(1)},
       {"type", enum_node({"Exact", "Present", "RegularExpression", "Absent", "Prefix"}, Json("Exact"))},
       {"value", string_node()}},
      {"name"});
  const NodePtr query_match = object({{"name", string_node(1)},
                                      {"type", enum_node({"Exact", "RegularExpression"})},
                                      {"value", string_node()}},
                                     {"name", "type", "value"});
  const NodePtr match =
      object({{"headers", array_of(header_match)},
              {"method",
               enum_node({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"})},
              {"path", path_match},
              {"queryParams", array_of(query_match)}});
  const NodePtr filter = object({{"type", enum_node({"RequestHeaderModifier", "ResponseHeaderModifier",
                                                     "RequestRedirect", "URLRewrite", "RequestMirror"})},
                                 {"requestHeaderModifier", any()},
                                 {"responseHeaderModifier", any()},
                                 {"requestRedirect", any()},
                                 {"urlRewrite", any()},
                                 {"requestMirror", any()}},
                                {"type"});
  const NodePtr rule_conf = object({{"backendRefs", array_of(backend_ref())}, {"filters", array_of(filter)}});
  const NodePtr rule =
      object({{"default", rule_conf}, {"matches", array_of(match, 1)}}, {"default", "matches"});
  const NodePtr to = object(
      {{"hostnames", array_of(string_node())}, {"rules", array_of(rule)}, {"targetRef", target_ref()}});
  return envelope("MeshHTTPRoute", object({{"targetRef", target_ref()}, {"to", array_of(to)}}));
}

NodePtr tcp_route_schema() {
  const NodePtr rule_conf = object({{"backendRefs", array_of(backend_ref(), 1)}}, {"backendRefs"});
  const NodePtr rule = object({{"default", rule_conf}}, {"default"}, {"matches"});
  const NodePtr to = object({{"rules", array_of(rule, -1, 1)}, {"targetRef", target_ref()}}, {"targetRef"});
  return envelope("MeshTCPRoute", object({{"targetRef", target_ref()}, {"to", array_of(to, 1)}}));
}

// Go's name for the JSON type of a decoded value, as kube-openapi prints it.
const char* go_type(const Json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  return "null";
}

const char* schema_type(SchemaNode::Type t) {
  switch (t) {
    case SchemaNode::Type::Object:
    case SchemaNode::Type::StringMap:
      return "object";
    case SchemaNode::Type::Array:
      return "array";
    case SchemaNode::Type::String:
      return "string";
    case SchemaNode::Type::Integer:
      return "integer";
    case SchemaNode::Type::Boolean:
      return "boolean";
    case SchemaNode::Type::Any:
      break;
  }
  return "any";
}

bool is_integral(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void validate(Json& value, const SchemaNode& schema, const std::string& path, std::vector<FieldError>& out) {
  using T = SchemaNode::Type;
  auto type_error = [&] {
    out.push_back({path, std::string("in body must be of type ") + schema_type(schema.type) + ": \"" +
                             go_type(value) + "\""});
  };
  switch (schema.type) {
    case T::Any:
      return;
    case T::Boolean:
      if (!value.is_boolean()) type_error();
      return;
    case T::Integer:
      if (!value.is_number() || !is_integral(value)) {
        type_error();
        return;
      }
      if (schema.minimum && value.get<double>() < static_cast<double>(*schema.minimum)) {
        out.push_back(
            {path, "in body should be greater than or equal to " + std::to_string(*schema.minimum)});
      }
      return;
    case T::String: {
      if (!value.is_string()) {
        type_error();
        return;
      }
      const auto& s = value.get_ref<const std::string&>();
      if (!schema.enum_values.empty()) {
        bool found = false;
        for (const auto& e : schema.enum_values) found = found || e == s;
        if (!found) {
          std::string list;
          for (const auto& e : schema.enum_values) list += (list.empty() ? "" : " ") + e;
          out.push_back({path, "in body should be one of [" + list + "]"});
        }
      }
      if (schema.min_length > 0 && s.size() < static_cast<std::size_t>(schema.min_length)) {
        out.push_back(
            {path, "in body should be at least " + std::to_string(schema.min_length) + " chars long"});
      }
      return;
    }
    case T::StringMap:
      if (!value.is_object()) {
        type_error();
        return;
      }
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!it.value().is_string()) {
          out.push_back({join(path, it.key()),
                         std::string("in body must be of type string: \"") + go_type(it.value()) + "\""});
        }
      }
      return;
    case T::Array:
      if (!value.is_array()) {
        type_error();
        return;
      }
      if (schema.min_items >= 0 && value.size() < static_cast<std::size_t>(schema.min_items)) {
        out.push_back({path, "in body should have at least " + std::to_string(schema.min_items) + " items"});
      }
      if (schema.max_items >= 0 && value.size() > static_cast<std::size_t>(schema.max_items)) {
        out.push_back({path, "in body should have at most " + std::to_string(schema.max_items) + " items"});
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        validate(value[i], *schema.items, path + "[" + std::to_string(i) + "]", out);
      }
      return;
    case T::Object:
      if (!value.is_object()) {
        type_error();
        return;
      }
      for (const auto& [key, child] : schema.properties) {
        if (!value.contains(key) && child->default_value) value[key] = *child->default_value;
      }
      for (const auto& key : schema.required) {
        if (!value.contains(key)) out.push_back({join(path, key), "in body is required"});
      }
      for (const auto& key : schema.forbidden) {
        if (value.contains(key)) out.push_back({join(path, key), "field not declared in schema"});
      }
      for (const auto& [key, child] : schema.properties) {
        if (value.contains(key)) validate(value[key], *child, join(path, key), out);
      }
      return;
  }
}

}  // namespace

void validate_plugin_schema(PolicyKind kind, Json& doc, std::vector<FieldError>& out) {
  static const NodePtr http = http_route_schema();
  static const NodePtr tcp = tcp_route_schema();
  const NodePtr& schema = kind == PolicyKind::MeshTCPRoute ? tcp : http;
  validate(doc, *schema, "", out);
}

}  // namespace meshmove::sim::detail
