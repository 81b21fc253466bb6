#include "cli/output.hpp"

#include <ostream>

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

void Output::error(std::string_view text) { write(m_err, paint("error: ", 31) + std::string(text)); }

void Output::warning(std::string_view text) {
  if (!m_options.quiet) write(m_err, paint("warning: ", 33) + std::string(text));
}

void Output::diagnostic(std::string_view text) { write(m_err, text); }

void Output::log(int level, std::string_view text) {
  if (m_options.verbosity >= level) write(m_err, paint("meshmove: ", 2) + std::string(text));
}

void Output::add_secret(const std::string& secret) {
  if (secret.empty()) return;
  const std::lock_guard<std::mutex> lock(m_mutex);
  m_secrets.push_back(secret);
}

std::string Output::redact(std::string_view text) const {
  std::string s(text);
  for (const auto& secret : m_secrets) {
    std::size_t pos = 0;
    while ((pos = s.find(secret, pos)) != std::string::npos) {
      s.replace(pos, secret.size(), "[REDACTED]");
      pos += 10;
    }
  }
  return s;
}

std::string Output::paint(std::string_view text, int code) const {
  if (!m_options.color) return std::string(text);
  return "\033[" + std::to_string(code) + "m" + std::string(text) + "\033[0m";
}

}  // namespace meshmove::cli
