#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/exit_code.hpp"
#include "cli/plan_loader.hpp"
#include "cli/signals.hpp"
#include "cli/system_clock.hpp"
#include "cli/wiring.hpp"
#include "planner/time_format.hpp"

namespace meshmove::cli {
namespace {

// What `rollback -o json` prints: the policy, the weight before (a fraction, null when unknown), whether it
// was rolled back already, and where the state is (null without state).
std::string result_json(const planner::Plan& plan, const planner::ControlPlane& cp, std::optional<int> previous,
                        bool already, nlohmann::json state) {
  return nlohmann::json{{"migration", plan.name},
                        {"policy", cp.describe()},
                        {"previousWeight", previous ? nlohmann::json(*previous / 100.0) : nlohmann::json(nullptr)},
                        {"weight", 0},
                        {"alreadyRolledBack", already},
                        {"state", std::move(state)}}
      .dump(2);
}

// rollback --no-state: for when the state store cannot be written (a read-only file system, etcd down).
// Reads the live policy, writes 0% to the to set with meshmove's labels, reads it back (inside write) and
// reports; it takes no lock and records nothing, so it cannot check drift against the saved state.
int rollback_without_state(Output& out, const planner::Plan& plan, const RollbackOptions& options,
                           SystemClock& clock) {
  const auto fail = [&out](const planner::Error& e) {
    out.error(e.message);
    return exit_code_for(e);
  };
  auto conn = connect_control_plane(plan, out, clock);
  if (!conn.ok()) return fail(conn.error());
  planner::ControlPlane& cp = *conn->control_plane;
  auto live = cp.read();
  if (!live.ok()) return fail(live.error());
  out.log(1, "live: " + cp.describe() + ": " + planner::to_string(live->ownership) +
                 (live->to_weight ? ", " + planner::format_weight(*live->to_weight) + "% to " + plan.to : ""));
  const bool already = live->ownership == planner::Ownership::Ours && live->to_weight == 0;
  if (!already) {
    // Without state there is no "last written" weight: only a policy that is not meshmove's is refused.
    if (auto refusal = planner::check_write_allowed(*live, std::nullopt, options.adopt, plan.name)) {
      return fail(*refusal);
    }
    if (!options.skip_preflight) {
      auto report = cp.preflight();
      if (!report.ok()) return fail(report.error());
      if (report->from_instances == 0) {
        out.error("refusing to roll back: the control plane shows no instance of the from set (" + plan.tag_key + "=" +
                  plan.from + ") for " + plan.service +
                  ", so all traffic would fail; pass --skip-preflight to write it anyway");
        return to_int(ExitCode::Infrastructure);
      }
    }
    auto written = cp.write({0, plan.name, -1});
    if (!written.ok()) return fail(written.error());
  }
  const std::optional<int> previous = live->to_weight;
  if (out.options().output == OutputFormat::Json) {
    out.json(result_json(plan, cp, previous, already, nullptr));
    return to_int(ExitCode::Done);
  }
  const std::string unrecorded =
      " Nothing was recorded (--no-state): a running or later apply of this plan stops on the drift; once the "
      "state can be written, run 'meshmove rollback " +
      plan.file + "' to record the rollback.";
  if (already) {
    out.result(plan.name + ": already rolled back: " + cp.describe() + " sends 100% to " + plan.from + "." + unrecorded);
  } else {
    out.result(plan.name + ": rolled back: " + cp.describe() + " now sends 100% to " + plan.from + " (was " +
               (previous ? planner::format_weight(*previous) + "% to " + plan.to : std::string("no policy")) +
               "); verified by reading it back." + unrecorded);
  }
  return to_int(ExitCode::Done);
}

}  // namespace

int cmd_rollback(Output& out, const RollbackOptions& options) {
  auto parsed = load_plan(options.plan);
  for (const auto& d : parsed.diagnostics) out.diagnostic(planner::format_diagnostic(d));
  if (!parsed.ok()) return to_int(ExitCode::Usage);
  planner::Plan plan = std::move(*parsed.plan);
  apply_overrides(plan, out.options());
  const auto deadline = planner::parse_duration(options.rollback_deadline);
  if (!deadline || deadline->count() <= 0) {
    out.error("--rollback-deadline: '" + options.rollback_deadline + "' is not a positive duration (e.g. 30s, 2m)");
    return to_int(ExitCode::Usage);
  }
  install_stop_handlers();
  SystemClock clock(&stop_requested());
  const auto fail = [&out](const planner::Error& e) {
    out.error(e.message);
    return exit_code_for(e);
  };

  if (options.no_state) return rollback_without_state(out, plan, options, clock);
  auto store = open_state_store(out.options(), clock);
  const std::string reason = options.reason.empty() ? "rolled back by an operator" : options.reason;
  auto lock = store->lock(plan.name);
  if (!lock.ok()) {
    if (lock.error().kind != planner::ErrorKind::Locked) {
      out.error(lock.error().message + "; to roll back without recording it, run: meshmove rollback --no-state " +
                plan.file);
      return exit_code_for(lock.error());
    }
    // A running meshmove drives this migration: hand it the rollback, and wait for it.
    return hand_to_runner(out, *store, plan.name, clock, "rollback", reason, "meshmove rollback", lock.error(),
                          planner::Phase::RolledBack);
  }
  auto loaded = store->load(plan.name);
  if (!loaded.ok()) return fail(loaded.error());
  std::optional<planner::MigrationState> state = std::move(*loaded);

  auto conn = connect_control_plane(plan, out, clock, &stop_requested());
  if (!conn.ok()) return fail(conn.error());
  planner::ControlPlane& cp = *conn->control_plane;
  const auto started = clock.now();
  // The saved state, or a new one for this plan when there is none yet.
  const auto ensure_state = [&](planner::TimePoint now) {
    if (state) return;
    state = planner::MigrationState{};
    state->migration = plan.name;
    state->plan_hash = planner::plan_hash(plan);
    state->plan_file = plan.file;
    state->started_at = now;
  };
  // The control plane is down, or a signal stopped the retries: the rollback is recorded as owed, so
  // that the next apply or rollback writes it before anything else. Exit 6 (130 for a signal).
  const auto owe = [&](const planner::Error& e) {
    const auto now = clock.now();
    ensure_state(now);
    const auto since = state->rollback_owed ? state->rollback_owed->since : started;
    state->rollback_owed = planner::OwedRollback{"rollback", 0, -1, reason, since, e.message};
    state->updated_at = now;
    const auto saved = store->save(*state);
    (void)store->append(plan.name, nlohmann::json{{"at", planner::format_rfc3339(now)},
                                                  {"migration", plan.name},
                                                  {"type", "rollback-owed"},
                                                  {"by", "operator"},
                                                  {"toWeight", 0},
                                                  {"error", e.message}});
    out.error(plan.name + ": rollback to 0% not written: " + e.message +
              (saved.ok() ? "; it is recorded as owed in " + store->location(plan.name) +
                                ": the next meshmove apply or rollback writes it first"
                          : "; recording it as owed failed too: " + saved.error().message));
    return e.kind == planner::ErrorKind::Interrupted ? to_int(ExitCode::Interrupted) : to_int(ExitCode::Infrastructure);
  };
  const auto owed_error = [](const planner::Error& e) {
    return e.retryable() || e.kind == planner::ErrorKind::Interrupted;
  };
  auto live = cp.read();
  // The read retries like the write, until the deadline.
  while (!live.ok() && live.error().retryable() && !stop_requested().load() && clock.now() - started < *deadline) {
    clock.sleep(std::chrono::seconds(1));
    live = cp.read();
  }
  if (!live.ok()) return owed_error(live.error()) ? owe(live.error()) : fail(live.error());
  out.log(1, "live: " + cp.describe() + ": " + planner::to_string(live->ownership) +
                 (live->to_weight ? ", " + planner::format_weight(*live->to_weight) + "% to " + plan.to : ""));

  // Verified means what Kuma routes, every route that targets the service ranked: another route that
  // wins over meshmove's policy is named and needs a human (exit 5), never a false "verified".
  const bool already =
      live->ownership == planner::Ownership::Ours && live->to_weight == 0 && live->winner() == nullptr;
  if (!already) {
    if (auto refusal = planner::check_write_allowed(*live, state ? state->last_written : std::nullopt, options.adopt,
                                                    plan.name)) {
      if (live->winner() != nullptr) refusal->message = "not rolled back: " + refusal->message;
      return fail(*refusal);
    }
    if (!options.skip_preflight) {
      auto report = cp.preflight();
      if (!report.ok()) return owed_error(report.error()) ? owe(report.error()) : fail(report.error());
      if (report->from_instances == 0) {
        out.error("refusing to roll back: the control plane shows no instance of the from set (" + plan.tag_key + "=" +
                  plan.from + ") for " + plan.service +
                  ", so all traffic would fail; pass --skip-preflight to write it anyway");
        return to_int(ExitCode::Infrastructure);
      }
    }
  }

  const auto now = clock.now();
  ensure_state(now);
  const std::optional<int> previous = live->to_weight;
  if (!already) {
    // Crash safety: record the intent, write, read back (inside write), then commit.
    state->intent = planner::Intent{"rollback", 0, -1, now};
    if (auto st = store->save(*state); !st.ok()) return fail(st.error());
    auto written = cp.write({0, plan.name, -1, *deadline});
    if (!written.ok()) return owed_error(written.error()) ? owe(written.error()) : fail(written.error());
    if (const planner::CompetingRoute* w = written->winner()) {
      // Another route appeared between the read and the write.
      return fail(planner::make_error(
          planner::ErrorKind::Conflict,
          "wrote 0% to " + plan.to + " on " + cp.describe() + ", but it does not decide the traffic: " +
              planner::describe(*w) + " ranks above it (" + w->why + ") and sends " +
              (w->to_weight ? planner::format_weight(*w->to_weight) + "%" : std::string("an unknown share")) +
              " to the to set. Not verified; needs a human: roll back or delete that route"));
    }
  }
  state->intent.reset();
  state->rollback_owed.reset();
  state->phase = planner::Phase::RolledBack;
  state->step = -1;
  state->weight = 0;
  state->last_written = 0;
  state->step_started_at = now;
  state->held_since.reset();
  state->consecutive_failures = 0;
  state->reason = reason;
  state->updated_at = now;
  if (!already) ++state->transitions;
  if (auto st = store->save(*state); !st.ok()) return fail(st.error());
  nlohmann::json event{{"at", planner::format_rfc3339(now)},
                       {"migration", plan.name},
                       {"type", "rollback"},
                       {"by", "operator"},
                       {"fromWeight", previous ? nlohmann::json(*previous / 100.0) : nlohmann::json(nullptr)},
                       {"toWeight", 0},
                       {"alreadyRolledBack", already},
                       {"reason", reason}};
  if (auto st = store->append(plan.name, event); !st.ok()) return fail(st.error());
  if (!already) {
    planner::EngineEvent e;
    e.kind = planner::EngineEvent::Kind::RolledBack;
    e.migration = plan.name;
    e.at = now;
    e.message = reason;
    e.from_weight = previous.value_or(0);
    e.to_weight = 0;
    e.step = -1;
    e.state = &*state;
    report_event(out, plan, e);
  }

  if (out.options().output == OutputFormat::Json) {
    out.json(result_json(plan, cp, previous, already, store->location(plan.name)));
  } else if (already) {
    out.result(plan.name + ": already rolled back: " + cp.describe() + " sends 100% to " + plan.from);
  } else {
    out.result(plan.name + ": rolled back: " + cp.describe() + " now sends 100% to " + plan.from + " (was " +
               (previous ? planner::format_weight(*previous) + "% to " + plan.to : std::string("no policy")) +
               "); verified by reading it back" +
               (live->competing.empty() ? std::string()
                                        : " (every other route for " + plan.service + " ranks below it in Kuma's order)") +
               ". State: " + store->location(plan.name));
  }
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
