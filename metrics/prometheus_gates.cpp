#include "metrics/prometheus_gates.hpp"

#include <cmath>
#include <limits>

namespace meshmove::metrics {
namespace {

// Runs one query; returns the sum of its samples, nullopt for an empty result. Sets `error` on failure.
std::optional<double> scalar(PrometheusClient& client, const std::string& q, planner::TimePoint at,
                             std::optional<std::string>& error, std::vector<std::string>& warnings) {
  if (q.empty() || error) return std::nullopt;
  auto r = client.query(q, at);
  if (!r.ok()) {
    error = r.error().message;
    return std::nullopt;
  }
  for (const auto& w : r->warnings) warnings.push_back(w);
  if (r->samples.empty()) return std::nullopt;
  double sum = 0;
  for (const auto& s : r->samples) sum += s.value;
  return sum;
}

Buckets buckets(PrometheusClient& client, const std::string& q, planner::TimePoint at, std::optional<std::string>& error,
                std::vector<std::string>& warnings) {
  Buckets out;
  if (q.empty() || error) return out;
  auto r = client.query(q, at);
  if (!r.ok()) {
    error = r.error().message;
    return out;
  }
  for (const auto& w : r->warnings) warnings.push_back(w);
  for (const auto& s : r->samples) {
    const auto it = s.labels.find("le");
    if (it == s.labels.end()) continue;
    double le = 0;
    if (it->second == "+Inf") {
      le = std::numeric_limits<double>::infinity();
    } else {
      try {
        le = std::stod(it->second);
      } catch (const std::exception&) {
        continue;
      }
    }
    out.emplace_back(le, s.value);
  }
  return out;
}

const planner::Slo* find_slo(const planner::Plan& plan, const std::string& name) {
  for (const auto& s : plan.gates.slos) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

std::vector<GateDetail> PrometheusGates::evaluate_detailed(const planner::Plan& plan, planner::TimePoint window_start,
                                                           planner::TimePoint now, int to_weight) {
  const std::string window = promql_range(std::chrono::duration_cast<planner::Duration>(now - window_start));
  std::vector<GateDetail> out;
  for (auto& q : build_gate_queries(plan, window)) {
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
    // The request count comes from the counts the gate reads anyway (all responses, or the histogram's
    // +Inf bucket): one query fewer per gate, and the count and the judged counts always agree.
    auto& o = d.observation;
    switch (q.kind) {
      case QueryKind::Ratio:
        o.bad = scalar(m_client, q.bad, now, o.error, d.warnings);
        o.total = scalar(m_client, q.total, now, o.error, d.warnings);
        o.requests = o.total;
        break;
      case QueryKind::Relative:
        o.bad = scalar(m_client, q.bad, now, o.error, d.warnings);
        o.total = scalar(m_client, q.total, now, o.error, d.warnings);
        o.requests = o.total;
        o.baseline_bad = scalar(m_client, q.baseline_bad, now, o.error, d.warnings);
        o.baseline_total = scalar(m_client, q.baseline_total, now, o.error, d.warnings);
        o.baseline_requests = o.baseline_total;
        break;
      case QueryKind::Latency:
        o.buckets = buckets(m_client, q.buckets, now, o.error, d.warnings);
        if (!o.buckets.empty()) o.requests = bucket_total(o.buckets);
        break;
      case QueryKind::Custom:
        o.value = scalar(m_client, q.value, now, o.error, d.warnings);
        break;
    }
    if (slo != nullptr) {
      d.result = judge(*slo, plan.gates, q, o);
    } else {
      d.result.slo = q.slo;
      d.result.verdict = planner::Verdict::Error;
      d.result.reason = "no SLO named " + q.slo;
    }
    out.push_back(std::move(d));
  }
  return out;
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
