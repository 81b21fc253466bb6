#pragma once
// The one HTTP transport, used by every backend and by the Prometheus client (libcurl underneath).
// Retries retryable failures only (connection refused/reset, timeouts, 429, 5xx) with bounded
// exponential backoff and jitter; never other 4xx. TLS is verified unless insecure_skip_verify.
// Secrets (the bearer token, basic-auth password) never appear in messages or logs.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/error.hpp"

namespace meshmove::backends {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;  // sent with Content-Type: application/json unless a content_type is given
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (not logged)
  // A name to use for the URL in messages and logs when the URL itself is a secret (a webhook).
  std::string display_url;
  // False for requests that must not be repeated once sent (retried only if the connection failed).
  bool idempotent = true;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct RetryPolicy {
  int max_attempts = 4;                                    // including the first
  planner::Duration max_total = std::chrono::seconds(30);  // no retry starts after this much time
  planner::Duration initial_backoff = std::chrono::milliseconds(200);
  planner::Duration max_backoff = std::chrono::seconds(5);
};

struct TransportConfig {
  planner::Duration connect_timeout = std::chrono::seconds(5);
  planner::Duration request_timeout = std::chrono::seconds(10);  // one attempt, total
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;
  std::string bearer_token;  // secret
  std::optional<std::pair<std::string, std::string>> basic_auth;  // user, password (secret)
  RetryPolicy retry;
  // Verbose log lines ("PUT https://... -> 201 in 12 ms"); may be empty.
  std::function<void(const std::string&)> log;
  // Called once per HTTP response received (status code) or failure (0); may be empty.
  std::function<void(int status)> on_response;
};

// Sends HTTP requests. Implementations are safe to use from one thread at a time.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Returns the response for 1xx-4xx statuses other than 429 (callers interpret 4xx bodies). Returns
  // ErrorKind::Unavailable when every attempt failed with a retryable failure (the message names the
  // last one and how many attempts were made), Config for TLS/URL problems, Invalid for a response over
  // the size cap.
  virtual planner::Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// The libcurl transport. `clock` paces the backoff (a fake clock makes retries instant in tests).
std::unique_ptr<HttpTransport> make_curl_transport(TransportConfig config, planner::Clock& clock);

// Reads a secret (token, password, webhook URL) from a file. After following symlinks (Kubernetes Secret
// volumes are `token -> ..data/token`) it must be a regular file of at most 64 KiB, owned by the user
// meshmove runs as or by root, and writable by nobody else; the content is one line (a trailing newline is
// removed; CR, LF and other control characters are refused: see single_line_secret). A file readable by
// its group or others is used, and `warn` (when set) gets a warning naming the fix. The value is
// registered with process_secrets(). Errors (Config) name the file and the fix, never the content.
planner::Result<std::string> read_secret_file(const std::string& path,
                                              const std::function<void(const std::string&)>& warn = {});

// Percent-encodes everything but RFC 3986 unreserved characters (for a URL path segment, a query value
// or an application/x-www-form-urlencoded value).
std::string url_encode(const std::string& value);

// "https://hooks.example/services/T0/B0/XXXX" -> "https://hooks.example/[redacted]": scheme and host.
std::string redact_url(const std::string& url);

}  // namespace meshmove::backends
