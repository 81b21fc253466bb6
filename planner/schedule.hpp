#pragma once
// The migration timeline: when each remaining step can start at the earliest and when its bake can be
// complete, given the plan's bake time and change windows. Pure: no clock reads, no I/O (the tz database
// is read through date/tz), no printing.
#include <cstddef>
#include <optional>
#include <vector>

#include "planner/clock.hpp"
#include "planner/diagnostic.hpp"
#include "planner/plan.hpp"
#include "planner/windows.hpp"

namespace meshmove::planner {

struct TimelineStep {
  std::size_t index = 0;  // position in Plan::steps (0-based)
  int weight = 0;         // basis points to the `to` set
  // The earliest instant the weight can change to `weight`; nullopt when the step is blocked: no window
  // opens within k_window_search_horizon (e.g. a freeze that outlasts it). Every step after a blocked one
  // is blocked too.
  std::optional<TimePoint> earliest_start;
  // earliest_start + Plan::bake: the earliest instant the step's bake can be complete (gates passing
  // throughout). Baking continues outside windows. nullopt exactly when earliest_start is.
  std::optional<TimePoint> earliest_end;

  [[nodiscard]] bool blocked() const { return !earliest_start.has_value(); }
  friend bool operator==(const TimelineStep&, const TimelineStep&) = default;
};

// Checks of a plan that depend on the moment it would run (the parser's checks do not: they hold at any
// time). Today one: an error when the windows and freezes open nowhere within k_window_search_horizon
// after `now` (such a plan could never write a weight, the pin included). Empty when the plan can run, or
// when its windows are invalid (the parser reports those). The error points at the first freeze entry
// when the allowed windows alone would open, else at the first allow entry.
[[nodiscard]] std::vector<Diagnostic> check_schedule(const Plan& plan, TimePoint now);

// The timeline from step `first_step` (0-based index into plan.steps; earlier steps are omitted) to the
// last step. Empty when first_step >= plan.steps.size().
//   - first step: starts at `first_step_started_at` when given (the weight is already set, even if that
//     was outside the windows), otherwise at windows.next_open(now): the pin to the from set that comes
//     before it waits for a window too, and the first step follows it in the same window;
//   - each later step: windows.next_open(max(previous earliest_start + plan.bake, now)), i.e. weight
//     changes happen only inside windows, and never in the past.
[[nodiscard]] std::vector<TimelineStep> compute_timeline(const Plan& plan, const WindowSchedule& windows,
                                                         std::size_t first_step,
                                                         std::optional<TimePoint> first_step_started_at,
                                                         TimePoint now);

}  // namespace meshmove::planner
