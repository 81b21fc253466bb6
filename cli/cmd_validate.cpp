#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "planner/schedule.hpp"

namespace meshmove::cli {

int cmd_validate(Output& out, const ValidateOptions& options) {
  nlohmann::json all = nlohmann::json::array();
  bool any_error = false;
  SystemClock clock;
  for (const auto& path : options.plans) {
    auto result = load_plan(path);
    if (result.ok()) {
      // A plan that is valid at any time may still never be able to run from now on (a freeze that
      // outlasts the 400 days meshmove looks ahead).
      for (auto& d : planner::check_schedule(*result.plan, clock.now())) result.diagnostics.push_back(std::move(d));
      if (planner::has_errors(result.diagnostics)) result.plan.reset();
    }
    any_error = any_error || !result.ok();
    for (const auto& d : result.diagnostics) {
      if (out.options().output == OutputFormat::Json) {
        all.push_back({{"file", d.file},
                       {"line", d.line},
                       {"column", d.column},
                       {"field", d.field},
                       {"message", d.message},
                       {"severity", d.severity == planner::Severity::Error ? "error" : "warning"}});
      } else if (d.severity == planner::Severity::Error || !out.options().quiet) {
        out.diagnostic(planner::format_diagnostic(d));
      }
    }
    if (result.ok() && out.options().output == OutputFormat::Text) {
      const auto& plan = *result.plan;
      out.result(path + ": valid: migration " + plan.name + ", " + std::to_string(plan.steps.size()) + (plan.steps.size() == 1 ? " step to " : " steps to ") +
                 planner::format_weight(plan.final_weight()) + "%, " + std::to_string(plan.gates.slos.size()) +
                 " SLOs");
    }
  }
  if (out.options().output == OutputFormat::Json) out.json(all.dump(2));
  return to_int(any_error ? ExitCode::Usage : ExitCode::Done);
}

}  // namespace meshmove::cli
