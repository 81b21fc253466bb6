#include "backends/etcd_gateway.hpp"

#include <algorithm>
#include <array>

namespace meshmove::backends {
namespace {

using planner::ErrorKind;
using planner::make_error;

constexpr std::string_view k_base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr const char* k_url_forms = "expected etcd://host:port/prefix or etcd+https://host:port/prefix";

planner::Error bad_url(const std::string& url, const std::string& why) {
  return make_error(ErrorKind::Config, "'" + url + "' is not an etcd URL: " + why + "; " + k_url_forms);
}

std::string summarize(const std::string& body) {
  std::string s = body.substr(0, 300);
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (body.size() > 300) s += "...";
  return s;
}

// The kind of a gateway error by its gRPC status code.
ErrorKind kind_of_grpc_code(int code) {
  switch (code) {
    case 5:
      return ErrorKind::NotFound;  // NOT_FOUND
    case 7:                        // PERMISSION_DENIED
    case 16:
      return ErrorKind::Config;  // UNAUTHENTICATED
    case 4:                      // DEADLINE_EXCEEDED
    case 14:
      return ErrorKind::Unavailable;  // UNAVAILABLE
    default:
      return ErrorKind::Rejected;
  }
}

}  // namespace

planner::Result<EtcdUrl> parse_etcd_url(const std::string& url) {
  EtcdUrl u;
  std::string rest;
  std::string scheme;
  for (const auto& [given, http] : std::array<std::pair<const char*, const char*>, 3>{
           {{"etcd://", "http://"}, {"etcd+http://", "http://"}, {"etcd+https://", "https://"}}}) {
    if (url.rfind(given, 0) == 0) {
      scheme = given;
      u.endpoint = http;
      rest = url.substr(std::string(given).size());
      break;
    }
  }
  if (scheme.empty()) return bad_url(url, "unknown scheme");
  if (rest.find_first_of("?#") != std::string::npos)
    return bad_url(url, "a query or fragment is not allowed");
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    return bad_url(url, "credentials in the URL are not supported");
  std::string host = authority;
  std::string port = "2379";
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return bad_url(url, "no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return bad_url(url, "the port '" + port + "' is not a number from 1 to 65535");
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.find("//") != std::string::npos) return bad_url(url, "the prefix has an empty segment");
  u.prefix = path.empty() ? "/meshmove" : path;
  u.endpoint += host + ":" + port;
  u.shown = scheme + host + ":" + port + u.prefix;
  return u;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const auto n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16 |
                   static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8 |
                   static_cast<unsigned>(static_cast<unsigned char>(data[i + 2]));
    out += k_base64[n >> 18 & 63];
    out += k_base64[n >> 12 & 63];
    out += k_base64[n >> 6 & 63];
    out += k_base64[n & 63];
  }
  if (i < data.size()) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += k_base64[n >> 18 & 63];
    out += k_base64[n >> 12 & 63];
    out += i + 1 < data.size() ? k_base64[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned n = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      unsigned v = 0;
      if (c == '=') {
        // Padding: only in the last group, only in its last two places, and nothing but padding after it.
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        ++padding;
      } else {
        if (padding > 0) return std::nullopt;
        const auto p = k_base64.find(c);
        if (p == std::string_view::npos) return std::nullopt;
        v = static_cast<unsigned>(p);
      }
      n = n << 6 | v;
    }
    out += static_cast<char>(n >> 16 & 255);
    if (padding < 2) out += static_cast<char>(n >> 8 & 255);
    if (padding < 1) out += static_cast<char>(n & 255);
  }
  return out;
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = prefix.back();
    if (static_cast<unsigned char>(last) < 0xff) {
      last = static_cast<char>(static_cast<unsigned char>(last) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::int64_t etcd_number(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return 0;
  try {
    std::size_t used = 0;
    const std::string s = it->get<std::string>();
    const long long v = std::stoll(s, &used);
    return used == s.size() ? static_cast<std::int64_t>(v) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

planner::Result<std::vector<EtcdKeyValue>> etcd_key_values(const nlohmann::json& response,
                                                           const char* field) {
  std::vector<EtcdKeyValue> out;
  const auto it = response.find(field);
  if (it == response.end() || !it->is_array()) return out;
  for (const auto& kv : *it) {
    if (!kv.is_object())
      return make_error(ErrorKind::Invalid, "etcd answered a key-value that is not an object");
    EtcdKeyValue e;
    const auto text = [&kv](const char* name) {  // absent: "" (the gateway omits empty values)
      const auto f = kv.find(name);
      return f == kv.end() ? std::optional<std::string>("") : f->is_string() ? f->get<std::string>() : std::optional<std::string>();
    };
    const auto key_text = text("key");
    const auto value_text = text("value");
    auto key = key_text ? base64_decode(*key_text) : std::nullopt;
    auto value = value_text ? base64_decode(*value_text) : std::nullopt;
    if (!key || !value)
      return make_error(ErrorKind::Invalid, "etcd answered a key or value that is not base64");
    e.key = std::move(*key);
    e.value = std::move(*value);
    e.create_revision = etcd_number(kv, "create_revision");
    e.mod_revision = etcd_number(kv, "mod_revision");
    e.lease = etcd_number(kv, "lease");
    out.push_back(std::move(e));
  }
  return out;
}

nlohmann::json etcd_range_request(const EtcdRange& range) {
  nlohmann::json r{{"key", base64_encode(range.key)}};
  if (!range.range_end.empty()) r["range_end"] = base64_encode(range.range_end);
  if (range.limit > 0) r["limit"] = std::to_string(range.limit);
  if (range.revision > 0) r["revision"] = std::to_string(range.revision);
  if (range.descend) {
    r["sort_order"] = "DESCEND";
    r["sort_target"] = "KEY";
  }
  if (range.keys_only) r["keys_only"] = true;
  if (range.count_only) r["count_only"] = true;
  return r;
}

nlohmann::json etcd_compare_create(const std::string& key, std::int64_t create_revision) {
  return {{"target", "CREATE"},
          {"result", "EQUAL"},
          {"key", base64_encode(key)},
          {"create_revision", std::to_string(create_revision)}};
}

nlohmann::json etcd_compare_mod(const std::string& key, std::int64_t mod_revision) {
  return {{"target", "MOD"},
          {"result", "EQUAL"},
          {"key", base64_encode(key)},
          {"mod_revision", std::to_string(mod_revision)}};
}

nlohmann::json etcd_put_op(const std::string& key, const std::string& value, std::int64_t lease) {
  nlohmann::json put{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return {{"request_put", std::move(put)}};
}

nlohmann::json etcd_range_op(const EtcdRange& range) {
  return {{"request_range", etcd_range_request(range)}};
}

nlohmann::json txn_response(const nlohmann::json& answer, std::size_t index, const char* kind) {
  const auto it = answer.find("responses");
  if (it == answer.end() || !it->is_array() || index >= it->size()) return nlohmann::json::object();
  const auto& r = (*it)[index];
  if (!r.is_object()) return nlohmann::json::object();
  const auto k = r.find(kind);
  return k != r.end() && k->is_object() ? *k : nlohmann::json::object();
}

planner::Result<nlohmann::json> EtcdGateway::call(const std::string& method, const nlohmann::json& body,
                                                  const std::string& what, bool idempotent) {
  HttpRequest request;
  request.method = "POST";
  request.url = m_endpoint + "/v3/" + method;
  request.body = body.dump();
  request.idempotent = idempotent;
  auto response = m_transport.send(request);
  if (!response.ok()) {
    planner::Error e = response.error();
    e.message = what + " in " + m_shown + ": " + e.message;
    return e;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(response->body);
  } catch (const nlohmann::json::exception&) {
    j = nullptr;
  }
  const int status = response->status;
  if (status == 200) {
    if (j.is_object()) return j;
    return make_error(
        ErrorKind::Invalid,
        what + " in " + m_shown + ": the answer is not a JSON object: " + summarize(response->body), status);
  }
  if (j.is_object() && (j.contains("message") || j.contains("error"))) {
    const std::string message = j.contains("message") && j["message"].is_string()
                                    ? j["message"].get<std::string>()
                                : j["error"].is_string() ? j["error"].get<std::string>()
                                                         : j.dump();
    const int code = j.contains("code") && j["code"].is_number_integer() ? j["code"].get<int>() : -1;
    return make_error(kind_of_grpc_code(code),
                      "etcd at " + m_shown + " refused " + what + ": \"" + message + "\" (gRPC code " +
                          std::to_string(code) + ", HTTP " + std::to_string(status) + ")",
                      status);
  }
  if (status == 404) {
    return make_error(ErrorKind::Config,
                      what + " in " + m_shown + ": " + request.url +
                          " does not exist (HTTP 404); is this the client URL of etcd 3.4 or newer?",
                      status);
  }
  return make_error(
      ErrorKind::Rejected,
      what + " in " + m_shown + ": HTTP " + std::to_string(status) + ": " + summarize(response->body),
      status);
}

planner::Result<nlohmann::json> EtcdGateway::txn(const nlohmann::json& compare, const nlohmann::json& success,
                                                 const nlohmann::json& failure, const std::string& what,
                                                 bool idempotent) {
  nlohmann::json body = nlohmann::json::object();
  if (!compare.empty()) body["compare"] = compare;
  if (!success.empty()) body["success"] = success;
  if (!failure.empty()) body["failure"] = failure;
  return call("kv/txn", body, what, idempotent);
}

}  // namespace meshmove::backends
