#pragma once
// The durable state of one migration (DESIGN.md §6): where in the plan it is and why. The control plane
// stays the source of truth for the live weights; this says what meshmove last wrote and decided.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/error.hpp"
#include "planner/plan.hpp"

namespace meshmove::planner {

inline constexpr int k_state_schema_version = 1;

enum class Phase { Pending, Ramping, Paused, Promoted, RolledBack };
const char* to_string(Phase p);
std::optional<Phase> phase_from_string(const std::string& s);

// The last verdict of one gate, as shown by `status`.
struct GateRecord {
  std::string slo;
  std::string set;      // "to" or "from"
  std::string verdict;  // PASS FAIL HOLD ERROR
  std::optional<double> value;
  double bound = 0;
  std::optional<double> samples;
  std::string reason;
  TimePoint at;
};

// A policy write that was decided but not yet committed (crash safety: intent, write, read back, commit).
struct Intent {
  std::string action;  // "pin", "advance", "rollback", "rollback-step", "promote"
  int to_weight = 0;   // basis points
  int step = -1;       // the step index the write belongs to (-1: pinned to from)
  TimePoint at;
};

// A rollback that could not be written: the control plane stayed unavailable past the rollback deadline,
// or a signal stopped the retries. The next pass or run writes it before anything else (no gate
// evaluation, no advance). Saved as "rollbackOwed"; state files without it load as "nothing owed".
struct OwedRollback {
  std::string action;  // "rollback" or "rollback-step"
  int to_weight = 0;   // basis points
  int step = -1;
  std::string reason;  // why the rollback was decided
  TimePoint since;     // when its first write failed
  std::string last_error;
};

struct MigrationState {
  int schema_version = k_state_schema_version;
  std::string migration;
  std::string plan_hash;
  std::string plan_file;
  Phase phase = Phase::Pending;
  int step = -1;                        // index into Plan::steps of the weight in effect; -1: none yet
  int weight = 0;                       // basis points to the `to` set meshmove last verified
  std::optional<int> last_written;      // what meshmove last wrote and read back (drift detection)
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> step_started_at;  // when the weight in effect was written (bake and settle)
  std::optional<TimePoint> held_since;       // start of the current stretch of HOLD/ERROR evaluations
  std::optional<TimePoint> last_evaluation_at;
  std::optional<TimePoint> updated_at;
  int consecutive_failures = 0;
  int transitions = 0;
  std::optional<int> rollback_step;     // stepped rollback: the step index being walked down to
  std::optional<Intent> intent;
  std::optional<OwedRollback> rollback_owed;
  std::vector<GateRecord> last_verdicts;
  std::string reason;                   // why the phase is what it is
  // The journal event of the last committed transition (seq = transitions), so that a run after a crash
  // between committing the state and appending to the journal can append it.
  nlohmann::json last_transition;
};

nlohmann::json to_json(const MigrationState& s);
// Reads a state document; Error Invalid naming the problem (missing fields, a newer schema version).
Result<MigrationState> state_from_json(const nlohmann::json& j);

// A stable hash of the fields that define a migration's identity (service, mesh, sets, control plane,
// route, policy name and steps). Tuning bake, windows or gates does not change it.
std::string plan_hash(const Plan& plan);

}  // namespace meshmove::planner
