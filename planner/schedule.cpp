#include "planner/schedule.hpp"

#include <algorithm>
#include <chrono>

#include "planner/time_format.hpp"

namespace meshmove::planner {
namespace {

// t + d, clamped to the representable range (an absurd bake must not overflow).
TimePoint saturating_add(TimePoint t, Duration d) {
  if (d.count() > 0 && t > TimePoint::max() - d) return TimePoint::max();
  if (d.count() < 0 && t < TimePoint::min() - d) return TimePoint::min();
  return t + d;
}

}  // namespace

std::vector<Diagnostic> check_schedule(const Plan& plan, TimePoint now) {
  std::vector<Diagnostic> out;
  const auto windows = WindowSchedule::create(plan.windows, nullptr);
  if (!windows || windows->next_open(now)) return out;
  const auto& w = plan.windows;
  // Blame the freezes when the allowed windows alone would open.
  WindowsConfig unfrozen = w;
  unfrozen.freeze.clear();
  const auto allowed = WindowSchedule::create(unfrozen, nullptr);
  const bool frozen = !w.freeze.empty() && allowed && allowed->next_open(now);
  const SourcePos at = frozen && !w.freeze_pos.empty() ? w.freeze_pos.front()
                       : !w.allow_pos.empty()          ? w.allow_pos.front()
                                                       : SourcePos{};
  out.push_back(Diagnostic{plan.file, at.line, at.column, frozen ? "windows.freeze" : "windows.allow",
                           "no change window opens within 400 days (from " +
                               format_rfc3339(std::chrono::floor<std::chrono::seconds>(now)) +
                               "): the plan could never change a weight; shorten the freeze or widen the allowed "
                               "windows",
                           Severity::Error});
  return out;
}

std::vector<TimelineStep> compute_timeline(const Plan& plan, const WindowSchedule& windows,
                                           std::size_t first_step,
                                           std::optional<TimePoint> first_step_started_at, TimePoint now) {
  std::vector<TimelineStep> timeline;
  if (first_step >= plan.steps.size()) return timeline;
  timeline.reserve(plan.steps.size() - first_step);
  std::optional<TimePoint> start = first_step_started_at ? first_step_started_at : windows.next_open(now);
  for (std::size_t i = first_step; i < plan.steps.size(); ++i) {
    if (i != first_step && start) start = windows.next_open(std::max(saturating_add(*start, plan.bake), now));
    TimelineStep step;
    step.index = i;
    step.weight = plan.steps[i];
    step.earliest_start = start;
    if (start) step.earliest_end = saturating_add(*start, plan.bake);
    timeline.push_back(step);
  }
  return timeline;
}

}  // namespace meshmove::planner
