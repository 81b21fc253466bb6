#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/text_format.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "cli/wiring.hpp"
#include "metrics/telemetry.hpp"

namespace meshmove::cli {
namespace {

nlohmann::json number_or_null(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

}  // namespace

int cmd_check(Output& out, const CheckOptions& options) {
  auto parsed = load_plan(options.plan);
  for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!parsed.ok()) return to_int(ExitCode::Usage);
  planner::Plan plan = std::move(*parsed.plan);
  apply_overrides(plan, out.options());
  const auto window = planner::parse_duration(options.window);
  if (!window || window->count() <= 0) {
    out.error("--window '" + options.window + "' is not a duration such as 5m or 1h");
    return to_int(ExitCode::Usage);
  }
  SystemClock clock;
  auto prom = connect_prometheus(plan, out, clock, std::chrono::seconds(15));
  if (!prom.ok()) {
    out.error(prom.error().message);
    return exit_code_for(prom.error());
  }
  const auto now = clock.now();
  const auto details = prom->gates->evaluate_detailed(plan, now - *window, now, -1);

  {
    planner::EngineEvent e;
    e.kind = planner::EngineEvent::Kind::Evaluated;
    e.migration = plan.name;
    e.at = now;
    e.message = "meshmove check";
    for (const auto& d : details) {
      e.gates.push_back(planner::GateEvaluation{d.result.slo, metrics::to_string(d.query.role), d.result.verdict,
                                                d.result.value, d.result.bound, d.result.samples, d.result.reason,
                                                d.query.display});
    }
    if (auto* t = out.telemetry()) t->report(plan, e);
  }
  bool any_fail = false, any_error = false, any_hold = false;
  for (const auto& d : details) {
    any_fail = any_fail || d.result.verdict == planner::Verdict::Fail;
    any_error = any_error || d.result.verdict == planner::Verdict::Error;
    any_hold = any_hold || d.result.verdict == planner::Verdict::Hold;
  }
  // A real failure is the strongest verdict; then an unreachable or failing query; then missing data.
  const ExitCode code = any_fail    ? ExitCode::RolledBack
                        : any_error ? ExitCode::Infrastructure
                        : any_hold  ? ExitCode::Held
                                    : ExitCode::Done;

  if (out.options().output == OutputFormat::Json) {
    nlohmann::json gates = nlohmann::json::array();
    for (const auto& d : details) {
      const auto& q = d.query;
      nlohmann::json queries = nlohmann::json::object();
      for (const auto& [name, text] : {std::pair<const char*, const std::string*>{"bad", &q.bad}, {"total", &q.total}, {"value", &q.value},
                                       {"buckets", &q.buckets}, {"baselineBad", &q.baseline_bad},
                                       {"baselineTotal", &q.baseline_total}}) {
        if (!text->empty()) queries[name] = *text;
      }
      gates.push_back({{"slo", q.slo},
                       {"set", metrics::to_string(q.role)},
                       {"subset", q.subset},
                       {"type", planner::to_string(q.type)},
                       {"query", q.display},
                       {"queries", queries},
                       {"window", d.window},
                       {"value", number_or_null(d.result.value)},
                       {"bound", d.result.bound},
                       {"samples", number_or_null(d.result.samples)},
                       {"verdict", planner::to_string(d.result.verdict)},
                       {"reason", d.result.reason},
                       {"evidence", d.result.evidence},
                       {"low", number_or_null(d.result.low)},
                       {"high", number_or_null(d.result.high)},
                       {"warnings", d.warnings}});
    }
    out.json(nlohmann::json{{"migration", plan.name},
                            {"prometheus", plan.gates.prometheus.url},
                            {"window", options.window},
                            {"decision", planner::to_string(plan.gates.decision)},
                            {"confidence", plan.gates.confidence},
                            {"gates", gates},
                            {"exitCode", to_int(code)}}
                 .dump(2));
    return to_int(code);
  }

  std::ostringstream o;
  o << "Gates of " << plan.name << " over the last " << options.window << " (" << planner::to_string(plan.gates.decision)
    << ", confidence " << plan.gates.confidence << ", minRequests " << plan.gates.min_requests << ") from "
    << plan.gates.prometheus.url << "\n\n";
  o << pad("SLO", 22) << pad("SET", 16) << pad("VALUE", 12) << pad("BOUND", 12) << pad("SAMPLES", 10) << "VERDICT\n";
  for (const auto& d : details) {
    const char* verdict = planner::to_string(d.result.verdict);
    const int colour = d.result.verdict == planner::Verdict::Pass   ? 32
                       : d.result.verdict == planner::Verdict::Fail ? 31
                                                                    : 33;
    o << pad(d.query.slo, 22) << pad(std::string(metrics::to_string(d.query.role)) + ":" + d.query.subset, 16)
      << pad(format_number(d.result.value), 12) << pad(format_number(d.result.bound), 12)
      << pad(format_number(d.result.samples), 10) << out.paint(verdict, colour) << "\n";
    o << "    reason: " << d.result.reason << "\n";
    o << "    query:  " << d.query.display << "\n";
    for (const auto& w : d.warnings) o << "    prometheus warning: " << w << "\n";
  }
  out.result(o.str());
  return to_int(code);
}

}  // namespace meshmove::cli
