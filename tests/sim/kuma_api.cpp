#include "tests/sim/kuma_api.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "tests/sim/kuma_names.hpp"

namespace meshmove::sim {
namespace {

constexpr std::string_view k_kuma_version = "2.14.3";
constexpr std::string_view k_zone = "default";  // the zone name of a standalone control plane

ApiResponse json_response(int status, const Json& body) { return {status, "application/json", body.dump()}; }

ApiResponse plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return {"\x01"};  // matches nothing
  std::size_t start = 1;
  if (path.size() == 1) return out;
  while (true) {
    const std::size_t slash = path.find('/', start);
    out.emplace_back(
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string query_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// "application/json" with any parameters, case-insensitively.
bool is_json_media_type(std::string_view content_type) {
  std::string media(content_type.substr(0, content_type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  std::transform(media.begin(), media.end(), media.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return media == "application/json";
}

std::string first(const std::multimap<std::string, std::string>& query, const std::string& key) {
  const auto it = query.find(key);
  return it == query.end() ? std::string() : it->second;
}

std::map<std::string, std::string> labels_of(const Json& doc) {
  std::map<std::string, std::string> out;
  if (!doc.is_object() || !doc.contains("labels") || !doc["labels"].is_object()) return out;
  for (auto it = doc["labels"].begin(); it != doc["labels"].end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string string_member(const Json& doc, const char* key) {
  return doc.is_object() && doc.contains(key) && doc[key].is_string() ? doc[key].get<std::string>()
                                                                      : std::string();
}

Json labels_json(const std::map<std::string, std::string>& labels) {
  Json out = Json::object();
  for (const auto& [k, v] : labels) out[k] = v;  // std::map: sorted like Go's JSON encoding of a map
  return out;
}

}  // namespace

ApiResponse std_error(int status, const std::string& title, const std::string& detail,
                      const std::vector<FieldError>& invalid) {
  Json body = Json::object();
  body["type"] = "/std-errors";
  body["status"] = status;
  body["title"] = title;
  body["detail"] = detail;
  if (!invalid.empty()) {
    Json params = Json::array();
    for (const auto& e : invalid) params.push_back(Json{{"field", e.field}, {"reason", e.reason}});
    body["invalid_parameters"] = std::move(params);
  }
  body["details"] = detail;
  if (!invalid.empty()) {
    Json causes = Json::array();
    for (const auto& e : invalid) causes.push_back(Json{{"field", e.field}, {"message", e.reason}});
    body["causes"] = std::move(causes);
  }
  return json_response(status, body);
}

std::string status_title(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthenticated";
    case 403:
      return "Access Denied";
    case 404:
      return "Not Found";
    case 405:
      return "Method not Allowed";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string rfc3339(SystemTime t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  long long frac = micros % 1000000;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(digits.begin(), 6 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "Z";
}

KumaApi::KumaApi(Simulation& sim, SystemTime started, std::string hostname)
    : m_sim(sim), m_started(started), m_hostname(std::move(hostname)) {}

bool KumaApi::is_sim_path(std::string_view path) { return path.rfind("/_sim/", 0) == 0; }

ApiResponse KumaApi::handle(const ApiRequest& request, SystemTime now) {
  const std::vector<std::string> seg = split_path(request.path);
  const std::string& method = request.method;
  // Paths Kuma has no route for are answered by go-restful itself, in plain text (emicklei/go-restful
  // curly.go: NewError(http.StatusNotFound, "404: Page Not Found"); jsr311.go for 405).
  const auto method_not_allowed = [] { return plain(405, "405: Method Not Allowed"); };
  const auto page_not_found = [] { return plain(404, "404: Page Not Found"); };
  const std::string& mesh = m_sim.scenario().mesh;

  if (seg.empty()) {
    if (method != "GET") return method_not_allowed();
    Json index = Json::object();
    index["hostname"] = m_hostname;
    index["tagline"] = "Kuma";
    index["product"] = "Kuma";
    index["version"] = k_kuma_version;
    index["basedOnKuma"] = k_kuma_version;
    index["instanceId"] = "meshsim-" + m_hostname;
    index["clusterId"] = "meshsim";
    index["gui"] = "/gui";
    return json_response(200, index);
  }
  if (seg.size() == 2 && seg[0] == "_sim") {
    if (seg[1] == "state")
      return method == "GET" ? json_response(200, m_sim.state_json()) : method_not_allowed();
    if (seg[1] == "events") return method == "POST" ? post_event(request) : method_not_allowed();
    return page_not_found();
  }
  if (seg[0] == "meshes") {
    if (seg.size() == 1) {
      if (method != "GET") return method_not_allowed();
      return json_response(200, Json{{"total", 1}, {"items", Json::array({mesh_item()})}, {"next", nullptr}});
    }
    if (seg.size() == 2) {
      if (method != "GET") return method_not_allowed();
      if (seg[1] != mesh) return std_error(404, "Could not retrieve a resource", "Not found");
      return json_response(200, mesh_item());
    }
    const std::string& collection = seg[2];
    const auto kind = kind_from_collection(collection);
    if (!kind && collection != "dataplanes") return page_not_found();
    if (seg.size() == 3) {
      if (method != "GET") return method_not_allowed();
      if (seg[1] != mesh) return std_error(404, "Failed to retrieve Mesh", "Not found");
      return list(kind, seg[1], request);
    }
    if (seg.size() != 4 || seg[3].empty()) return page_not_found();
    const std::string& name = seg[3];
    if (!kind) {  // dataplanes
      if (method == "PUT" || method == "DELETE") {
        return std_error(405, "Method not Allowed",
                         "meshsim simulates the dataplanes; they cannot be changed");
      }
      if (method != "GET") return method_not_allowed();
      for (const Json& item : dataplane_items()) {
        if (seg[1] == mesh && item["name"] == name) return json_response(200, item);
      }
      return std_error(404, "Could not retrieve a resource", "Not found");
    }
    if (method == "GET") return get_one(*kind, seg[1], name);
    if (method == "PUT") {
      if (!request.body.empty() && !is_json_media_type(request.content_type)) {
        return plain(415, "415: Unsupported Media Type");
      }
      return put(*kind, seg[1], name, request, now);
    }
    if (method == "DELETE") return remove(*kind, seg[1], name);
    return method_not_allowed();
  }
  if (seg.size() == 1 && (kind_from_collection(seg[0]) || seg[0] == "dataplanes")) {
    if (method != "GET") return method_not_allowed();
    return list(kind_from_collection(seg[0]), mesh, request);
  }
  return page_not_found();
}

Json KumaApi::mesh_item() const {
  Json item = Json::object();
  item["type"] = "Mesh";
  item["name"] = m_sim.scenario().mesh;
  item["creationTime"] = rfc3339(m_started);
  item["modificationTime"] = rfc3339(m_started);
  return item;
}

std::vector<Json> KumaApi::dataplane_items() const {
  std::vector<Json> out;
  const std::string& mesh = m_sim.scenario().mesh;
  for (const DataplaneInfo& dp : m_sim.dataplanes()) {
    Json inbound = Json::array();
    for (const InboundInfo& in : dp.inbounds) {
      inbound.push_back(
          Json{{"port", in.port}, {"servicePort", in.service_port}, {"tags", labels_json(in.tags)}});
    }
    Json item = Json::object();
    item["type"] = "Dataplane";
    item["mesh"] = mesh;
    item["name"] = dp.name;
    item["creationTime"] = rfc3339(m_started);
    item["modificationTime"] = rfc3339(m_started);
    item["labels"] = labels_json({{"kuma.io/env", "universal"},
                                  {"kuma.io/mesh", mesh},
                                  {"kuma.io/origin", "zone"},
                                  {"kuma.io/proxy-type", "sidecar"},
                                  {"kuma.io/zone", std::string(k_zone)}});
    item["kri"] = "kri_dp_" + mesh + "_" + std::string(k_zone) + "__" + dp.name + "_";
    item["networking"] = Json{{"address", "127.0.0.1"}, {"inbound", std::move(inbound)}};
    out.push_back(std::move(item));
  }
  return out;
}

Json KumaApi::render(PolicyKind kind, const std::string& name, const Stored& stored) const {
  const std::string& mesh = m_sim.scenario().mesh;
  std::map<std::string, std::string> labels = stored.labels;
  labels["kuma.io/mesh"] = mesh;
  if (is_plugin_policy(kind)) {  // ProvidedByZoneFlag: the zone's computed labels too
    labels["kuma.io/origin"] = "zone";
    labels["kuma.io/zone"] = std::string(k_zone);
    labels["kuma.io/env"] = "universal";
  }
  Json item = Json::object();
  item["type"] = std::string(type_name(kind));
  item["mesh"] = mesh;
  item["name"] = name;
  item["creationTime"] = rfc3339(stored.created);
  item["modificationTime"] = rfc3339(stored.modified);
  item["labels"] = labels_json(labels);
  if (is_plugin_policy(kind)) {
    item["kri"] =
        "kri_" + std::string(short_name(kind)) + "_" + mesh + "_" + std::string(k_zone) + "__" + name + "_";
    item["spec"] = stored.doc.contains("spec") ? stored.doc["spec"] : Json::object();
  } else {
    for (const char* key : {"sources", "destinations", "conf"}) {
      if (stored.doc.contains(key)) item[key] = stored.doc[key];
    }
  }
  return item;
}

ApiResponse KumaApi::get_one(PolicyKind kind, const std::string& mesh, const std::string& name) const {
  const auto it = m_store.find({kind, name});
  if (mesh != m_sim.scenario().mesh || it == m_store.end()) {
    return std_error(404, "Could not retrieve a resource", "Not found");
  }
  return json_response(200, render(kind, name, it->second));
}

ApiResponse KumaApi::list(std::optional<PolicyKind> kind, const std::string& mesh,
                          const ApiRequest& request) const {
  std::size_t size = 100;
  if (const std::string s = first(request.query, "size"); !s.empty()) {
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) {
      return std_error(400, "Could not retrieve resources", "Invalid page size",
                       {{"size", "invalid format"}});
    }
    if (v > 1000) {
      return std_error(
          400, "Could not retrieve resources", "Invalid page size",
          {{"size", "invalid page size of " + std::to_string(v) + ". Maximum page size is 1000"}});
    }
    size = v <= 0 ? 100 : static_cast<std::size_t>(v);
  }
  std::size_t offset = 0;
  if (const std::string s = first(request.query, "offset"); !s.empty()) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), offset);
    if (ec != std::errc{} || end != s.data() + s.size()) {
      return std_error(400, "Could not retrieve resources", "Invalid offset", {{"offset", "Invalid format"}});
    }
  }
  const std::string name_contains = first(request.query, "name");
  std::vector<std::pair<std::string, std::string>> label_filters;
  for (const auto& [key, value] : request.query) {
    if (key.rfind("filter[labels.", 0) == 0 && key.back() == ']') {
      label_filters.emplace_back(key.substr(14, key.size() - 15), value);
    }
  }
  std::vector<Json> items;
  if (kind) {
    for (const auto& [key, stored] : m_store) {
      if (key.first == *kind && mesh == m_sim.scenario().mesh)
        items.push_back(render(key.first, key.second, stored));
    }
  } else {
    items = dataplane_items();
  }
  std::sort(items.begin(), items.end(), [](const Json& a, const Json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  std::erase_if(items, [&](const Json& item) {
    if (!name_contains.empty() && item["name"].get<std::string>().find(name_contains) == std::string::npos)
      return true;
    for (const auto& [k, v] : label_filters) {
      if (!item["labels"].contains(k) || item["labels"][k] != v) return true;
    }
    return false;
  });
  Json page = Json::array();
  for (std::size_t i = offset; i < items.size() && i < offset + size; ++i) page.push_back(items[i]);
  Json body = Json::object();
  body["total"] = items.size();
  body["items"] = std::move(page);
  if (offset + size < items.size()) {
    std::multimap<std::string, std::string> query = request.query;
    query.erase("offset");
    query.emplace("offset", std::to_string(offset + size));
    std::string encoded;
    for (const auto& [k, v] : query)
      encoded += (encoded.empty() ? "" : "&") + query_escape(k) + "=" + query_escape(v);
    body["next"] = request.base_url + request.path + "?" + encoded;
  } else {
    body["next"] = nullptr;
  }
  return json_response(200, body);
}

ApiResponse KumaApi::put(PolicyKind kind, const std::string& mesh, const std::string& name,
                         const ApiRequest& request, SystemTime now) {
  Json doc;
  try {
    doc = Json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    return std_error(
        400, "Bad Request",
        "invalid " + std::string(type_name(kind)) + " object: the body is not JSON (" + e.what() + ")");
  }
  const auto body_kind = kind_from_type(string_member(doc, "type"));
  PolicyCheck check = check_policy(body_kind.value_or(kind), doc);
  if (!check.bad_request.empty()) return std_error(400, "Bad Request", check.bad_request);
  if (!check.violations.empty()) {
    return std_error(400, "Could not process a resource", "Resource is not valid", check.violations);
  }
  const bool create = m_store.find({kind, name}) == m_store.end();
  std::vector<FieldError> meta;
  if (string_member(check.normalized, "name") != name) {
    meta.push_back({"name", "name from the URL has to be the same as in body"});
  }
  if (string_member(check.normalized, "type") != type_name(kind)) {
    meta.push_back({"type", "type from the URL has to be the same as in body"});
  }
  if (string_member(check.normalized, "mesh") != mesh) {
    meta.push_back({"mesh", "mesh from the URL has to be the same as in body"});
  }
  const auto labels = labels_of(check.normalized);
  for (const auto& [key, value] : labels) {
    for (const auto& problem : label_key_problems(key)) meta.push_back({"labels" + quoted_key(key), problem});
    for (const auto& problem : label_value_problems(value))
      meta.push_back({"labels" + quoted_key(key), problem});
  }
  if (create && !is_rfc1123_subdomain(name)) meta.push_back({"name", std::string(k_rfc1123_message)});
  if (!meta.empty()) return std_error(400, "Could not process a resource", "Resource is not valid", meta);
  if (mesh != m_sim.scenario().mesh) {
    return std_error(400, "Could not create a resource", "Mesh is not found",
                     {{"mesh", "mesh of name " + mesh + " is not found"}});
  }
  Stored& stored = m_store[{kind, name}];
  if (create) stored.created = now;
  stored.modified = now;
  stored.doc = check.normalized;
  stored.labels = labels;
  m_sim.set_policy(*check.policy);
  Json body = Json::object();
  if (!check.warnings.empty()) body["warnings"] = check.warnings;
  return json_response(create ? 201 : 200, body);
}

ApiResponse KumaApi::remove(PolicyKind kind, const std::string& mesh, const std::string& name) {
  const auto it = m_store.find({kind, name});
  if (mesh != m_sim.scenario().mesh || it == m_store.end()) {
    return std_error(404, "Could not delete a resource", "Not found");
  }
  m_store.erase(it);
  m_sim.delete_policy(kind, name);
  return json_response(200, Json::object());
}

ApiResponse KumaApi::post_event(const ApiRequest& request) {
  EventParse parsed = parse_event(request.body, m_sim.scenario(), "<event>");
  if (!parsed.event) {
    Json errors = Json::array();
    for (const auto& d : parsed.diagnostics) errors.push_back(planner::format_diagnostic(d));
    return json_response(400, Json{{"errors", std::move(errors)}});
  }
  const std::string description = describe_event(*parsed.event);
  m_sim.inject_event(std::move(*parsed.event));
  return json_response(202, Json{{"accepted", description}});
}

}  // namespace meshmove::sim
