#include "metrics/prometheus_gates.hpp"

#include <algorithm>
#include <cmath>

#include "metrics/answer_checks.hpp"
#include "planner/did_you_mean.hpp"

namespace meshmove::metrics {
namespace {

// Runs one query and reads its answer with `read` (metrics/answer_checks.hpp). On failure sets `error`
// (the first failure of a gate wins) and returns `T{}`. Warnings are passed on for display as well.
template <class T, class Read>
T run_query(PrometheusClient& client, const std::string& q, planner::TimePoint at, std::optional<std::string>& error,
            std::vector<std::string>& warnings, Read read) {
  if (q.empty() || error) return T{};
  auto r = client.query(q, at);
  if (!r.ok()) {
    error = r.error().message;
    return T{};
  }
  for (const auto& w : r->warnings) warnings.push_back(w);
  auto checked = read(*r);
  if (!checked.ok()) {
    error = checked.error().message;
    return T{};
  }
  return std::move(*checked);
}

std::optional<double> count(PrometheusClient& client, const std::string& q, const char* what, planner::TimePoint at,
                            std::optional<std::string>& error, std::vector<std::string>& warnings) {
  return run_query<std::optional<double>>(client, q, at, error, warnings,
                                          [what](const PromResult& r) { return read_count(r, what); });
}

const planner::Slo* find_slo(const planner::Plan& plan, const std::string& name) {
  for (const auto& s : plan.gates.slos) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

namespace {

// Every `k_restart_intervals` intervals after the first evaluation a fresh test starts over the recent
// window, so that a fault starting in the middle of a long step is not diluted by the healthy traffic
// before it. Test j (j = 1, 2, ...) gets the share 1/2^(j+1) of the false-FAIL budget and the test since
// settle 1/2: the shares sum to at most 1 (judge()).
constexpr int k_restart_intervals = 4;
constexpr int k_max_restarts = 30;

// Only sequential error-rate and latency gates accumulate evidence that old traffic can dilute.
bool restartable(const planner::Plan& plan, const GateQuery& q) {
  return plan.gates.decision == planner::DecisionMode::Sequential &&
         (q.kind == QueryKind::Ratio || q.kind == QueryKind::Latency);
}

}  // namespace

GateObservation PrometheusGates::observe(const GateQuery& q, planner::TimePoint now, std::vector<std::string>& warnings) {
  // The request count comes from the counts the gate reads anyway (all responses, or the histogram's
  // +Inf bucket): one query fewer per gate, and the count and the judged counts always agree.
  GateObservation o;
  switch (q.kind) {
    case QueryKind::Ratio:
    case QueryKind::Relative:
      o.bad = count(m_client, q.bad, "the 5xx count", now, o.error, warnings);
      o.total = count(m_client, q.total, "the response count", now, o.error, warnings);
      o.requests = o.total;
      if (q.kind == QueryKind::Ratio) break;
      o.baseline_bad = count(m_client, q.baseline_bad, "the from set's 5xx count", now, o.error, warnings);
      o.baseline_total = count(m_client, q.baseline_total, "the from set's response count", now, o.error, warnings);
      o.baseline_requests = o.baseline_total;
      break;
    case QueryKind::Latency:
      o.buckets = run_query<Buckets>(m_client, q.buckets, now, o.error, warnings, read_buckets);
      if (!o.buckets.empty()) o.requests = bucket_total(o.buckets);
      break;
    case QueryKind::Custom:
      o.value = run_query<std::optional<double>>(m_client, q.value, now, o.error, warnings, read_custom);
      break;
  }
  return o;
}

std::vector<GateDetail> PrometheusGates::evaluate_detailed(const planner::Plan& plan, planner::TimePoint window_start,
                                                           planner::TimePoint now, int to_weight) {
  const auto elapsed = std::chrono::duration_cast<planner::Duration>(now - window_start);
  const std::string window = promql_range(elapsed);
  // The latest restarted test that has at least one interval of data.
  int restart = 0;
  const planner::Duration period = plan.interval * k_restart_intervals;
  if (period.count() > 0 && elapsed - plan.interval >= period) {
    restart = static_cast<int>(std::min<long long>((elapsed - plan.interval) / period, k_max_restarts));
  }
  const planner::TimePoint recent_start = window_start + period * restart;
  const std::string recent_window =
      promql_range(std::chrono::duration_cast<planner::Duration>(now - recent_start));
  const auto recent_queries = restart > 0 ? build_gate_queries(plan, recent_window) : std::vector<GateQuery>{};

  const auto queries = build_gate_queries(plan, window);
  std::vector<GateDetail> out;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const GateQuery& q = queries[i];
    GateDetail d;
    d.query = q;
    d.window = window;
    const planner::Slo* slo = find_slo(plan, q.slo);
    const bool from_idle = to_weight >= planner::k_full_weight &&
                           (q.role == SetRole::From || q.kind == QueryKind::Relative);
    const bool to_idle = to_weight == 0 && q.role == SetRole::To;
    if (to_weight >= 0 && (from_idle || to_idle)) {
      d.judged = false;
      d.result.slo = q.slo;
      d.result.role = q.role;
      d.result.verdict = planner::Verdict::Pass;
      d.result.reason = std::string("not evaluated: the ") + (from_idle ? "from" : "to") + " set gets no traffic at " +
                        planner::format_weight(to_weight) + "% to the to set";
      out.push_back(std::move(d));
      continue;
    }
    if (slo == nullptr) {
      d.result.slo = q.slo;
      d.result.verdict = planner::Verdict::Error;
      d.result.reason = "no SLO named " + q.slo;
      out.push_back(std::move(d));
      continue;
    }
    d.observation = observe(q, now, d.warnings);
    const bool split = restartable(plan, q);
    d.result = judge(*slo, plan.gates, q, d.observation, split ? 0.5 : 1.0);
    if (split && restart > 0 && d.result.verdict != planner::Verdict::Fail && i < recent_queries.size()) {
      std::vector<std::string> ignored;
      const GateObservation recent = observe(recent_queries[i], now, ignored);
      const double share = std::ldexp(1.0, -(restart + 1));  // 1 / 2^(restart+1)
      const GateResult r = judge(*slo, plan.gates, recent_queries[i], recent, share);
      // A restarted test whose answer is bad data makes the gate ERROR too: doubt is never a pass.
      if (r.verdict == planner::Verdict::Fail || r.verdict == planner::Verdict::Error) {
        d.result = r;
        d.result.reason = "in the last " + recent_window + " (a test restarted " +
                          planner::format_duration(period * restart) + " after settle): " + r.reason;
        d.query = recent_queries[i];
        d.observation = recent;
        d.window = recent_window;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

using planner::ErrorKind;
using planner::make_error;

// Whether a built-in SLO reads the request series (custom-only plans, e.g. TCP services, need not).
bool reads_request_series(const planner::Plan& plan) {
  for (const auto& s : plan.gates.slos) {
    if (s.query.empty()) return true;
  }
  return false;
}

std::string quoted_list(const std::vector<std::string>& values, std::size_t most) {
  std::string out;
  for (std::size_t i = 0; i < values.size() && i < most; ++i) out += (i ? ", " : "") + ("\"" + values[i] + "\"");
  if (values.size() > most) out += " and " + std::to_string(values.size() - most) + " more";
  return out;
}

planner::Error unavailable(const std::string& url, const std::string& why) {
  return make_error(ErrorKind::Unavailable,
                    "Prometheus at " + url + " did not answer (" + why + "); nothing was changed: try again later");
}

}  // namespace

planner::Status PrometheusGates::preflight(const planner::Plan& plan, planner::TimePoint now) {
  const std::string window = promql_range(std::max<planner::Duration>(plan.interval, std::chrono::minutes(1)));
  for (const GateQuery& g : build_gate_queries(plan, window)) {
    // The queries evaluate() sends (histogram_quantile is shown in `plan`, never sent).
    std::vector<const std::string*> sent = {&g.bad, &g.total, &g.buckets, &g.baseline_bad, &g.baseline_total};
    if (g.kind == QueryKind::Custom) sent = {&g.value};
    for (const std::string* q : sent) {
      if (q->empty()) continue;
      auto r = m_client.query(*q, now);
      const std::string gate = "the gate '" + g.slo + "' (" + to_string(g.role) + " set)";
      if (!r.ok()) {
        if (r.error().kind == ErrorKind::Unavailable) return unavailable(m_client.url(), r.error().message);
        return make_error(ErrorKind::Invalid,
                          gate + " cannot be read: " + r.error().message + "; the query: " + *q, r.error().http_status);
      }
      if (!r->warnings.empty()) return unavailable(m_client.url(), "a partial answer: " + r->warnings.front());
      if (g.kind == QueryKind::Custom && r->samples.size() > 1) {
        return make_error(ErrorKind::Invalid, gate + ": the custom query returns " + std::to_string(r->samples.size()) +
                                                  " samples; it must return exactly one (aggregate it, e.g. sum(...)); "
                                                  "the query: " + *q);
      }
    }
  }
  if (!reads_request_series(plan)) return planner::ok_status();

  // The from set carries the traffic before the first step: its request series must exist now. The to set
  // may have none yet (no traffic, or Envoy has not created the counters).
  const std::string metric = request_metric();
  const auto matchers = set_matchers(plan, SetRole::From);
  const std::string selector = metric + "{" + set_selector(plan, SetRole::From) + "}";
  auto found = m_client.query("count(" + selector + ")", now);
  if (!found.ok()) {
    if (found.error().kind == ErrorKind::Unavailable) return unavailable(m_client.url(), found.error().message);
    return make_error(ErrorKind::Invalid, "cannot look up the from set's request series: " + found.error().message);
  }
  if (!found->samples.empty()) return planner::ok_status();

  // Nothing matches: drop one matcher at a time to show which one finds nothing, and what exists instead.
  std::string hints;
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    std::string others;
    for (std::size_t j = 0; j < matchers.size(); ++j) {
      if (j != i) others += (others.empty() ? "" : ",") + matchers[j].text;
    }
    auto r = m_client.query("count by (" + matchers[i].label + ") (" + metric + "{" + others + "})", now);
    if (!r.ok()) {
      if (r.error().kind == ErrorKind::Unavailable) return unavailable(m_client.url(), r.error().message);
      continue;
    }
    std::vector<std::string> values, candidates;
    for (const auto& smp : r->samples) {
      const auto it = smp.labels.find(matchers[i].label);
      if (it == smp.labels.end()) continue;
      values.push_back(it->second);
      // kuma_io_services is ",svc1,svc2,": each name is a candidate.
      std::size_t start = 0;
      while (start <= it->second.size()) {
        const auto comma = it->second.find(',', start);
        const std::string part = it->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) candidates.push_back(part);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    if (values.empty()) continue;
    std::sort(values.begin(), values.end());
    const std::string closest = planner::did_you_mean(matchers[i].wanted, candidates);
    hints += "; without " + matchers[i].text + " series exist with " + matchers[i].label + " " +
             quoted_list(values, 5) + (closest.empty() ? "" : " (closest: \"" + closest + "\")");
  }
  if (hints.empty()) {
    hints = "; no series match without any one of its matchers either: is Prometheus scraping the dataplanes of "
            "mesh '" + plan.mesh + "' (Kuma's Prometheus discovery, metrics enabled on the mesh)?";
  }
  return make_error(ErrorKind::Invalid, "the from set has no request series in Prometheus: " + selector +
                                            " matches nothing" + hints);
}

std::vector<planner::GateEvaluation> PrometheusGates::evaluate(const planner::Plan& plan, planner::TimePoint window_start,
                                                               planner::TimePoint now, int to_weight) {
  std::vector<planner::GateEvaluation> out;
  for (const auto& d : evaluate_detailed(plan, window_start, now, to_weight)) {
    planner::GateEvaluation g;
    g.slo = d.result.slo;
    g.set = to_string(d.query.role);
    g.verdict = d.result.verdict;
    g.value = d.result.value;
    g.bound = d.result.bound;
    g.samples = d.result.samples;
    g.reason = d.result.reason;
    g.query = d.query.display;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace meshmove::metrics
