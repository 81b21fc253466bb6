#pragma once
// Reads plan files (or stdin for "-") and parses them; applies command-line URL overrides.
#include <string>

#include "cli/options.hpp"
#include "planner/plan_parser.hpp"

namespace meshmove::cli {

// Reads at most 1 MiB + 1 byte of `path` and parses it. Read failures become diagnostics too. `path`
// must be a regular file (or a symlink to one); a FIFO, device or directory is refused at once, without
// being opened for reading. "-" reads stdin.
planner::PlanParseResult load_plan(const std::string& path);

// --prometheus-url / --control-plane-url (and their environment variables) override the plan.
void apply_overrides(planner::Plan& plan, const GlobalOptions& options);

}  // namespace meshmove::cli
