#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"

namespace meshmove::cli {

int cmd_plan(Output& out, const PlanOptions& options) {
  auto result = load_plan(options.plan);
  for (const auto& d : result.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!result.ok()) return to_int(ExitCode::Usage);
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
