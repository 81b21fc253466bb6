#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "planner/schedule.hpp"

namespace meshmove::cli {
namespace {

std::string without_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The REST collection a plan writes its policy to (mesh-service writes MeshHTTPRoutes too).
planner::RouteKind written_kind(planner::RouteKind route) {
  return route == planner::RouteKind::MeshService ? planner::RouteKind::MeshHttpRoute : route;
}

// Two plans that migrate one service in one mesh (on one control plane). With different policies (another
// policyName or route kind) their routes compete and Kuma lets only one decide the traffic, silently: an
// error. With the same policy the ownership label stops the second plan when it runs, naming the first:
// a warning (a CI-gate plan beside its migration, as in plans/, does this). Reported on the later file
// (`path`, `plan`), naming both.
std::optional<planner::Diagnostic> same_service_problem(
    const std::vector<std::pair<std::string, planner::Plan>>& earlier, const std::string& path,
    const planner::Plan& plan) {
  for (const auto& [first_path, first] : earlier) {
    if (first_path == path) continue;  // the same file given twice
    if (plan.service != first.service || plan.mesh != first.mesh ||
        without_trailing_slashes(plan.control_plane.url) != without_trailing_slashes(first.control_plane.url)) {
      continue;
    }
    const bool same_policy = planner::policy_name(plan) == planner::policy_name(first) &&
                             written_kind(plan.control_plane.route) == written_kind(first.control_plane.route);
    planner::Diagnostic d;
    d.file = path;
    d.field = same_policy ? "service" : "controlPlane.policyName";
    if (same_policy) {
      d.severity = planner::Severity::Warning;
      d.message = "this plan (migration " + plan.name + ") and " + first_path + " (migration " + first.name +
                  ") both migrate " + plan.service + " in mesh " + plan.mesh + " with the policy " +
                  planner::policy_name(plan) + "; only one can own it, so apply stops the second one. Fine for "
                  "a plan used only by check; otherwise migrate a service with one plan at a time";
    } else {
      d.message = "this plan (migration " + plan.name + ", policy " + planner::policy_name(plan) + ") and " +
                  first_path + " (migration " + first.name + ", policy " + planner::policy_name(first) +
                  ") both migrate " + plan.service + " in mesh " + plan.mesh +
                  "; their routes would compete and Kuma lets only one of them decide the traffic. Migrate a "
                  "service with one plan at a time: finish or roll back one, then remove it from the list";
    }
    return d;
  }
  return std::nullopt;
}

}  // namespace

int cmd_validate(Output& out, const ValidateOptions& options) {
  nlohmann::json all = nlohmann::json::array();
  bool any_error = false;
  SystemClock clock;
  std::vector<std::pair<std::string, planner::Plan>> valid;
  for (const auto& path : options.plans) {
    auto result = load_plan(path);
    if (result.ok()) {
      // A plan that is valid at any time may still never be able to run from now on (a freeze that
      // outlasts the 400 days meshmove looks ahead).
      for (auto& d : planner::check_schedule(*result.plan, clock.now())) result.diagnostics.push_back(std::move(d));
      if (planner::has_errors(result.diagnostics)) result.plan.reset();
    }
    any_error = any_error || !result.ok();
    if (result.ok()) {
      // The same override as apply, so that the check compares the control planes meshmove would use.
      planner::Plan plan = *result.plan;
      apply_overrides(plan, out.options());
      auto clash = same_service_problem(valid, path, plan);
      if (clash && clash->severity == planner::Severity::Error) {
        any_error = true;
      } else {
        valid.emplace_back(path, std::move(plan));
      }
      if (clash) result.diagnostics.push_back(std::move(*clash));
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
