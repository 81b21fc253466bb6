#include <nlohmann/json.hpp>
#include <sstream>

#include <filesystem>

#include "backends/file_state_store.hpp"
#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/reporters.hpp"
#include "cli/text_format.hpp"
#include "cli/system_clock.hpp"
#include "cli/wiring.hpp"
#include "metrics/telemetry.hpp"
#include "planner/state_machine.hpp"
#include "planner/time_format.hpp"
#include "planner/windows.hpp"

namespace meshmove::cli {
namespace {

nlohmann::json opt_time(const std::optional<planner::TimePoint>& t) {
  return t ? nlohmann::json(planner::format_rfc3339(*t)) : nlohmann::json(nullptr);
}

struct Row {
  nlohmann::json json;
  std::string text;
  int code = 0;  // non-zero when the state cannot be used (corrupt, a link, unreadable)
};

// A state that cannot be read is not "no state": exit 2 when it is there but unusable (corrupt, a
// symbolic link; as apply treats it), else the store error's code (6: cannot be read).
int code_for_unusable_state(const planner::Error& e) {
  return e.kind == planner::ErrorKind::Invalid ? to_int(ExitCode::Usage) : exit_code_for(e);
}

// Status of one migration: saved state, the live weight (when the plan is known), drift and what the
// engine would do next.
Row status_of(Output& out, planner::StateStore& store, SystemClock& clock, const std::string& migration,
              const planner::Plan* plan) {
  Row row;
  auto& j = row.json;
  j["migration"] = migration;
  auto loaded = store.load(migration);
  std::optional<planner::MigrationState> state;
  if (!loaded.ok()) {
    j["error"] = loaded.error().message;
    row.code = code_for_unusable_state(loaded.error());
  } else if (loaded->has_value()) {
    state = **loaded;
  }
  std::ostringstream o;
  o << migration << ": ";
  if (!state) {
    o << (loaded.ok() ? "not started (no state in " + store.location(migration) + ")" : loaded.error().message) << "\n";
    j["phase"] = nullptr;
  } else {
    const auto& s = *state;
    j["phase"] = planner::to_string(s.phase);
    j["step"] = s.step;
    j["weight"] = s.weight / 100.0;
    j["reason"] = s.reason;
    j["updatedAt"] = opt_time(s.updated_at);
    j["stepStartedAt"] = opt_time(s.step_started_at);
    j["consecutiveFailures"] = s.consecutive_failures;
    j["heldSince"] = opt_time(s.held_since);
    j["state"] = store.location(migration);
    j["lastVerdicts"] = nlohmann::json::array();
    for (const auto& g : s.last_verdicts) {
      j["lastVerdicts"].push_back({{"slo", g.slo},
                                   {"set", g.set},
                                   {"verdict", g.verdict},
                                   {"value", g.value ? nlohmann::json(*g.value) : nlohmann::json(nullptr)},
                                   {"bound", g.bound},
                                   {"samples", g.samples ? nlohmann::json(*g.samples) : nlohmann::json(nullptr)},
                                   {"reason", g.reason},
                                   {"at", planner::format_rfc3339(g.at)}});
    }
    const std::size_t steps = plan != nullptr ? plan->steps.size() : 0;
    o << planner::to_string(s.phase);
    if (s.step >= 0) o << ", step " << (s.step + 1) << (steps ? "/" + std::to_string(steps) : "");
    o << ", "
      << weight_bar(s.weight, 20) << " " << planner::format_weight(s.weight) << "% to "
      << (plan != nullptr ? plan->to : "the to set") << "\n";
    if (!s.reason.empty()) o << "  why: " << s.reason << "\n";
    if (s.consecutive_failures > 0) o << "  consecutive failing evaluations: " << s.consecutive_failures << "\n";
    if (s.held_since) o << "  held since " << planner::format_rfc3339(*s.held_since) << "\n";
    for (const auto& g : s.last_verdicts) {
      std::ostringstream v;
      v.precision(4);
      v << "  " << g.slo << " [" << g.set << "] " << g.verdict << " " << format_number(g.value)
        << " (bound " << g.bound << "): " << g.reason << "\n";
      o << v.str();
    }
  }
  if (plan != nullptr && state) {
    if (auto* t = out.telemetry()) t->record_state(*plan, *state);
  }
  if (plan != nullptr) {
    auto conn = connect_control_plane(*plan, out, clock);
    if (conn.ok()) {
      auto live = conn->control_plane->read();
      if (live.ok()) {
        j["live"] = {{"ownership", planner::to_string(live->ownership)},
                     {"toWeight", live->to_weight ? nlohmann::json(*live->to_weight / 100.0) : nlohmann::json(nullptr)}};
        o << "  live: " << conn->control_plane->describe() << ": "
          << (live->to_weight ? planner::format_weight(*live->to_weight) + "% to " + plan->to
                              : std::string(planner::to_string(live->ownership)))
          << "\n";
        auto drift = planner::check_write_allowed(*live, state ? state->last_written : std::nullopt, false, plan->name);
        j["drift"] = drift ? nlohmann::json(drift->message) : nlohmann::json(nullptr);
        if (drift) o << "  DRIFT: " << drift->message << "\n";
      } else {
        j["live"] = {{"error", live.error().message}};
        o << "  live: cannot read the control plane: " << live.error().message << "\n";
      }
    }
    if (state) {
      const auto now = clock.now();
      const auto windows = planner::WindowSchedule::create(plan->windows, nullptr);
      planner::WindowView view;
      if (windows) view = {windows->is_open(now), windows->next_open(now)};
      const auto d = planner::decide(*plan, *state, view, now);
      nlohmann::json next{{"action", planner::to_string(d.action)}, {"reason", d.reason}};
      // Waiting for a window that opens nowhere in the horizon (or any sentinel time): "never", not a date.
      const bool never = d.action == planner::Action::Wait &&
                         ((d.wait_for == "window" && !view.open && !view.next_open) ||
                          !planner::is_calendar_time(d.until));
      if (d.action == planner::Action::Wait) {
        next["at"] = never ? nlohmann::json(nullptr) : nlohmann::json(planner::format_rfc3339(d.until));
      }
      if (d.action == planner::Action::Write) next["toWeight"] = d.to_weight / 100.0;
      j["next"] = next;
      if (d.action == planner::Action::Finish) {
        o << "  next: nothing; the migration is " << planner::to_string(d.phase) << "\n";
      } else if (d.action == planner::Action::Wait && never) {
        o << "  next: " << d.reason << ", until never (no change window opens within 400 days)\n";
      } else if (d.action == planner::Action::Wait) {
        o << "  next: " << d.reason << ", until " << planner::format_local(d.until, plan->windows.timezone)
          << " (when meshmove apply runs)\n";
      } else {
        o << "  next: " << planner::to_string(d.action) << ": " << d.reason << " (when meshmove apply runs)\n";
      }
    }
  }
  row.text = o.str();
  return row;
}

}  // namespace

int cmd_status(Output& out, const StatusOptions& options) {
  SystemClock clock;
  auto store = open_state_store(out.options(), clock);
  std::vector<Row> rows;
  if (options.plans.empty()) {
    auto names = store->migrations();
    if (!names.ok()) {
      out.error(names.error().message);
      return exit_code_for(names.error());
    }
    for (const auto& name : *names) {
      // The state remembers its plan file: use it for the live part when it is still readable and valid.
      std::optional<planner::Plan> plan;
      auto loaded = store->load(name);
      if (loaded.ok() && loaded->has_value() && !(*loaded)->plan_file.empty()) {
        auto parsed = load_plan((*loaded)->plan_file);
        if (parsed.ok() && parsed.plan->name == name) {
          plan = std::move(*parsed.plan);
          apply_overrides(*plan, out.options());
        }
      }
      rows.push_back(status_of(out, *store, clock, name, plan ? &*plan : nullptr));
    }
    if (rows.empty() && out.options().output == OutputFormat::Text) {
      if (out.options().state_url.empty()) {
        const std::string dir =
            out.options().state_dir.empty() ? backends::default_state_directory() : out.options().state_dir;
        std::error_code ec;
        const bool exists = std::filesystem::exists(dir, ec);
        out.result("no migration has state yet in " + dir + (exists ? "" : " (the directory does not exist)") +
                   (out.options().state_dir.empty() ? " (the default state directory; choose another with --state-dir)"
                                                    : ""));
      } else {
        out.result("no migration has state yet in " + out.options().state_url);
      }
    }
  } else {
    for (const auto& path : options.plans) {
      auto parsed = load_plan(path);
      for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
      if (!parsed.ok()) return to_int(ExitCode::Usage);
      apply_overrides(*parsed.plan, out.options());
      rows.push_back(status_of(out, *store, clock, parsed.plan->name, &*parsed.plan));
    }
  }
  if (out.options().output == OutputFormat::Json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : rows) all.push_back(r.json);
    out.json(all.dump(2));
  } else {
    for (const auto& r : rows) out.result(r.text);
  }
  for (const auto& r : rows) {
    if (r.code != 0) return r.code;
  }
  return to_int(ExitCode::Done);
}

int cmd_history(Output& out, const OperatorOptions& options) {
  auto parsed = load_plan(options.plan);
  for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!parsed.ok()) return to_int(ExitCode::Usage);
  SystemClock clock;
  auto store = open_state_store(out.options(), clock);
  auto events = store->journal(parsed.plan->name);
  if (!events.ok()) {
    out.error(events.error().message);
    return exit_code_for(events.error());
  }
  if (out.options().output == OutputFormat::Json) {
    out.json(nlohmann::json(*events).dump(2));
    return to_int(ExitCode::Done);
  }
  std::ostringstream o;
  if (events->empty()) o << parsed.plan->name << ": no history yet\n";
  for (const auto& e : *events) {
    const std::string type = e.value("type", "?");
    o << e.value("at", "?") << "  " << type;
    if (type == "transition") {
      o << " #" << e.value("seq", 0) << " " << e.value("action", "") << " " << e.value("fromWeight", 0.0) << "% -> "
        << e.value("toWeight", 0.0) << "%" << (e.value("recovered", false) ? " (completed after a restart)" : "");
    } else if (type == "evaluation") {
      o << " at " << e.value("toWeight", 0.0) << "%:";
      for (const auto& g : e.value("gates", nlohmann::json::array())) {
        o << " " << g.value("slo", "?") << "=" << g.value("verdict", "?");
      }
    } else if (e.contains("toWeight")) {
      o << " at " << e.value("toWeight", 0.0) << "%";
    }
    if (e.contains("reason") && e["reason"].is_string() && !e["reason"].get<std::string>().empty()) {
      o << ": " << e["reason"].get<std::string>();
    } else if (e.contains("message") && e["message"].is_string()) {
      o << ": " << e["message"].get<std::string>();
    }
    o << "\n";
  }
  out.result(o.str());
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
