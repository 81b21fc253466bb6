#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"

namespace meshmove::cli {
namespace {

std::string without_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Two plans that migrate one service in one mesh (on one control plane) write competing routes, and Kuma
// lets only one of them decide the traffic: an error on the later file (`path`, `plan`), naming both.
std::optional<planner::Diagnostic> same_service_problem(
    const std::vector<std::pair<std::string, planner::Plan>>& earlier, const std::string& path,
    const planner::Plan& plan) {
  for (const auto& [first_path, first] : earlier) {
    if (first_path == path) continue;  // the same file given twice
    if (plan.service != first.service || plan.mesh != first.mesh ||
        without_trailing_slashes(plan.control_plane.url) != without_trailing_slashes(first.control_plane.url)) {
      continue;
    }
    planner::Diagnostic d;
    d.file = path;
    d.field = "service";
    d.message = "this plan (migration " + plan.name + ") and " + first_path + " (migration " + first.name +
                ") both migrate " + plan.service + " in mesh " + plan.mesh +
                "; their routes would compete and Kuma lets only one decide the traffic. Migrate a service "
                "with one plan at a time: finish or roll back one, then remove it from the list";
    return d;
  }
  return std::nullopt;
}

}  // namespace

int cmd_validate(Output& out, const ValidateOptions& options) {
  nlohmann::json all = nlohmann::json::array();
  bool any_error = false;
  std::vector<std::pair<std::string, planner::Plan>> valid;
  for (const auto& path : options.plans) {
    auto result = load_plan(path);
    any_error = any_error || !result.ok();
    if (result.ok()) {
      // The same override as apply, so that the check compares the control planes meshmove would use.
      planner::Plan plan = *result.plan;
      apply_overrides(plan, out.options());
      if (auto clash = same_service_problem(valid, path, plan)) {
        result.diagnostics.push_back(std::move(*clash));
        any_error = true;
      } else {
        valid.emplace_back(path, std::move(plan));
      }
    }
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
    if (result.ok() && !planner::has_errors(result.diagnostics) && out.options().output == OutputFormat::Text) {
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
