#include "backends/secrets.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace meshmove::backends {
namespace {

// Characters that may be part of a credential: printable, not a quote, bracket, separator or backslash
// (where an echoed header ends inside JSON, a Go map dump or a sentence).
bool credential_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c == 0x7f) return false;
  switch (c) {
    case '"':
    case '\'':
    case '`':
    case ',':
    case ';':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case '\\':
    case '&':
      return false;
    default:
      return true;
  }
}

bool word_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return std::isalnum(c) != 0 || c == '_';
}

char lower(char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); }

// Whether `word` (lower case) starts at s[i], case-insensitively.
bool starts_with_icase(const std::string& s, std::size_t i, std::string_view word) {
  if (s.size() - i < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (lower(s[i + k]) != word[k]) return false;
  }
  return true;
}

// The end of the credential that starts at `i` (i when there is none).
std::size_t credential_end(const std::string& s, std::size_t i) {
  while (i < s.size() && credential_char(s[i])) ++i;
  return i;
}

std::size_t skip_blanks(const std::string& s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

constexpr std::array<std::string_view, 6> k_schemes{"bearer", "basic", "token", "digest", "negotiate", "apikey"};
constexpr std::array<std::string_view, 7> k_secret_keys{"access_token", "token",  "api_key", "apikey",
                                                        "password",     "passwd", "secret"};

// If s[i] starts a pattern, appends the redacted form to `out` and returns the index after it; else
// returns i.
std::size_t redact_pattern_at(const std::string& s, std::size_t i, std::string& out) {
  const bool boundary = i == 0 || !word_char(s[i - 1]);
  // "scheme://user:password@host": the user-info.
  if (s.compare(i, 3, "://") == 0) {
    std::size_t end = i + 3;
    while (end < s.size() && credential_char(s[end]) && s[end] != '/' && s[end] != '?' && s[end] != '#') ++end;
    const std::string authority = s.substr(i + 3, end - i - 3);
    if (const auto at = authority.rfind('@'); at != std::string::npos && at > 0) {
      out += "://";
      out += k_redacted;
      return i + 3 + at;  // continues at the '@'
    }
    return i;
  }
  if (!boundary) return i;
  // "Bearer X", "Basic X" (what a server echoes of an Authorization header). "bearer token" is prose.
  for (const std::string_view scheme : {std::string_view("bearer"), std::string_view("basic")}) {
    if (!starts_with_icase(s, i, scheme)) continue;
    // "basic" only capitalised: "basic checks" is prose, "Basic dXNlcjpwdw==" a credential.
    if (scheme == "basic" && s[i] != 'B') continue;
    const std::size_t after = i + scheme.size();
    const std::size_t start = skip_blanks(s, after);
    if (start == after) continue;
    const std::size_t end = credential_end(s, start);
    if (end == start) continue;
    if (scheme == "bearer" && end - start == 5 && starts_with_icase(s, start, "token")) continue;
    out.append(s, i, start - i);
    out += k_redacted;
    return end;
  }
  // "Authorization: X", "Authorization=X", "\"authorization\": \"X\"": the value, or the credential after a
  // scheme. Not a plan field path ("controlPlane.authorization: inline secrets are refused").
  if (starts_with_icase(s, i, "authorization") && (i == 0 || (s[i - 1] != '.' && s[i - 1] != '-'))) {
    std::size_t j = i + 13;
    bool separator = false;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '"' || s[j] == '\'' || s[j] == ':' || s[j] == '=')) {
      separator = separator || s[j] == ':' || s[j] == '=';
      ++j;
    }
    if (separator && j < s.size()) {
      for (const auto scheme : k_schemes) {
        if (!starts_with_icase(s, j, scheme)) continue;
        const std::size_t after = j + scheme.size();
        const std::size_t start = skip_blanks(s, after);
        if (start == after) continue;
        j = start;
        break;
      }
      const std::size_t end = credential_end(s, j);
      if (end > j) {
        out.append(s, i, j - i);
        out += k_redacted;
        return end;
      }
    }
    return i;
  }
  // "token=X", "password=X", ...: a query string or form value.
  for (const auto key : k_secret_keys) {
    if (!starts_with_icase(s, i, key) || i + key.size() >= s.size() || s[i + key.size()] != '=') continue;
    const std::size_t start = i + key.size() + 1;
    const std::size_t end = credential_end(s, start);
    if (end == start) continue;
    out.append(s, i, start - i);
    out += k_redacted;
    return end;
  }
  return i;
}

std::string redact_patterns(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t next = redact_pattern_at(s, i, out);
    if (next != i) {
      i = next;
      continue;
    }
    out += s[i];
    ++i;
  }
  return out;
}

}  // namespace

void SecretRedactor::add(const std::string& secret) {
  if (secret.empty()) return;
  const std::lock_guard<std::mutex> lock(m_mutex);
  if (std::find(m_secrets.begin(), m_secrets.end(), secret) != m_secrets.end()) return;
  m_secrets.push_back(secret);
  std::stable_sort(m_secrets.begin(), m_secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void SecretRedactor::add_url(const std::string& url) {
  add(url);
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return;
  const auto path = url.find('/', scheme + 3);
  if (path == std::string::npos || url.size() - path <= 1) return;
  const std::string rest = url.substr(path + 1);
  if (rest.size() >= 16) add(rest);
  for (std::size_t b = 0; b < rest.size();) {
    const auto e = std::min(rest.find_first_of("/?&=#", b), rest.size());
    if (e - b >= 16) add(rest.substr(b, e - b));
    b = e + 1;
  }
}

std::string SecretRedactor::redact(std::string_view text) const {
  // Patterns first: a credential after "Bearer " goes whole, even when a registered secret is part of it.
  std::string s = redact_patterns(std::string(text));
  const std::lock_guard<std::mutex> lock(m_mutex);
  for (const auto& secret : m_secrets) {
    for (std::size_t pos = 0; (pos = s.find(secret, pos)) != std::string::npos;) {
      s.replace(pos, secret.size(), k_redacted);
      pos += k_redacted.size();
    }
  }
  return s;
}

nlohmann::json SecretRedactor::redact_json(const nlohmann::json& value) const {
  if (value.is_string()) return redact(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : value) out.push_back(redact_json(item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, item] : value.items()) out[redact(key)] = redact_json(item);
    return out;
  }
  return value;
}

SecretRedactor& process_secrets() {
  static SecretRedactor redactor;
  return redactor;
}

planner::Error redact_error(planner::Error error) {
  error.message = redact_secrets(error.message);
  return error;
}

planner::Result<std::string> single_line_secret(std::string value, const std::string& what) {
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) value.pop_back();
  if (value.empty()) return planner::make_error(planner::ErrorKind::Config, what + " is empty");
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return planner::make_error(
          planner::ErrorKind::Config,
          what + " holds a line break or another control character (the value is not shown): a token is one "
                 "line; write it without them (one trailing newline is fine)");
    }
  }
  return value;
}

}  // namespace meshmove::backends
