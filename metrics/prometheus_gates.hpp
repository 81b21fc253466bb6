#pragma once
// The MetricsSource over Prometheus: runs each gate's queries (metrics/slo_queries) at one instant and
// judges them (metrics/gate_verdict).
#include <string>
#include <vector>

#include "metrics/gate_verdict.hpp"
#include "metrics/prometheus_client.hpp"
#include "metrics/slo_queries.hpp"
#include "planner/metrics_source.hpp"

namespace meshmove::metrics {

// One gate evaluated, with everything used to judge it (for `check` and reports).
struct GateDetail {
  GateQuery query;
  GateObservation observation;
  GateResult result;
  std::string window;  // the PromQL range used, e.g. "4m30s"
  std::vector<std::string> warnings;  // passed on from Prometheus
  bool judged = true;  // false when the set gets no traffic at this weight (not evaluated; PASS)
};

class PrometheusGates final : public planner::MetricsSource {
 public:
  // `client` must outlive this.
  explicit PrometheusGates(PrometheusClient& client) : m_client(client) {}

  std::vector<planner::GateEvaluation> evaluate(const planner::Plan& plan, planner::TimePoint window_start,
                                                planner::TimePoint now, int to_weight) override;

  // Sends every gate's queries once and checks that the from set's request series exist (when a built-in
  // SLO reads them); see MetricsSource::preflight.
  planner::Status preflight(const planner::Plan& plan, planner::TimePoint now) override;

  // Every gate over [window_start, now], with its queries, observation and judgement. A gate that judges
  // a set receiving no traffic at `to_weight` (the from set at 100%, or a relative SLO there; the to set
  // at 0%) is not evaluated and passes, saying so; pass to_weight < 0 to evaluate everything.
  std::vector<GateDetail> evaluate_detailed(const planner::Plan& plan, planner::TimePoint window_start,
                                            planner::TimePoint now, int to_weight);

 private:
  // Runs the queries of one gate at `now`.
  GateObservation observe(const GateQuery& q, planner::TimePoint now, std::vector<std::string>& warnings);
  PrometheusClient& m_client;
};

}  // namespace meshmove::metrics
