#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/text_format.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "metrics/slo_queries.hpp"
#include "cli/wiring.hpp"
#include "planner/next_write.hpp"
#include "planner/schedule.hpp"
#include "planner/text_diff.hpp"
#include "planner/yaml_render.hpp"
#include "planner/time_format.hpp"
#include "planner/windows.hpp"

namespace meshmove::cli {
namespace {

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

// Reads the control plane (and the saved state) and fills `j` with current/next/policy/diff and `text`
// with the same for people. Returns 0, or the exit code of a failure (already reported).
namespace {
int describe_live(Output& out, const planner::Plan& plan, const PlanOptions& options, planner::Clock& clock,
                  nlohmann::json& j, std::string& text) {
  auto conn = connect_control_plane(plan, out, clock);
  if (!conn.ok()) {
    out.error(conn.error().message);
    return exit_code_for(conn.error());
  }
  planner::ControlPlane& cp = *conn->control_plane;
  auto live = cp.read();
  if (!live.ok()) {
    out.error(live.error().message + " (meshmove plan --offline works without the control plane)");
    return exit_code_for(live.error());
  }
  std::optional<planner::PreflightReport> report;
  std::vector<std::string> warnings = live->warnings;
  if (!options.skip_preflight) {
    auto r = cp.preflight();
    if (!r.ok()) {
      out.error(r.error().message);
      return exit_code_for(r.error());
    }
    report = *r;
    for (const auto& w : r->warnings) warnings.push_back(w);
    if (r->from_instances == 0 || r->to_instances == 0) {
      warnings.push_back("pre-flight: " + std::to_string(r->from_instances) + " instance(s) of " + plan.from + " and " +
                         std::to_string(r->to_instances) + " of " + plan.to +
                         "; apply needs at least one of each (or --skip-preflight)");
    }
    if (!live->exists() && live->competing.empty() && r->from_instances > 0 && r->to_instances > 0) {
      const double share = 100.0 * r->to_instances / (r->from_instances + r->to_instances);
      std::ostringstream w;
      w.precision(3);
      w << "no policy routes " << plan.service << " today, so Kuma splits its traffic by instance count (about "
        << share << "% to " << plan.to << "); apply first pins 100% to " << plan.from
        << ", in a change window like every other write";
      warnings.push_back(w.str());
    }
  }
  auto store = open_state_store(out.options(), clock);
  auto loaded = store->load(plan.name);
  std::optional<planner::MigrationState> state;
  if (loaded.ok()) state = *loaded;
  if (state && state->plan_hash != planner::plan_hash(plan)) {
    warnings.push_back("the saved state of " + plan.name + " (" + store->location(plan.name) +
                       ") was made by a different plan (service, sets, control plane or steps changed)");
  }
  if (auto refusal = planner::check_write_allowed(*live, state ? state->last_written : std::nullopt, false, plan.name)) {
    warnings.push_back(refusal->message);
  }
  std::string why_not;
  const auto next = planner::next_write(plan, *live, state, &why_not);
  const std::string next_doc = next ? cp.render({next->to_weight, plan.name, next->step}) : "";
  // People read the diff in YAML, the way kumactl shows policies.
  const std::string live_yaml = live->exists() ? planner::to_yaml(nlohmann::json::parse(live->document)) : "";
  const std::string next_yaml = next ? planner::to_yaml(nlohmann::json::parse(next_doc)) : "";
  const std::string diff = next ? planner::unified_diff(live_yaml, next_yaml, "live " + live->name,
                                                        "next " + live->name) : "";

  nlohmann::json current{{"exists", live->exists()},
                         {"kind", live->kind},
                         {"name", live->name},
                         {"ownership", planner::to_string(live->ownership)},
                         {"owner", live->owner},
                         {"toWeight", live->to_weight ? nlohmann::json(*live->to_weight / 100.0) : nlohmann::json(nullptr)},
                         {"fromWeight", live->to_weight ? nlohmann::json((planner::k_full_weight - *live->to_weight) / 100.0)
                                                        : nlohmann::json(nullptr)},
                         {"step", live->step ? nlohmann::json(*live->step) : nlohmann::json(nullptr)},
                         {"document", live->exists() ? nlohmann::json::parse(live->document) : nlohmann::json(nullptr)}};
  nlohmann::json competing = nlohmann::json::array();
  for (const auto& c : live->competing) {
    competing.push_back({{"kind", c.kind},
                         {"name", c.name},
                         {"owner", c.owner},
                         {"toWeight", c.to_weight ? nlohmann::json(*c.to_weight / 100.0) : nlohmann::json(nullptr)},
                         {"wins", c.wins},
                         {"why", c.why}});
  }
  current["competing"] = competing;
  const auto effective = live->effective_to_weight();
  current["effectiveToWeight"] = effective ? nlohmann::json(*effective / 100.0) : nlohmann::json(nullptr);
  j["current"] = current;
  j["next"] = next ? nlohmann::json{{"action", next->action},
                                    {"step", next->step},
                                    {"toWeight", next->to_weight / 100.0},
                                    {"why", next->why}}
                   : nlohmann::json(nullptr);
  if (!next) j["nextNone"] = why_not;
  j["policy"] = next ? nlohmann::json::parse(next_doc) : nlohmann::json(nullptr);
  j["diff"] = diff;
  j["warnings"] = warnings;
  if (report) {
    j["preflight"] = {{"fromInstances", report->from_instances},
                      {"toInstances", report->to_instances},
                      {"version", report->version}};
  }

  std::ostringstream o;
  o << "Policy: " << cp.describe() << "\n";
  if (live->exists()) {
    o << "  now: " << planner::to_string(live->ownership) << "; "
      << (live->to_weight ? planner::format_weight(planner::k_full_weight - *live->to_weight) + "% to " + plan.from +
                                ", " + planner::format_weight(*live->to_weight) + "% to " + plan.to
                          : std::string("no split of the two sets"))
      << (live->step ? (*live->step < 0 ? std::string(", pinned to ") + plan.from
                                        : ", at step " + std::to_string(*live->step + 1) + " of " +
                                              std::to_string(plan.steps.size()))
                     : "")
      << "\n";
  } else {
    o << "  now: no policy of that name\n";
  }
  // Every other route for the service, in Kuma's order: the one that wins decides the traffic.
  for (const auto& c : live->competing) {
    o << "  also routes " << plan.service << ": " << planner::describe(c) << ", "
      << (c.to_weight ? planner::format_weight(*c.to_weight) + "% to " + plan.to : std::string("no split of the two sets"))
      << "; " << (c.wins ? "WINS over " : "loses to ") << live->name << ": " << c.why << "\n";
  }
  if (report) {
    o << "  instances: " << report->from_instances << " " << plan.from << ", " << report->to_instances << " "
      << plan.to << (report->version.empty() ? "" : " (Kuma " + report->version + ")") << "\n";
  }
  if (state) {
    o << "  state: " << planner::to_string(state->phase) << ", step " << state->step + 1 << " (" << store->location(plan.name)
      << ")\n";
  }
  for (const auto& w : warnings) o << "  warning: " << w << "\n";
  if (next) {
    o << "  next: " << next->why << "\n" << (diff.empty() ? "  (the live policy already matches)\n" : diff);
  } else {
    o << "  next: nothing to write: " << why_not << "\n";
  }
  text = o.str();
  return 0;
}
}  // namespace

int cmd_plan(Output& out, const PlanOptions& options) {
  auto result = load_plan(options.plan);
  for (const auto& d : result.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!result.ok()) return to_int(ExitCode::Usage);
  planner::Plan plan = std::move(*result.plan);
  apply_overrides(plan, out.options());

  SystemClock clock;
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

  // The live part: what the control plane routes now and the policy the next step writes.
  nlohmann::json live_json;
  std::string live_text;
  if (!options.offline) {
    auto live = describe_live(out, plan, options, clock, live_json, live_text);
    if (live != 0) return live;
  }

  if (out.options().output == OutputFormat::Json) {
    nlohmann::json j = live_json.is_object() ? live_json : nlohmann::json::object();
    j["migration"] = plan.name;
    j["service"] = plan.service;
    j["mesh"] = plan.mesh;
    j["from"] = plan.from;
    j["to"] = plan.to;
    if (!j.contains("policy")) {
      j["policy"] = {{"kind", planner::to_string(plan.control_plane.route)}, {"name", planner::policy_name(plan)}};
    }
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
      j["gates"].push_back(gate);
    }
    out.json(j.dump(2));
    return to_int(ExitCode::Done);
  }

  std::ostringstream o;
  o << "Migration " << plan.name << ": " << plan.service << " in mesh " << plan.mesh << ", " << plan.tag_key << "="
    << plan.from << " -> " << plan.tag_key << "=" << plan.to << "\n";
  if (options.offline) {
    o << "Policy: " << planner::to_string(plan.control_plane.route) << " " << planner::policy_name(plan) << " at "
      << plan.control_plane.url << " (offline: not contacted)\n";
  } else {
    o << live_text;
  }
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
