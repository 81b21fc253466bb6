#include "planner/plan_binder.hpp"

#include <charconv>
#include <cmath>
#include <set>

#include "planner/did_you_mean.hpp"

namespace meshmove::planner {
namespace {

// Keys that would put a secret into the plan, and the field to use instead.
const std::vector<std::pair<std::string, std::string>>& secret_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys{
      {"token", "tokenFile"},   {"bearerToken", "tokenFile"}, {"password", "passwordFile"},
      {"apiKey", "tokenFile"},  {"secret", "a *File field"},  {"authorization", "tokenFile"},
      {"clientKey", "keyFile"}, {"privateKey", "keyFile"}};
  return keys;
}

bool is_plain_bool_or_null(const std::string& s) {
  static const std::set<std::string> words{"true", "false", "True", "False", "TRUE", "FALSE", "yes", "no",
                                           "Yes",  "No",    "YES",  "NO",    "on",   "off",   "On",    "Off"};
  return words.count(s) > 0;
}

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (*begin == '+') ++begin;
  const auto [ptr, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A scalar as echoed in a message: at most 40 characters (control characters are escaped later, by
// Binder::error).
std::string shown(const std::string& s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; }

}  // namespace

// Messages and paths quote plan text (values, keys): control characters in it are escaped here, so that
// no diagnostic carries a terminal escape sequence or a line break taken from a plan.
void Binder::error(const TreeNode& at, const std::string& path, std::string message) {
  m_diagnostics.push_back(
      Diagnostic{m_file, at.line, at.column, escape_control(path), escape_control(message), Severity::Error});
}

void Binder::warning(const TreeNode& at, const std::string& path, std::string message) {
  m_diagnostics.push_back(
      Diagnostic{m_file, at.line, at.column, escape_control(path), escape_control(message), Severity::Warning});
}

std::string Binder::child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string Binder::index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string Binder::unknown_value_message(const std::string& value, const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  std::string msg = "'" + value + "' is not one of: " + list;
  const std::string hint = did_you_mean(value, allowed);
  if (!hint.empty()) msg += "; did you mean '" + hint + "'?";
  return msg;
}

bool Binder::object(const TreeNode& node, const std::string& path, const std::vector<Field>& fields) {
  if (!node.is_map()) {
    error(node, path, "expected a mapping of fields, got " + node.describe());
    return false;
  }
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.name);
  std::set<std::string> seen;
  for (const auto& [key, value] : node.map) {
    const std::string& name = key.scalar;
    const std::string field_path = child(path, name);
    if (!key.is_scalar()) {
      error(key, path, "a field name must be a plain string, got " + key.describe());
      continue;
    }
    if (!seen.insert(name).second) {
      error(key, field_path, "duplicate field; each field may appear once");
      continue;
    }
    const Field* field = nullptr;
    for (const auto& f : fields) {
      if (f.name == name) field = &f;
    }
    if (field == nullptr && name == "<<" && key.style != TreeNode::Style::String) {
      error(key, field_path, "YAML merge keys are not supported; write the keys out");
      continue;
    }
    if (field == nullptr) {
      bool secret = false;
      for (const auto& [secret_name, instead] : secret_keys()) {
        if (secret_name == name) {
          error(key, field_path,
                "inline secrets are refused (the value is not shown): put it in a file readable only by "
                "meshmove and name the file with " +
                    instead);
          secret = true;
        }
      }
      if (secret) continue;
      std::string msg = "unknown field '" + name + "'";
      const std::string hint = did_you_mean(name, names);
      if (!hint.empty()) {
        msg += "; did you mean '" + hint + "'?";
      } else {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        msg += " (known here: " + list + ")";
      }
      error(key, field_path, msg);
      continue;
    }
    field->read(value, field_path);
  }
  for (const auto& f : fields) {
    if (f.required && seen.count(f.name) == 0) {
      std::string msg = "missing required field '" + f.name + "'";
      if (!f.required_hint.empty()) msg += "; " + f.required_hint;
      error(node, child(path, f.name), msg);
    }
  }
  return true;
}

bool Binder::string(const TreeNode& n, const std::string& path, std::string& out) {
  if (n.is_scalar() &&
      (n.style == TreeNode::Style::String || (n.style == TreeNode::Style::Plain && !is_plain_bool_or_null(n.scalar)) ||
       n.style == TreeNode::Style::Number)) {
    if (n.style == TreeNode::Style::Number) {
      error(n, path, "expected a string, got a number; quote it");
      return false;
    }
    // Plan strings end up in logs, reports and terminals: no control characters (tab and newline, as in
    // a multi-line query, are fine).
    for (std::size_t i = 0; i < n.scalar.size(); ++i) {
      const auto c = static_cast<unsigned char>(n.scalar[i]);
      const bool c1 = c == 0xc2 && i + 1 < n.scalar.size() && static_cast<unsigned char>(n.scalar[i + 1]) >= 0x80 &&
                      static_cast<unsigned char>(n.scalar[i + 1]) <= 0x9f;
      if (((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f || c1)) {
        error(n, path, "'" + shown(n.scalar) + "' contains a control character (at offset " + std::to_string(i) +
                           "); remove it");
        return false;
      }
    }
    out = n.scalar;
    return true;
  }
  std::string msg = "expected a string, got " + n.describe();
  if (n.is_scalar() && n.style == TreeNode::Style::Plain) msg = "expected a string, got a boolean; quote it";
  if (n.is_null()) msg = "expected a string, but the field has no value";
  error(n, path, msg);
  return false;
}

bool Binder::number(const TreeNode& n, const std::string& path, double& out) {
  if (n.is_scalar() && (n.style == TreeNode::Style::Plain || n.style == TreeNode::Style::Number)) {
    if (const auto v = parse_number(n.scalar)) {
      out = *v;
      return true;
    }
  }
  std::string msg = "expected a number, got " + n.describe();
  if (n.is_scalar() && n.style == TreeNode::Style::String && parse_number(n.scalar)) {
    msg += "; remove the quotes";
  }
  if (n.is_null()) msg = "expected a number, but the field has no value";
  error(n, path, msg);
  return false;
}

bool Binder::integer(const TreeNode& n, const std::string& path, long long& out) {
  double v = 0;
  if (!number(n, path, v)) return false;
  if (std::floor(v) != v || std::fabs(v) > 9.0e15) {
    error(n, path, "expected a whole number, got " + n.scalar);
    return false;
  }
  out = static_cast<long long>(v);
  return true;
}

bool Binder::boolean(const TreeNode& n, const std::string& path, bool& out) {
  if (n.is_scalar() && n.style != TreeNode::Style::String) {
    if (n.scalar == "true" || n.scalar == "True" || n.scalar == "TRUE") {
      out = true;
      return true;
    }
    if (n.scalar == "false" || n.scalar == "False" || n.scalar == "FALSE") {
      out = false;
      return true;
    }
  }
  error(n, path, "expected true or false, got " + n.describe());
  return false;
}

bool Binder::duration(const TreeNode& n, const std::string& path, Duration& out) {
  static const std::string limit = "durations in a plan are limited to 400 days (400d), as far as meshmove plans ahead";
  if (n.is_scalar() && n.style != TreeNode::Style::Bool) {
    // Quoted or not, a duration is read from its text, and refused with the same message.
    DurationProblem why = DurationProblem::None;
    if (const auto d = parse_duration(n.scalar, &why)) {
      if (*d > k_max_plan_duration) {
        error(n, path, "'" + n.scalar + "' is too long; " + limit);
        return false;
      }
      out = *d;
      return true;
    }
    if (why == DurationProblem::TooLarge) {
      error(n, path, "'" + shown(n.scalar) + "' is too large; " + limit);
      return false;
    }
    if (parse_number(n.scalar)) {
      error(n, path,
            "'" + n.scalar + "' has no unit; write a duration such as " + n.scalar + "s or " + n.scalar + "m");
      return false;
    }
    error(n, path,
          "expected a duration in Prometheus syntax (e.g. 30s, 10m, 1h30m, 500ms), got '" + shown(n.scalar) + "'");
    return false;
  }
  error(n, path,
        "expected a duration in Prometheus syntax (e.g. 30s, 10m, 1h30m, 500ms), got " + n.describe());
  return false;
}

bool Binder::milliseconds(const TreeNode& n, const std::string& path, double& out) {
  if (n.is_scalar() && n.style != TreeNode::Style::String && n.style != TreeNode::Style::Bool) {
    if (const auto v = parse_number(n.scalar)) {
      out = *v;
      return true;
    }
  }
  if (n.is_scalar() && n.style != TreeNode::Style::Bool) {
    if (const auto d = parse_duration(n.scalar)) {
      out = static_cast<double>(d->count());
      return true;
    }
  }
  error(n, path, "expected a latency such as 500ms or 1s (or a number of milliseconds), got " + n.describe());
  return false;
}

bool Binder::string_list(const TreeNode& n, const std::string& path, std::vector<std::string>& out,
                         std::vector<SourcePos>* positions) {
  if (!n.is_seq()) {
    error(n, path, "expected a list of strings, got " + n.describe());
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < n.seq.size(); ++i) {
    std::string s;
    if (string(n.seq[i], index(path, i), s)) {
      out.push_back(s);
      if (positions != nullptr) positions->push_back(SourcePos{n.seq[i].line, n.seq[i].column});
    } else {
      ok = false;
    }
  }
  return ok;
}

}  // namespace meshmove::planner
