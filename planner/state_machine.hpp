#pragma once
// The migration state machine (DESIGN.md §2, §5, §6), pure: no clock reads, no I/O. The engine asks
// decide() what to do next, carries it out through its ports, and folds the outcome back into the state
// with the record_* functions.
//
// Phases: pending -> ramping -> promoted | rolled-back, and paused (operator, or onMaxHold: pause).
//   pending   nothing written yet: pin 100% to `from` once a window is open (the pin changes traffic
//             too: without a policy Kuma splits by instance count), held while none is
//   ramping   at step -1 (pinned) or 0..n-1: wait for settle, evaluate the gates every interval (the
//             first one interval after settle, so that its window holds data),
//             advance when bake has passed and every gate's latest verdict (taken after settle) is PASS
//             and a window is open; promote at the final step; roll back after failureLimit consecutive
//             FAIL evaluations, or when held (HOLD/ERROR, never failures) longer than maxHold with
//             onMaxHold: rollback. A stepped rollback walks back down one step per rollback.stepInterval.
#include <optional>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/metrics_source.hpp"
#include "planner/plan.hpp"
#include "planner/state.hpp"

namespace meshmove::planner {

// Whether weight changes are allowed now (windows and freezes).
struct WindowView {
  bool open = true;
  std::optional<TimePoint> next_open;  // when closed: the next instant they are; nullopt: not within the horizon
};

enum class Action {
  Write,     // write a weight (pin, advance, rollback, rollback-step)
  Evaluate,  // evaluate every gate now
  Wait,      // nothing to do until `until`
  Finish,    // stop: promoted, rolled back (already at 0) or paused
};
const char* to_string(Action a);

struct Decision {
  Action action = Action::Wait;
  // Write: "pin", "advance", "rollback" (to 0, ends rolled-back) or "rollback-step" (stepped rollback).
  std::string write;
  int to_weight = 0;  // basis points
  int step = -1;      // the step the weight belongs to; -1 for 0% (pinned or rolled back)
  // Wait: when to decide again, and for what ("settle", "bake", "interval", "window", "rollback-step").
  TimePoint until{};
  std::string wait_for;
  bool held = false;  // Wait while gates HOLD/ERROR or outside a window: --once exits 5, not 4
  // Finish: the phase it ends in.
  Phase phase = Phase::Ramping;
  std::string reason;  // for people and the journal
};

// What to do next for `state` at `now`.
Decision decide(const Plan& plan, const MigrationState& state, const WindowView& window, TimePoint now);

// The state after one evaluation: last verdicts; consecutive FAILs (a FAIL adds one, an all-PASS
// evaluation resets them, HOLD/ERROR leave them); the start of a hold (any HOLD/ERROR without FAIL).
MigrationState record_evaluation(MigrationState state, const std::vector<GateEvaluation>& gates, TimePoint now);

// The state after a verified write of `d` (action Write).
MigrationState record_write(const Plan& plan, MigrationState state, const Decision& d, TimePoint now);

// The state after a Finish decision.
MigrationState record_finish(MigrationState state, const Decision& d, TimePoint now);

// Operator commands (pure): pause (from pending/ramping), resume (back to ramping or pending; the hold
// clock restarts). Return an error message when the command does not apply to the phase.
std::optional<std::string> operator_pause(MigrationState& state, const std::string& reason, TimePoint now);
std::optional<std::string> operator_resume(MigrationState& state, TimePoint now);

}  // namespace meshmove::planner
