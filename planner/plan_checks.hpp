#pragma once
// Cross-field validation of a plan (internal to the parser): rules that involve more than one field,
// reported at the position of the field that has to change.
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "planner/plan.hpp"
#include "planner/plan_binder.hpp"
#include "planner/plan_tree.hpp"

namespace meshmove::planner {

// The most weight steps a plan may have, written as `steps` or generated from stepWeight + maxWeight.
inline constexpr std::size_t k_max_steps = 1000;

struct ParseState {
  Plan plan;
  const TreeNode* root = nullptr;
  std::map<std::string, const TreeNode*> nodes;  // field path -> where it was written
  std::optional<int> step_weight;               // basis points
  std::optional<int> max_weight;
  bool steps_given = false;
  bool steps_invalid = false;  // an entry of `steps` was already reported
  std::set<std::string> max_was_duration;  // SLO paths whose `max` was written as a duration
  std::set<std::string> untyped_slos;      // SLO paths with neither `type` nor `query`

  // The node written at `path`, else at the nearest recorded parent path, else the root.
  [[nodiscard]] const TreeNode& at(const std::string& path) const;
  [[nodiscard]] bool has(const std::string& path) const { return nodes.count(path) > 0; }
};

// Runs every cross-field rule and fills in derived values (steps from stepWeight + maxWeight).
void run_plan_checks(Binder& binder, ParseState& state);

}  // namespace meshmove::planner
