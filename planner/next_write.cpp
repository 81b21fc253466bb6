#include "planner/next_write.hpp"

namespace meshmove::planner {

int step_for_weight(const Plan& plan, int weight) {
  int index = -1;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    if (plan.steps[i] <= weight) index = static_cast<int>(i);
  }
  return index;
}

std::optional<NextWrite> next_write(const Plan& plan, const LiveRouting& live, const std::optional<MigrationState>& state,
                                    std::string* why_not) {
  const auto none = [why_not](std::string why) -> std::optional<NextWrite> {
    if (why_not != nullptr) *why_not = std::move(why);
    return std::nullopt;
  };
  if (state && state->phase == Phase::Promoted) return none("the migration is promoted; nothing is left to write");
  if (state && state->phase == Phase::RolledBack) {
    return none("the migration is rolled back (" + state->reason + "); apply --restart starts it over");
  }
  if (!live.exists()) {
    return NextWrite{"pin", 0, -1,
                     "no policy exists yet: the first write pins 100% to " + plan.from + " before the first step"};
  }
  int current = -1;
  if (state && state->step >= 0) {
    current = state->step;
  } else if (live.to_weight) {
    current = step_for_weight(plan, *live.to_weight);
  }
  const auto next = static_cast<std::size_t>(current + 1);
  if (next >= plan.steps.size()) {
    return none("the final step (" + format_weight(plan.final_weight()) +
                "%) is in effect; the migration is promoted when its gates pass for the bake time");
  }
  return NextWrite{"advance", plan.steps[next], static_cast<int>(next),
                   "step " + std::to_string(next + 1) + " of " + std::to_string(plan.steps.size()) + ": " +
                       format_weight(plan.steps[next]) + "% to " + plan.to};
}

}  // namespace meshmove::planner
