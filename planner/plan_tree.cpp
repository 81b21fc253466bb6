#include "planner/plan_tree.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <iterator>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

namespace meshmove::planner {
namespace {

Diagnostic file_error(const std::string& file, int line, int column, std::string message) {
  return Diagnostic{file, line, column, "", escape_control(message), Severity::Error};
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// yaml-cpp parses recursively: very deep nesting would overflow the stack before we could count it.
// This conservative pre-scan bounds flow nesting ([ {) and block nesting (indentation, "- - -").
std::optional<std::size_t> find_excessive_nesting(std::string_view text) {
  int flow_depth = 0;
  char quote = 0;
  bool at_line_start = true;
  std::size_t indent = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      at_line_start = true;
      indent = 0;
      if (quote == '\'' || quote == '"') continue;  // multi-line quoted scalars continue
      continue;
    }
    if (at_line_start) {
      if (c == ' ' || c == '-' || c == '?' || c == ':' || c == '\t') {
        ++indent;
        if (indent > 512) return i;
        continue;
      }
      at_line_start = false;
    }
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      // A quote only opens a scalar at the start of a token; "it's" inside plain text does not.
      const char prev = i > 0 ? text[i - 1] : ' ';
      if (prev == ' ' || prev == '[' || prev == '{' || prev == ',' || prev == ':' || prev == '\t') quote = c;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++flow_depth > k_max_tree_depth) return i;
    } else if ((c == ']' || c == '}') && flow_depth > 0) {
      --flow_depth;
    }
  }
  return std::nullopt;
}

// ---- YAML ----

// Builds a TreeNode from yaml-cpp's parser events. Unlike YAML::LoadAll (which in 0.7 can yield empty
// documents forever on some malformed input), this stops at the second document, bounds alias
// expansion by k_max_tree_nodes and nesting by k_max_tree_depth.
class YamlTreeBuilder : public YAML::EventHandler {
 public:
  struct Stop {
    std::string message;
    YAML::Mark mark;
  };

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++m_documents > 1) {
      throw Stop{"the file holds more than one YAML document (a '---' line, or text that cannot continue the "
                 "first document); put one plan in each file",
                 mark};
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    TreeNode n;
    position(n, mark);
    complete(std::move(n), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = m_anchors.find(anchor);
    if (it == m_anchors.end()) throw Stop{"an alias refers to a node that is not complete yet (a recursive alias)", mark};
    m_nodes += count(it->second);
    if (m_nodes > k_max_tree_nodes) {
      throw Stop{"the plan expands to more than " + std::to_string(k_max_tree_nodes) +
                     " nodes (nested YAML aliases?); refusing to process it",
                 mark};
    }
    TreeNode copy = it->second;
    position(copy, mark);
    complete(std::move(copy), 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    TreeNode n;
    n.kind = TreeNode::Kind::Scalar;
    n.style = tag == "?" ? TreeNode::Style::Plain : TreeNode::Style::String;
    n.scalar = value;
    position(n, mark);
    complete(std::move(n), anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(TreeNode::Kind::Seq, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(TreeNode::Kind::Map, mark, anchor);
  }
  void OnMapEnd() override { close(); }

  std::optional<TreeNode> take_root() { return std::move(m_root); }

 private:
  struct Frame {
    TreeNode node;
    YAML::anchor_t anchor = 0;
    std::optional<TreeNode> pending_key;
  };

  static void position(TreeNode& n, const YAML::Mark& mark) {
    if (mark.line >= 0) {
      n.line = mark.line + 1;
      n.column = mark.column + 1;
    }
  }
  static std::size_t count(const TreeNode& n) {
    std::size_t c = 1;
    for (const auto& e : n.map) c += count(e.first) + count(e.second);
    for (const auto& item : n.seq) c += count(item);
    return c;
  }
  void open(TreeNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (m_stack.size() >= static_cast<std::size_t>(k_max_tree_depth)) {
      throw Stop{"nesting deeper than " + std::to_string(k_max_tree_depth) + " levels", mark};
    }
    Frame f;
    f.node.kind = kind;
    position(f.node, mark);
    f.anchor = anchor;
    m_stack.push_back(std::move(f));
  }
  void close() {
    Frame f = std::move(m_stack.back());
    m_stack.pop_back();
    complete(std::move(f.node), f.anchor);
  }
  void complete(TreeNode n, YAML::anchor_t anchor) {
    if (++m_nodes > k_max_tree_nodes) {
      throw Stop{"the plan has more than " + std::to_string(k_max_tree_nodes) + " values", YAML::Mark()};
    }
    if (anchor != 0) m_anchors[anchor] = n;
    if (m_stack.empty()) {
      m_root = std::move(n);
      return;
    }
    Frame& top = m_stack.back();
    if (top.node.is_seq()) {
      top.node.seq.push_back(std::move(n));
    } else if (!top.pending_key) {
      top.pending_key = std::move(n);
    } else {
      top.node.map.push_back(TreeEntry{std::move(*top.pending_key), std::move(n)});
      top.pending_key.reset();
    }
  }

  std::vector<Frame> m_stack;
  std::map<YAML::anchor_t, TreeNode> m_anchors;
  std::optional<TreeNode> m_root;
  std::size_t m_nodes = 0;
  int m_documents = 0;
};

std::optional<TreeNode> parse_yaml(std::string_view text, const std::string& file,
                                   std::vector<Diagnostic>& diagnostics) {
  const auto located = [&](const YAML::Mark& m, std::string message) {
    diagnostics.push_back(file_error(file, m.line >= 0 ? m.line + 1 : 0, m.line >= 0 ? m.column + 1 : 0,
                                     std::move(message)));
  };
  std::istringstream in{std::string(text)};
  YamlTreeBuilder builder;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YamlTreeBuilder::Stop& stop) {
    located(stop.mark, stop.message);
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    located(e.mark, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  auto root = builder.take_root();
  if (!root) {
    diagnostics.push_back(file_error(file, 0, 0, "the plan is empty"));
    return std::nullopt;
  }
  return root;
}

// ---- JSON ----

// An iterator over the text that records how far nlohmann's lexer has read, so that SAX callbacks can
// be given source positions (nlohmann 3.11 reports positions only for errors).
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, const char** furthest) : m_p(p), m_furthest(furthest) {}
  reference operator*() const { return *m_p; }
  TrackingIterator& operator++() {
    ++m_p;
    if (m_p > *m_furthest) *m_furthest = m_p;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const TrackingIterator& o) const { return m_p == o.m_p; }
  bool operator!=(const TrackingIterator& o) const { return m_p != o.m_p; }

 private:
  const char* m_p;
  const char** m_furthest;
};

class PositionedSax {
 public:
  PositionedSax(std::string_view text, const char** furthest, const std::string& file,
                std::vector<Diagnostic>& diagnostics)
      : m_text(text), m_furthest(furthest), m_file(file), m_diagnostics(diagnostics) {}

  bool null() { return scalar(TreeNode::Kind::Null, TreeNode::Style::Plain, "null", literal_start(4)); }
  bool boolean(bool v) {
    return scalar(TreeNode::Kind::Scalar, TreeNode::Style::Bool, v ? "true" : "false", literal_start(v ? 4 : 5));
  }
  bool number_integer(std::int64_t) { return number(); }
  bool number_unsigned(std::uint64_t) { return number(); }
  bool number_float(double, const std::string&) { return number(); }
  bool string(std::string& s) { return scalar(TreeNode::Kind::Scalar, TreeNode::Style::String, s, string_start()); }
  bool binary(std::vector<std::uint8_t>&) { return false; }
  bool start_object(std::size_t) { return open(TreeNode::Kind::Map); }
  bool start_array(std::size_t) { return open(TreeNode::Kind::Seq); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    TreeNode key_node;
    key_node.kind = TreeNode::Kind::Scalar;
    key_node.style = TreeNode::Style::String;
    key_node.scalar = k;
    set_position(key_node, string_start());
    m_pending_key = std::move(key_node);
    return true;
  }
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& ex) {
    std::string message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> the reason.
    const auto col = message.find(", column ");
    if (col != std::string::npos) {
      const auto colon = message.find(": ", col);
      if (colon != std::string::npos) message = message.substr(colon + 2);
    }
    (void)last_token;
    const std::size_t offset = position > 0 ? position - 1 : 0;
    const auto [line, column] = line_column(m_text, std::min(offset, m_text.size()));
    m_diagnostics.push_back(file_error(m_file, line, column, "invalid JSON: " + message));
    return false;
  }

  std::optional<TreeNode> take_root() { return std::move(m_root); }

 private:
  std::size_t consumed() const { return static_cast<std::size_t>(*m_furthest - m_text.data()); }
  std::size_t literal_start(std::size_t len) const {
    const std::size_t end = consumed();
    return end >= len ? end - len : 0;
  }
  // The lexer has read just past the closing quote; walk back to the unescaped opening quote.
  std::size_t string_start() const {
    std::size_t i = consumed();
    if (i == 0) return 0;
    i -= 1;  // the closing quote
    while (i > 0) {
      --i;
      if (m_text[i] == '"') {
        std::size_t backslashes = 0;
        std::size_t j = i;
        while (j > 0 && m_text[j - 1] == '\\') {
          ++backslashes;
          --j;
        }
        if (backslashes % 2 == 0) return i;
      }
    }
    return 0;
  }
  static bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  }
  bool number() {
    // The lexer reads one character past a number (then "ungets" it without moving the iterator).
    std::size_t end = consumed();
    if (end > 0 && !is_number_char(m_text[end - 1])) --end;
    std::size_t start = end;
    while (start > 0 && is_number_char(m_text[start - 1])) --start;
    return scalar(TreeNode::Kind::Scalar, TreeNode::Style::Number, std::string(m_text.substr(start, end - start)),
                  start);
  }
  void set_position(TreeNode& n, std::size_t offset) const {
    const auto [line, column] = line_column(m_text, offset);
    n.line = line;
    n.column = column;
  }
  bool add(TreeNode node) {
    if (++m_nodes > k_max_tree_nodes) {
      m_diagnostics.push_back(file_error(m_file, node.line, node.column, "the plan has too many values"));
      return false;
    }
    if (m_stack.empty()) {
      m_root = std::move(node);
      return true;
    }
    TreeNode& parent = *m_stack.back();
    if (parent.is_map()) {
      parent.map.push_back(TreeEntry{std::move(m_pending_key), std::move(node)});
    } else {
      parent.seq.push_back(std::move(node));
    }
    return true;
  }
  bool scalar(TreeNode::Kind kind, TreeNode::Style style, std::string text, std::size_t offset) {
    TreeNode n;
    n.kind = kind;
    n.style = style;
    n.scalar = std::move(text);
    set_position(n, offset);
    return add(std::move(n));
  }
  bool open(TreeNode::Kind kind) {
    if (static_cast<int>(m_stack.size()) >= k_max_tree_depth) {
      const auto [line, column] = line_column(m_text, consumed() > 0 ? consumed() - 1 : 0);
      m_diagnostics.push_back(file_error(m_file, line, column,
                                         "nesting deeper than " + std::to_string(k_max_tree_depth) + " levels"));
      return false;
    }
    TreeNode n;
    n.kind = kind;
    set_position(n, consumed() > 0 ? consumed() - 1 : 0);
    if (!add(std::move(n))) return false;
    if (m_stack.empty()) {
      m_stack.push_back(&*m_root);
    } else {
      TreeNode& parent = *m_stack.back();
      m_stack.push_back(parent.is_map() ? &parent.map.back().second : &parent.seq.back());
    }
    return true;
  }
  bool close() {
    if (!m_stack.empty()) m_stack.pop_back();
    return true;
  }

  std::string_view m_text;
  const char** m_furthest;
  const std::string& m_file;
  std::vector<Diagnostic>& m_diagnostics;
  std::optional<TreeNode> m_root;
  std::vector<TreeNode*> m_stack;  // pointers stay valid: a container is only appended to while on top
  TreeNode m_pending_key;
  std::size_t m_nodes = 0;
};

std::optional<TreeNode> parse_json(std::string_view text, const std::string& file,
                                   std::vector<Diagnostic>& diagnostics) {
  const char* furthest = text.data();
  PositionedSax sax(text, &furthest, file, diagnostics);
  TrackingIterator first(text.data(), &furthest);
  TrackingIterator last(text.data() + text.size(), &furthest);
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(first, last, &sax, nlohmann::json::input_format_t::json, true, false);
  } catch (const std::exception& e) {
    diagnostics.push_back(file_error(file, 0, 0, std::string("invalid JSON: ") + e.what()));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return sax.take_root();
}

bool looks_like_json(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{';
  }
  return false;
}

}  // namespace

std::string TreeNode::describe() const {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Map:
      return "a mapping";
    case Kind::Seq:
      return "a list";
    case Kind::Scalar:
      break;
  }
  switch (style) {
    case Style::Number:
      return "a number";
    case Style::Bool:
      return "a boolean";
    case Style::String:
      return "a string";
    case Style::Plain:
      break;
  }
  return "'" + (scalar.size() > 40 ? scalar.substr(0, 40) + "..." : scalar) + "'";
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    const unsigned char c = byte(i);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > text.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++column;  // count characters, not continuation bytes
    }
  }
  return {line, column};
}

std::optional<TreeNode> parse_tree(std::string_view text, const std::string& file, DocumentFormat format,
                                   std::vector<Diagnostic>& diagnostics) {
  if (text.size() > k_max_plan_bytes) {
    diagnostics.push_back(file_error(file, 0, 0,
                                     "the file is " + std::to_string(text.size()) +
                                         " bytes; plans are limited to 1 MiB (1048576 bytes)"));
    return std::nullopt;
  }
  if (const auto bad = find_invalid_utf8(text)) {
    const auto [line, column] = line_column(text, *bad);
    diagnostics.push_back(file_error(file, line, column, "the file is not valid UTF-8 (byte offset " +
                                                             std::to_string(*bad) + "); save it as UTF-8"));
    return std::nullopt;
  }
  if (text.find('\0') != std::string_view::npos) {
    const auto [line, column] = line_column(text, text.find('\0'));
    diagnostics.push_back(file_error(file, line, column, "the file contains a NUL byte; is it a text file?"));
    return std::nullopt;
  }
  if (format == DocumentFormat::Auto) {
    if (ends_with(file, ".json")) {
      format = DocumentFormat::Json;
    } else if (looks_like_json(text)) {
      // "{...}" may be JSON or a YAML flow mapping: JSON if it parses as JSON.
      std::vector<Diagnostic> json_problems;
      if (auto tree = parse_json(text, file, json_problems)) return tree;
      format = DocumentFormat::Yaml;
    } else {
      format = DocumentFormat::Yaml;
    }
  }
  if (format == DocumentFormat::Json) return parse_json(text, file, diagnostics);
  if (const auto where = find_excessive_nesting(text)) {
    const auto [line, column] = line_column(text, *where);
    diagnostics.push_back(file_error(file, line, column,
                                     "nesting deeper than " + std::to_string(k_max_tree_depth) +
                                         " levels (or indentation beyond 512 columns); refusing to parse"));
    return std::nullopt;
  }
  return parse_yaml(text, file, diagnostics);
}

}  // namespace meshmove::planner
