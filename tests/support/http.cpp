#include "tests/support/http.hpp"

#include <httplib.h>

#include <algorithm>
#include <stdexcept>

namespace meshmove::testsupport {

std::string HttpResponse::header(const std::string& name) const {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  const std::string wanted = lower(name);
  for (const auto& [k, v] : headers) {
    if (lower(k) == wanted) return v;
  }
  return {};
}

nlohmann::json HttpResponse::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error("not JSON (HTTP " + std::to_string(status) + "): " + body.substr(0, 500));
  }
}

HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body,
                          const HttpOptions& options) {
  HttpResponse out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    out.error = "not an absolute URL: " + url;
    return out;
  }
  const auto path_start = url.find('/', scheme_end + 3);
  const std::string origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);

  httplib::Client client(origin);
  if (!client.is_valid()) {
    out.error = "cannot make a client for " + origin;
    return out;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - seconds);
  client.set_connection_timeout(seconds.count(), micros.count());
  client.set_read_timeout(seconds.count(), micros.count());
  client.set_write_timeout(seconds.count(), micros.count());
  client.set_keep_alive(false);
  if (url.rfind("https://", 0) == 0) {
    client.enable_server_certificate_verification(options.verify_tls);
    if (!options.ca_file.empty()) client.set_ca_cert_path(options.ca_file.c_str());
  }
  httplib::Headers headers;
  for (const auto& [k, v] : options.headers) headers.emplace(k, v);

  if (method != "GET" && method != "DELETE" && method != "PUT" && method != "POST" && method != "PATCH") {
    out.error = "unsupported method " + method;
    return out;
  }
  httplib::Result result = [&] {
    if (method == "GET") return client.Get(path.c_str(), headers);
    if (method == "DELETE") return client.Delete(path.c_str(), headers);
    if (method == "PUT") return client.Put(path.c_str(), headers, body, "application/json");
    if (method == "POST") return client.Post(path.c_str(), headers, body, "application/json");
    return client.Patch(path.c_str(), headers, body, "application/json");
  }();
  if (!result) {
    out.error = httplib::to_string(result.error());
    return out;
  }
  out.status = result->status;
  out.body = result->body;
  for (const auto& [k, v] : result->headers) out.headers.emplace(k, v);
  return out;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

}  // namespace meshmove::testsupport
