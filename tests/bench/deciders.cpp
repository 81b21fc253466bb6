#include "tests/bench/deciders.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "backends/memory_state_store.hpp"
#include "metrics/gate_verdict.hpp"
#include "metrics/prometheus_client.hpp"
#include "metrics/prometheus_gates.hpp"
#include "planner/engine.hpp"
#include "tests/bench/fake_prometheus.hpp"

namespace meshmove::bench {
namespace {

// Keeps the engine's last words and counts its evaluations; nothing is printed.
class EndRecorder final : public planner::Reporter, public planner::Notifier {
 public:
  std::uint64_t evaluations = 0;
  std::string last;
  void report(const planner::Plan&, const planner::EngineEvent& e) override {
    if (e.kind == planner::EngineEvent::Kind::Evaluated) ++evaluations;
    if (e.kind == planner::EngineEvent::Kind::RolledBack || e.kind == planner::EngineEvent::Kind::Promoted ||
        e.kind == planner::EngineEvent::Kind::Paused || e.kind == planner::EngineEvent::Kind::Error ||
        e.kind == planner::EngineEvent::Kind::Drift) {
      last = e.message;
    }
  }
  void notify(const planner::Plan&, const planner::EngineEvent&) override {}
};

// What a rate query over the last `window` gives a peer's expression.
struct PeerValue {
  enum class Kind { Value, NaN, Empty, Error } kind = Kind::Empty;
  double value = 0;
};

// sum(rate(non-5xx[w])) / sum(rate(all[w])): the success rate as a fraction.
PeerValue success_rate(const SimMesh& mesh, Millis window, Millis at) {
  if (mesh.queries_fail(at)) return {PeerValue::Kind::Error, 0};
  const auto w = mesh.window(true, window, at);
  if (!w) return {PeerValue::Kind::Empty, 0};
  if (!(w->requests > 0)) return {PeerValue::Kind::NaN, 0};
  return {PeerValue::Kind::Value, (w->requests - w->errors) / w->requests};
}

// histogram_quantile(0.99, sum by (le) (rate(bucket[w]))) in milliseconds.
PeerValue p99(const SimMesh& mesh, Millis window, Millis at) {
  if (mesh.queries_fail(at)) return {PeerValue::Kind::Error, 0};
  const auto w = mesh.window(true, window, at);
  if (!w) return {PeerValue::Kind::Empty, 0};
  const auto q = metrics::bucket_quantile(w->buckets, 0.99);
  if (!q) return {PeerValue::Kind::NaN, 0};
  return {PeerValue::Kind::Value, *q};
}

RunResult finish(RunResult r, RunResult::End end, Millis at, std::string why) {
  r.end = end;
  r.end_at = at;
  r.why = std::move(why);
  return r;
}

}  // namespace

const char* to_string(RunResult::End e) {
  switch (e) {
    case RunResult::End::Promoted:
      return "promoted";
    case RunResult::End::RolledBack:
      return "rolled-back";
    case RunResult::End::Paused:
      return "paused";
    case RunResult::End::Timeout:
      return "timeout";
    case RunResult::End::Error:
      return "error";
  }
  return "?";
}

RunResult run_meshmove(SimMesh& mesh, const planner::Plan& plan, Millis horizon) {
  std::atomic<bool> stop{false};
  SimClock clock(mesh, horizon, stop);
  SimControlPlane control_plane(mesh);
  FakePrometheus prometheus(mesh, plan.mesh);
  metrics::PrometheusClient client(plan.gates.prometheus.url, prometheus);
  metrics::PrometheusGates gates(client);
  backends::MemoryStateStore store;
  EndRecorder recorder;
  planner::EngineOptions options;
  options.stop = &stop;
  planner::Engine engine(store, clock, recorder, recorder, options);
  engine.add(plan, {&control_plane, &gates});
  const auto results = engine.run();
  RunResult r;
  r.checks = recorder.evaluations;
  r.queries = prometheus.queries();
  r.end_at = mesh.now();
  r.why = results.empty() ? "" : results[0].message;
  const planner::Outcome outcome = results.empty() ? planner::Outcome::Invalid : results[0].outcome;
  switch (outcome) {
    case planner::Outcome::Promoted:
      r.end = RunResult::End::Promoted;
      break;
    case planner::Outcome::RolledBack:
      r.end = RunResult::End::RolledBack;
      break;
    case planner::Outcome::Paused:
    case planner::Outcome::Held:
      r.end = RunResult::End::Paused;
      break;
    case planner::Outcome::Interrupted:
      r.end = RunResult::End::Timeout;
      break;
    default:
      r.end = RunResult::End::Error;
      break;
  }
  return r;
}

RunResult run_flagger(SimMesh& mesh, const Schedule& schedule, const Slos& slos, const FlaggerConfig& config,
                      Millis horizon) {
  RunResult r;
  std::size_t step = 0;
  mesh.set_weight(schedule.steps[0]);
  Millis step_start = mesh.now();
  int failed_checks = 0;
  for (Millis t = mesh.now() + schedule.interval; t <= horizon; t += schedule.interval) {
    mesh.advance_to(t);
    // scheduler.go: the threshold is checked at the start of a tick, before that tick's analysis.
    if (failed_checks >= config.threshold) {
      mesh.set_weight(0);
      return finish(r, RunResult::End::RolledBack, t,
                    "failedChecks " + std::to_string(failed_checks) + " >= threshold " +
                        std::to_string(config.threshold));
    }
    ++r.checks;
    // runBuiltinMetricChecks: the first failing metric ends the check (later ones are not queried).
    bool ok = true;
    ++r.queries;
    const PeerValue sr = success_rate(mesh, config.window, t);
    if (sr.kind != PeerValue::Kind::Value || sr.value * 100 < (1 - slos.max_error_rate) * 100) ok = false;
    if (ok) {
      ++r.queries;
      const PeerValue d = p99(mesh, config.window, t);
      // GetRequestDuration casts to int64 milliseconds; thresholdRange.max is compared in milliseconds.
      if (d.kind != PeerValue::Kind::Value || std::trunc(d.value) > slos.p99_ms) ok = false;
    }
    if (!ok) {
      ++failed_checks;  // SetStatusFailedChecks(failedChecks + 1); never reset within the analysis
      continue;
    }
    if (t - step_start >= schedule.bake) {
      if (step + 1 >= schedule.steps.size()) return finish(r, RunResult::End::Promoted, t, "analysis passed");
      ++step;
      mesh.set_weight(schedule.steps[step]);
      step_start = t;
    }
  }
  return finish(r, RunResult::End::Timeout, mesh.now(), "horizon reached");
}

RunResult run_argo(SimMesh& mesh, const Schedule& schedule, const Slos& slos, const ArgoConfig& config,
                   Millis horizon) {
  RunResult r;
  struct MetricResult {
    int failed = 0;
    int consecutive_error = 0;
  };
  MetricResult errors_metric, latency_metric;
  std::size_t step = 0;
  mesh.set_weight(schedule.steps[0]);
  const Millis start = mesh.now();
  Millis next_measure = start + config.initial_delay.value_or(schedule.interval);
  Millis next_step = start + schedule.bake;
  // One measurement: Successful, Failed (condition false, NaN included) or Error (query failed, or
  // `result[0]` on an empty vector).
  const auto measure = [&](MetricResult& m, const PeerValue& v, bool success) {
    if (v.kind == PeerValue::Kind::Error || v.kind == PeerValue::Kind::Empty) {
      ++m.consecutive_error;
      return;
    }
    m.consecutive_error = 0;
    if (!success) ++m.failed;
  };
  const auto assess = [&](const MetricResult& m) {
    return m.failed > config.failure_limit || m.consecutive_error > config.consecutive_error_limit;
  };
  while (true) {
    const Millis t = std::min(next_measure, next_step);
    if (t > horizon) break;
    mesh.advance_to(t);
    if (next_measure <= next_step) {
      ++r.checks;
      r.queries += 2;
      const PeerValue sr = success_rate(mesh, config.window, t);
      measure(errors_metric, sr, sr.kind == PeerValue::Kind::Value && sr.value >= 1 - slos.max_error_rate);
      const PeerValue d = p99(mesh, config.window, t);
      measure(latency_metric, d, d.kind == PeerValue::Kind::Value && d.value <= slos.p99_ms);
      if (assess(errors_metric) || assess(latency_metric)) {
        mesh.set_weight(0);
        const MetricResult& bad = assess(errors_metric) ? errors_metric : latency_metric;
        return finish(r, RunResult::End::RolledBack, t,
                      std::string(assess(errors_metric) ? "success-rate" : "latency") + ": failed " +
                          std::to_string(bad.failed) + ", consecutive errors " +
                          std::to_string(bad.consecutive_error));
      }
      next_measure += schedule.interval;
      continue;
    }
    if (step + 1 >= schedule.steps.size()) return finish(r, RunResult::End::Promoted, t, "steps completed");
    ++step;
    mesh.set_weight(schedule.steps[step]);
    next_step = t + schedule.bake;
  }
  return finish(r, RunResult::End::Timeout, mesh.now(), "horizon reached");
}

}  // namespace meshmove::bench
