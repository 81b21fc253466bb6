#include "cli/output.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "backends/secrets.hpp"

namespace meshmove::cli {

Output::Output(const GlobalOptions& options, std::ostream& out, std::ostream& err)
    : m_options(options), m_out(out), m_err(err) {}

void Output::write(std::ostream& s, std::string_view text) {
  const std::lock_guard<std::mutex> lock(m_mutex);
  s << redact(text);
  if (text.empty() || text.back() != '\n') s << '\n';
  s.flush();
}

void Output::result(std::string_view text) {
  if (!m_options.quiet) write(m_out, text);
}

void Output::json(const std::string& document) { write(m_out, document); }

void Output::error(std::string_view text) {
  if (json_logs()) return write_json_log(m_err, "error", text);
  write(m_err, paint("error: ", 31) + std::string(text));
}

void Output::warning(std::string_view text) {
  if (m_options.quiet) return;
  if (json_logs()) return write_json_log(m_err, "warning", text);
  write(m_err, paint("warning: ", 33) + std::string(text));
}

void Output::diagnostic(std::string_view text) {
  if (json_logs()) return write_json_log(m_err, "diagnostic", text);
  write(m_err, text);
}

void Output::log(int level, std::string_view text) {
  if (m_options.verbosity < level) return;
  if (json_logs()) return write_json_log(m_err, level >= 2 ? "debug" : "info", text);
  write(m_err, paint("meshmove: ", 2) + std::string(text));
}

bool Output::json_logs() const { return m_options.log_format == LogFormat::Json; }

void Output::write_json_log(std::ostream& s, std::string_view level, std::string_view text) {
  std::string message = redact(text);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  const nlohmann::json line{{"event", "log"}, {"level", level}, {"message", message}};
  // Invalid UTF-8 (from a server's answer) is replaced, never a reason to lose the line.
  write(s, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Output::add_secret(const std::string& secret) { backends::register_secret(secret); }

std::string Output::redact(std::string_view text) const { return backends::redact_secrets(text); }

std::string Output::paint(std::string_view text, int code) const {
  if (!m_options.color) return std::string(text);
  return "\033[" + std::to_string(code) + "m" + std::string(text) + "\033[0m";
}

}  // namespace meshmove::cli
