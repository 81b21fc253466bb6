#pragma once
// The judgement of one gate evaluation: what Prometheus measured for one SLO and set over the window
// (cumulative since the step's weight change plus settle) becomes PASS, FAIL, HOLD or ERROR with the
// numbers behind it (DESIGN.md §5; the method is documented in meshmove-plan(5), "Gate decisions").
// Pure: no I/O, no clock. Thread-safe (no shared state).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "metrics/slo_queries.hpp"
#include "planner/metrics_source.hpp"
#include "planner/plan.hpp"

namespace meshmove::metrics {

// PASS (the SLO holds: within the bound, or with `confidence` when sequential), FAIL (broken; counts
// toward failureLimit), HOLD (not enough data or evidence), ERROR (a query failed). One enum with the
// engine's port, so verdicts pass through unchanged; planner::to_string gives "PASS" ... "ERROR".
using planner::Verdict;

// Cumulative histogram buckets: (upper bound `le` in milliseconds, +infinity for the +Inf bucket; number
// of requests at or below it). Order does not matter.
using Buckets = std::vector<std::pair<double, double>>;

// What the Prometheus client measured for one gate over the window. nullopt is an empty query result.
// The answers were checked (metrics/answer_checks.hpp) before they got here; judge() checks the numbers
// again, so that a NaN, an infinity or a negative count is an ERROR however it arrives, never no data
// and never zero errors.
struct GateObservation {
  std::optional<std::string> error;  // a query failed: the verdict is ERROR with this message as the reason
  std::optional<double> requests;    // requests in the window (GateQuery::requests)
  // Ratio and Relative: 5xx responses and all responses. Envoy creates the 5xx counter on the first 5xx,
  // so an empty `bad` with a non-empty `total` means no errors, not no data.
  std::optional<double> bad;
  std::optional<double> total;
  // Relative: the same three for the from set.
  std::optional<double> baseline_bad;
  std::optional<double> baseline_total;
  std::optional<double> baseline_requests;
  // Latency: bucket counts in the window, and histogram_quantile's result in milliseconds (threshold mode
  // with percentile; computed from `buckets` when absent).
  Buckets buckets;
  std::optional<double> quantile_ms;
  // Custom: the query's value.
  std::optional<double> value;
};

struct GateResult {
  std::string slo;
  SetRole role = SetRole::To;
  Verdict verdict = Verdict::Hold;
  // The point estimate shown to people: error rate (fraction), latency quantile (milliseconds, threshold
  // mode with percentile) or slow fraction (fraction of requests slower than the bound), custom value, or
  // the to-minus-from difference of error rates (fraction). nullopt when there was no data.
  std::optional<double> value;
  // The bound `value` is compared with, in the same unit: max, maxSlowFraction, 1 - percentile/100
  // (sequential latency with percentile), the custom min or max, or maxIncrease.
  double bound = 0;
  std::optional<double> samples;  // requests counted in the window (the to set's for a relative SLO)
  // One sentence saying why, with the numbers, e.g. "error rate 0.0031 over 4120 requests; 99% evidence
  // that it is below 0.02 (breachFactor 2 x max 0.01): log LR -5.2 <= -4.6".
  std::string reason;
  // The test statistic: the SPRT's log likelihood ratio (sequential error-rate and latency SLOs); 0 in
  // threshold mode, for custom and relative SLOs, and for the p0 = 0 and p0 >= 1 special cases.
  double evidence = 0;
  // Sequential relative SLOs only: the anytime-valid bounds on the difference (p_to - p_from) at
  // `confidence`; the verdict is FAIL when low > maxIncrease and PASS when high <= maxIncrease.
  std::optional<double> low;
  std::optional<double> high;
};

// Judges one gate. `query` says which kind of gate it is (QueryKind) and which set; `slo` and `gates` give
// the bounds and the decision mode. Rules, in order:
//   1. obs.error: ERROR with the message as reason. Bad data is ERROR too, with the reason: a count that
//      is NaN, +-Inf or negative; 5xx responses counted without any response; buckets without +Inf, with
//      a non-finite or negative count, or not cumulative; an infinite quantile (NaN leaves it to
//      the buckets), a non-finite custom value.
//   2. No data at all (an empty request count or zero requests, so also a 0/0 error rate; for custom SLOs
//      an empty answer): onNoData (the SLO's, else gates.onNoData): HOLD, PASS or FAIL.
//   3. Fewer than minRequests (the SLO's, else gates.minRequests) but more than zero: HOLD. For a relative
//      SLO the from set also needs minRequests, else HOLD.
//   4. gates.decision threshold: the point estimate against the bound; sequential: the SPRT (error rate,
//      latency) or the confidence sequences (relative), see metrics/sequential.hpp. Custom SLOs are
//      always judged by threshold: they have no counts.
// A plan that validation would refuse (an SLO without its bound) gives ERROR naming the missing field.
// `fail_share` (in (0, 1]) is this test's share of the false-FAIL budget α = 1 - confidence: the SPRT
// FAILs at log LR >= ln(1/(α·fail_share)). Several tests of one gate (the test since settle and tests
// restarted later in the step, see PrometheusGates) whose shares sum to at most 1 keep the chance of ever
// failing a healthy release at most α, by the union bound. PASS thresholds are unaffected.
[[nodiscard]] GateResult judge(const planner::Slo& slo, const planner::GatesConfig& gates,
                               const GateQuery& query, const GateObservation& obs, double fail_share = 1.0);

// The buckets sorted by `le`, without entries whose bound or count is NaN, with negative counts as 0 and
// counts made non-decreasing (running maximum, for float rounding: judge() refuses larger decreases).
[[nodiscard]] Buckets normalize_buckets(const Buckets& buckets);

// All requests counted: the +Inf bucket's count (the largest count when there is no +Inf bucket). 0 when
// there are no buckets.
[[nodiscard]] double bucket_total(const Buckets& buckets);

// Requests slower than `threshold_ms`: bucket_total minus the requests at or below it. A threshold between
// two bucket bounds is interpolated linearly within that bucket (the first bucket starts at 0 ms), the
// same assumption as Prometheus's histogram_quantile, so "p99 <= 500ms" from histogram_quantile and
// "at most 1% slower than 500 ms" from these counts agree. Above the largest finite bound every request in
// the +Inf bucket beyond it counts as slow (histogram_quantile would report the largest finite bound
// there, so the counts are the stricter of the two). The buckets are normalized first.
[[nodiscard]] double slow_count(const Buckets& buckets, double threshold_ms);

// Prometheus's histogram_quantile(q, ...) over the buckets, in milliseconds: nullopt when there is no
// +Inf bucket, fewer than two buckets or no requests; the largest finite bound when the quantile falls in
// the +Inf bucket. q is a fraction in [0, 1].
[[nodiscard]] std::optional<double> bucket_quantile(const Buckets& buckets, double q);

}  // namespace meshmove::metrics
