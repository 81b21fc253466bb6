#pragma once
// Where meshmove writes: results to stdout (text or JSON), diagnostics and logs to stderr.
// Secrets (registered with add_secret() or anywhere else with backends::register_secret) are replaced
// by "[REDACTED]" in everything written here. With --log-format json, every line written to stderr
// (logs, warnings, errors, diagnostics) is one JSON object: {"event": "log", "level": "debug" | "info" |
// "warning" | "error" | "diagnostic", "message": "..."}.
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.hpp"

namespace meshmove::metrics {
class Telemetry;
}
namespace meshmove::backends {
class WebhookNotifier;
}

namespace meshmove::cli {

class Output {
 public:
  Output(const GlobalOptions& options, std::ostream& out, std::ostream& err);

  // Results (stdout). Text output is suppressed by -q; JSON output never is.
  void result(std::string_view text);
  void json(const std::string& document);  // one JSON document, followed by a newline
  // Diagnostics and errors (stderr), never suppressed.
  void error(std::string_view text);
  void warning(std::string_view text);
  // A line to stderr as is (diagnostics already formatted as file:line:col: field: message).
  void diagnostic(std::string_view text);
  // Logs (stderr) shown at verbosity >= level.
  void log(int level, std::string_view text);

  // Never print `secret` (tokens, passwords, webhook URLs) nor store it anywhere (process-wide: see
  // backends/secrets.hpp); empty strings are ignored.
  void add_secret(const std::string& secret);
  [[nodiscard]] std::string redact(std::string_view text) const;

  [[nodiscard]] const GlobalOptions& options() const { return m_options; }
  // meshmove's own metrics (always present) and the webhook notifier (set by run()); commands report
  // what they did to both.
  void set_telemetry(metrics::Telemetry* t) { m_telemetry = t; }
  [[nodiscard]] metrics::Telemetry* telemetry() const { return m_telemetry; }
  void set_notifier(backends::WebhookNotifier* n) { m_notifier = n; }
  [[nodiscard]] backends::WebhookNotifier* notifier() const { return m_notifier; }
  [[nodiscard]] bool color() const { return m_options.color; }
  // Wraps `text` in an ANSI colour when colour is on (codes: 31 red, 32 green, 33 yellow, 1 bold, 2 dim).
  [[nodiscard]] std::string paint(std::string_view text, int code) const;

 private:
  void write(std::ostream& s, std::string_view text);
  [[nodiscard]] bool json_logs() const;
  void write_json_log(std::ostream& s, std::string_view level, std::string_view text);
  const GlobalOptions& m_options;
  std::ostream& m_out;
  std::ostream& m_err;
  metrics::Telemetry* m_telemetry = nullptr;
  backends::WebhookNotifier* m_notifier = nullptr;
  mutable std::mutex m_mutex;
};

}  // namespace meshmove::cli
