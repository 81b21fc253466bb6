#include "metrics/gate_verdict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>

#include "metrics/sequential.hpp"

namespace meshmove::metrics {
namespace {

using planner::DecisionMode;
using planner::NoDataAction;

constexpr double k_infinity = std::numeric_limits<double>::infinity();

__attribute__((format(printf, 1, 2))) std::string format(const char* fmt, ...) {
  char buf[256];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

// A number for people: 3 significant digits, whole numbers from 1000 up ("0.0031", "612", "4120").
std::string num(double v, int precision = 3) {
  if (std::fabs(v) >= 1000 && std::fabs(v) < 1e15) return format("%.0f", v);
  return format("%.*g", precision, v);
}

// v as num() shows it, with as many more digits as it takes to tell it from `bound` when they differ
// (so that a reason never says "0.01 is above max 0.01").
std::string num_vs(double v, double bound) {
  for (int precision = 3; precision < 17; ++precision) {
    const std::string s = num(v, precision);
    if (v == bound || s != num(bound, precision)) return s;
  }
  return num(v, 17);
}

// A count of requests: whole ("4120"), or with decimals when small and extrapolated ("0.4").
std::string count(double v) {
  if (v >= 100 || v == std::round(v)) return format("%.0f", v);
  return format("%.3g", v);
}

std::string percent(double fraction) { return format("%.6g%%", fraction * 100); }

std::string log_lr(double v) { return format("%.1f", v); }

std::string spell(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return num(v);
}

// Why a count cannot be judged (NaN, +-Inf, negative), or nullopt when it can (absent counts can).
std::optional<std::string> bad_count(const std::optional<double>& v, const char* what) {
  if (!v || (std::isfinite(*v) && *v >= 0)) return std::nullopt;
  return std::string(what) + " is " + spell(*v) + ", not a number of requests";
}

// Why buckets cannot be judged: a NaN or infinite bound other than +Inf, a count that is not a finite
// non-negative number, no +Inf bucket, or counts that decrease as the bound grows (beyond rounding).
std::optional<std::string> bad_buckets(const Buckets& buckets) {
  if (buckets.empty()) return std::nullopt;
  bool has_inf = false;
  double total = 0;
  for (const auto& [le, n] : buckets) {
    if (std::isnan(le) || le == -k_infinity) return "the latency histogram has a bucket with the bound " + spell(le);
    if (!std::isfinite(n) || n < 0) return "a latency bucket count is " + spell(n) + ", not a number of requests";
    if (std::isinf(le)) {
      has_inf = true;
      total = n;
    }
  }
  if (!has_inf) return std::string("the latency histogram has no +Inf bucket, so it does not count every request");
  Buckets sorted = buckets;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  const double slack = 1e-9 * std::max(1.0, total);
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].second + slack < sorted[i - 1].second) {
      return "the latency histogram is not cumulative: " + spell(sorted[i - 1].second) + " requests at or below " +
             spell(sorted[i - 1].first) + " ms but " + spell(sorted[i].second) + " at or below " +
             spell(sorted[i].first);
    }
  }
  return std::nullopt;
}

// The arithmetic of the public bucket functions, on buckets that normalize_buckets() returned.
double total_of(const Buckets& b) { return b.empty() ? 0.0 : b.back().second; }

double slow_count_normalized(const Buckets& b, double threshold_ms) {
  if (b.empty()) return 0;
  const double total = b.back().second;
  double below = 0;     // requests at or below the previous bound
  double previous = 0;  // the previous bound in milliseconds (the first bucket starts at 0)
  for (const auto& [le, n] : b) {
    if (std::isinf(le)) break;  // beyond the largest finite bound: everything left is slow
    if (threshold_ms <= le) {
      if (threshold_ms == le || le <= previous) return total - n;
      if (threshold_ms <= previous) return total - below;
      return total - (below + (n - below) * (threshold_ms - previous) / (le - previous));
    }
    below = n;
    previous = le;
  }
  return total - below;
}

std::optional<double> quantile_normalized(const Buckets& b, double q) {
  if (b.size() < 2 || !std::isinf(b.back().first) || b.back().first < 0) return std::nullopt;
  const double total = b.back().second;
  if (!(total > 0) || std::isnan(q)) return std::nullopt;
  if (q < 0) return -k_infinity;
  if (q > 1) return k_infinity;
  const double rank = q * total;
  std::size_t i = 0;
  while (i + 1 < b.size() && b[i].second < rank) ++i;
  if (i + 1 == b.size()) return b[i - 1].first;  // in the +Inf bucket: the largest finite bound
  if (i == 0 && b[0].first <= 0) return b[0].first;
  const double start = i == 0 ? 0.0 : b[i - 1].first;
  const double below = i == 0 ? 0.0 : b[i - 1].second;
  const double in_bucket = b[i].second - below;
  if (in_bucket <= 0) return b[i].first;
  return start + (b[i].first - start) * ((rank - below) / in_bucket);
}

class Judge {
 public:
  Judge(const planner::Slo& slo, const planner::GatesConfig& gates, const GateQuery& query,
        const GateObservation& obs, double fail_share)
      : m_slo(slo),
        m_gates(gates),
        m_query(query),
        m_obs(obs),
        m_fail_share(std::clamp(fail_share, 1e-12, 1.0)),
        m_no_data(slo.on_no_data.value_or(gates.on_no_data)),
        m_min_requests(static_cast<double>(std::max(0LL, slo.min_requests.value_or(gates.min_requests)))) {
    m_r.slo = query.slo.empty() ? slo.name : query.slo;
    m_r.role = query.role;
  }

  GateResult run() {
    m_r.bound = stated_bound();
    if (m_obs.error) return error(*m_obs.error);
    // Doubt is never a pass: a number no query of meshmove's can return is bad data, not "0 errors".
    if (auto why = suspect()) return error(*why);
    switch (m_query.kind) {
      case QueryKind::Ratio:
        return ratio();
      case QueryKind::Latency:
        return latency();
      case QueryKind::Custom:
        return custom();
      case QueryKind::Relative:
        return relative();
    }
    return error("unknown gate kind");
  }

 private:
  [[nodiscard]] bool sequential() const { return m_gates.decision == DecisionMode::Sequential; }

  // The bound an ERROR row shows (the judgements below set the same one): max, the latency allowance or
  // bound, the custom max (else min), maxIncrease; 0 when the plan lacks it.
  [[nodiscard]] double stated_bound() const {
    switch (m_query.kind) {
      case QueryKind::Ratio: return m_slo.max.value_or(0);
      case QueryKind::Latency:
        if (m_slo.percentile || m_slo.max) {
          return sequential() ? 1 - m_slo.percentile.value_or(100) / 100 : m_slo.max.value_or(0);
        }
        return m_slo.max_slow_fraction.value_or(0);
      case QueryKind::Custom: return m_slo.max ? *m_slo.max : m_slo.min.value_or(0);
      case QueryKind::Relative: return m_slo.max_increase.value_or(0);
    }
    return 0;
  }

  // Why the observation cannot be judged, when it cannot: a count that is NaN, +-Inf or negative, 5xx
  // responses without any response counted, bad buckets (bad_buckets), an infinite quantile, a
  // non-finite custom value. Absent values are fine (no data, decided by the rules of judge()).
  [[nodiscard]] std::optional<std::string> suspect() const {
    const std::pair<const std::optional<double>*, const char*> counts[] = {
        {&m_obs.requests, "the request count"},        {&m_obs.bad, "the 5xx count"},
        {&m_obs.total, "the response count"},          {&m_obs.baseline_bad, "the from set's 5xx count"},
        {&m_obs.baseline_total, "the from set's response count"},
        {&m_obs.baseline_requests, "the from set's request count"}};
    for (const auto& [v, what] : counts) {
      if (auto why = bad_count(*v, what)) return why;
    }
    const auto orphan = [](const std::optional<double>& bad, const std::optional<double>& total) {
      return bad && *bad > 0 && (!total || *total <= 0);
    };
    if (orphan(m_obs.bad, m_obs.total) || orphan(m_obs.baseline_bad, m_obs.baseline_total)) {
      return std::string("5xx responses are counted but no responses at all: the answers disagree");
    }
    if (auto why = bad_buckets(m_obs.buckets)) return why;
    if (m_obs.quantile_ms && std::isinf(*m_obs.quantile_ms)) {
      return "the latency quantile is " + spell(*m_obs.quantile_ms) + " ms";
    }
    if (m_query.kind == QueryKind::Custom && m_obs.value && !std::isfinite(*m_obs.value)) {
      return "the custom query returned " + spell(*m_obs.value) + ", which no bound can judge";
    }
    return std::nullopt;
  }

  GateResult done(Verdict v, std::string reason) {
    m_r.verdict = v;
    m_r.reason = std::move(reason);
    return m_r;
  }

  GateResult error(std::string reason) { return done(Verdict::Error, std::move(reason)); }

  GateResult missing_bound(const char* field) {
    return error(std::string("the SLO has no ") + field + " (the plan was not validated)");
  }

  // Rule 2: no data at all; onNoData decides.
  GateResult no_data(const std::string& what) {
    switch (m_no_data) {
      case NoDataAction::Pass:
        return done(Verdict::Pass, what + "; onNoData: pass");
      case NoDataAction::Fail:
        return done(Verdict::Fail, what + "; onNoData: fail");
      case NoDataAction::Hold:
        break;
    }
    return done(Verdict::Hold, what + "; holding (onNoData: hold)");
  }

  // Rules 2 and 3 on the judged set's request count. Returns a result when they decide.
  std::optional<GateResult> sample_gate() {
    const auto& n = m_obs.requests;
    if (!n || *n <= 0) return no_data("no requests in the window");
    m_r.samples = *n;
    if (*n < m_min_requests) {
      return done(Verdict::Hold,
                  count(*n) + " requests in the window, fewer than minRequests " + count(m_min_requests));
    }
    return std::nullopt;
  }

  // The SPRT on bad/total against p0, with the reason built from `subject` ("error rate 0.0031 over 4120
  // requests"), `bound` ("max 0.01") and `bad_noun` ("errors").
  GateResult sprt(double p0, Counts c, const std::string& subject, const std::string& bound,
                  const std::string& bad_noun) {
    const double beta = 1 - m_gates.confidence;
    const std::string conf = percent(m_gates.confidence);
    if (p0 >= 1) return done(Verdict::Pass, subject + "; " + bound + " allows every request");
    if (p0 <= 0) {
      if (c.bad > 0) return done(Verdict::Fail, subject + "; " + bound + " allows none");
      return done(Verdict::Pass, "no " + bad_noun + " in " + count(c.total) + " requests (" + bound + "); " +
                                     conf + " confidence that the rate is below " +
                                     num(zero_bad_upper_bound(c.total, beta)));
    }
    SprtParams params = make_sprt(p0, m_gates.breach_factor, m_gates.confidence);
    // This test's share of the false-FAIL budget (see judge()): a higher FAIL threshold.
    params.fail_at = sprt_fail_threshold((1 - m_gates.confidence) * m_fail_share);
    const std::string fail_conf = percent(1 - (1 - m_gates.confidence) * m_fail_share);
    const SprtOutcome out = sprt_judge(params, c.bad, c.total);
    m_r.evidence = out.log_lr;
    const std::string llr = "log LR " + log_lr(out.log_lr);
    switch (out.evidence) {
      case Evidence::Breach:
        return done(Verdict::Fail, subject + "; " + fail_conf + " evidence that it is above " + bound + ": " +
                                       llr + " >= " + log_lr(params.fail_at));
      case Evidence::Compliance: {
        const bool capped = params.p1 < m_gates.breach_factor * p0;
        const std::string breach = capped ? "halfway from " + bound + " to 1"
                                          : "breachFactor " + num(m_gates.breach_factor) + " x " + bound;
        return done(Verdict::Pass, subject + "; " + conf + " evidence that it is below " + num(params.p1) +
                                       " (" + breach + "): " + llr + " <= " + log_lr(params.pass_at));
      }
      case Evidence::Undecided:
        break;
    }
    return done(Verdict::Hold, subject + "; not yet " + conf + " evidence either way: " + llr +
                                   ", FAIL at >= " + log_lr(params.fail_at) +
                                   ", PASS at <= " + log_lr(params.pass_at));
  }

  GateResult ratio() {
    if (!m_slo.max) return missing_bound("max");
    const double max = *m_slo.max;
    m_r.bound = max;
    if (auto r = sample_gate()) return *r;
    const auto& total = m_obs.total;
    if (!total || *total <= 0) return no_data("no responses counted in the window");
    // Envoy creates the 5xx counter lazily: an empty result with responses counted is zero errors.
    const Counts c = clamp_counts(m_obs.bad.value_or(0), *total);
    const double rate = c.bad / c.total;
    m_r.value = rate;
    const std::string subject = "error rate " + num_vs(rate, max) + " over " + count(c.total) + " requests";
    const std::string bound = "max " + num(max);
    if (sequential()) return sprt(max, c, subject, bound, "errors");
    if (rate <= max) return done(Verdict::Pass, subject + " is within " + bound);
    return done(Verdict::Fail, subject + " is above " + bound);
  }

  GateResult latency() {
    const bool by_percentile = m_slo.percentile.has_value() || m_slo.max.has_value();
    if (by_percentile && !m_slo.percentile) return missing_bound("percentile");
    if (by_percentile && !m_slo.max) return missing_bound("max");
    if (!by_percentile && !m_slo.threshold) return missing_bound("threshold");
    if (!by_percentile && !m_slo.max_slow_fraction) return missing_bound("maxSlowFraction");
    const double bound_ms = by_percentile ? *m_slo.max : *m_slo.threshold;
    const std::string pname = by_percentile ? "p" + num(*m_slo.percentile, 6) : "";
    const double allowed = by_percentile ? 1 - *m_slo.percentile / 100 : *m_slo.max_slow_fraction;
    m_r.bound = by_percentile && !sequential() ? bound_ms : allowed;
    if (auto r = sample_gate()) return *r;

    const Buckets buckets = normalize_buckets(m_obs.buckets);
    // histogram_quantile's NaN (no requests in the buckets) leaves the quantile to the buckets.
    std::optional<double> quantile = m_obs.quantile_ms && !std::isnan(*m_obs.quantile_ms) ? m_obs.quantile_ms : std::nullopt;
    if (by_percentile && !quantile) quantile = quantile_normalized(buckets, *m_slo.percentile / 100);

    if (by_percentile && !sequential()) {
      if (!quantile) return no_data("no latency histogram in the window");
      m_r.value = *quantile;
      const std::string subject =
          pname + " " + num_vs(*quantile, bound_ms) + " ms over " + count(*m_r.samples) + " requests";
      if (*quantile <= bound_ms)
        return done(Verdict::Pass, subject + " is within max " + num(bound_ms) + " ms");
      return done(Verdict::Fail, subject + " is above max " + num(bound_ms) + " ms");
    }

    const double total = total_of(buckets);
    if (total <= 0) return no_data("no latency histogram in the window");
    const Counts c = clamp_counts(slow_count_normalized(buckets, bound_ms), total);
    const double fraction = c.bad / c.total;
    m_r.value = fraction;
    std::string subject = num_vs(fraction, allowed) + " of " + count(c.total) + " requests slower than " +
                          num(bound_ms) + " ms";
    if (by_percentile && quantile) subject = pname + " " + num(*quantile) + " ms; " + subject;
    const std::string bound =
        by_percentile ? "the " + pname + " allowance " + num(allowed) : "maxSlowFraction " + num(allowed);
    if (sequential())
      return sprt(allowed, c, subject, bound, "requests slower than " + num(bound_ms) + " ms");
    if (fraction <= allowed) return done(Verdict::Pass, subject + ", within " + bound);
    return done(Verdict::Fail, subject + ", above " + bound);
  }

  GateResult custom() {
    if (!m_slo.max && !m_slo.min) return missing_bound("max or min");
    m_r.bound = m_slo.max ? *m_slo.max : *m_slo.min;
    m_r.samples = m_obs.requests;
    const auto& v = m_obs.value;
    if (!v) return no_data("the query returned no value");
    m_r.value = *v;
    if (m_slo.max && *v > *m_slo.max) {
      return done(Verdict::Fail, "value " + num_vs(*v, *m_slo.max) + " is above max " + num(*m_slo.max));
    }
    if (m_slo.min && *v < *m_slo.min) {
      m_r.bound = *m_slo.min;
      return done(Verdict::Fail, "value " + num_vs(*v, *m_slo.min) + " is below min " + num(*m_slo.min));
    }
    std::string within;
    if (m_slo.min) within += "min " + num(*m_slo.min);
    if (m_slo.min && m_slo.max) within += " and ";
    if (m_slo.max) within += "max " + num(*m_slo.max);
    return done(Verdict::Pass, "value " + num(*v) + " is within " + within);
  }

  GateResult relative() {
    if (!m_slo.max_increase) return missing_bound("maxIncrease");
    const double delta = *m_slo.max_increase;
    m_r.bound = delta;
    if (auto r = sample_gate()) return *r;
    const auto from_requests = m_obs.baseline_requests.value_or(0);
    if (from_requests <= 0 || from_requests < m_min_requests) {
      return done(Verdict::Hold, "the from set has " + count(from_requests) +
                                     " requests in the window, fewer than minRequests " +
                                     count(m_min_requests) + ": nothing to compare with");
    }
    const auto& to_total = m_obs.total;
    if (!to_total || *to_total <= 0) return no_data("no responses counted in the window");
    const auto& from_total = m_obs.baseline_total;
    if (!from_total || *from_total <= 0) {
      return done(Verdict::Hold,
                  "the from set has no responses counted in the window: nothing to compare with");
    }
    const Counts to = clamp_counts(m_obs.bad.value_or(0), *to_total);
    const Counts from = clamp_counts(m_obs.baseline_bad.value_or(0), *from_total);
    const double to_rate = to.bad / to.total;
    const double from_rate = from.bad / from.total;
    const double diff = to_rate - from_rate;
    m_r.value = diff;
    const std::string subject = "error rate " + num(to_rate) + " over " + count(to.total) +
                                " requests against the from set's " + num(from_rate) + " over " +
                                count(from.total);
    const std::string bound = "maxIncrease " + num(delta);
    if (!sequential()) {
      if (diff <= delta) {
        return done(Verdict::Pass, subject + ": an increase of " + num_vs(diff, delta) + ", within " + bound);
      }
      return done(Verdict::Fail, subject + ": an increase of " + num_vs(diff, delta) + ", above " + bound);
    }
    const RelativeOutcome out =
        relative_judge(to.bad, to.total, from.bad, from.total, delta, m_gates.confidence);
    m_r.low = out.difference.low;
    m_r.high = out.difference.high;
    const std::string conf = percent(m_gates.confidence);
    switch (out.evidence) {
      case Evidence::Breach:
        return done(Verdict::Fail, subject + "; " + conf + " evidence that the increase is above " + bound +
                                       ": it is at least " + num_vs(out.difference.low, delta));
      case Evidence::Compliance:
        return done(Verdict::Pass, subject + "; " + conf + " evidence that the increase is within " + bound +
                                       ": it is at most " + num_vs(out.difference.high, delta));
      case Evidence::Undecided:
        break;
    }
    return done(Verdict::Hold,
                subject + "; not yet " + conf + " evidence either way: the increase is between " +
                    num(out.difference.low) + " and " + num(out.difference.high) + ", " + bound);
  }

  const planner::Slo& m_slo;
  const planner::GatesConfig& m_gates;
  const GateQuery& m_query;
  const GateObservation& m_obs;
  double m_fail_share;
  NoDataAction m_no_data;
  double m_min_requests;
  GateResult m_r;
};

}  // namespace


GateResult judge(const planner::Slo& slo, const planner::GatesConfig& gates, const GateQuery& query,
                 const GateObservation& obs, double fail_share) {
  return Judge(slo, gates, query, obs, fail_share).run();
}

Buckets normalize_buckets(const Buckets& buckets) {
  Buckets out;
  out.reserve(buckets.size());
  for (const auto& [le, n] : buckets) {
    if (std::isnan(le) || std::isnan(n)) continue;
    out.emplace_back(le, std::max(0.0, n));
  }
  const auto by_bound = [](const auto& x, const auto& y) { return x.first < y.first; };
  if (!std::is_sorted(out.begin(), out.end(), by_bound)) std::stable_sort(out.begin(), out.end(), by_bound);
  double running = 0;
  for (auto& b : out) {
    running = std::max(running, b.second);
    b.second = running;
  }
  return out;
}

double bucket_total(const Buckets& buckets) { return total_of(normalize_buckets(buckets)); }

double slow_count(const Buckets& buckets, double threshold_ms) {
  return slow_count_normalized(normalize_buckets(buckets), threshold_ms);
}

std::optional<double> bucket_quantile(const Buckets& buckets, double q) {
  return quantile_normalized(normalize_buckets(buckets), q);
}

}  // namespace meshmove::metrics
