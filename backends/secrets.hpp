#pragma once
// The secrets of this process (bearer tokens, basic-auth passwords, webhook URLs) and the one redactor
// that keeps them out of everything meshmove writes. The code that reads a secret registers it (the
// wiring, read_secret_file, the HTTP transport); the code that turns a server's answer into a message
// redacts it there (the transport, the Kuma and Prometheus error paths), and cli/redacting_ports redacts
// again at the state store, reporter and notifier ports. Output redacts every line it prints.
//
// Besides the registered values, these are redacted wherever they appear (a server that echoes a
// request): the credentials after "Bearer " or "Basic ", the value of an "Authorization:" or
// "Authorization=" header, the user-info of a URL ("https://user:pw@host" -> "https://[REDACTED]@host"),
// and the value of token=, access_token=, api_key=, apikey=, password=, passwd= and secret=.
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/error.hpp"

namespace meshmove::backends {

inline constexpr std::string_view k_redacted = "[REDACTED]";

// A set of secret values and the redaction above. Thread-safe.
class SecretRedactor {
 public:
  // Remembers `secret` (ignored when empty).
  void add(const std::string& secret);
  // Remembers a secret URL (a webhook): the URL, and everything after its host and each path segment or
  // query value when 16 characters or more (a token a receiver may quote on its own; a short path such
  // as "/hook" would redact ordinary words).
  void add_url(const std::string& url);
  // `text` with every remembered secret and every pattern above replaced by "[REDACTED]".
  [[nodiscard]] std::string redact(std::string_view text) const;
  // A copy of `value` with every string in it (object keys too) redacted.
  [[nodiscard]] nlohmann::json redact_json(const nlohmann::json& value) const;

 private:
  mutable std::mutex m_mutex;
  std::vector<std::string> m_secrets;  // longest first, so that a URL goes before its path segments
};

// The process-wide redactor that every output path uses.
SecretRedactor& process_secrets();
inline void register_secret(const std::string& secret) { process_secrets().add(secret); }
inline void register_secret_url(const std::string& url) { process_secrets().add_url(url); }
inline std::string redact_secrets(std::string_view text) { return process_secrets().redact(text); }
inline nlohmann::json redact_secrets_json(const nlohmann::json& value) { return process_secrets().redact_json(value); }
// The error with its message redacted.
planner::Error redact_error(planner::Error error);

// Checks that a secret is one line: removes trailing line breaks (and spaces), then refuses a value that
// is empty or holds a control character (CR, LF, tab, any byte below 0x20, DEL), which would inject
// headers. `what` names where it came from ("the token file /run/secrets/token", "MESHMOVE_KUMA_TOKEN");
// the message never quotes the value. Error kind Config.
planner::Result<std::string> single_line_secret(std::string value, const std::string& what);

}  // namespace meshmove::backends
