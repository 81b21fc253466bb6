#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "backends/memory_state_store.hpp"
#include "backends/simulated_control_plane.hpp"
#include "backends/webhook_notifier.hpp"
#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/redacting_ports.hpp"
#include "cli/reporters.hpp"
#include "cli/signals.hpp"
#include "cli/system_clock.hpp"
#include "cli/wiring.hpp"
#include "metrics/telemetry.hpp"
#include "planner/engine.hpp"

namespace meshmove::cli {
namespace {

class NullNotifier final : public planner::Notifier {
 public:
  void notify(const planner::Plan&, const planner::EngineEvent&) override {}
};

// Severity order for several migrations: the exit code of the most severe outcome wins.
int severity(planner::Outcome o) {
  switch (o) {
    case planner::Outcome::Interrupted: return 9;
    case planner::Outcome::Invalid: return 8;
    case planner::Outcome::Infrastructure: return 7;
    case planner::Outcome::Locked: return 6;
    case planner::Outcome::RolledBack: return 5;
    case planner::Outcome::Stopped: return 4;
    case planner::Outcome::Paused: return 3;
    case planner::Outcome::Held: return 2;
    case planner::Outcome::InProgress: return 1;
    case planner::Outcome::Promoted: return 0;
  }
  return 9;
}

}  // namespace

int exit_code_for(planner::Outcome outcome) {
  switch (outcome) {
    case planner::Outcome::Promoted: return to_int(ExitCode::Done);
    case planner::Outcome::RolledBack: return to_int(ExitCode::RolledBack);
    case planner::Outcome::InProgress: return to_int(ExitCode::InProgress);
    case planner::Outcome::Held:
    case planner::Outcome::Paused:
    case planner::Outcome::Stopped: return to_int(ExitCode::Held);
    case planner::Outcome::Infrastructure: return to_int(ExitCode::Infrastructure);
    case planner::Outcome::Locked: return to_int(ExitCode::Locked);
    case planner::Outcome::Invalid: return to_int(ExitCode::Usage);
    case planner::Outcome::Interrupted: return to_int(ExitCode::Interrupted);
  }
  return to_int(ExitCode::InternalError);
}

int cmd_apply(Output& out, const ApplyOptions& options) {
  if (options.dry_run && options.shadow) {
    out.error("--dry-run and --shadow do not go together");
    return to_int(ExitCode::Usage);
  }
  std::vector<planner::Plan> plans;
  bool invalid = false;
  std::set<std::string> names;
  for (const auto& path : options.plans) {
    auto parsed = load_plan(path);
    for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
    if (!parsed.ok()) {
      invalid = true;
      continue;
    }
    if (!names.insert(parsed.plan->name).second) {
      out.error(path + ": metadata.name '" + parsed.plan->name + "' is used by another plan of this run");
      invalid = true;
      continue;
    }
    apply_overrides(*parsed.plan, out.options());
    plans.push_back(std::move(*parsed.plan));
  }
  if (invalid) return to_int(ExitCode::Usage);

  const auto rollback_deadline = planner::parse_duration(options.rollback_deadline);
  if (!rollback_deadline || rollback_deadline->count() <= 0) {
    out.error("--rollback-deadline: '" + options.rollback_deadline + "' is not a positive duration (e.g. 30s, 2m)");
    return to_int(ExitCode::Usage);
  }
  install_stop_handlers();
  SystemClock clock(&stop_requested());
  // A signal ends the transports' retries and a request in flight, unless --rollback-on-interrupt needs
  // them for the rollback (then a second signal exits at once). Their own clock, so that the backoff
  // waits of that rollback are not cut short by the first signal.
  const std::atomic<bool>* io_stop = options.rollback_on_interrupt ? nullptr : &stop_requested();
  SystemClock io_clock(io_stop);
  auto real_store = open_state_store(out.options(), clock);
  const bool simulate = options.dry_run || options.shadow;
  backends::MemoryStateStore simulated_store;
  if (simulate) {
    for (const auto& plan : plans) {
      auto loaded = real_store->load(plan.name);
      if (loaded.ok() && loaded->has_value()) simulated_store.put(**loaded);
    }
  }
  planner::StateStore& store = simulate ? static_cast<planner::StateStore&>(simulated_store) : *real_store;

  // The progress stream: stdout, or stderr when stdout carries the JSON result.
  const bool json_result = out.options().output == OutputFormat::Json;
  std::ostream& progress = json_result ? std::cerr : std::cout;
  std::unique_ptr<planner::Reporter> view;
  LiveView* live_view = nullptr;
  if (out.options().log_format == LogFormat::Json) {
    view = std::make_unique<JsonEventReporter>(progress);
  } else if (!out.options().quiet) {
    const bool tty = isatty(json_result ? STDERR_FILENO : STDOUT_FILENO) != 0;
    if (tty && !options.once && !options.dry_run) {
      auto lv = std::make_unique<LiveView>(progress, clock, out.color());
      live_view = lv.get();
      view = std::move(lv);
    } else {
      view = std::make_unique<LineReporter>(progress, out.options().verbosity > 0);
    }
  }
  JUnitReport junit;
  FanoutReporter reporter;
  reporter.add(view.get());
  if (!options.report.empty()) reporter.add(&junit);
  NullNotifier no_notifications;
  planner::Notifier& notifier = simulate || out.notifier() == nullptr
                                    ? static_cast<planner::Notifier&>(no_notifications)
                                    : static_cast<planner::Notifier&>(*out.notifier());
  if (!simulate && out.telemetry() != nullptr) reporter.add(out.telemetry());
  if (!options.metrics_addr.empty() && out.telemetry() != nullptr) {
    auto port = out.telemetry()->serve(options.metrics_addr);
    if (!port.ok()) {
      out.error("--metrics-addr " + options.metrics_addr + ": " + port.error().message);
      return to_int(ExitCode::Usage);
    }
    out.log(1, "serving meshmove's metrics on port " + std::to_string(*port) + " (/metrics)");
  }

  struct Wired {
    ControlPlaneConnection cp;
    PrometheusConnection prom;
    std::unique_ptr<backends::SimulatedControlPlane> simulated;
  };
  std::vector<Wired> wired;
  wired.reserve(plans.size());
  for (const auto& plan : plans) {
    Wired w;
    auto cp = connect_control_plane(plan, out, io_clock, io_stop);
    if (!cp.ok()) {
      out.error(plan.name + ": " + cp.error().message);
      return exit_code_for(cp.error());
    }
    w.cp = std::move(*cp);
    // Retries of a query must end well before the next evaluation is due.
    const auto budget = std::min<planner::Duration>(plan.interval / 2, std::chrono::seconds(20));
    auto prom = connect_prometheus(plan, out, io_clock, budget, io_stop);
    if (!prom.ok()) {
      out.error(plan.name + ": " + prom.error().message);
      return exit_code_for(prom.error());
    }
    w.prom = std::move(*prom);
    if (simulate) {
      const std::string tag = options.dry_run ? "[dry-run] " : "[shadow] ";
      w.simulated = std::make_unique<backends::SimulatedControlPlane>(
          *w.cp.control_plane, [&out, &plan, tag](const planner::PolicyWrite& pw) {
            out.result(tag + plan.name + ": would write " + planner::format_weight(pw.to_weight) + "% to " + plan.to +
                       " (step " + std::to_string(pw.step + 1) + ")");
          });
    }
    wired.push_back(std::move(w));
  }

  planner::EngineOptions engine_options;
  engine_options.once = options.once || options.dry_run;
  engine_options.adopt = options.adopt;
  engine_options.restart = options.restart;
  engine_options.accept_plan_change = options.accept_plan_change;
  engine_options.skip_preflight = options.skip_preflight;
  engine_options.rollback_on_interrupt = options.rollback_on_interrupt && !simulate;
  engine_options.stop = &stop_requested();
  engine_options.rollback_deadline = *rollback_deadline;
  // Secrets a server echoed never reach a reporter or a webhook (the store is redacting already).
  RedactingReporter redacting_reporter(reporter);
  RedactingNotifier redacting_notifier(notifier);
  planner::Engine engine(store, clock, redacting_reporter, redacting_notifier, engine_options);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    planner::ControlPlane* cp = wired[i].simulated ? static_cast<planner::ControlPlane*>(wired[i].simulated.get())
                                                   : wired[i].cp.control_plane.get();
    engine.add(plans[i], {cp, wired[i].prom.gates.get()});
  }
  const auto results = engine.run();
  if (live_view != nullptr) live_view->stop();

  if (!options.report.empty()) {
    if (auto st = junit.write(options.report); !st.ok()) out.error(st.error().message);
  }
  int code = to_int(ExitCode::Done);
  planner::Outcome worst = planner::Outcome::Promoted;
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& r : results) {
    if (severity(r.outcome) >= severity(worst)) worst = r.outcome;
    summary.push_back({{"migration", r.migration},
                       {"outcome", planner::to_string(r.outcome)},
                       {"exitCode", exit_code_for(r.outcome)},
                       {"message", r.message},
                       {"state", simulate ? "(not saved: " + std::string(options.dry_run ? "dry run" : "shadow") + ")"
                                          : real_store->location(r.migration)}});
  }
  if (!results.empty()) code = exit_code_for(worst);
  if (json_result) {
    out.json(summary.dump(2));
  } else {
    for (const auto& r : results) {
      const std::string outcome = planner::to_string(r.outcome);
      const std::string line = r.migration + ": " + (r.message.rfind(outcome, 0) == 0 ? r.message : outcome + ": " + r.message);
      if (r.outcome == planner::Outcome::Infrastructure || r.outcome == planner::Outcome::Locked ||
          r.outcome == planner::Outcome::Invalid || r.outcome == planner::Outcome::Stopped) {
        out.error(line);
      } else {
        out.result(line);
      }
    }
    if (!simulate && !results.empty()) {
      out.result("state and history: " + real_store->location(results.front().migration) +
                 " (meshmove status / meshmove history)");
    }
  }
  return code;
}

}  // namespace meshmove::cli
