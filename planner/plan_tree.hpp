#pragma once
// A format-neutral document tree with source positions, built from YAML (yaml-cpp) or JSON
// (nlohmann/json), so that plan validation can name the line and column of every field.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planner/diagnostic.hpp"

namespace meshmove::planner {

inline constexpr std::size_t k_max_plan_bytes = 1024 * 1024;  // larger files are refused
inline constexpr std::size_t k_max_tree_nodes = 100000;       // after YAML alias expansion
inline constexpr int k_max_tree_depth = 64;

struct TreeEntry;

struct TreeNode {
  enum class Kind { Null, Scalar, Map, Seq };
  // How a scalar was written: Plain (YAML unquoted: its type depends on its text), String (quoted, or a
  // JSON string), Number / Bool (JSON literals).
  enum class Style { Plain, String, Number, Bool };

  Kind kind = Kind::Null;
  Style style = Style::Plain;
  std::string scalar;
  std::vector<TreeEntry> map;  // (key, value) in document order; keys are scalars
  std::vector<TreeNode> seq;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based, in characters

  [[nodiscard]] bool is_map() const { return kind == Kind::Map; }
  [[nodiscard]] bool is_seq() const { return kind == Kind::Seq; }
  [[nodiscard]] bool is_scalar() const { return kind == Kind::Scalar; }
  [[nodiscard]] bool is_null() const { return kind == Kind::Null; }
  // "a string", "a number", "a list", "a mapping", "null", ... for messages.
  [[nodiscard]] std::string describe() const;
};

// One key/value of a mapping (not std::pair: pair<TreeNode, TreeNode> cannot be named inside
// TreeNode, where TreeNode is still incomplete).
struct TreeEntry {
  TreeNode first;   // the key
  TreeNode second;  // the value
};

enum class DocumentFormat { Auto, Yaml, Json };

// Parses `text` into a tree. On failure returns nullopt and appends located diagnostics (file name
// `file`). Refuses, with a clear message, text over k_max_plan_bytes, invalid UTF-8, more than one
// YAML document, nesting deeper than k_max_tree_depth and alias expansion beyond k_max_tree_nodes.
// Auto: JSON when the file name ends in .json or the text starts with '{' and is valid JSON.
std::optional<TreeNode> parse_tree(std::string_view text, const std::string& file, DocumentFormat format,
                                   std::vector<Diagnostic>& diagnostics);

// The byte offset of the first invalid UTF-8 sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// 1-based (line, column) of a byte offset; columns count UTF-8 characters.
std::pair<int, int> line_column(std::string_view text, std::size_t offset);

}  // namespace meshmove::planner
