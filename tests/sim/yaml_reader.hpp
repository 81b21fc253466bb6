#pragma once
// Located reading of YAML documents: typed scalars and checked maps that report problems as diagnostics
// (file, 1-based line and column, dotted field path, message) instead of throwing.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/diagnostic.hpp"
#include "tests/sim/scenario.hpp"

namespace meshmove::sim::detail {

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<planner::Diagnostic>& out) : m_file(std::move(file)), m_out(out) {}

  // Records an error at the node's position (the position of `fallback` when `node` has none).
  void error(const YAML::Node& node, const std::string& field, const std::string& message);
  void error_at(const YAML::Mark& mark, const std::string& field, const std::string& message);

  // True when `node` is a map; reports duplicate keys and keys outside `allowed` (with a did-you-mean
  // hint). Reports "must be a map" and returns false otherwise.
  bool check_map(const YAML::Node& node, const std::string& field,
                 const std::vector<std::string_view>& allowed);

  // Typed scalars. Each returns nullopt after reporting why the node does not fit.
  std::optional<std::string> string(const YAML::Node& node, const std::string& field);
  std::optional<double> number(const YAML::Node& node, const std::string& field);
  std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& field);
  std::optional<std::uint64_t> unsigned_integer(const YAML::Node& node, const std::string& field);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& field);
  // Prometheus duration syntax ("250ms", "1m30s"), in milliseconds.
  std::optional<Millis> duration(const YAML::Node& node, const std::string& field);

  [[nodiscard]] const std::string& file() const { return m_file; }

 private:
  std::string m_file;
  std::vector<planner::Diagnostic>& m_out;
};

// "parent.key" (or "key" at the root).
std::string join_field(const std::string& parent, std::string_view key);
// "parent[index]".
std::string index_field(const std::string& parent, std::size_t index);
// The closest candidate within edit distance 2, or empty.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace meshmove::sim::detail
