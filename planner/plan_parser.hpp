#pragma once
// Parses and validates a migration plan (schema meshmove/v1, YAML or JSON) from a string.
// Pure: the caller reads the file; this never touches the file system or the network.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/diagnostic.hpp"
#include "planner/plan.hpp"
#include "planner/plan_tree.hpp"

namespace meshmove::planner {

struct PlanParseResult {
  std::optional<Plan> plan;  // set when there are no errors (warnings allowed)
  std::vector<Diagnostic> diagnostics;  // every problem found, in file order
  [[nodiscard]] bool ok() const { return plan.has_value(); }
};

// Parses `text` (the content of `file`; the name is used for diagnostics and format detection) and
// validates every field and cross-field rule. Never throws for bad input.
PlanParseResult parse_plan(std::string_view text, const std::string& file,
                           DocumentFormat format = DocumentFormat::Auto);

// The variables a custom SLO query may use: {{service}} {{mesh}} {{subset}} {{tagKey}} {{window}}
// {{from}} {{to}}.
const std::vector<std::string>& query_variables();

// True when `name` is an RFC 1123 label: 1-63 characters of [a-z0-9-], starting and ending alphanumeric.
bool is_rfc1123_label(std::string_view name);

}  // namespace meshmove::planner
