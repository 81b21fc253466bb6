#pragma once
// The Reporter and Notifier ports: where the engine tells what it does (terminal live view, log lines,
// JSON events, JUnit report, own metrics) and whom it notifies (webhooks).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/metrics_source.hpp"
#include "planner/plan.hpp"
#include "planner/state.hpp"

namespace meshmove::planner {

// Something that happened to a migration.
struct EngineEvent {
  enum class Kind {
    Started,      // the run began (resumed or fresh)
    Reconciled,   // state reconciled with the control plane after a crash or a lost state
    Wrote,        // a policy write was verified (pin, advance, rollback step)
    Evaluated,    // gates were evaluated
    Waiting,      // waiting for settle, bake, an interval or a window
    Held,         // gates HOLD/ERROR (not failures)
    Promoted,
    RolledBack,
    Paused,
    Drift,        // the control plane differs from what meshmove wrote: stopped
    Error,        // an infrastructure error stopped this run
    Interrupted,
  };
  Kind kind = Kind::Started;
  std::string migration;
  TimePoint at;
  std::string message;  // one line for people
  int from_weight = -1;  // Wrote: basis points to `to` before and after
  int to_weight = -1;
  int step = -1;
  std::vector<GateEvaluation> gates;    // Evaluated
  std::optional<TimePoint> until;       // Waiting
  const MigrationState* state = nullptr;  // the state after the event (valid during the call)
};
const char* to_string(EngineEvent::Kind k);

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void report(const Plan& plan, const EngineEvent& event) = 0;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // Sends the event to the plan's notify targets that want it. Must not block for long: a rollback is
  // never delayed by a notification (implementations send in the background).
  virtual void notify(const Plan& plan, const EngineEvent& event) = 0;
};

}  // namespace meshmove::planner
