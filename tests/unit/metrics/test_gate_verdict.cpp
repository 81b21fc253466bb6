// judge(): every rule that turns one gate's measurements into PASS, FAIL, HOLD or ERROR, in both decision
// modes and for every kind of SLO; the latency histogram arithmetic it relies on; and seeded streams of
// latency histograms and error counts judged look after look, as the engine will. Set
// MESHMOVE_TEST_VERBOSE=1 to print the measured rates.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "metrics/gate_verdict.hpp"

namespace {

using meshmove::metrics::bucket_quantile;
using meshmove::metrics::bucket_total;
using meshmove::metrics::Buckets;
using meshmove::metrics::GateObservation;
using meshmove::metrics::GateQuery;
using meshmove::metrics::GateResult;
using meshmove::metrics::judge;
using meshmove::metrics::normalize_buckets;
using meshmove::metrics::QueryKind;
using meshmove::metrics::SetRole;
using meshmove::metrics::slow_count;
using meshmove::metrics::Verdict;
using meshmove::planner::DecisionMode;
using meshmove::planner::GatesConfig;
using meshmove::planner::NoDataAction;
using meshmove::planner::Slo;
using meshmove::planner::SloType;

constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

bool verbose() { return std::getenv("MESHMOVE_TEST_VERBOSE") != nullptr; }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Envoy's default histogram bounds for upstream_rq_time, in milliseconds.
const std::vector<double> k_envoy_bounds = {0.5,   1,      5,      10,      25,     50,    100,
                                            250,   500,    1000,   2500,    5000,   10000, 30000,
                                            60000, 300000, 600000, 1800000, 3600000};

GatesConfig gates(DecisionMode decision, long long min_requests = 100,
                  NoDataAction no_data = NoDataAction::Hold) {
  GatesConfig g;
  g.decision = decision;
  g.min_requests = min_requests;
  g.on_no_data = no_data;
  g.confidence = 0.99;
  g.breach_factor = 2;
  return g;
}

Slo error_rate(double max) {
  Slo s;
  s.name = "errors";
  s.type = SloType::ErrorRate;
  s.max = max;
  return s;
}

Slo latency_percentile(double percentile, double max_ms) {
  Slo s;
  s.name = "latency";
  s.type = SloType::Latency;
  s.percentile = percentile;
  s.max = max_ms;
  return s;
}

Slo latency_slow(double threshold_ms, double max_slow_fraction) {
  Slo s;
  s.name = "slow";
  s.type = SloType::Latency;
  s.threshold = threshold_ms;
  s.max_slow_fraction = max_slow_fraction;
  return s;
}

Slo custom(std::optional<double> min, std::optional<double> max) {
  Slo s;
  s.name = "custom";
  s.type = SloType::Custom;
  s.query = "sum(rate(app_failures_total[5m]))";
  s.min = min;
  s.max = max;
  return s;
}

Slo relative(double max_increase) {
  Slo s;
  s.name = "no-worse-than-vms";
  s.type = SloType::ErrorRate;
  s.relative_to_from = true;
  s.max_increase = max_increase;
  return s;
}

GateQuery query_for(const Slo& slo, QueryKind kind, SetRole role = SetRole::To) {
  GateQuery q;
  q.slo = slo.name;
  q.type = slo.type;
  q.kind = kind;
  q.role = role;
  return q;
}

GateObservation counts(std::optional<double> requests, std::optional<double> bad,
                       std::optional<double> total) {
  GateObservation o;
  o.requests = requests;
  o.bad = bad;
  o.total = total;
  return o;
}

// Cumulative Envoy buckets from the number of requests that fell in each bucket: entry i for the i-th
// finite bound (0.5 ms, 1 ms, 5 ms, ...), missing entries 0, an entry past the last finite bound for +Inf.
Buckets envoy_buckets(const std::vector<double>& per_bucket) {
  Buckets out;
  double running = 0;
  for (std::size_t i = 0; i <= k_envoy_bounds.size(); ++i) {
    running += i < per_bucket.size() ? per_bucket[i] : 0.0;
    out.emplace_back(i < k_envoy_bounds.size() ? k_envoy_bounds[i] : k_inf, running);
  }
  return out;
}

GateObservation latency_obs(const Buckets& buckets) {
  GateObservation o;
  o.buckets = buckets;
  o.requests = bucket_total(buckets);
  return o;
}

// Probability that a log-normal latency with this median and p99 (milliseconds) is at most t.
double lognormal_cdf(double t, double median_ms, double p99_ms) {
  const double sigma = std::log(p99_ms / median_ms) / 2.3263478740408408;
  return 0.5 * std::erfc(-(std::log(t) - std::log(median_ms)) / (sigma * std::sqrt(2.0)));
}

// The share of requests in each Envoy bucket (finite bounds, then +Inf).
std::vector<double> bucket_shares(double median_ms, double p99_ms) {
  std::vector<double> shares;
  double below = 0;
  for (double le : k_envoy_bounds) {
    const double c = lognormal_cdf(le, median_ms, p99_ms);
    shares.push_back(c - below);
    below = c;
  }
  shares.push_back(1 - below);
  return shares;
}

struct LookStats {
  int streams = 0;
  int ever_fail = 0;
  int ever_pass = 0;
  std::vector<int> first_fail;  // per stream, the first FAIL look (1-based), 0 if none
  [[nodiscard]] double fail_rate() const { return static_cast<double>(ever_fail) / streams; }
  // The look by which `fraction` of the streams had failed (0 if never).
  [[nodiscard]] int fail_look_quantile(double fraction) const {
    std::vector<int> looks;
    for (int l : first_fail) looks.push_back(l == 0 ? 1000 : l);
    std::sort(looks.begin(), looks.end());
    const auto index = static_cast<std::size_t>(std::ceil(fraction * streams)) - 1;
    return looks[index] == 1000 ? 0 : looks[index];
  }
};

// Streams of latency histograms: each look adds Poisson(per_look * share) requests to every bucket (a
// Poisson total split multinomially), and judge() sees the cumulative buckets. With stop_at_fail a stream
// ends at its first FAIL (enough to time detection, and cheaper: judge() builds strings).
LookStats latency_streams(std::uint64_t seed, int streams, int looks, double per_look,
                          const std::vector<double>& shares, const Slo& slo, const GatesConfig& g,
                          bool stop_at_fail) {
  std::mt19937_64 rng(seed);
  std::vector<std::poisson_distribution<long long>> arrivals;
  for (double share : shares) arrivals.emplace_back(std::max(per_look * share, 1e-12));
  const GateQuery q = query_for(slo, QueryKind::Latency);
  LookStats st;
  st.streams = streams;
  for (int s = 0; s < streams; ++s) {
    std::vector<double> per_bucket(shares.size(), 0);
    int first_fail = 0;
    bool pass = false;
    for (int look = 1; look <= looks && !(stop_at_fail && first_fail > 0); ++look) {
      for (std::size_t b = 0; b < shares.size(); ++b) per_bucket[b] += static_cast<double>(arrivals[b](rng));
      const GateResult r = judge(slo, g, q, latency_obs(envoy_buckets(per_bucket)));
      if (r.verdict == Verdict::Fail && first_fail == 0) first_fail = look;
      pass = pass || r.verdict == Verdict::Pass;
    }
    st.first_fail.push_back(first_fail);
    st.ever_fail += first_fail > 0 ? 1 : 0;
    st.ever_pass += pass ? 1 : 0;
  }
  return st;
}

}  // namespace

TEST_SUITE("metrics::gate_verdict") {
  TEST_CASE("verdict names") {
    CHECK(std::string(to_string(Verdict::Pass)) == "PASS");
    CHECK(std::string(to_string(Verdict::Fail)) == "FAIL");
    CHECK(std::string(to_string(Verdict::Hold)) == "HOLD");
    CHECK(std::string(to_string(Verdict::Error)) == "ERROR");
  }

  TEST_CASE("a failed query is ERROR with its message, whatever else was measured") {
    const Slo slo = error_rate(0.01);
    GateObservation o = counts(5000, 400, 5000);
    o.error = "bad_data: 1:14: parse error: unexpected \"}\"";
    for (auto mode : {DecisionMode::Threshold, DecisionMode::Sequential}) {
      const GateResult r = judge(slo, gates(mode), query_for(slo, QueryKind::Ratio), o);
      CHECK(r.verdict == Verdict::Error);
      CHECK(r.reason == "bad_data: 1:14: parse error: unexpected \"}\"");
      CHECK(r.slo == "errors");
      CHECK(r.bound == 0.01);  // the SLO's bound, also on an ERROR row
    }
  }

  TEST_CASE("fewer than minRequests is HOLD, never PASS or FAIL") {
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    SUBCASE("37 requests, all of them errors") {
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q, counts(37, 37, 37));
      CHECK(r.verdict == Verdict::Hold);
      CHECK(r.reason == "37 requests in the window, fewer than minRequests 100");
      CHECK(r.samples == 37);
      CHECK(r.bound == 0.01);
      CHECK_FALSE(r.value.has_value());
    }
    SUBCASE("below minRequests stays HOLD even when onNoData says pass or fail") {
      for (auto action : {NoDataAction::Pass, NoDataAction::Fail}) {
        const GateResult r = judge(slo, gates(DecisionMode::Threshold, 100, action), q, counts(37, 0, 37));
        CHECK(r.verdict == Verdict::Hold);
      }
    }
    SUBCASE("the SLO's minRequests overrides the gates'") {
      Slo low = slo;
      low.min_requests = 10;
      CHECK(judge(low, gates(DecisionMode::Threshold), q, counts(37, 0, 37)).verdict == Verdict::Pass);
    }
    SUBCASE("an extrapolated fraction of a request is shown with its decimals") {
      const GateResult r = judge(slo, gates(DecisionMode::Threshold), q, counts(2.5, 0, 2.5));
      CHECK(r.reason == "2.5 requests in the window, fewer than minRequests 100");
    }
  }

  TEST_CASE("no data at all follows onNoData: hold, pass or fail") {
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    const GateObservation empty = counts(std::nullopt, std::nullopt, std::nullopt);
    const GateObservation zero = counts(0, std::nullopt, 0);
    for (const GateObservation& o : {empty, zero}) {
      const GateResult hold = judge(slo, gates(DecisionMode::Sequential), q, o);
      CHECK(hold.verdict == Verdict::Hold);
      CHECK(hold.reason == "no requests in the window; holding (onNoData: hold)");
      const GateResult pass = judge(slo, gates(DecisionMode::Sequential, 100, NoDataAction::Pass), q, o);
      CHECK(pass.verdict == Verdict::Pass);
      CHECK(pass.reason == "no requests in the window; onNoData: pass");
      const GateResult fail = judge(slo, gates(DecisionMode::Threshold, 100, NoDataAction::Fail), q, o);
      CHECK(fail.verdict == Verdict::Fail);
    }
    SUBCASE("the SLO's onNoData overrides the gates'") {
      Slo strict = slo;
      strict.on_no_data = NoDataAction::Fail;
      CHECK(judge(strict, gates(DecisionMode::Threshold, 100, NoDataAction::Pass), q, empty).verdict ==
            Verdict::Fail);
    }
    SUBCASE("requests counted but no responses: no data for the ratio") {
      const GateResult r =
          judge(slo, gates(DecisionMode::Threshold), q, counts(500, std::nullopt, std::nullopt));
      CHECK(r.verdict == Verdict::Hold);
      CHECK(r.reason == "no responses counted in the window; holding (onNoData: hold)");
    }
    SUBCASE("a NaN or infinite count is bad data: ERROR, whatever onNoData says") {
      for (auto action : {NoDataAction::Hold, NoDataAction::Pass, NoDataAction::Fail}) {
        const GateResult nan = judge(slo, gates(DecisionMode::Sequential, 100, action), q, counts(k_nan, k_nan, k_nan));
        CHECK(nan.verdict == Verdict::Error);
        CHECK(nan.reason == "the request count is NaN, not a number of requests");
        CHECK(judge(slo, gates(DecisionMode::Threshold, 100, action), q, counts(k_inf, 3, 500)).verdict ==
              Verdict::Error);
      }
    }
  }

  TEST_CASE("an empty 5xx series with responses counted is zero errors, not no data") {
    // Envoy creates envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"} on the first 5xx.
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    const GateResult t = judge(slo, gates(DecisionMode::Threshold), q, counts(1000, std::nullopt, 1000));
    CHECK(t.verdict == Verdict::Pass);
    CHECK(t.value == 0.0);
    CHECK(t.reason == "error rate 0 over 1000 requests is within max 0.01");
    const GateResult s = judge(slo, gates(DecisionMode::Sequential), q, counts(1000, std::nullopt, 1000));
    CHECK(s.verdict == Verdict::Pass);
    CHECK(s.evidence == doctest::Approx(-10.152371464018));
    SUBCASE("a NaN 5xx count is bad data, never zero errors") {
      const GateResult r = judge(slo, gates(DecisionMode::Threshold), q, counts(1000, k_nan, 1000));
      CHECK(r.verdict == Verdict::Error);
      CHECK(r.reason == "the 5xx count is NaN, not a number of requests");
      CHECK_FALSE(r.value.has_value());
    }
  }

  TEST_CASE("threshold mode: the error rate against max") {
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    const GatesConfig g = gates(DecisionMode::Threshold);
    const GateResult pass = judge(slo, g, q, counts(4120, 13, 4120));
    CHECK(pass.verdict == Verdict::Pass);
    CHECK(pass.value == doctest::Approx(13.0 / 4120));
    CHECK(pass.bound == 0.01);
    CHECK(pass.samples == 4120);
    CHECK(pass.evidence == 0);
    CHECK(pass.reason == "error rate 0.00316 over 4120 requests is within max 0.01");
    const GateResult fail = judge(slo, g, q, counts(4120, 95, 4120));
    CHECK(fail.verdict == Verdict::Fail);
    CHECK(fail.reason == "error rate 0.0231 over 4120 requests is above max 0.01");
    SUBCASE("at the bound exactly passes; just above says so with enough digits") {
      CHECK(judge(slo, g, q, counts(1000, 10, 1000)).verdict == Verdict::Pass);
      const GateResult above = judge(slo, g, q, counts(100000, 1000.4, 100000));
      CHECK(above.verdict == Verdict::Fail);
      CHECK(above.reason == "error rate 0.010004 over 100000 requests is above max 0.01");
    }
    SUBCASE("more 5xx than responses (a scrape race) is clamped to all") {
      CHECK(judge(slo, g, q, counts(200, 250, 200)).value == 1.0);
    }
  }

  TEST_CASE("threshold mode: latency percentile against max milliseconds") {
    const Slo slo = latency_percentile(99, 500);
    const GateQuery q = query_for(slo, QueryKind::Latency);
    const GatesConfig g = gates(DecisionMode::Threshold);
    GateObservation o;
    o.requests = 4120;
    o.quantile_ms = 612;
    const GateResult fail = judge(slo, g, q, o);
    CHECK(fail.verdict == Verdict::Fail);
    CHECK(fail.value == 612);
    CHECK(fail.bound == 500);
    CHECK(fail.reason == "p99 612 ms over 4120 requests is above max 500 ms");
    o.quantile_ms = 480;
    CHECK(judge(slo, g, q, o).verdict == Verdict::Pass);
    SUBCASE("an infinite quantile is bad data (histogram_quantile gives one only for q > 1)") {
      o.quantile_ms = k_inf;
      CHECK(judge(slo, g, q, o).verdict == Verdict::Error);
      o.quantile_ms = -k_inf;
      CHECK(judge(slo, g, q, o).verdict == Verdict::Error);
    }
    SUBCASE("without histogram_quantile's result the quantile comes from the buckets") {
      GateObservation b = latency_obs(envoy_buckets({0, 0, 0, 0, 0, 0, 900, 80, 12, 8}));
      b.quantile_ms = k_nan;
      const GateResult r = judge(slo, g, q, b);
      // Rank 990 of 1000: 980 requests at or below 250 ms, 992 at or below 500 ms.
      CHECK(r.verdict == Verdict::Pass);
      CHECK(r.value == doctest::Approx(250 + 250 * (990.0 - 980) / 12));
    }
    SUBCASE("no quantile and no buckets is no data") {
      GateObservation none;
      none.requests = 4120;
      CHECK(judge(slo, g, q, none).verdict == Verdict::Hold);
    }
  }

  TEST_CASE("threshold mode: latency threshold + maxSlowFraction from the buckets") {
    const Slo slo = latency_slow(250, 0.05);
    const GateQuery q = query_for(slo, QueryKind::Latency);
    const GatesConfig g = gates(DecisionMode::Threshold);
    // 1000 requests: 900 at or below 100 ms, 80 in (100, 250], 20 above 250 ms.
    const GateResult pass = judge(slo, g, q, latency_obs(envoy_buckets({0, 0, 0, 0, 0, 0, 900, 80, 12, 8})));
    CHECK(pass.verdict == Verdict::Pass);
    CHECK(pass.value == doctest::Approx(0.02));
    CHECK(pass.bound == 0.05);
    CHECK(pass.reason == "0.02 of 1000 requests slower than 250 ms, within maxSlowFraction 0.05");
    const GateResult fail =
        judge(slo, g, q, latency_obs(envoy_buckets({0, 0, 0, 0, 0, 0, 800, 100, 60, 40})));
    CHECK(fail.verdict == Verdict::Fail);
    CHECK(fail.value == doctest::Approx(0.1));
  }

  TEST_CASE("custom queries are judged by min and max, in both modes") {
    const GateQuery q = query_for(custom(1, 5), QueryKind::Custom);
    for (auto mode : {DecisionMode::Threshold, DecisionMode::Sequential}) {
      const GatesConfig g = gates(mode);
      GateObservation o;
      o.value = 3;
      const GateResult within = judge(custom(1, 5), g, q, o);
      CHECK(within.verdict == Verdict::Pass);
      CHECK(within.reason == "value 3 is within min 1 and max 5");
      CHECK(within.evidence == 0);
      o.value = 7.2;
      const GateResult above = judge(custom(1, 5), g, q, o);
      CHECK(above.verdict == Verdict::Fail);
      CHECK(above.bound == 5);
      CHECK(above.reason == "value 7.2 is above max 5");
      o.value = 0.5;
      const GateResult below = judge(custom(1, 5), g, q, o);
      CHECK(below.verdict == Verdict::Fail);
      CHECK(below.bound == 1);
      CHECK(below.reason == "value 0.5 is below min 1");
      CHECK(judge(custom(std::nullopt, 5), g, q, o).verdict == Verdict::Pass);
      CHECK(judge(custom(1, std::nullopt), g, q, o).verdict == Verdict::Fail);
      for (double v : {k_inf, -k_inf, k_nan}) {
        o.value = v;
        CHECK(judge(custom(std::nullopt, 5), g, q, o).verdict == Verdict::Error);
        CHECK(judge(custom(1, std::nullopt), g, q, o).verdict == Verdict::Error);
      }
    }
    SUBCASE("minRequests does not apply; an empty value is no data, NaN is bad data") {
      GateObservation o;
      o.value = 3;
      CHECK(judge(custom(1, 5), gates(DecisionMode::Threshold, 1000000), q, o).verdict == Verdict::Pass);
      o.value = k_nan;
      const GateResult nan = judge(custom(1, 5), gates(DecisionMode::Threshold), q, o);
      CHECK(nan.verdict == Verdict::Error);
      CHECK(nan.reason == "the custom query returned NaN, which no bound can judge");
      o.value = std::nullopt;
      const GateResult none = judge(custom(1, 5), gates(DecisionMode::Threshold), q, o);
      CHECK(none.verdict == Verdict::Hold);
      CHECK(none.reason == "the query returned no value; holding (onNoData: hold)");
      o.value = std::nullopt;
      CHECK(judge(custom(1, 5), gates(DecisionMode::Threshold, 100, NoDataAction::Pass), q, o).verdict ==
            Verdict::Pass);
    }
  }

  TEST_CASE("relative SLOs compare the to set's error rate with the from set's") {
    const Slo slo = relative(0.005);
    const GateQuery q = query_for(slo, QueryKind::Relative);
    const auto obs = [](double to_bad, double to_total, double from_bad, double from_total) {
      GateObservation o = counts(to_total, to_bad, to_total);
      o.baseline_bad = from_bad;
      o.baseline_total = from_total;
      o.baseline_requests = from_total;
      return o;
    };
    SUBCASE("threshold: within and above maxIncrease") {
      const GatesConfig g = gates(DecisionMode::Threshold);
      const GateResult fail = judge(slo, g, q, obs(40, 4000, 200, 50000));
      CHECK(fail.verdict == Verdict::Fail);
      CHECK(fail.value == doctest::Approx(0.01 - 0.004));
      CHECK(fail.bound == 0.005);
      CHECK(fail.samples == 4000);
      CHECK(
          fail.reason ==
          "error rate 0.01 over 4000 requests against the from set's 0.004 over 50000: an increase of 0.006, "
          "above maxIncrease 0.005");
      const GateResult pass = judge(slo, g, q, obs(30, 4000, 200, 50000));
      CHECK(pass.verdict == Verdict::Pass);
      CHECK(pass.reason ==
            "error rate 0.0075 over 4000 requests against the from set's 0.004 over 50000: an increase of "
            "0.0035, "
            "within maxIncrease 0.005");
      CHECK_FALSE(pass.low.has_value());
    }
    SUBCASE("threshold: a lower rate than the from set passes") {
      CHECK(judge(slo, gates(DecisionMode::Threshold), q, obs(0, 4000, 500, 50000)).verdict == Verdict::Pass);
      CHECK(judge(slo, gates(DecisionMode::Threshold), q, obs(80, 4000, 200, 50000)).verdict ==
            Verdict::Fail);
    }
    SUBCASE("sequential: a clear increase fails, with the bounds on the difference") {
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q, obs(300, 10000, 100, 100000));
      CHECK(r.verdict == Verdict::Fail);
      REQUIRE(r.low.has_value());
      CHECK(*r.low > 0.005);
      CHECK(*r.high > *r.low);
      CHECK(contains(r.reason,
                     "99% evidence that the increase is above maxIncrease 0.005: it is at least 0.0"));
    }
    SUBCASE("sequential: equal rates with enough traffic pass") {
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q, obs(100, 100000, 1000, 1000000));
      CHECK(r.verdict == Verdict::Pass);
      CHECK(*r.high <= 0.005);
      CHECK(contains(r.reason,
                     "99% evidence that the increase is within maxIncrease 0.005: it is at most 0.00"));
    }
    SUBCASE("sequential: little traffic holds") {
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q, obs(2, 400, 10, 3600));
      CHECK(r.verdict == Verdict::Hold);
      CHECK(contains(r.reason, "not yet 99% evidence either way: the increase is between -0.0"));
    }
    SUBCASE("the from set needs minRequests too; its empty 5xx series is zero errors") {
      GateObservation o = obs(10, 4000, 0, 50);
      const GateResult r = judge(slo, gates(DecisionMode::Threshold), q, o);
      CHECK(r.verdict == Verdict::Hold);
      CHECK(
          r.reason ==
          "the from set has 50 requests in the window, fewer than minRequests 100: nothing to compare with");
      o = obs(10, 4000, 0, 50000);
      o.baseline_bad = std::nullopt;
      CHECK(judge(slo, gates(DecisionMode::Threshold), q, o).value == doctest::Approx(0.0025));
      o.baseline_requests = std::nullopt;
      CHECK(judge(slo, gates(DecisionMode::Threshold, 100, NoDataAction::Pass), q, o).verdict ==
            Verdict::Hold);
    }
    SUBCASE("the to set without traffic follows onNoData") {
      GateObservation o = obs(0, 0, 10, 50000);
      CHECK(judge(slo, gates(DecisionMode::Sequential, 100, NoDataAction::Pass), q, o).verdict ==
            Verdict::Pass);
    }
  }

  TEST_CASE("sequential mode: error rate by the SPRT") {
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    const GatesConfig g = gates(DecisionMode::Sequential);
    SUBCASE("a clear breach fails") {
      const GateResult r = judge(slo, g, q, counts(1000, 30, 1000));
      CHECK(r.verdict == Verdict::Fail);
      CHECK(r.evidence == doctest::Approx(10.946615096701));
      CHECK(r.reason ==
            "error rate 0.03 over 1000 requests; 99% evidence that it is above max 0.01: log LR 10.9 >= 4.6");
    }
    SUBCASE("a clean run passes, saying what the evidence is against") {
      const GateResult r = judge(slo, g, q, counts(4120, 13, 4120));
      CHECK(r.verdict == Verdict::Pass);
      CHECK(r.evidence < -4.6);
      CHECK(contains(r.reason,
                     "error rate 0.00316 over 4120 requests; 99% evidence that it is below 0.02 "
                     "(breachFactor 2 x max 0.01): log LR -"));
      CHECK(contains(r.reason, " <= -4.6"));
    }
    SUBCASE("too little evidence either way holds") {
      const GateResult r = judge(slo, g, q, counts(100, 3, 100));
      CHECK(r.verdict == Verdict::Hold);
      CHECK(r.reason ==
            "error rate 0.03 over 100 requests; not yet 99% evidence either way: log LR 1.1, "
            "FAIL at >= 4.6, PASS at <= -4.6");
    }
    SUBCASE("a rate above the bound, but not yet evidence of a breach, holds rather than fails") {
      CHECK(judge(slo, g, q, counts(200, 4, 200)).verdict == Verdict::Hold);
    }
    SUBCASE("confidence sets the thresholds") {
      GatesConfig loose = g;
      loose.confidence = 0.9;
      CHECK(judge(slo, loose, q, counts(100, 3, 100)).verdict == Verdict::Hold);  // 1.09 < ln 10 = 2.3
      CHECK(judge(slo, loose, q, counts(200, 7, 200)).verdict == Verdict::Fail);  // log LR 2.89 >= 2.3
      CHECK(judge(slo, g, q, counts(200, 7, 200)).verdict == Verdict::Hold);      // < 4.6
    }
    SUBCASE("an SLO of zero errors: any error fails, none passes") {
      const Slo zero = error_rate(0);
      const GateResult fail = judge(zero, g, q, counts(5000, 1, 5000));
      CHECK(fail.verdict == Verdict::Fail);
      CHECK(fail.reason == "error rate 0.0002 over 5000 requests; max 0 allows none");
      const GateResult pass = judge(zero, g, q, counts(5000, std::nullopt, 5000));
      CHECK(pass.verdict == Verdict::Pass);
      CHECK(pass.evidence == 0);
      CHECK(pass.reason ==
            "no errors in 5000 requests (max 0); 99% confidence that the rate is below 0.000921");
      CHECK(judge(zero, g, q, counts(50, 0, 50)).verdict == Verdict::Hold);  // still minRequests first
    }
    SUBCASE("an SLO that allows every request to fail passes") {
      CHECK(judge(error_rate(1), g, q, counts(500, 500, 500)).verdict == Verdict::Pass);
    }
    SUBCASE("a large bound caps the breach halfway to 1") {
      const GateResult r = judge(error_rate(0.6), g, q, counts(1000, 100, 1000));
      CHECK(r.verdict == Verdict::Pass);
      CHECK(contains(r.reason, "below 0.8 (halfway from max 0.6 to 1)"));
    }
  }

  TEST_CASE("sequential mode: latency as the proportion of slow requests") {
    SUBCASE("percentile 99 and max 500 ms: bad = slower than 500 ms, allowed 1%") {
      const Slo slo = latency_percentile(99, 500);
      const GateQuery q = query_for(slo, QueryKind::Latency);
      const GatesConfig g = gates(DecisionMode::Sequential);
      // 1000 requests, 40 slower than 500 ms.
      const GateResult fail =
          judge(slo, g, q, latency_obs(envoy_buckets({0, 0, 0, 0, 0, 500, 300, 100, 60, 30, 10})));
      CHECK(fail.verdict == Verdict::Fail);
      CHECK(fail.value == doctest::Approx(0.04));
      CHECK(fail.bound == doctest::Approx(0.01));
      // p99 from the buckets: rank 990 is the top of (500, 1000]. log LR = 40 ln 2 + 960 ln(0.98/0.99).
      CHECK(fail.reason ==
            "p99 1000 ms; 0.04 of 1000 requests slower than 500 ms; 99% evidence that it is "
            "above the p99 allowance 0.01: log LR 18.0 >= 4.6");
      // 5000 requests, none slower than 500 ms.
      const GateResult pass =
          judge(slo, g, q, latency_obs(envoy_buckets({0, 0, 0, 0, 0, 2500, 1500, 800, 200, 0})));
      CHECK(pass.verdict == Verdict::Pass);
      CHECK(pass.value == 0.0);
    }
    SUBCASE("threshold 250 ms and maxSlowFraction 0.05") {
      const Slo slo = latency_slow(250, 0.05);
      const GateQuery q = query_for(slo, QueryKind::Latency);
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q,
                                 latency_obs(envoy_buckets({0, 0, 0, 0, 0, 0, 800, 100, 60, 40})));
      CHECK(r.verdict == Verdict::Fail);
      CHECK(contains(r.reason,
                     "0.1 of 1000 requests slower than 250 ms; 99% evidence that it is above "
                     "maxSlowFraction 0.05"));
    }
    SUBCASE("maxSlowFraction 0: one slow request fails") {
      const Slo slo = latency_slow(250, 0);
      const GateQuery q = query_for(slo, QueryKind::Latency);
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), q,
                                 latency_obs(envoy_buckets({0, 0, 0, 0, 0, 0, 999, 0, 1})));
      CHECK(r.verdict == Verdict::Fail);
    }
    SUBCASE("buckets without a count are no data") {
      const Slo slo = latency_slow(250, 0.05);
      GateObservation o;
      o.requests = 500;
      const GateResult r = judge(slo, gates(DecisionMode::Sequential), query_for(slo, QueryKind::Latency), o);
      CHECK(r.verdict == Verdict::Hold);
      CHECK(r.reason == "no latency histogram in the window; holding (onNoData: hold)");
    }
  }

  TEST_CASE("an SLO without its bound (an unvalidated plan) is ERROR naming the field") {
    Slo slo = error_rate(0.01);
    slo.max.reset();
    const GateResult r =
        judge(slo, gates(DecisionMode::Threshold), query_for(slo, QueryKind::Ratio), counts(1000, 0, 1000));
    CHECK(r.verdict == Verdict::Error);
    CHECK(r.reason == "the SLO has no max (the plan was not validated)");
  }

  TEST_CASE("slow_count interpolates within a bucket as histogram_quantile does") {
    // 100 requests at or below 100 ms, 100 more in (100, 250], 50 in (250, 500], 10 above 500 ms.
    const Buckets b = {{100, 100}, {250, 200}, {500, 250}, {k_inf, 260}};
    CHECK(bucket_total(b) == 260);
    CHECK(slow_count(b, 100) == 160);  // on a bound: exact
    CHECK(slow_count(b, 250) == 60);
    CHECK(slow_count(b, 175) == doctest::Approx(110));  // halfway through (100, 250]: 150 at or below
    CHECK(slow_count(b, 50) == doctest::Approx(210));   // the first bucket starts at 0 ms
    CHECK(slow_count(b, 500) == 10);
    CHECK(slow_count(b, 2000) == 10);  // above the largest finite bound: the whole +Inf bucket is slow
    CHECK(slow_count({}, 100) == 0);
    SUBCASE("order does not matter; non-monotonic counts are made monotonic by running maximum") {
      const Buckets racy = {{k_inf, 260}, {250, 200}, {100, 100}, {500, 195}};  // 500 ms lags a scrape
      const Buckets fixed = normalize_buckets(racy);
      REQUIRE(fixed.size() == 4);
      CHECK(fixed[2].first == 500);
      CHECK(fixed[2].second == 200);
      CHECK(slow_count(racy, 500) == 60);
    }
    SUBCASE("NaN entries are dropped, negative counts are 0") {
      const Buckets odd = {{100, k_nan}, {250, -5}, {k_nan, 10}, {k_inf, 40}};
      CHECK(normalize_buckets(odd).size() == 2);
      CHECK(slow_count(odd, 250) == 40);
    }
  }

  TEST_CASE("bucket_quantile is Prometheus's histogram_quantile") {
    const Buckets b = {{100, 100}, {250, 200}, {500, 250}, {k_inf, 260}};
    CHECK(*bucket_quantile(b, 0.5) == doctest::Approx(100 + 150 * (130.0 - 100) / 100));
    CHECK(*bucket_quantile(b, 0.25) == doctest::Approx(65));
    CHECK(*bucket_quantile(b, 0.99) == 500);  // in the +Inf bucket: the largest finite bound
    CHECK_FALSE(bucket_quantile({{k_inf, 10}}, 0.5).has_value());
    CHECK_FALSE(bucket_quantile({{100, 5}, {250, 10}}, 0.5).has_value());  // no +Inf bucket
    CHECK_FALSE(bucket_quantile({{100, 0}, {k_inf, 0}}, 0.5).has_value());
  }

  TEST_CASE("a percentile bound judged by histogram_quantile and by slow counts agree") {
    // quantile(q) <= M exactly when slow_count(M) <= (1 - q) total, for M up to the largest finite bound.
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> unit(0, 1);
    for (int trial = 0; trial < 2000; ++trial) {
      std::vector<double> per_bucket;
      for (std::size_t i = 0; i <= k_envoy_bounds.size(); ++i)
        per_bucket.push_back(std::floor(unit(rng) * unit(rng) * 200));
      const Buckets b = envoy_buckets(per_bucket);
      if (bucket_total(b) == 0) continue;
      const double q = trial % 2 == 0 ? 0.99 : 0.9;
      const double m = std::exp(unit(rng) * std::log(60000.0));  // 1 ms .. 60 s
      const auto quantile = bucket_quantile(b, q);
      REQUIRE(quantile.has_value());
      CAPTURE(m);
      CAPTURE(*quantile);
      const bool by_quantile = *quantile <= m;
      const bool by_counts = slow_count(b, m) <= (1 - q) * bucket_total(b) * (1 + 1e-12);
      CHECK(by_quantile == by_counts);
    }
  }

  // Latency through judge(), from bucket counts: SLO p99 <= 500 ms, sequential, 20 rps (600 requests a
  // look), 30 looks. Latencies are log-normal with the given median and p99.
  TEST_CASE("latency streams healthy at the bound (p99 exactly 500 ms): false FAIL at most 1%") {
    const LookStats st = latency_streams(11, 1000, 30, 600, bucket_shares(40, 500),
                                         latency_percentile(99, 500), gates(DecisionMode::Sequential), false);
    if (verbose()) MESSAGE("latency p99 = bound: false FAIL " << st.fail_rate());
    CHECK(st.fail_rate() <= 0.01);
  }

  TEST_CASE("latency streams healthy (median 40 ms, p99 200 ms) pass and never fail") {
    const LookStats st = latency_streams(12, 300, 30, 600, bucket_shares(40, 200),
                                         latency_percentile(99, 500), gates(DecisionMode::Sequential), false);
    CHECK(st.ever_fail == 0);
    CHECK(st.ever_pass == 300);
  }

  TEST_CASE("a latency fault in median and p99 fails at the first look") {
    // Median 40 -> 150 ms, p99 200 -> 1500 ms: 11% of requests slower than 500 ms.
    const LookStats st = latency_streams(13, 1000, 30, 600, bucket_shares(150, 1500),
                                         latency_percentile(99, 500), gates(DecisionMode::Sequential), true);
    CHECK(st.ever_fail == 1000);
    CHECK(st.fail_look_quantile(1.0) == 1);
  }

  TEST_CASE("a milder latency fault (p99 200 -> 700 ms, 2.7% slower than 500 ms) fails within 3 looks") {
    const LookStats st = latency_streams(14, 1000, 30, 600, bucket_shares(100, 700),
                                         latency_percentile(99, 500), gates(DecisionMode::Sequential), true);
    if (verbose()) {
      MESSAGE("mild latency fault: FAIL by look " << st.fail_look_quantile(0.5) << " (median), "
                                                  << st.fail_look_quantile(0.99) << " (99%)");
    }
    CHECK(st.ever_fail == 1000);
    CHECK(st.fail_look_quantile(0.5) <= 1);
    CHECK(st.fail_look_quantile(0.99) <= 3);
  }

  TEST_CASE("a 10x error-rate fault at 1 rps fails once minRequests is reached") {
    // The to set at 1% of 100 rps: 30 requests a look, minRequests 100: the first judged look is the 4th.
    const Slo slo = error_rate(0.01);
    const GateQuery q = query_for(slo, QueryKind::Ratio);
    const GatesConfig g = gates(DecisionMode::Sequential);
    std::mt19937_64 rng(15);
    std::poisson_distribution<long long> arrivals(30);
    std::vector<int> first_fail;
    for (int s = 0; s < 1000; ++s) {
      double bad = 0;
      double total = 0;
      int first = 0;
      for (int look = 1; look <= 30 && first == 0; ++look) {
        const long long n = arrivals(rng);
        bad += static_cast<double>(std::binomial_distribution<long long>(n, 0.1)(rng));
        total += static_cast<double>(n);
        const GateResult r = judge(slo, g, q, counts(total, bad, total));
        if (r.verdict == Verdict::Fail) first = look;
        if (total < 100) CHECK(r.verdict == Verdict::Hold);
      }
      first_fail.push_back(first == 0 ? 1000 : first);
    }
    std::sort(first_fail.begin(), first_fail.end());
    if (verbose())
      MESSAGE("10x at 1 rps through judge: FAIL by look " << first_fail[499] << " (median), "
                                                          << first_fail[989] << " (99%)");
    CHECK(first_fail[499] <= 4);
    CHECK(first_fail[989] <= 8);
  }
}
