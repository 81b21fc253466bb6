#pragma once
// Checks every answer from Prometheus before a gate judges it: doubt is never a pass (meshmove-plan(5),
// "Answers meshmove does not trust"). Each function turns one query's answer into the numbers a gate
// needs, or an Error (kind Invalid) whose message says what is wrong with the answer; the caller makes
// that an ERROR verdict, which counts toward maxHold like HOLD. An empty answer is no data (nullopt or
// no buckets), never an error. Pure: no I/O. Thread-safe.
#include <optional>
#include <string_view>

#include "metrics/gate_verdict.hpp"
#include "metrics/prometheus_client.hpp"
#include "planner/error.hpp"

namespace meshmove::metrics {

// A count from one of meshmove's own `sum(increase(...))` queries. `what` names it in messages ("the 5xx
// count"). Refused: warnings (partial data), a result type other than an instant vector, more than one
// sample or a sample with labels (the aggregate returns one without labels: anything else is not the
// answer to this query), NaN, +-Inf or a negative value. nullopt for an empty vector.
planner::Result<std::optional<double>> read_count(const PromResult& answer, std::string_view what);

// The buckets of meshmove's `sum by (le) (increase(..._bucket...))`: (le in milliseconds, count).
// Refused: warnings, a result type other than an instant vector, a sample without a readable `le` or with
// other labels, two samples with one `le`, NaN, +-Inf or negative counts, buckets without the +Inf one (the total comes
// from it) and counts that decrease as `le` grows by more than rounding. Empty for an empty vector.
planner::Result<Buckets> read_buckets(const PromResult& answer);

// The value of a custom SLO's query: an instant vector of at most one sample, or a scalar. Refused:
// warnings, other result types, more than one sample, NaN and +-Inf. nullopt for an empty vector.
planner::Result<std::optional<double>> read_custom(const PromResult& answer);

// The relative tolerance for bucket counts that decrease by float rounding (increase() extrapolates
// each bucket series on its own): a drop of up to this fraction of the +Inf count is rounding.
inline constexpr double k_bucket_rounding = 1e-9;

}  // namespace meshmove::metrics
