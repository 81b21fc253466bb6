#pragma once
// The PromQL behind every SLO gate. Built-in SLOs read the destination's inbound Envoy stats as
// Kuma's Prometheus discovery labels them (DESIGN.md §5; ../shared/reference/kuma-api.md §2):
// `mesh`, `kuma_io_services` (",svc,"), the set's tag label (e.g. `env`) and
// `envoy_cluster_name=~"localhost_.*"` (inbound clusters).
#include <string>
#include <string_view>
#include <vector>

#include "planner/plan.hpp"

namespace meshmove::metrics {

enum class SetRole { To, From };
const char* to_string(SetRole r);

// How a gate's value is computed from its queries.
enum class QueryKind {
  Ratio,         // error rate: bad / total, from counts
  Latency,       // latency SLO: quantile (threshold mode) or slow fraction from buckets
  Custom,        // a user's query, compared with min/max
  Relative,      // error rate of the to set against the from set
};

struct GateQuery {
  std::string slo;  // the SLO's name
  planner::SloType type = planner::SloType::Custom;
  QueryKind kind = QueryKind::Custom;
  SetRole role = SetRole::To;   // the set judged
  std::string subset;           // that set's tag value (or service name for route mesh-service)
  std::string display;          // the expression a person reads in `plan`/`check` output
  std::string bad;              // Ratio/Relative: 5xx responses in the window
  std::string total;            // Ratio/Relative: all responses in the window
  std::string value;            // Latency: histogram_quantile (ms); Custom: the resolved query
  std::string buckets;          // Latency: cumulative bucket counts in the window, by le
  std::string baseline_bad;     // Relative: the from set's 5xx
  std::string baseline_total;   // Relative: the from set's responses
};

// Escapes a value for a PromQL double-quoted string (backslash, quote, newline).
std::string escape_promql_string(std::string_view value);
// Escapes a value for use inside a regular expression in a PromQL string (=~ "...").
std::string escape_promql_regex(std::string_view value);
// The Prometheus label name Kuma's discovery gives a dataplane tag: every character outside
// [a-zA-Z0-9_] becomes '_' (kuma.io/zone -> kuma_io_zone, env -> env).
std::string tag_label(std::string_view tag_key);

// One label matcher of a set's selector: the label, the matcher as PromQL (`env="vm-env"`) and the
// value a person would recognise (the service or tag value it looks for).
struct LabelMatcher {
  std::string label;
  std::string text;
  std::string wanted;
};
std::vector<LabelMatcher> set_matchers(const planner::Plan& plan, SetRole role);

// Label matchers (without braces) that select one set's inbound stats: set_matchers joined by ','.
std::string set_selector(const planner::Plan& plan, SetRole role);

// The counter of responses by class that the built-in gates read (its series are the request series).
const char* request_metric();

// A custom query with {{variables}} resolved for `role`; label values are PromQL-escaped.
std::string render_custom_query(const planner::Plan& plan, const std::string& query, SetRole role,
                                std::string_view window);

// Every gate of the plan: one per SLO and set (two for `set: both`). `window` is a Prometheus
// duration such as "5m" or "97s".
std::vector<GateQuery> build_gate_queries(const planner::Plan& plan, std::string_view window);

// A range for PromQL from a duration, rounded up to whole seconds, at least 1s ("1m37s", "1h").
std::string promql_range(planner::Duration d);

}  // namespace meshmove::metrics
