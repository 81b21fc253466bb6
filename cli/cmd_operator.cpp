#include <pwd.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/system_clock.hpp"
#include "backends/webhook_notifier.hpp"
#include "cli/wiring.hpp"
#include "metrics/telemetry.hpp"
#include "planner/state_machine.hpp"
#include "planner/time_format.hpp"

namespace meshmove::cli {
namespace {

// "alice@vm pid 42": $USER, else the effective user's name from the password database (cron and
// containers often set no $USER), else the uid number.
std::string operator_name() {
  std::string user;
  if (const char* env = std::getenv("USER"); env != nullptr && *env != '\0') {
    user = env;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr && *pw->pw_name) {
    user = pw->pw_name;
  } else {
    user = std::to_string(::geteuid());
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return user + "@" + host + " pid " + std::to_string(::getpid());
}

struct Loaded {
  planner::Plan plan;
  std::unique_ptr<planner::StateStore> store;
};

// Loads the plan and opens the store; returns an exit code on failure.
std::optional<int> load(Output& out, const std::string& path, SystemClock& clock, Loaded& l) {
  auto parsed = load_plan(path);
  for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!parsed.ok()) return to_int(ExitCode::Usage);
  l.plan = std::move(*parsed.plan);
  apply_overrides(l.plan, out.options());
  l.store = open_state_store(out.options(), clock);
  return std::nullopt;
}

// The saved state of the plan's migration, or a fresh one for a migration that has none yet.
planner::Result<planner::MigrationState> state_or_new(Loaded& l) {
  auto loaded = l.store->load(l.plan.name);
  if (!loaded.ok()) return loaded.error();
  planner::MigrationState state;
  if (loaded->has_value()) {
    state = **loaded;
  } else {
    state.migration = l.plan.name;
    state.plan_hash = planner::plan_hash(l.plan);
  }
  state.plan_file = l.plan.file;
  return state;
}

}  // namespace

int cmd_pause(Output& out, const OperatorOptions& options) {
  SystemClock clock;
  Loaded l;
  if (auto code = load(out, options.plan, clock, l)) return *code;
  const std::string reason = options.reason.empty() ? "paused by " + operator_name() : options.reason;
  auto lock = l.store->lock(l.plan.name);
  if (!lock.ok()) {
    if (lock.error().kind != planner::ErrorKind::Locked) {
      out.error(lock.error().message);
      return exit_code_for(lock.error());
    }
    return hand_to_runner(out, *l.store, l.plan.name, clock, "pause", reason, operator_name(), lock.error(), planner::Phase::Paused);
  }
  auto loaded = state_or_new(l);
  if (!loaded.ok()) {
    out.error(loaded.error().message);
    return exit_code_for(loaded.error());
  }
  planner::MigrationState state = *loaded;
  if (auto why = planner::operator_pause(state, reason, clock.now())) {
    out.error(l.plan.name + ": " + *why);
    return to_int(ExitCode::Usage);
  }
  if (auto st = l.store->save(state); !st.ok()) {
    out.error(st.error().message);
    return exit_code_for(st.error());
  }
  (void)l.store->append(l.plan.name, {{"type", "operator"},
                                      {"action", "pause"},
                                      {"reason", reason},
                                      {"by", operator_name()},
                                      {"at", planner::format_rfc3339(clock.now())},
                                      {"migration", l.plan.name}});
  {
    planner::EngineEvent e;
    e.kind = planner::EngineEvent::Kind::Paused;
    e.migration = l.plan.name;
    e.at = clock.now();
    e.message = reason;
    e.state = &state;
    report_event(out, l.plan, e);
  }
  out.result(l.plan.name + ": paused at " + planner::format_weight(state.weight) + "% to " + l.plan.to +
             "; meshmove apply will not move it until meshmove resume");
  return to_int(ExitCode::Done);
}

int cmd_resume(Output& out, const OperatorOptions& options) {
  SystemClock clock;
  Loaded l;
  if (auto code = load(out, options.plan, clock, l)) return *code;
  auto lock = l.store->lock(l.plan.name);
  if (!lock.ok()) {
    out.error(lock.error().message);
    return exit_code_for(lock.error());
  }
  auto loaded = l.store->load(l.plan.name);
  if (!loaded.ok() || !loaded->has_value()) {
    out.error(l.plan.name + ": " + (loaded.ok() ? "has no state; nothing to resume" : loaded.error().message));
    return to_int(ExitCode::Usage);
  }
  planner::MigrationState state = **loaded;
  if (auto why = planner::operator_resume(state, clock.now())) {
    out.error(l.plan.name + ": " + *why);
    return to_int(ExitCode::Usage);
  }
  if (auto st = l.store->save(state); !st.ok()) {
    out.error(st.error().message);
    return exit_code_for(st.error());
  }
  (void)l.store->append(l.plan.name, {{"type", "operator"},
                                      {"action", "resume"},
                                      {"reason", options.reason},
                                      {"by", operator_name()},
                                      {"at", planner::format_rfc3339(clock.now())},
                                      {"migration", l.plan.name}});
  if (auto* t = out.telemetry()) t->record_state(l.plan, state);
  if (auto* n = out.notifier()) {
    n->notify_resumed(l.plan, state, options.reason.empty() ? "resumed by " + operator_name() : options.reason);
  }
  out.result(l.plan.name + ": resumed (" + planner::to_string(state.phase) + " at " +
             planner::format_weight(state.weight) + "%); run meshmove apply " + options.plan + " to continue");
  return to_int(ExitCode::Done);
}

int cmd_promote(Output& out, const OperatorOptions& options) {
  SystemClock clock;
  Loaded l;
  if (auto code = load(out, options.plan, clock, l)) return *code;
  const std::string target = planner::format_weight(l.plan.final_weight()) + "% to " + l.plan.to;
  if (!options.yes) {
    if (isatty(STDIN_FILENO) == 0) {
      out.error("promote skips the remaining steps and their gates: confirm with --yes when not at a terminal");
      return to_int(ExitCode::Usage);
    }
    std::cerr << "Promote " << l.plan.name << ": write " << target
              << " now, skipping the remaining steps and their gates? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      out.result("not promoted");
      return to_int(ExitCode::Held);
    }
  }
  const std::string reason = options.reason.empty() ? "promoted by " + operator_name() : options.reason;
  auto lock = l.store->lock(l.plan.name);
  if (!lock.ok()) {
    if (lock.error().kind != planner::ErrorKind::Locked) {
      out.error(lock.error().message);
      return exit_code_for(lock.error());
    }
    return hand_to_runner(out, *l.store, l.plan.name, clock, "promote", reason, operator_name(), lock.error(),
                          planner::Phase::Promoted);
  }
  auto loaded = state_or_new(l);
  if (!loaded.ok()) {
    out.error(loaded.error().message);
    return exit_code_for(loaded.error());
  }
  planner::MigrationState state = *loaded;
  auto conn = connect_control_plane(l.plan, out, clock);
  if (!conn.ok()) {
    out.error(conn.error().message);
    return exit_code_for(conn.error());
  }
  auto live = conn->control_plane->read();
  if (!live.ok()) {
    out.error(live.error().message);
    return exit_code_for(live.error());
  }
  if (auto refusal = planner::check_write_allowed(*live, state.last_written, options.adopt, l.plan.name)) {
    out.error(refusal->message);
    return exit_code_for(*refusal);
  }
  planner::Decision d;
  d.action = planner::Action::Write;
  d.write = "promote";
  d.to_weight = l.plan.final_weight();
  d.step = static_cast<int>(l.plan.steps.size()) - 1;
  d.reason = reason;
  const auto now = clock.now();
  state.intent = planner::Intent{"promote", d.to_weight, d.step, now};
  if (auto st = l.store->save(state); !st.ok()) {
    out.error(st.error().message);
    return exit_code_for(st.error());
  }
  auto written = conn->control_plane->write({d.to_weight, l.plan.name, d.step});
  if (!written.ok()) {
    out.error(written.error().message);
    return exit_code_for(written.error());
  }
  const int before = live->to_weight.value_or(0);
  state = planner::record_write(l.plan, std::move(state), d, now);
  nlohmann::json event{{"type", "transition"},   {"seq", state.transitions}, {"action", "promote"},
                       {"fromWeight", before / 100.0}, {"toWeight", d.to_weight / 100.0}, {"step", d.step},
                       {"reason", reason},      {"by", operator_name()},    {"at", planner::format_rfc3339(now)},
                       {"migration", l.plan.name}};
  state.last_transition = event;
  if (auto st = l.store->save(state); !st.ok()) {
    out.error(st.error().message);
    return exit_code_for(st.error());
  }
  (void)l.store->append(l.plan.name, event);
  {
    planner::EngineEvent e;
    e.kind = planner::EngineEvent::Kind::Promoted;
    e.migration = l.plan.name;
    e.at = now;
    e.message = reason;
    e.from_weight = before;
    e.to_weight = d.to_weight;
    e.step = d.step;
    e.state = &state;
    report_event(out, l.plan, e);
  }
  out.result(l.plan.name + ": promoted: " + conn->control_plane->describe() + " now sends " + target +
             " (verified by reading it back)");
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
