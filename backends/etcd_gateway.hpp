#pragma once
// A small client for etcd v3's JSON gateway (POST http(s)://host:port/v3/<service>/<method>), used by the
// etcd state store. The gateway's conventions (etcd 3.4): keys and values are base64, 64-bit numbers
// (revisions, lease IDs, TTLs) are strings, and fields with default values are omitted (a failed
// transaction has no "succeeded", a missing key no "kvs"). Errors come back as {"error", "code",
// "message"} with a gRPC status code.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/http_transport.hpp"
#include "planner/error.hpp"

namespace meshmove::backends {

// A state store URL: etcd://host:port/prefix (plain HTTP) or etcd+https://host:port/prefix.
struct EtcdUrl {
  std::string endpoint;  // "http://host:port" or "https://host:port"
  std::string prefix;  // "/meshmove": starts with '/', no trailing '/'; "/meshmove" when the URL has no path
  std::string shown;   // the URL normalised, for messages: "etcd://host:port/meshmove"
};

// Error Config naming what is wrong (scheme, host, port) and the expected form.
planner::Result<EtcdUrl> parse_etcd_url(const std::string& url);

std::string base64_encode(std::string_view data);
// nullopt when `text` is not standard base64 (with padding).
std::optional<std::string> base64_decode(std::string_view text);

// etcd's range_end for "every key that starts with `prefix`": the prefix with its last byte incremented.
std::string prefix_end(std::string prefix);

// A 64-bit number the gateway sends as a string (or a number); 0 when absent or malformed.
std::int64_t etcd_number(const nlohmann::json& object, const char* name);

struct EtcdKeyValue {
  std::string key;
  std::string value;  // empty for keys_only ranges
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

// The decoded "kvs" (or "prev_kvs") of a range (delete) response; empty when absent. Error Invalid when
// a key or value is not base64.
planner::Result<std::vector<EtcdKeyValue>> etcd_key_values(const nlohmann::json& response,
                                                           const char* field = "kvs");

// Request parts for kv/txn and kv/range (JSON as the gateway expects it).
struct EtcdRange {
  // The one key, or every key in [key, range_end).
  explicit EtcdRange(std::string first, std::string end = {})
      : key(std::move(first)), range_end(std::move(end)) {}
  EtcdRange& limited(std::int64_t n) {
    limit = n;
    return *this;
  }
  EtcdRange& descending() {
    descend = true;
    return *this;
  }
  EtcdRange& only_keys() {
    keys_only = true;
    return *this;
  }
  EtcdRange& only_count() {
    count_only = true;
    return *this;
  }

  std::string key;
  std::string range_end;  // "" for the one key
  std::int64_t limit = 0;
  std::int64_t revision = 0;  // 0: the newest
  bool descend = false;       // sorted by key, descending
  bool keys_only = false;
  bool count_only = false;
};
nlohmann::json etcd_range_request(const EtcdRange& range);
nlohmann::json etcd_compare_create(const std::string& key, std::int64_t create_revision);
nlohmann::json etcd_compare_mod(const std::string& key, std::int64_t mod_revision);
nlohmann::json etcd_put_op(const std::string& key, const std::string& value, std::int64_t lease = 0);
nlohmann::json etcd_range_op(const EtcdRange& range);

// Sends gateway requests through one transport (so: from one thread at a time, like the transport).
class EtcdGateway {
 public:
  EtcdGateway(std::string endpoint, std::string shown, HttpTransport& transport)
      : m_endpoint(std::move(endpoint)), m_shown(std::move(shown)), m_transport(transport) {}

  // POSTs `body` to /v3/<method> ("kv/txn") and returns the parsed answer. `what` says what for, in
  // errors ("saving the state of apitier"). A request that is not `idempotent` (a write) is retried only
  // when it surely never reached etcd, so that a write is never applied twice. Errors: Unavailable when etcd
  // cannot be reached after the transport's retries (or answers 5xx); for a gateway error body, a message
  // quoting etcd's and a kind by its gRPC code (NotFound 5, Config for 7/16 permission and authentication,
  // else Rejected); Config when /v3/ does not exist (not etcd 3.4+); Invalid for an answer that is not a JSON
  // object.
  planner::Result<nlohmann::json> call(const std::string& method, const nlohmann::json& body,
                                       const std::string& what, bool idempotent = true);

  // A transaction (every compare holds -> success ops, else failure ops), not idempotent unless said;
  // the answer as call(). Callers read `succeeded` with txn_succeeded() (absent when false).
  planner::Result<nlohmann::json> txn(const nlohmann::json& compare, const nlohmann::json& success,
                                      const nlohmann::json& failure, const std::string& what,
                                      bool idempotent = false);

 private:
  std::string m_endpoint;
  std::string m_shown;
  HttpTransport& m_transport;
};

inline bool txn_succeeded(const nlohmann::json& answer) {
  const auto it = answer.find("succeeded");
  return it != answer.end() && it->is_boolean() && it->get<bool>();
}

// The index-th response of a transaction answer's "responses", unwrapped ("response_range" etc.);
// an empty object when absent.
nlohmann::json txn_response(const nlohmann::json& answer, std::size_t index, const char* kind);

}  // namespace meshmove::backends
