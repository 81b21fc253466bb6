#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "metrics/slo_queries.hpp"
#include "planner/schedule.hpp"
#include "planner/time_format.hpp"
#include "planner/windows.hpp"

namespace meshmove::cli {
namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string slo_bound(const planner::Slo& s) {
  std::ostringstream o;
  if (s.relative_to_from) {
    o << "to - from <= " << *s.max_increase;
  } else if (s.type == planner::SloType::ErrorRate) {
    o << "error rate <= " << *s.max;
  } else if (s.type == planner::SloType::Latency && s.percentile) {
    o << "p" << *s.percentile << " <= " << *s.max << "ms";
  } else if (s.type == planner::SloType::Latency) {
    o << "requests slower than " << *s.threshold << "ms <= " << *s.max_slow_fraction;
  } else {
    if (s.min) o << "value >= " << *s.min;
    if (s.min && s.max) o << " and ";
    if (s.max) o << "value <= " << *s.max;
  }
  return o.str();
}

}  // namespace

int cmd_plan(Output& out, const PlanOptions& options) {
  auto result = load_plan(options.plan);
  for (const auto& d : result.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!result.ok()) return to_int(ExitCode::Usage);
  planner::Plan plan = std::move(*result.plan);
  apply_overrides(plan, out.options());

  const SystemClock clock;
  const planner::TimePoint now = clock.now();
  planner::TimePoint start = now;
  if (!options.start.empty()) {
    const auto parsed = planner::parse_rfc3339(options.start);
    if (!parsed) {
      out.error("--start '" + options.start + "' is not an RFC 3339 time such as 2026-12-01T09:00:00+01:00");
      return to_int(ExitCode::Usage);
    }
    start = *parsed;
  }
  const auto windows = planner::WindowSchedule::create(plan.windows, nullptr);
  if (!windows) {
    out.error("the plan's windows are invalid");  // validation reports these; kept for safety
    return to_int(ExitCode::Usage);
  }
  const auto timeline = planner::compute_timeline(plan, *windows, 0, std::nullopt, std::max(start, now));
  // The window shown in queries: a full bake (at run time it grows from the last weight change + settle).
  const std::string window = metrics::promql_range(plan.bake.count() > 0 ? plan.bake : plan.interval);
  const auto gates = metrics::build_gate_queries(plan, window);

  if (out.options().output == OutputFormat::Json) {
    nlohmann::json j;
    j["migration"] = plan.name;
    j["service"] = plan.service;
    j["mesh"] = plan.mesh;
    j["from"] = plan.from;
    j["to"] = plan.to;
    j["policy"] = {{"kind", planner::to_string(plan.control_plane.route)}, {"name", planner::policy_name(plan)}};
    j["window"] = window;
    j["steps"] = nlohmann::json::array();
    for (const auto& s : timeline) {
      nlohmann::json step{{"index", s.index},
                          {"weight", static_cast<double>(s.weight) / 100.0},
                          {"earliestStart", s.earliest_start ? nlohmann::json(planner::format_rfc3339(*s.earliest_start))
                                                             : nlohmann::json(nullptr)},
                          {"earliestEnd", s.earliest_end ? nlohmann::json(planner::format_rfc3339(*s.earliest_end))
                                                         : nlohmann::json(nullptr)},
                          {"blocked", s.blocked()}};
      j["steps"].push_back(step);
    }
    j["gates"] = nlohmann::json::array();
    for (const auto& g : gates) {
      nlohmann::json gate{{"name", g.slo}, {"set", metrics::to_string(g.role)}, {"subset", g.subset},
                          {"type", planner::to_string(g.type)}, {"query", g.display}};
      if (!g.requests.empty()) gate["requestsQuery"] = g.requests;
      j["gates"].push_back(gate);
    }
    out.json(j.dump(2));
    return to_int(ExitCode::Done);
  }

  std::ostringstream o;
  o << "Migration " << plan.name << ": " << plan.service << " in mesh " << plan.mesh << ", " << plan.tag_key << "="
    << plan.from << " -> " << plan.tag_key << "=" << plan.to << "\n";
  o << "Policy: " << planner::to_string(plan.control_plane.route) << " " << planner::policy_name(plan) << " at "
    << plan.control_plane.url << " (offline: not contacted)\n";
  o << "Bake " << planner::format_duration(plan.bake) << ", gates every " << planner::format_duration(plan.interval)
    << ", settle " << planner::format_duration(plan.settle);
  if (!plan.windows.allow.empty() || !plan.windows.freeze.empty()) {
    o << "; windows in " << plan.windows.timezone;
    for (const auto& a : plan.windows.allow) o << ", allow " << a;
    for (const auto& f : plan.windows.freeze) o << ", freeze " << f;
  }
  o << "\n\n";
  o << pad("STEP", 6) << pad("TO-WEIGHT", 11) << pad("EARLIEST START (" + plan.windows.timezone + ")", 34)
    << "EARLIEST END OF BAKE\n";
  for (const auto& s : timeline) {
    o << pad(std::to_string(s.index + 1), 6) << pad(planner::format_weight(s.weight) + "%", 11);
    if (s.blocked()) {
      o << "blocked: no change window opens within 400 days\n";
      continue;
    }
    o << pad(planner::format_local(*s.earliest_start, plan.windows.timezone), 34)
      << planner::format_local(*s.earliest_end, plan.windows.timezone) << "\n";
  }
  o << "\nGates (" << planner::to_string(plan.gates.decision) << ", confidence " << plan.gates.confidence
    << ", minRequests " << plan.gates.min_requests << "); queries shown over a " << window
    << " window, which at run time starts at the step's weight change + settle:\n";
  for (std::size_t i = 0; i < gates.size(); ++i) {
    const auto& g = gates[i];
    const planner::Slo* slo = nullptr;
    for (const auto& s : plan.gates.slos) {
      if (s.name == g.slo) slo = &s;
    }
    o << "  " << g.slo << " [" << metrics::to_string(g.role) << ": " << g.subset << "] " << (slo ? slo_bound(*slo) : "")
      << "\n    " << g.display << "\n";
  }
  out.result(o.str());
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
