#pragma once
// The policy write that the next transition of a migration makes, from the plan, the live routing and
// the saved state (pure). Used by `plan` to preview it and by the engine to carry it out.
#include <optional>
#include <string>

#include "planner/control_plane.hpp"
#include "planner/plan.hpp"
#include "planner/state.hpp"

namespace meshmove::planner {

struct NextWrite {
  std::string action;  // "pin" (100% to from before the first step) or "advance"
  int to_weight = 0;   // basis points
  int step = -1;       // step index; -1 for pin
  std::string why;
};

// nullopt when nothing is left to write (promoted, rolled back, or at the final step); `why_not` then
// says why.
std::optional<NextWrite> next_write(const Plan& plan, const LiveRouting& live, const std::optional<MigrationState>& state,
                                    std::string* why_not);

// The index of the step a live weight corresponds to: the last step whose weight is at most `weight`;
// -1 when below the first step.
int step_for_weight(const Plan& plan, int weight);

}  // namespace meshmove::planner
