#include "tests/sim/kuma_names.hpp"

#include <algorithm>

namespace meshmove::sim {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool is_qualified_name_part(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return all_of(s, [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// Kubernetes' RegexError: the message, examples and the regex.
std::string regex_error(std::string_view message, std::string_view regex,
                        std::initializer_list<std::string_view> examples) {
  std::string out(message);
  out += " (e.g. ";
  bool first = true;
  for (const auto example : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(example) + "', ";
  }
  out += "regex used for validation is '" + std::string(regex) + "')";
  return out;
}

constexpr std::string_view k_qualified_name_message =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character";
constexpr std::string_view k_qualified_name_regex = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view k_subdomain_message =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character";
constexpr std::string_view k_subdomain_regex =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view k_label_value_message =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character";
constexpr std::string_view k_label_value_regex = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

bool matches_subdomain_regex(std::string_view name);

std::vector<std::string> subdomain_problems(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 253) out.emplace_back("must be no more than 253 characters");
  if (!matches_subdomain_regex(value)) {
    out.push_back(regex_error(k_subdomain_message, k_subdomain_regex, {"example.com"}));
  }
  return out;
}

bool matches_subdomain_regex(std::string_view name) {
  if (name.empty()) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !is_lower_alnum(label.front()) || !is_lower_alnum(label.back())) return false;
    if (!all_of(label, [](char c) { return is_lower_alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

bool is_rfc1123_subdomain(std::string_view name) {
  return name.size() <= 253 && matches_subdomain_regex(name);
}

bool is_tag_value(std::string_view value) {
  return all_of(value, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':'; });
}

bool is_tag_name(std::string_view name) {
  return all_of(
      name, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/'; });
}

bool is_selector_value(std::string_view value) {
  if (value == "*") return true;
  return all_of(
      value, [](char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '/'; });
}

bool is_reference_name(std::string_view name) {
  return all_of(name, [](char c) { return is_lower_alnum(c) || c == '.' || c == '-' || c == '_'; });
}

std::vector<std::string> label_key_problems(std::string_view key) {
  std::vector<std::string> out;
  std::string_view name = key;
  const auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      out.push_back(
          "a qualified name " +
          regex_error(k_qualified_name_message, k_qualified_name_regex, {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return out;
    }
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      out.emplace_back("prefix part must be non-empty");
    } else {
      for (const auto& m : subdomain_problems(prefix)) out.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    out.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    out.emplace_back("name part must be no more than 63 characters");
  }
  if (!name.empty() && !is_qualified_name_part(name)) {
    out.push_back("name part " + regex_error(k_qualified_name_message, k_qualified_name_regex,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return out;
}

std::vector<std::string> label_value_problems(std::string_view value) {
  std::vector<std::string> out;
  if (value.size() > 63) out.emplace_back("must be no more than 63 characters");
  if (!value.empty() && !is_qualified_name_part(value)) {
    out.push_back(regex_error(k_label_value_message, k_label_value_regex, {"MyValue", "my_value", "12345"}));
  }
  return out;
}

std::string sanitize_label_name(std::string_view tag) {
  std::string out;
  out.reserve(tag.size() + 1);
  for (const char c : tag) out += (is_alnum(c) || c == '_') ? c : '_';
  if (!out.empty() && out.front() >= '0' && out.front() <= '9') out.insert(out.begin(), '_');
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string quoted_key(std::string_view key) {
  std::string out = "[\"";
  for (const char c : key) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\"]";
  return out;
}

}  // namespace meshmove::sim
