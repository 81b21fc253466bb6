// libFuzzer entry point for the whole path from Prometheus answers to gate verdicts: a fake transport
// answers every query of metrics::PrometheusGates::evaluate_detailed from the fuzz input (answers in the
// format of fuzz_transport.hpp, request i gets answer i modulo their number), for a fixed plan with
// error-rate, latency (percentile and slow fraction), relative and custom SLOs, judged sequentially or by
// threshold (by the input's length).
//
// Whatever Prometheus answers: no crash, and a gate that PASSes was judged on numbers that are all
// finite, and non-negative where they are counts, rates or latencies (a NaN, an infinity or a negative
// count must never let a release through). A violation abort()s so that libFuzzer reports the input.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "metrics/prometheus_gates.hpp"
#include "tests/fuzz/fuzz_plans.hpp"
#include "tests/fuzz/fuzz_transport.hpp"

namespace {

using meshmove::metrics::GateDetail;
using meshmove::metrics::QueryKind;

// FUZZ_GATES_REPORT_ONLY=1 (for measuring a long run while the invariant is known to be broken): each
// kind of violation is printed once, with the gate and reason of the first one, and the run goes on.
const bool report_only = [] {
  const char* v = std::getenv("FUZZ_GATES_REPORT_ONLY");
  return v != nullptr && *v == '1';
}();

void violation(const GateDetail& d, const char* what) {
  static std::set<std::string> seen;
  if (report_only && !seen.insert(d.result.slo + ": " + what).second) return;
  std::fprintf(stderr, "INVARIANT VIOLATED: gate %s (%s) is PASS although %s; reason: %s\n", d.result.slo.c_str(),
               meshmove::metrics::to_string(d.result.role), what, d.result.reason.c_str());
  if (!report_only) std::abort();
}

bool finite(double v) { return std::isfinite(v); }
bool count(double v) { return std::isfinite(v) && v >= 0; }
bool finite(const std::optional<double>& v) { return !v || finite(*v); }
bool count(const std::optional<double>& v) { return !v || count(*v); }

void check(const GateDetail& d) {
  const auto& r = d.result;
  if (r.reason.empty()) {
    std::fprintf(stderr, "INVARIANT VIOLATED: gate %s has no reason\n", r.slo.c_str());
    std::abort();
  }
  if (r.verdict != meshmove::planner::Verdict::Pass || !d.judged) return;
  const auto& o = d.observation;
  if (o.error) return violation(d, "a query failed");
  // The judged value: a rate, a latency or a slow fraction is a non-negative number; a relative SLO's
  // difference and a custom query's value may be negative but must be finite.
  const bool signed_value = d.query.kind == QueryKind::Relative || d.query.kind == QueryKind::Custom;
  if (signed_value ? !finite(r.value) : !count(r.value)) violation(d, "its value is not a finite (non-negative) number");
  if (!count(r.samples)) violation(d, "its request count is NaN, infinite or negative");
  if (!finite(r.evidence)) violation(d, "its evidence is not finite");
  if (!finite(r.low) || !finite(r.high)) violation(d, "its confidence bounds are not finite");
  if (!count(o.requests) || !count(o.bad) || !count(o.total)) violation(d, "a count it read is NaN, infinite or negative");
  if (!count(o.baseline_bad) || !count(o.baseline_total) || !count(o.baseline_requests))
    violation(d, "a count of the from set is NaN, infinite or negative");
  if (!count(o.quantile_ms)) violation(d, "its latency quantile is NaN, infinite or negative");
  if (!finite(o.value)) violation(d, "the custom query's value is not finite");
  for (const auto& [le, n] : o.buckets) {
    if (std::isnan(le) || !count(n)) violation(d, "a histogram bucket is NaN, infinite or negative");
  }
}

const meshmove::planner::Plan& plan(bool sequential) {
  static const auto seq = meshmove::fuzz::fixed_plan(meshmove::fuzz::gates_plan_yaml("sequential"));
  static const auto thr = meshmove::fuzz::fixed_plan(meshmove::fuzz::gates_plan_yaml("threshold"));
  return sequential ? seq : thr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto answers = meshmove::fuzz::split_answers(input);
  const meshmove::fuzz::FuzzClock clock;
  const auto now = clock.now();
  {
    // The decision mode by the input's length: one evaluation per input keeps the fuzzer fast.
    const bool sequential = size % 2 == 0;
    meshmove::fuzz::FuzzTransport transport(answers);
    meshmove::metrics::PrometheusClient client("http://127.0.0.1:9090/", transport);
    meshmove::metrics::PrometheusGates gates(client);
    // 10 minutes into a step with 30 s intervals: sequential gates also run a restarted test.
    const auto start = now - std::chrono::minutes(sequential ? 10 : 2);
    for (const auto& d : gates.evaluate_detailed(plan(sequential), start, now, 5000)) check(d);
  }
  return 0;
}
