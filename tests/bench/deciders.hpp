#pragma once
// Three ways to decide a migration, run over the same simulated world (SimMesh):
//   - meshmove: the real planner::Engine and state machine, the real PrometheusGates/PrometheusClient and
//     judge() (sequential: SPRT on counts since the step's weight change plus settle), over FakePrometheus;
//   - Flagger-style: every `interval`, the success rate and p99 over the last `window` against their
//     bounds; a failed check (including no data or NaN) adds one to failedChecks, which never resets
//     within the analysis; at the next tick with failedChecks >= threshold, roll back
//     (fluxcd/flagger pkg/controller/scheduler.go, scheduler_metrics.go);
//   - Argo-Rollouts-style: a background AnalysisRun with one measurement per metric every `interval` after
//     `initialDelay`, successCondition only (so a false condition, NaN included, is Failed and an empty
//     result is an Error); abort when a metric's Failed > failureLimit (a count over the whole run, not
//     consecutive) or its ConsecutiveError > consecutiveErrorLimit (argoproj/argo-rollouts
//     analysis/analysis.go assessMetricStatus).
// All three follow one schedule (the plan's steps, bake and interval), so that only the judgement
// differs: meshmove and the Flagger-style decider advance when the bake has passed and the latest
// evaluation passed; Argo advances when the step's pause (the bake) ends, as a `pause: {duration}` does.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planner/plan.hpp"
#include "tests/bench/sim_mesh.hpp"

namespace meshmove::bench {

struct Slos {
  double max_error_rate = 0.01;  // fraction
  double p99_ms = 500;           // milliseconds
};

struct Schedule {
  std::vector<int> steps;  // basis points
  Millis bake{300000};
  Millis interval{30000};
};

struct FlaggerConfig {
  int threshold = 2;     // analysis.threshold
  Millis window{60000};  // metrics[].interval: the range of the rate queries
};

struct ArgoConfig {
  int failure_limit = 1;                // metric.failureLimit: abort when Failed > this
  int consecutive_error_limit = 4;      // metric.consecutiveErrorLimit (Argo's default)
  Millis window{60000};                 // the range written into the query
  std::optional<Millis> initial_delay;  // metric.initialDelay; default: one interval
};

struct RunResult {
  enum class End { Promoted, RolledBack, Paused, Timeout, Error };
  End end = End::Timeout;
  Millis end_at{0};           // simulated time of the promotion, rollback or pause
  std::uint64_t checks = 0;   // evaluations (meshmove), checks (Flagger), measurement rounds (Argo)
  std::uint64_t queries = 0;  // PromQL queries sent
  std::string why;            // the decider's reason, for --verbose
};
const char* to_string(RunResult::End e);

// Runs the real engine over `mesh` until it finishes or the world reaches `horizon`.
RunResult run_meshmove(SimMesh& mesh, const planner::Plan& plan, Millis horizon);
RunResult run_flagger(SimMesh& mesh, const Schedule& schedule, const Slos& slos, const FlaggerConfig& config,
                      Millis horizon);
RunResult run_argo(SimMesh& mesh, const Schedule& schedule, const Slos& slos, const ArgoConfig& config,
                   Millis horizon);

}  // namespace meshmove::bench
