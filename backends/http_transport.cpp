#include "backends/http_transport.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <locale>
#include <mutex>
#include <random>
#include <sstream>

#include "backends/secrets.hpp"
#include "meshmove/version.hpp"

namespace meshmove::backends {
namespace {

using planner::ErrorKind;
using planner::make_error;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* body;
  std::size_t cap;
  bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->body->size() + n > sink->cap) {
    sink->overflow = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  const std::size_t n = size * count;
  std::string line(data, n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const auto b = value.find_first_not_of(" \t");
    const auto e = value.find_last_not_of(" \t\r\n");
    (*headers)[name] = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  }
  return n;
}

bool retryable_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// True when the request surely never reached the server (safe to retry a non-idempotent request).
bool never_sent(CURLcode code) { return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST; }

// A request in flight when the stop flag is set gets this long (microseconds of the transfer's own
// clock) to finish, so that a write about to land is recorded; then it is aborted. libcurl calls the
// progress function about once a second while it waits, so a signal ends a request within
// about a second plus this grace.
constexpr curl_off_t k_stop_grace_us = 100000;

struct StopWatch {
  const std::atomic<bool>* stop;
  CURL* handle;
  curl_off_t seen_at_us = -1;  // the transfer time when the flag was first seen set
};

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* watch = static_cast<StopWatch*>(user);
  if (!watch->stop->load()) return 0;
  curl_off_t now_us = 0;
  curl_easy_getinfo(watch->handle, CURLINFO_TOTAL_TIME_T, &now_us);
  if (watch->seen_at_us < 0) watch->seen_at_us = now_us;
  return now_us - watch->seen_at_us >= k_stop_grace_us ? 1 : 0;  // non-zero aborts the transfer
}

// Retry-After as a wait from `now`: delay-seconds, or an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994
// 08:49:37 GMT"). nullopt when it is neither.
std::optional<planner::Duration> parse_retry_after(const std::string& value, planner::TimePoint now) {
  if (!value.empty() && std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    if (value.size() > 12) return planner::Duration(std::chrono::hours(24 * 365 * 1000));  // absurd: far away
    return planner::Duration(std::stoll(value) * 1000);
  }
  std::tm tm{};
  std::istringstream in(value);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return std::nullopt;
  const std::time_t at = timegm(&tm);
  if (at == static_cast<std::time_t>(-1)) return std::nullopt;
  const auto then = std::chrono::time_point_cast<planner::Duration>(std::chrono::system_clock::from_time_t(at));
  return std::max(planner::Duration{0}, std::chrono::duration_cast<planner::Duration>(then - now));
}

// "27h46m39s", "1m30s", "250ms": hours as the largest unit, which reads better for a wait than days.
std::string format_wait(planner::Duration d) {
  long long ms = std::max<long long>(0, d.count());
  if (ms == 0) return "0s";
  std::string out;
  for (const auto& [unit, suffix] : {std::pair<long long, const char*>{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}}) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + suffix;
      ms %= unit;
    }
  }
  return out;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The start of a response body for a message, with any secret the server echoed redacted.
std::string summarize_body(const std::string& body) {
  std::string s = redact_secrets(body.substr(0, 300));
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (body.size() > 300) s += "...";
  return s;
}

bool has_control_char(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

// "user:password" in base64, as an Authorization: Basic header carries it (a server may echo it).
std::string base64(const std::string& in) {
  static const char* k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    unsigned v = 0;
    for (std::size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0U);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? k_alphabet[(v >> (18 - 6 * k)) & 0x3f] : '=';
  }
  return out;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(TransportConfig config, planner::Clock& clock)
      : m_config(std::move(config)), m_clock(clock), m_rng(std::random_device{}()) {
    global_init();
  }

  planner::Result<HttpResponse> send(const HttpRequest& request) override {
    const RetryPolicy& policy = request.retry ? *request.retry : m_config.retry;
    return send_with_retries(
        request, policy, m_config.request_timeout, m_clock, m_config.stop,
        [this](const HttpRequest& r, planner::Duration timeout) {
          CURLcode code = CURLE_OK;
          const std::string shown = r.display_url.empty() ? r.url : r.display_url;
          auto result = attempt_once(r, shown, timeout, code);
          return AttemptOutcome{std::move(result), never_sent(code)};
        },
        m_config.log, m_rng());
  }

 private:
  void log(const std::string& line) const {
    if (m_config.log) m_config.log(line);
  }

  planner::Result<HttpResponse> attempt_once(const HttpRequest& request, const std::string& shown,
                                             planner::Duration timeout, CURLcode& code) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return make_error(ErrorKind::Invalid, "could not initialise libcurl");
    CURL* h = curl.get();
    HttpResponse response;
    Sink sink{&response.body, m_config.max_response_bytes};
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // never send the token elsewhere
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(m_config.connect_timeout, timeout).count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    StopWatch watch{m_config.stop, h};
    if (m_config.stop != nullptr) {
      // A signal aborts a request in flight after a short grace (libcurl calls this often, and at least
      // about once a second while it waits).
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &watch);
    }
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(m_config.max_response_bytes));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
    const std::string agent = std::string("meshmove/") + k_version;
    curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
    if (!m_config.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, m_config.ca_file.c_str());
    if (!m_config.cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, m_config.cert_file.c_str());
    if (!m_config.key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, m_config.key_file.c_str());
    if (m_config.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (m_config.basic_auth) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERNAME, m_config.basic_auth->first.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, m_config.basic_auth->second.c_str());
    }

    // A CR or LF in a header value would inject headers: refused (the wiring refuses such tokens first).
    if (has_control_char(m_config.bearer_token)) {
      return make_error(ErrorKind::Config, request.method + " " + shown +
                                               ": the bearer token holds a control character (the value is not shown)");
    }
    for (const auto& [name, value] : request.headers) {
      if (has_control_char(name) || has_control_char(value)) {
        return make_error(ErrorKind::Config, request.method + " " + shown + ": the header " +
                                                 (has_control_char(name) ? std::string("name") : name) +
                                                 " holds a control character");
      }
    }
    curl_slist* headers = nullptr;
    const auto add = [&headers](const std::string& line) { headers = curl_slist_append(headers, line.c_str()); };
    add("Accept: application/json");
    if (!m_config.bearer_token.empty()) add("Authorization: Bearer " + m_config.bearer_token);
    for (const auto& [name, value] : request.headers) add(name + ": " + value);
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
        add("Content-Type: " + (request.content_type.empty() ? std::string("application/json") : request.content_type));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
    }
    add("Expect:");  // no 100-continue round trip
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

    const auto t0 = m_clock.now();
    code = curl_easy_perform(h);
    curl_slist_free_all(headers);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(m_clock.now() - t0).count();
    if (code != CURLE_OK) {
      if (m_config.on_response) m_config.on_response(0);
      if (sink.overflow || code == CURLE_FILESIZE_EXCEEDED) {
        return make_error(ErrorKind::Invalid, request.method + " " + shown + ": the response is larger than " +
                                                  std::to_string(m_config.max_response_bytes) + " bytes");
      }
      if (code == CURLE_ABORTED_BY_CALLBACK) {
        log(request.method + " " + shown + " -> aborted by a signal after " + std::to_string(ms) + " ms");
        return make_error(ErrorKind::Interrupted, request.method + " " + shown + ": interrupted by a signal");
      }
      std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      // libcurl's messages may contain the URL; replace it by the display form.
      if (!request.display_url.empty()) {
        for (std::size_t p; (p = detail.find(request.url)) != std::string::npos;) {
          detail.replace(p, request.url.size(), request.display_url);
        }
      }
      detail = redact_secrets(detail);
      log(request.method + " " + shown + " -> " + detail + " in " + std::to_string(ms) + " ms");
      const bool tls = code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR ||
                       code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CERTPROBLEM ||
                       code == CURLE_SSL_CIPHER || code == CURLE_SSL_ENGINE_NOTFOUND;
      if (tls) {
        return make_error(ErrorKind::Config, request.method + " " + shown + ": TLS failed: " + detail +
                                                 " (set caFile to the CA that signed the server's certificate)");
      }
      const ErrorKind kind = retryable_curl_error(code) ? ErrorKind::Unavailable : ErrorKind::Config;
      return make_error(kind, request.method + " " + shown + ": " + detail);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    if (m_config.on_response) m_config.on_response(response.status);
    log(request.method + " " + shown + " -> " + std::to_string(status) + " in " + std::to_string(ms) + " ms");
    return response;
  }

  TransportConfig m_config;
  planner::Clock& m_clock;
  std::mt19937_64 m_rng;
};

}  // namespace

RetryPolicy undo_retry_policy(planner::Duration deadline) {
  RetryPolicy p;
  p.max_attempts = 0;
  p.max_total = deadline;
  p.initial_backoff = std::chrono::milliseconds(500);
  p.max_backoff = std::chrono::seconds(5);
  p.max_retry_after = deadline;
  p.deadline = true;
  return p;
}

std::string redact_location(const std::string& location) {
  std::string out = location;
  const auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    const auto authority_end = out.find_first_of("/?#", scheme + 3);
    const auto at = out.find('@', scheme + 3);
    if (at != std::string::npos && (authority_end == std::string::npos || at < authority_end)) {
      out.replace(scheme + 3, at - (scheme + 3), "[redacted]");
    }
  }
  const auto query = out.find_first_of("?#");
  if (query != std::string::npos) out = out.substr(0, query) + (out[query] == '?' ? "?[redacted]" : "");
  std::string clean;
  for (const unsigned char c : out) clean += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return clean;
}

planner::Result<HttpResponse> send_with_retries(const HttpRequest& request, const RetryPolicy& policy,
                                                planner::Duration attempt_timeout, planner::Clock& clock,
                                                const std::atomic<bool>* stop, const AttemptFunction& attempt,
                                                const std::function<void(const std::string&)>& log,
                                                std::uint64_t seed) {
  using planner::Duration;
  const std::string shown = request.display_url.empty() ? request.url : request.display_url;
  const auto stopped = [stop] { return stop != nullptr && stop->load(); };
  const auto start = clock.now();
  const auto elapsed = [&] { return std::chrono::duration_cast<Duration>(clock.now() - start); };
  std::mt19937_64 rng(seed);
  Duration backoff = policy.initial_backoff;
  std::string last_failure;
  int attempt_count = 0;
  const auto interrupted = [&] {
    return make_error(ErrorKind::Interrupted, request.method + " " + shown + ": interrupted by a signal after " +
                                                  std::to_string(attempt_count) +
                                                  (attempt_count == 1 ? " attempt" : " attempts") + " in " +
                                                  format_wait(elapsed()) +
                                                  (last_failure.empty() ? "" : " (last: " + last_failure + ")"));
  };
  const auto give_up = [&](const std::string& why, int status) {
    return make_error(ErrorKind::Unavailable,
                      request.method + " " + shown + " failed after " + std::to_string(attempt_count) +
                          (attempt_count == 1 ? " attempt" : " attempts") + " in " + format_wait(elapsed()) +
                          ": " + last_failure + why,
                      status);
  };
  while (true) {
    if (stopped()) return interrupted();
    ++attempt_count;
    Duration timeout = attempt_timeout;
    if (policy.deadline) {
      // Every attempt ends by the deadline (but gets at least a second, so that one can succeed).
      timeout = std::max<Duration>(std::min(timeout, policy.max_total - elapsed()), std::chrono::seconds(1));
    }
    AttemptOutcome outcome = attempt(request, timeout);
    auto& result = outcome.result;
    bool retry = false;
    std::optional<Duration> asked;
    int status = 0;
    if (result.ok()) {
      status = result->status;
      if (is_redirect(status)) {
        const auto it = result->headers.find("location");
        std::string where = it == result->headers.end() || it->second.empty() ? std::string("an address it did not give")
                            : request.display_url.empty()                    ? redact_location(it->second)
                                                                             : redact_url(it->second);
        return make_error(ErrorKind::Config,
                          request.method + " " + shown + " -> HTTP " + std::to_string(status) + " redirect to " +
                              where + "; meshmove does not follow redirects: point the URL at the final address",
                          status);
      }
      if (status != 429 && status < 500) return std::move(result);
      last_failure = "HTTP " + std::to_string(status) + ": " + summarize_body(result->body);
      retry = true;
      if (const auto it = result->headers.find("retry-after"); it != result->headers.end()) {
        asked = parse_retry_after(it->second, clock.now());
      }
    } else {
      if (result.error().kind == ErrorKind::Interrupted) return interrupted();
      if (!result.error().retryable()) return std::move(result);
      last_failure = result.error().message;
      retry = request.idempotent || outcome.never_sent;
    }
    if (stopped()) return interrupted();
    const Duration spent = elapsed();
    const Duration remaining = policy.max_total - spent;
    if (!retry || (policy.max_attempts > 0 && attempt_count >= policy.max_attempts) || remaining <= Duration{0}) {
      return give_up("", status);
    }
    Duration wait;
    if (asked) {
      const Duration cap = std::min(policy.max_retry_after, remaining);
      if (*asked > cap) {
        const bool beyond_deadline = *asked > remaining;
        return give_up("; the server asked to retry after " + format_wait(*asked) + ", beyond the " +
                           (beyond_deadline ? std::string("deadline (") + format_wait(remaining) + " left of " +
                                                  format_wait(policy.max_total) + ")"
                                            : "longest wait meshmove honours (" +
                                                  format_wait(policy.max_retry_after) + ")"),
                       status);
      }
      wait = std::max<Duration>(*asked, std::chrono::milliseconds(100));  // "0" must not spin
    } else {
      // Jitter in [backoff/2, backoff].
      std::uniform_int_distribution<long long> jitter(backoff.count() / 2, backoff.count());
      wait = Duration{jitter(rng)};
      if (wait >= remaining) {
        if (!policy.deadline) return give_up("", status);
        wait = remaining;  // one last attempt at the deadline
      }
    }
    if (log) {
      log("retrying " + request.method + " " + shown + " in " + format_wait(wait) + " (attempt " +
          std::to_string(attempt_count) + " failed: " + last_failure + ")");
    }
    // Sleep in slices, so that a signal ends the wait within 100 ms.
    for (auto until = clock.now() + wait; clock.now() < until;) {
      if (stopped()) return interrupted();
      clock.sleep(std::min<Duration>(std::chrono::duration_cast<Duration>(until - clock.now()),
                                     std::chrono::milliseconds(100)));
    }
    backoff = std::min(backoff * 2, policy.max_backoff);
  }
}

std::unique_ptr<HttpTransport> make_curl_transport(TransportConfig config, planner::Clock& clock) {
  // Whoever built the config, what this transport sends as credentials is never printed or stored.
  register_secret(config.bearer_token);
  if (config.basic_auth) {
    register_secret(config.basic_auth->second);
    register_secret(base64(config.basic_auth->first + ":" + config.basic_auth->second));
  }
  return std::make_unique<CurlTransport>(std::move(config), clock);
}

planner::Result<std::string> read_secret_file(const std::string& path,
                                              const std::function<void(const std::string&)>& warn) {
  constexpr std::size_t k_cap = 64 * 1024;
  // O_NONBLOCK: opening a FIFO must not hang; fstat then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return make_error(ErrorKind::Config, "cannot read the secret file " + path + ": " + std::strerror(errno));
  }
  const auto close_fd = [fd] { ::close(fd); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    close_fd();
    return make_error(ErrorKind::Config, "cannot read the secret file " + path + ": " + std::strerror(err));
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  std::string refused;
  if (!S_ISREG(st.st_mode)) {
    refused = "the secret file " + path + " is not a regular file (a directory, device, FIFO or socket): name the "
              "file that holds the secret";
  } else if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    refused = "the secret file " + path + " is owned by uid " + std::to_string(st.st_uid) +
              ", neither the user meshmove runs as (uid " + std::to_string(::geteuid()) +
              ") nor root, who could change it: chown " + std::to_string(::geteuid()) + " " + path +
              ", or use a file of your own";
  } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    refused = "the secret file " + path + " is writable by " +
              ((st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group") + " (mode " + mode +
              "), who could replace the secret: chmod 600 " + path;
  } else if (st.st_size > static_cast<off_t>(k_cap)) {
    refused = "the secret file " + path + " is larger than 64 KiB; it must hold one token, password or URL";
  }
  if (!refused.empty()) {
    close_fd();
    return make_error(ErrorKind::Config, refused);
  }
  std::string s;
  char buf[4096];
  while (s.size() <= k_cap) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close_fd();
      return make_error(ErrorKind::Config, "cannot read the secret file " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    s.append(buf, static_cast<std::size_t>(n));
  }
  close_fd();
  if (s.size() > k_cap) {
    return make_error(ErrorKind::Config,
                      "the secret file " + path + " is larger than 64 KiB; it must hold one token, password or URL");
  }
  auto value = single_line_secret(std::move(s), "the secret file " + path);
  if (!value.ok()) return value;
  if (value->rfind("http://", 0) == 0 || value->rfind("https://", 0) == 0) {
    register_secret_url(*value);
  } else {
    register_secret(*value);
  }
  if (warn && st.st_uid == ::geteuid() && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    warn("the secret file " + path + " is readable by " + ((st.st_mode & S_IROTH) != 0 ? "everyone" : "its group") +
         " (mode " + mode + "): chmod 600 " + path + " (on a Kubernetes Secret volume: defaultMode: 0400)");
  } else if (warn && st.st_uid != ::geteuid() && (st.st_mode & S_IROTH) != 0) {
    // Root's file, read by another user: through its group at best.
    warn("the secret file " + path + " is readable by everyone (mode " + mode + "): chmod 640 " + path +
         " and give it a group of the user meshmove runs as (on a Kubernetes Secret volume: defaultMode: 0440 and "
         "the pod's fsGroup)");
  }
  return value;
}

std::string url_encode(const std::string& value) {
  std::string out;
  for (const unsigned char c : value) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string redact_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return "[redacted URL]";
  const auto path = url.find('/', scheme + 3);
  return (path == std::string::npos ? url : url.substr(0, path)) + "/[redacted]";
}

}  // namespace meshmove::backends
