#include "tests/sim/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "planner/duration.hpp"

namespace meshmove::sim::detail {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Undefined:
      break;
  }
  return "missing";
}

bool is_scalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

}  // namespace

void YamlReader::error_at(const YAML::Mark& mark, const std::string& field, const std::string& message) {
  planner::Diagnostic d;
  d.file = m_file;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.field = field;
  d.message = message;
  m_out.push_back(std::move(d));
}

void YamlReader::error(const YAML::Node& node, const std::string& field, const std::string& message) {
  error_at(node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), field, message);
}

bool YamlReader::check_map(const YAML::Node& node, const std::string& field,
                           const std::vector<std::string_view>& allowed) {
  if (!node.IsMap()) {
    error(node, field, std::string("must be a map, not ") + kind_name(node));
    return false;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key, field, "keys must be plain strings");
      continue;
    }
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      error(key, join_field(field, name), "duplicate key");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string message = "unknown field \"" + name + "\"";
      const std::string hint = did_you_mean(name, allowed);
      if (!hint.empty()) message += " (did you mean \"" + hint + "\"?)";
      error(key, join_field(field, name), message);
    }
  }
  return true;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node, const std::string& field) {
  if (!is_scalar(node)) {
    error(node, field, std::string("must be a string, not ") + kind_name(node));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<double> YamlReader::number(const YAML::Node& node, const std::string& field) {
  if (!is_scalar(node)) {
    error(node, field, std::string("must be a number, not ") + kind_name(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    error(node, field, "must be a number, not \"" + text + "\"");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> YamlReader::integer(const YAML::Node& node, const std::string& field) {
  if (!is_scalar(node)) {
    error(node, field, std::string("must be an integer, not ") + kind_name(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    error(node, field, "must be an integer, not \"" + text + "\"");
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> YamlReader::unsigned_integer(const YAML::Node& node, const std::string& field) {
  if (!is_scalar(node)) {
    error(node, field, std::string("must be a non-negative integer, not ") + kind_name(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    error(node, field, "must be a non-negative integer, not \"" + text + "\"");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& field) {
  if (is_scalar(node)) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  error(node, field, "must be true or false");
  return std::nullopt;
}

std::optional<Millis> YamlReader::duration(const YAML::Node& node, const std::string& field) {
  if (!is_scalar(node)) {
    error(node, field, std::string("must be a duration like 30s, not ") + kind_name(node));
    return std::nullopt;
  }
  const auto parsed = planner::parse_duration(node.Scalar());
  if (!parsed) {
    error(node, field,
          "invalid duration \"" + node.Scalar() + "\": use Prometheus syntax like 250ms, 30s or 1m30s");
    return std::nullopt;
  }
  return *parsed;
}

std::string join_field(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string index_field(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace meshmove::sim::detail
