#pragma once
// A small blocking HTTP(S) client for tests (cpp-httplib underneath). Every call has a timeout and
// reports transport failures as a value (status 0 + error), never by throwing.
#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace meshmove::testsupport {

using namespace std::chrono_literals;

struct HttpResponse {
  int status = 0;  // 0: no HTTP response (connection refused or reset, timeout, TLS failure)
  std::string body;
  std::multimap<std::string, std::string> headers;
  std::string error;  // why there was no response, when status == 0

  // The header's first value, or "" (case-insensitive name).
  [[nodiscard]] std::string header(const std::string& name) const;
  // The body parsed as JSON; throws std::runtime_error quoting the body when it is not JSON.
  [[nodiscard]] nlohmann::json json() const;
};

struct HttpOptions {
  std::chrono::milliseconds timeout = 10s;  // connect, read and write, each
  std::string ca_file;                      // https: trust this PEM CA (e.g. a self-signed certificate)
  bool verify_tls = true;                   // https: verify the server certificate
  std::map<std::string, std::string> headers;
};

// `url` is "http[s]://host:port/path?query" (the query already encoded, see url_encode).
HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body = "",
                          const HttpOptions& options = {});
inline HttpResponse http_get(const std::string& url, const HttpOptions& options = {}) {
  return http_request("GET", url, "", options);
}
// PUTs `body` as application/json.
inline HttpResponse http_put(const std::string& url, const std::string& body,
                             const HttpOptions& options = {}) {
  return http_request("PUT", url, body, options);
}
inline HttpResponse http_delete(const std::string& url, const HttpOptions& options = {}) {
  return http_request("DELETE", url, "", options);
}

// Percent-encodes everything but unreserved characters (RFC 3986), for query values such as PromQL.
std::string url_encode(std::string_view text);

}  // namespace meshmove::testsupport
