#pragma once
// The one HTTP transport, used by every backend and by the Prometheus client (libcurl underneath).
// Retries retryable failures only (connection refused/reset, timeouts, 429, 5xx) with bounded
// exponential backoff and jitter; never other 4xx. TLS is verified unless insecure_skip_verify.
// Secrets (the bearer token, basic-auth password) never appear in messages or logs.
#include <cstdint>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/error.hpp"

namespace meshmove::backends {

struct RetryPolicy {
  int max_attempts = 4;                                    // including the first; 0: no limit but max_total
  planner::Duration max_total = std::chrono::seconds(30);  // no retry starts after this much time
  planner::Duration initial_backoff = std::chrono::milliseconds(200);
  planner::Duration max_backoff = std::chrono::seconds(5);
  // The longest Retry-After (429/503) that is waited for, further bounded by what remains of max_total;
  // a longer one gives up at once ("asked to retry after 27h46m39s, beyond the deadline").
  planner::Duration max_retry_after = std::chrono::seconds(60);
  // True when max_total is a deadline for the whole exchange: each attempt's timeout is cut to what remains.
  bool deadline = false;
};

// The policy of a write that undoes risk (a rollback): retries every retryable failure (5xx, 429,
// timeouts, refused connections) with exponential backoff and jitter until `deadline` (milliseconds)
// has passed since the first attempt, honouring Retry-After up to the deadline.
RetryPolicy undo_retry_policy(planner::Duration deadline);

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
  // Replaces the transport's RetryPolicy for this request (writes that undo risk retry for longer).
  std::optional<RetryPolicy> retry;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
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
  // When it becomes true (a signal), retries stop, backoff waits end and a request in flight is aborted
  // (within about a second); send() then returns ErrorKind::Interrupted. May be null.
  const std::atomic<bool>* stop = nullptr;
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

// One attempt of a request, without retries, taking at most `timeout` (milliseconds) in all.
struct AttemptOutcome {
  planner::Result<HttpResponse> result;
  bool never_sent = false;  // the request surely did not reach the server (refused, DNS): safe to repeat
};
using AttemptFunction = std::function<AttemptOutcome(const HttpRequest&, planner::Duration timeout)>;

// The retry loop of every transport (exposed for tests with a fake clock and a fake attempt):
//   - 1xx/2xx/4xx other than 429 are returned; 3xx is ErrorKind::Config ("HTTP 302 redirect to <Location,
//     credentials and query redacted>; meshmove does not follow redirects: point the URL at the final
//     address");
//   - 429, 5xx and retryable attempt errors are retried per `policy` (non-idempotent requests only when
//     never sent), waiting the backoff with jitter, or what Retry-After asks (seconds or an HTTP date);
//     a Retry-After beyond policy.max_retry_after or the time that remains gives up at once;
//   - `stop` (may be null) ends backoff waits within 100 ms and returns ErrorKind::Interrupted;
//   - otherwise ErrorKind::Unavailable naming the last failure, the attempts and the time spent.
// `attempt_timeout` is the per-attempt timeout (cut to what remains with a deadline policy); `log` may be
// empty; `seed` seeds the jitter.
planner::Result<HttpResponse> send_with_retries(const HttpRequest& request, const RetryPolicy& policy,
                                                planner::Duration attempt_timeout, planner::Clock& clock,
                                                const std::atomic<bool>* stop, const AttemptFunction& attempt,
                                                const std::function<void(const std::string&)>& log,
                                                std::uint64_t seed);

// "https://user:pw@host/p?token=x" -> "https://[redacted]@host/p?[redacted]"; a relative reference keeps
// its path.
std::string redact_location(const std::string& location);

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
