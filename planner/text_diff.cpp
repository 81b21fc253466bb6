#include "planner/text_diff.hpp"

#include <algorithm>
#include <sstream>
#include <vector>

namespace meshmove::planner {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

struct Op {
  char kind;  // ' ', '-', '+'
  std::string line;
  std::size_t a;  // 1-based line numbers (of the line, or where it would be)
  std::size_t b;
};

}  // namespace

std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, int context) {
  const auto a = lines_of(before);
  const auto b = lines_of(after);
  if (a == b) return "";
  // Longest common subsequence table.
  std::vector<std::vector<std::size_t>> lcs(a.size() + 1, std::vector<std::size_t>(b.size() + 1, 0));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Op> ops;
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ops.push_back({' ', a[i], i + 1, j + 1});
      ++i;
      ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', a[i], i + 1, j + 1});  // deletions before insertions, as diff -u shows them
      ++i;
    } else {
      ops.push_back({'+', b[j], i + 1, j + 1});
      ++j;
    }
  }
  std::ostringstream out;
  out << "--- " << before_name << "\n+++ " << after_name << "\n";
  const auto ctx = static_cast<std::size_t>(std::max(0, context));
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change that is
    // within 2*context lines of the previous one.
    const std::size_t start = k >= ctx ? k - ctx : 0;
    std::size_t end = k;
    std::size_t last_change = k;
    while (end < ops.size()) {
      if (ops[end].kind != ' ') last_change = end;
      if (end - last_change > 2 * ctx) break;
      ++end;
    }
    end = std::min(ops.size(), last_change + ctx + 1);
    std::size_t a_count = 0, b_count = 0;
    for (std::size_t m = start; m < end; ++m) {
      if (ops[m].kind != '+') ++a_count;
      if (ops[m].kind != '-') ++b_count;
    }
    const std::size_t a_start = a_count == 0 ? ops[start].a - 1 : ops[start].a;
    const std::size_t b_start = b_count == 0 ? ops[start].b - 1 : ops[start].b;
    out << "@@ -" << a_start << "," << a_count << " +" << b_start << "," << b_count << " @@\n";
    for (std::size_t m = start; m < end; ++m) out << ops[m].kind << ops[m].line << "\n";
    k = end;
  }
  return out.str();
}

}  // namespace meshmove::planner
