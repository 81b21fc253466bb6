#pragma once
// Reads typed values out of a TreeNode, collecting located diagnostics instead of stopping at the
// first problem. Used by the plan parser; generic over the schema.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planner/diagnostic.hpp"
#include "planner/duration.hpp"
#include "planner/plan.hpp"
#include "planner/plan_tree.hpp"

namespace meshmove::planner {

class Binder {
 public:
  Binder(std::string file, std::vector<Diagnostic>& diagnostics)
      : m_file(std::move(file)), m_diagnostics(diagnostics) {}

  struct Field {
    std::string name;
    std::function<void(const TreeNode& value, const std::string& path)> read;
    bool required = false;
    std::string required_hint;  // appended to "missing required field" when set
  };

  void error(const TreeNode& at, const std::string& path, std::string message);
  void warning(const TreeNode& at, const std::string& path, std::string message);

  // Reads a mapping: every key must be one of `fields` (otherwise an error with a did-you-mean hint;
  // keys that hold secrets get a pointer to the *File form instead), no key twice, required ones
  // present. Calls each field's reader with its value. Returns false if `node` is not a mapping.
  bool object(const TreeNode& node, const std::string& path, const std::vector<Field>& fields);

  // Scalars. Each returns false (after reporting) when the value has the wrong type or form.
  bool string(const TreeNode& n, const std::string& path, std::string& out);
  bool number(const TreeNode& n, const std::string& path, double& out);
  bool integer(const TreeNode& n, const std::string& path, long long& out);
  bool boolean(const TreeNode& n, const std::string& path, bool& out);
  bool duration(const TreeNode& n, const std::string& path, Duration& out);
  // A latency bound: a duration ("500ms", "1s") or a plain number of milliseconds.
  bool milliseconds(const TreeNode& n, const std::string& path, double& out);
  bool string_list(const TreeNode& n, const std::string& path, std::vector<std::string>& out,
                   std::vector<SourcePos>* positions = nullptr);

  template <class E>
  bool enumeration(const TreeNode& n, const std::string& path, const std::vector<std::pair<std::string, E>>& values,
                   E& out) {
    std::string s;
    if (!string(n, path, s)) return false;
    std::vector<std::string> names;
    for (const auto& [name, value] : values) {
      if (name == s) {
        out = value;
        return true;
      }
      names.push_back(name);
    }
    error(n, path, unknown_value_message(s, names));
    return false;
  }

  static std::string child(const std::string& path, std::string_view name);
  static std::string index(const std::string& path, std::size_t i);
  static std::string unknown_value_message(const std::string& value, const std::vector<std::string>& allowed);

  [[nodiscard]] const std::string& file() const { return m_file; }

 private:
  std::string m_file;
  std::vector<Diagnostic>& m_diagnostics;
};

}  // namespace meshmove::planner
