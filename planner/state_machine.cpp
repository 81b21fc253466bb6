#include "planner/state_machine.hpp"

#include <algorithm>

namespace meshmove::planner {
namespace {

constexpr TimePoint k_far_future = TimePoint{Duration{std::numeric_limits<Duration::rep>::max() / 2}};

Decision write(std::string kind, int to_weight, int step, std::string reason) {
  Decision d;
  d.action = Action::Write;
  d.write = std::move(kind);
  d.to_weight = to_weight;
  d.step = step;
  d.reason = std::move(reason);
  return d;
}

Decision wait(TimePoint until, std::string what, bool held, std::string reason) {
  Decision d;
  d.action = Action::Wait;
  d.until = until;
  d.wait_for = std::move(what);
  d.held = held;
  d.reason = std::move(reason);
  return d;
}

Decision finish(Phase phase, std::string reason) {
  Decision d;
  d.action = Action::Finish;
  d.phase = phase;
  d.reason = std::move(reason);
  return d;
}

std::string pct(int bp) { return format_weight(bp) + "%"; }

// The first rollback decision: to 0 at once, or one step down when stepped.
Decision start_rollback(const Plan& plan, const MigrationState& s, const std::string& why) {
  if (plan.rollback.mode == RollbackMode::Stepped && s.step > 0) {
    return write("rollback-step", plan.steps[static_cast<std::size_t>(s.step - 1)], s.step - 1,
                 why + "; stepping back to " + pct(plan.steps[static_cast<std::size_t>(s.step - 1)]));
  }
  return write("rollback", 0, -1, why + "; rolling back to 100% on " + plan.from);
}

std::string failing_gates(const MigrationState& s) {
  std::string out;
  for (const auto& g : s.last_verdicts) {
    if (g.verdict != "FAIL") continue;
    out += (out.empty() ? "" : "; ") + g.slo + " (" + g.set + "): " + g.reason;
  }
  return out;
}

}  // namespace

const char* to_string(Action a) {
  switch (a) {
    case Action::Write: return "write";
    case Action::Evaluate: return "evaluate";
    case Action::Wait: return "wait";
    case Action::Finish: return "finish";
  }
  return "?";
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Pass: return "PASS";
    case Verdict::Fail: return "FAIL";
    case Verdict::Hold: return "HOLD";
    case Verdict::Error: return "ERROR";
  }
  return "?";
}

Decision decide(const Plan& plan, const MigrationState& s, const WindowView& window, TimePoint now) {
  switch (s.phase) {
    case Phase::Promoted: return finish(Phase::Promoted, s.reason.empty() ? "promoted" : s.reason);
    case Phase::RolledBack: return finish(Phase::RolledBack, s.reason.empty() ? "rolled back" : s.reason);
    case Phase::Paused: return finish(Phase::Paused, s.reason.empty() ? "paused" : s.reason);
    case Phase::Pending:
      // The pin is a traffic change like any later write (without a policy Kuma splits by instance count,
      // so pinning can double the from set's share): it obeys windows and freezes too.
      if (!window.open) {
        return wait(window.next_open.value_or(k_far_future), "window", true,
                    "waiting for a change window to pin 100% to " + plan.from + " before the first step" +
                        (window.next_open ? "" : " (none opens within 400 days)"));
      }
      return write("pin", 0, -1, "pinning 100% to " + plan.from + " before the first step");
    case Phase::Ramping: break;
  }
  const TimePoint step_start = s.step_started_at.value_or(now);

  // A stepped rollback in progress walks down one step per stepInterval, whatever the gates and windows.
  if (s.rollback_step) {
    const TimePoint next = step_start + plan.rollback.step_interval;
    if (now < next) return wait(next, "rollback-step", false, "stepped rollback at " + pct(s.weight));
    if (s.step > 0) {
      const int lower = plan.steps[static_cast<std::size_t>(s.step - 1)];
      return write("rollback-step", lower, s.step - 1, s.reason);
    }
    return write("rollback", 0, -1, s.reason);
  }

  if (s.consecutive_failures >= plan.gates.failure_limit) {
    return start_rollback(plan, s,
                          std::to_string(s.consecutive_failures) + " consecutive failing evaluation" +
                              (s.consecutive_failures == 1 ? "" : "s") + " at " + pct(s.weight) + ": " +
                              failing_gates(s));
  }
  if (s.held_since && plan.gates.max_hold.count() > 0 && now - *s.held_since >= plan.gates.max_hold) {
    const std::string why = "gates held (HOLD/ERROR) for " +
                            format_duration(std::chrono::duration_cast<Duration>(now - *s.held_since)) +
                            ", longer than maxHold " + format_duration(plan.gates.max_hold);
    if (plan.gates.on_max_hold == MaxHoldAction::Rollback) return start_rollback(plan, s, why);
    return finish(Phase::Paused, why + "; paused (onMaxHold: pause)");
  }

  const auto advance_or_wait = [&](std::size_t next, TimePoint recheck, const std::string& why) {
    if (window.open) {
      return write("advance", plan.steps[next], static_cast<int>(next),
                   why + "; step " + std::to_string(next + 1) + " of " + std::to_string(plan.steps.size()) + ": " +
                       pct(plan.steps[next]) + " to " + plan.to);
    }
    const TimePoint until = std::min(recheck, window.next_open.value_or(k_far_future));
    return wait(until, "window", true,
                why + "; waiting for a change window" +
                    (window.next_open ? "" : " (none opens within 400 days)"));
  };

  if (s.step < 0) {
    // Pinned to `from`: nothing to judge yet (the to set has no traffic); the first step waits only for a
    // window.
    return advance_or_wait(0, k_far_future, "pinned to " + plan.from);
  }

  // The first evaluation comes one interval after settle, so that its window holds an interval of data.
  const TimePoint settle_end = step_start + plan.settle;
  const TimePoint first_eval = settle_end + plan.interval;
  const bool evaluated_since_settle = s.last_evaluation_at && *s.last_evaluation_at >= settle_end;
  if (!evaluated_since_settle && now < first_eval) {
    return wait(first_eval, "settle", false, "settling after the change to " + pct(s.weight));
  }
  const bool all_pass = !s.last_verdicts.empty() &&
                        std::all_of(s.last_verdicts.begin(), s.last_verdicts.end(),
                                    [](const GateRecord& g) { return g.verdict == "PASS"; });
  const TimePoint bake_end = step_start + plan.bake;
  // Every gate passed in an evaluation made after the bake ended: advance even when that evaluation is an
  // interval old (queries or a store slower than the interval would otherwise re-evaluate forever).
  // (Outside a window the gates keep being evaluated every interval while the step waits.)
  const bool final_step = static_cast<std::size_t>(s.step) + 1 >= plan.steps.size();
  const bool passed_after_bake = all_pass && evaluated_since_settle && *s.last_evaluation_at >= bake_end &&
                                 (window.open || final_step);
  if (!passed_after_bake && (!evaluated_since_settle || now >= *s.last_evaluation_at + plan.interval)) {
    Decision d;
    d.action = Action::Evaluate;
    d.reason = "evaluating gates at " + pct(s.weight);
    return d;
  }
  const TimePoint next_eval = *s.last_evaluation_at + plan.interval;
  if (all_pass && now >= bake_end) {
    const auto index = static_cast<std::size_t>(s.step);
    if (index + 1 >= plan.steps.size()) {
      return finish(Phase::Promoted, "every gate passes at the final weight " + pct(s.weight) + " after a bake of " +
                                         format_duration(plan.bake));
    }
    return advance_or_wait(index + 1, next_eval, "every gate passes after a bake of " + format_duration(plan.bake));
  }
  if (all_pass) {
    return wait(std::min(bake_end, next_eval), "bake", false, "gates pass; baking at " + pct(s.weight));
  }
  const bool held = s.held_since.has_value();
  return wait(next_eval, "interval", held,
              held ? "gates hold (not enough evidence or data) at " + pct(s.weight)
                   : "gates are not all passing at " + pct(s.weight));
}

MigrationState record_evaluation(MigrationState s, const std::vector<GateEvaluation>& gates, TimePoint now) {
  bool any_fail = false, any_hold = false;
  s.last_verdicts.clear();
  for (const auto& g : gates) {
    any_fail = any_fail || g.verdict == Verdict::Fail;
    any_hold = any_hold || g.verdict == Verdict::Hold || g.verdict == Verdict::Error;
    s.last_verdicts.push_back(GateRecord{g.slo, g.set, to_string(g.verdict), g.value, g.bound, g.samples, g.reason, now});
  }
  if (gates.empty()) any_hold = true;  // nothing judged is not a pass
  if (any_fail) {
    ++s.consecutive_failures;
    s.held_since.reset();
  } else if (any_hold) {
    if (!s.held_since) s.held_since = now;
  } else {
    s.consecutive_failures = 0;
    s.held_since.reset();
  }
  s.last_evaluation_at = now;
  s.updated_at = now;
  return s;
}

MigrationState record_write(const Plan& plan, MigrationState s, const Decision& d, TimePoint now) {
  s.intent.reset();
  s.weight = d.to_weight;
  s.last_written = d.to_weight;
  s.step = d.step;
  s.step_started_at = now;
  s.last_verdicts.clear();
  s.last_evaluation_at.reset();
  s.consecutive_failures = 0;
  s.held_since.reset();
  s.updated_at = now;
  if (!s.started_at) s.started_at = now;
  ++s.transitions;
  if (d.write == "rollback") {
    s.phase = Phase::RolledBack;
    s.rollback_step.reset();
    if (s.reason.empty() || !s.rollback_step) s.reason = d.reason;
  } else if (d.write == "rollback-step") {
    s.phase = Phase::Ramping;
    if (!s.rollback_step) s.reason = d.reason;
    s.rollback_step = d.step;
  } else if (d.write == "promote") {
    s.phase = Phase::Promoted;
    s.reason = d.reason;
  } else {
    s.phase = Phase::Ramping;
    s.reason.clear();
  }
  (void)plan;
  return s;
}

MigrationState record_finish(MigrationState s, const Decision& d, TimePoint now) {
  s.phase = d.phase;
  s.reason = d.reason;
  s.updated_at = now;
  return s;
}

std::optional<std::string> operator_pause(MigrationState& s, const std::string& reason, TimePoint now) {
  if (s.phase != Phase::Pending && s.phase != Phase::Ramping) {
    return std::string("cannot pause a migration that is ") + to_string(s.phase);
  }
  s.phase = Phase::Paused;
  s.reason = reason.empty() ? "paused by an operator" : reason;
  s.updated_at = now;
  return std::nullopt;
}

std::optional<std::string> operator_resume(MigrationState& s, TimePoint now) {
  if (s.phase != Phase::Paused) return std::string("cannot resume a migration that is ") + to_string(s.phase);
  s.phase = s.last_written ? Phase::Ramping : Phase::Pending;
  s.reason.clear();
  s.held_since.reset();  // the hold clock restarts
  s.updated_at = now;
  return std::nullopt;
}

}  // namespace meshmove::planner
