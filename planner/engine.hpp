#pragma once
// The engine: runs migrations through the state machine over ports only (ControlPlane, MetricsSource,
// StateStore, Clock, Reporter, Notifier). It never reads a real clock: it sleeps through Clock, so a
// fake clock runs a whole migration in milliseconds.
//
// Every transition: record the intent in the state, write the policy, read it back (ControlPlane::write),
// commit the state, append to the journal. A run after a crash reconciles: an intent whose weight is
// live is committed, any other is dropped; drift (the live weight is not what meshmove last wrote)
// stops the run unless `adopt`.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "planner/clock.hpp"
#include "planner/control_plane.hpp"
#include "planner/metrics_source.hpp"
#include "planner/plan.hpp"
#include "planner/reporter.hpp"
#include "planner/state_store.hpp"

namespace meshmove::planner {

struct EngineOptions {
  bool once = false;                   // one pass: at most one evaluation and one transition
  bool adopt = false;                  // take the live policy as the truth (foreign, other owner, drift)
  bool restart = false;                // start a promoted or rolled-back migration over
  bool accept_plan_change = false;     // continue state made by a plan with another identity hash
  bool rollback_on_interrupt = false;  // on SIGINT/SIGTERM, roll back before exiting
  bool skip_preflight = false;         // do not require instances in both sets, nor readable gates
  const std::atomic<bool>* stop = nullptr;  // set by the signal handler
  // Writes that undo risk (rollback, rollback step, an operator's rollback, --rollback-on-interrupt)
  // retry retryable failures for this long (milliseconds; PolicyWrite::retry_deadline). A rollback still
  // not written after it is recorded as owed: --once ends with Infrastructure (exit 6), a continuous run
  // tries again every `owed_rollback_pace`, saying so each time; every run writes an owed rollback first.
  Duration rollback_deadline = std::chrono::seconds(30);
  Duration owed_rollback_pace = std::chrono::seconds(30);
};

enum class Outcome {
  Promoted,        // exit 0
  RolledBack,      // exit 3
  InProgress,      // exit 4 (--once moved or is waiting)
  Held,            // exit 5 (outside a window, gates holding)
  Paused,          // exit 5
  Stopped,         // exit 5: drift or a policy meshmove does not own; needs an operator
  Infrastructure,  // exit 6
  Locked,          // exit 7
  Invalid,         // exit 2: the plan changed identity, or state cannot be used
  Interrupted,     // exit 130
};
const char* to_string(Outcome o);

struct MigrationPorts {
  ControlPlane* control_plane = nullptr;
  MetricsSource* metrics = nullptr;
};

struct MigrationResult {
  std::string migration;
  Outcome outcome = Outcome::InProgress;
  std::string message;  // why it ended there, for people
};

class Engine {
 public:
  Engine(StateStore& store, Clock& clock, Reporter& reporter, Notifier& notifier, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds a migration; `plan` and the ports must outlive run().
  void add(const Plan& plan, MigrationPorts ports);
  // Runs every migration until it is promoted, rolled back, paused or stopped (or one pass each with
  // `once`), interleaving them in one thread by their next wake-up time.
  std::vector<MigrationResult> run();

 private:
  class Runner;
  StateStore& m_store;
  Clock& m_clock;
  Reporter& m_reporter;
  Notifier& m_notifier;
  EngineOptions m_options;
  std::vector<std::unique_ptr<Runner>> m_runners;
};

}  // namespace meshmove::planner
