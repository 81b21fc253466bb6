// The statistics behind sequential gates: hand-computed binomial cases, closed forms, and seeded
// simulations of healthy and faulty traffic judged after every look, which check the error rates the
// method promises (at most 1 - confidence) and show why a fixed-sample interval re-checked every look does
// not keep its level. Set MESHMOVE_TEST_VERBOSE=1 to print the measured rates.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "metrics/sequential.hpp"

namespace {

using meshmove::metrics::BetaPrior;
using meshmove::metrics::clamp_counts;
using meshmove::metrics::confidence_sequence;
using meshmove::metrics::Evidence;
using meshmove::metrics::Interval;
using meshmove::metrics::k_default_prior;
using meshmove::metrics::make_sprt;
using meshmove::metrics::mixture_log_lr;
using meshmove::metrics::relative_judge;
using meshmove::metrics::sprt_alternative;
using meshmove::metrics::sprt_fail_threshold;
using meshmove::metrics::sprt_judge;
using meshmove::metrics::sprt_log_lr;
using meshmove::metrics::sprt_pass_threshold;
using meshmove::metrics::SprtParams;
using meshmove::metrics::zero_bad_upper_bound;

bool verbose() { return std::getenv("MESHMOVE_TEST_VERBOSE") != nullptr; }

// Traffic as it reaches a gate: every look (one evaluation interval) adds Poisson(per_look) requests, each
// bad with probability p independently; the rule sees the cumulative counts since the weight change.
struct Traffic {
  double per_look = 600;  // 20 requests per second x 30 s
  int looks = 30;         // 15 minutes of 30 s evaluations
  double p = 0.01;
};

struct StreamStats {
  int streams = 0;
  int ever_breach = 0;          // streams judged Breach at one look or more
  int ever_compliance = 0;      // streams judged Compliance at one look or more
  int breach_by_look[64] = {};  // breach_by_look[k]: streams whose first Breach came at look k (1-based)
  [[nodiscard]] double breach_rate() const { return static_cast<double>(ever_breach) / streams; }
  [[nodiscard]] double compliance_rate() const { return static_cast<double>(ever_compliance) / streams; }
  // The first look by which `fraction` of all streams had been judged Breach (0 if never).
  [[nodiscard]] int breach_look_quantile(double fraction) const {
    int seen = 0;
    for (int k = 1; k < 64; ++k) {
      seen += breach_by_look[k];
      if (seen >= fraction * streams) return k;
    }
    return 0;
  }
};

// Runs `streams` seeded streams; `decide(bad, total)` judges the cumulative counts after each look.
template <class Decide>
StreamStats run_streams(std::uint64_t seed, int streams, const Traffic& traffic, Decide decide) {
  std::mt19937_64 rng(seed);
  std::poisson_distribution<long long> arrivals(traffic.per_look);
  StreamStats stats;
  stats.streams = streams;
  for (int s = 0; s < streams; ++s) {
    long long bad = 0;
    long long total = 0;
    bool breach = false;
    bool compliance = false;
    for (int look = 1; look <= traffic.looks; ++look) {
      const long long n = arrivals(rng);
      std::binomial_distribution<long long> errors(n, traffic.p);
      bad += errors(rng);
      total += n;
      const Evidence e = decide(static_cast<double>(bad), static_cast<double>(total));
      if (e == Evidence::Breach && !breach) {
        breach = true;
        if (look < 64) ++stats.breach_by_look[look];
      }
      if (e == Evidence::Compliance) compliance = true;
    }
    stats.ever_breach += breach ? 1 : 0;
    stats.ever_compliance += compliance ? 1 : 0;
  }
  return stats;
}

// Streams for the relative rule: the to set and the from set each get Poisson traffic every look.
StreamStats run_relative_streams(std::uint64_t seed, int streams, double p_to, double p_from,
                                 double max_increase) {
  std::mt19937_64 rng(seed);
  std::poisson_distribution<long long> to_arrivals(600);
  std::poisson_distribution<long long> from_arrivals(5400);
  StreamStats st;
  st.streams = streams;
  for (int s = 0; s < streams; ++s) {
    long long to_bad = 0;
    long long to_total = 0;
    long long from_bad = 0;
    long long from_total = 0;
    bool breach = false;
    bool compliance = false;
    for (int look = 1; look <= 30; ++look) {
      const long long n_to = to_arrivals(rng);
      const long long n_from = from_arrivals(rng);
      to_bad += std::binomial_distribution<long long>(n_to, p_to)(rng);
      from_bad += std::binomial_distribution<long long>(n_from, p_from)(rng);
      to_total += n_to;
      from_total += n_from;
      const auto out =
          relative_judge(static_cast<double>(to_bad), static_cast<double>(to_total),
                         static_cast<double>(from_bad), static_cast<double>(from_total), max_increase, 0.99);
      if (out.evidence == Evidence::Breach && !breach) {
        breach = true;
        ++st.breach_by_look[look];
      }
      compliance = compliance || out.evidence == Evidence::Compliance;
    }
    st.ever_breach += breach ? 1 : 0;
    st.ever_compliance += compliance ? 1 : 0;
  }
  return st;
}

// The one-sided Wilson score lower bound at normal quantile z: what a fixed-sample test would use.
double wilson_lower(double bad, double total, double z) {
  const double p = bad / total;
  const double z2 = z * z;
  const double centre = p + z2 / (2 * total);
  const double spread = z * std::sqrt(p * (1 - p) / total + z2 / (4 * total * total));
  return (centre - spread) / (1 + z2 / total);
}

}  // namespace

TEST_SUITE("metrics::sequential") {
  TEST_CASE("counts are clamped: NaN, infinities and negatives are 0, bad at most total") {
    CHECK(clamp_counts(3, 100).bad == 3);
    CHECK(clamp_counts(120, 100).bad == 100);
    CHECK(clamp_counts(-1, 100).bad == 0);
    CHECK(clamp_counts(5, -3).total == 0);
    CHECK(clamp_counts(5, -3).bad == 0);
    CHECK(clamp_counts(NAN, 10).bad == 0);
    CHECK(clamp_counts(1, INFINITY).total == 0);
  }

  TEST_CASE("the SPRT's log likelihood ratio matches hand-computed binomial cases") {
    // x ln(p1/p0) + (n - x) ln((1 - p1)/(1 - p0)), computed independently:
    // 3 ln 2 + 97 ln(0.98/0.99) = 2.0794415 - 0.9847800 = 1.0946615.
    CHECK(sprt_log_lr(3, 100, 0.01, 0.02) == doctest::Approx(1.094661509670).epsilon(1e-12));
    CHECK(sprt_log_lr(0, 1000, 0.01, 0.02) == doctest::Approx(-10.152371464018).epsilon(1e-12));
    CHECK(sprt_log_lr(30, 1000, 0.01, 0.02) == doctest::Approx(10.946615096701).epsilon(1e-12));
    // Extrapolated, fractional counts are used as real numbers.
    CHECK(sprt_log_lr(12.5, 800.4, 0.001, 0.002) == doctest::Approx(7.875256065606).epsilon(1e-12));
    // More bad than total (a scrape race) is clamped to all bad.
    CHECK(sprt_log_lr(150, 100, 0.01, 0.02) == doctest::Approx(100 * std::log(2.0)));
  }

  TEST_CASE("thresholds are ln(1/alpha) and ln(beta), and the alternative stays below 1") {
    CHECK(sprt_fail_threshold(0.01) == doctest::Approx(std::log(100.0)));
    CHECK(sprt_pass_threshold(0.01) == doctest::Approx(-std::log(100.0)));
    CHECK(sprt_fail_threshold(0.0) == doctest::Approx(std::log(1e12)));  // clamped, never infinite
    CHECK(sprt_alternative(0.01, 2) == doctest::Approx(0.02));
    CHECK(sprt_alternative(0.01, 10) == doctest::Approx(0.1));
    CHECK(sprt_alternative(0.6, 2) == doctest::Approx(0.8));  // halfway to 1, not 1.2
    CHECK(sprt_alternative(0.01, 1) == doctest::Approx(0.505));
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    CHECK(s.p0 == 0.01);
    CHECK(s.p1 == doctest::Approx(0.02));
    CHECK(s.fail_at == doctest::Approx(4.605170186));
    CHECK(s.pass_at == doctest::Approx(-4.605170186));
  }

  TEST_CASE("sprt_judge: FAIL at ln(1/alpha), PASS at ln(beta), undecided between") {
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    CHECK(sprt_judge(s, 30, 1000).evidence == Evidence::Breach);     // log LR 10.9
    CHECK(sprt_judge(s, 0, 1000).evidence == Evidence::Compliance);  // log LR -10.2
    CHECK(sprt_judge(s, 3, 100).evidence == Evidence::Undecided);    // log LR 1.09
    CHECK(sprt_judge(s, 3, 100).log_lr == doctest::Approx(1.094661509670));
    CHECK(sprt_judge(s, 0, 0).evidence == Evidence::Undecided);
    SUBCASE("an SLO of zero bad events: any bad event fails, none passes") {
      const SprtParams zero = make_sprt(0.0, 2, 0.99);
      CHECK(sprt_judge(zero, 1, 100000).evidence == Evidence::Breach);
      CHECK(sprt_judge(zero, 0.2, 100).evidence == Evidence::Breach);  // an extrapolated fraction of one
      CHECK(sprt_judge(zero, 0, 100).evidence == Evidence::Compliance);
      CHECK(zero_bad_upper_bound(1000, 0.01) == doctest::Approx(0.00459458264847301));
      CHECK(zero_bad_upper_bound(0, 0.01) == 1);
    }
    SUBCASE("an SLO that allows everything always passes") {
      CHECK(sprt_judge(make_sprt(1.0, 2, 0.99), 100, 100).evidence == Evidence::Compliance);
    }
  }

  TEST_CASE("the confidence sequence matches the closed form of the uniform prior") {
    // With Beta(1, 1), M_n(p) = 1 / ((n + 1) C(n, x) p^x (1 - p)^(n - x)).
    const BetaPrior uniform{1, 1};
    SUBCASE("no bad event: high = 1 - (alpha/(n + 1))^(1/n)") {
      const Interval ci = confidence_sequence(0, 1000, 0.005, uniform);
      CHECK(ci.low == 0);
      CHECK(ci.high == doctest::Approx(0.0121328680856796).epsilon(1e-9));
      CHECK(ci.high == doctest::Approx(1 - std::pow(0.005 / 1001, 1.0 / 1000)).epsilon(1e-9));
    }
    SUBCASE("5 of 100: the ends solve 101 C(100, 5) p^5 (1 - p)^95 = alpha") {
      const Interval ci = confidence_sequence(5, 100, 0.01, uniform);
      CHECK(ci.low == doctest::Approx(0.00458931027721384).epsilon(1e-9));
      CHECK(ci.high == doctest::Approx(0.179207403443479).epsilon(1e-9));
      CHECK(mixture_log_lr(5, 100, ci.low, uniform) == doctest::Approx(std::log(100.0)).epsilon(1e-9));
      CHECK(mixture_log_lr(5, 100, ci.high, uniform) == doctest::Approx(std::log(100.0)).epsilon(1e-9));
    }
    SUBCASE("all bad: low = (alpha/(n + 1))^(1/n), high = 1") {
      const Interval ci = confidence_sequence(50, 50, 0.01, uniform);
      CHECK(ci.low == doctest::Approx(std::pow(0.01 / 51, 1.0 / 50)).epsilon(1e-9));
      CHECK(ci.high == 1);
    }
  }

  TEST_CASE("the confidence sequence with the default Beta(0.5, 20) prior") {
    CHECK(k_default_prior.a == 0.5);
    CHECK(k_default_prior.b == 20);
    // Reference ends from an independent 300-step bisection on log M_n(p) = ln(1/alpha).
    struct Case {
      double x, n, alpha, low, high;
    };
    const Case cases[] = {
        {5, 100, 0.01, 0.0063073231058114, 0.162490262948372},
        {0, 1000, 0.005, 0, 0.00724399187129371},
        {40, 10000, 0.005, 0.00196090686881582, 0.00711114954495181},
        {3.7, 812.4, 0.005, 0.000274663950918903, 0.0196076417250826},
    };
    for (const auto& c : cases) {
      CAPTURE(c.x);
      CAPTURE(c.n);
      const Interval ci = confidence_sequence(c.x, c.n, c.alpha);
      CHECK(ci.low == doctest::Approx(c.low).epsilon(1e-9));
      CHECK(ci.high == doctest::Approx(c.high).epsilon(1e-9));
    }
    SUBCASE("it is wider than the fixed-sample Clopper-Pearson interval at the same level") {
      // Clopper-Pearson 99% for 5 of 100 is [0.0109403, 0.135145]: valid at one look only.
      const Interval ci = confidence_sequence(5, 100, 0.01);
      CHECK(ci.low < 0.0109403);
      CHECK(ci.high > 0.135145);
    }
    SUBCASE("no traffic says nothing") {
      const Interval ci = confidence_sequence(0, 0, 0.01);
      CHECK(ci.low == 0);
      CHECK(ci.high == 1);
    }
    SUBCASE("the interval shrinks around the rate as traffic grows") {
      double previous_width = 1;
      for (double n : {1e3, 1e4, 1e5, 1e6}) {
        const Interval ci = confidence_sequence(0.003 * n, n, 0.005);
        CHECK(ci.low < 0.003);
        CHECK(ci.high > 0.003);
        CHECK(ci.high - ci.low < previous_width);
        previous_width = ci.high - ci.low;
      }
      CHECK(previous_width < 0.0005);
    }
  }

  TEST_CASE("the confidence sequence covers the true rate at every look of 2,000 streams") {
    // Ville: P(some look misses) <= alpha. A fixed-sample interval would miss far more often.
    const double alpha = 0.02;
    for (double p : {0.001, 0.02}) {
      CAPTURE(p);
      std::mt19937_64 rng(20260901);
      std::poisson_distribution<long long> arrivals(600);
      int missed = 0;
      const int streams = 2000;
      for (int s = 0; s < streams; ++s) {
        long long bad = 0;
        long long total = 0;
        bool miss = false;
        for (int look = 0; look < 30 && !miss; ++look) {
          const long long n = arrivals(rng);
          bad += std::binomial_distribution<long long>(n, p)(rng);
          total += n;
          const Interval ci =
              confidence_sequence(static_cast<double>(bad), static_cast<double>(total), alpha);
          miss = p < ci.low || p > ci.high;
        }
        missed += miss ? 1 : 0;
      }
      if (verbose())
        MESSAGE("confidence sequence p=" << p << ": missed at some look in " << missed << " of 2000");
      CHECK(missed <= alpha * streams);
    }
  }

  TEST_CASE("relative_judge compares two rates with maxIncrease") {
    SUBCASE("a clear increase is a breach") {
      const auto out = relative_judge(300, 10000, 100, 100000, 0.005, 0.99);
      CHECK(out.evidence == Evidence::Breach);
      CHECK(out.difference.low > 0.005);
      CHECK(out.difference.low == doctest::Approx(out.to.low - out.from.high));
    }
    SUBCASE("equal rates with enough traffic comply") {
      const auto out = relative_judge(100, 100000, 1000, 1000000, 0.005, 0.99);
      CHECK(out.evidence == Evidence::Compliance);
      CHECK(out.difference.high <= 0.005);
      CHECK(out.difference.high == doctest::Approx(out.to.high - out.from.low));
    }
    SUBCASE("little traffic is undecided") {
      const auto out = relative_judge(1, 200, 10, 1800, 0.005, 0.99);
      CHECK(out.evidence == Evidence::Undecided);
      CHECK(out.difference.low < 0.005);
      CHECK(out.difference.high > 0.005);
    }
    SUBCASE("each rate uses alpha/2") {
      const auto out = relative_judge(5, 100, 5, 100, 0.005, 0.99);
      const Interval ci = confidence_sequence(5, 100, 0.005);
      CHECK(out.to.low == doctest::Approx(ci.low));
      CHECK(out.from.high == doctest::Approx(ci.high));
    }
  }

  TEST_CASE("the SPRT's false FAIL rate over 10,000 healthy streams is at most 1 - confidence") {
    // 30 looks of Poisson(600) requests (20 rps x 30 s), SLO max 0.01, breachFactor 2, confidence 0.99.
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    const auto decide = [&](double bad, double total) { return sprt_judge(s, bad, total).evidence; };
    SUBCASE("true rate at the bound: the worst healthy case") {
      const StreamStats st = run_streams(1, 10000, Traffic{600, 30, 0.01}, decide);
      if (verbose())
        MESSAGE("SPRT p=p0: false FAIL " << st.breach_rate() << ", PASS at some look "
                                         << st.compliance_rate());
      CHECK(st.breach_rate() <= 0.01);
    }
    SUBCASE("true rate at half the bound") {
      const StreamStats st = run_streams(2, 10000, Traffic{600, 30, 0.005}, decide);
      if (verbose())
        MESSAGE("SPRT p=p0/2: false FAIL " << st.breach_rate() << ", PASS at some look "
                                           << st.compliance_rate());
      CHECK(st.breach_rate() <= 0.01);
      CHECK(st.compliance_rate() > 0.99);  // and it does pass a healthy release
    }
    SUBCASE("low traffic (1 rps to the new set) and a tight SLO") {
      const SprtParams tight = make_sprt(0.001, 2, 0.99);
      const StreamStats st = run_streams(3, 10000, Traffic{30, 30, 0.001}, [&](double bad, double total) {
        return sprt_judge(tight, bad, total).evidence;
      });
      if (verbose()) MESSAGE("SPRT p=p0=0.001 at 1 rps: false FAIL " << st.breach_rate());
      CHECK(st.breach_rate() <= 0.01);
    }
  }

  TEST_CASE(
      "the SPRT's false PASS rate under a breach of breachFactor x the bound is at most 1 - confidence") {
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    const StreamStats st = run_streams(4, 10000, Traffic{600, 30, 0.02}, [&](double bad, double total) {
      return sprt_judge(s, bad, total).evidence;
    });
    if (verbose())
      MESSAGE("SPRT p=2 p0: false PASS " << st.compliance_rate() << ", FAIL at some look "
                                         << st.breach_rate());
    CHECK(st.compliance_rate() <= 0.01);
    CHECK(st.breach_rate() > 0.95);
  }

  TEST_CASE("a fixed-sample Wilson interval re-checked every look exceeds its nominal level") {
    // The naive rule: FAIL when the one-sided 99% Wilson lower bound is above the SLO. Valid at one look;
    // checked every 30 s it fails healthy releases several times more often than 1%, which is why the
    // gates use a sequential test.
    const Traffic healthy{600, 30, 0.01};
    const StreamStats naive = run_streams(5, 10000, healthy, [](double bad, double total) {
      return wilson_lower(bad, total, 2.3263478740) > 0.01 ? Evidence::Breach : Evidence::Undecided;
    });
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    const StreamStats sprt = run_streams(
        5, 10000, healthy, [&](double bad, double total) { return sprt_judge(s, bad, total).evidence; });
    if (verbose())
      MESSAGE("p=p0: naive Wilson false FAIL " << naive.breach_rate() << ", SPRT " << sprt.breach_rate());
    CHECK(naive.breach_rate() > 0.02);
    CHECK(naive.breach_rate() > 3 * sprt.breach_rate());
  }

  TEST_CASE("the SPRT detects a 10x error-rate fault at the first looks") {
    const SprtParams s = make_sprt(0.01, 2, 0.99);
    const auto decide = [&](double bad, double total) { return sprt_judge(s, bad, total).evidence; };
    SUBCASE("20 rps: the first look (30 s of traffic)") {
      const StreamStats st = run_streams(6, 10000, Traffic{600, 30, 0.1}, decide);
      CHECK(st.ever_breach == 10000);
      CHECK(st.breach_look_quantile(1.0) == 1);
    }
    SUBCASE("1 rps: about 1.5 minutes, at most 4 minutes") {
      const StreamStats st = run_streams(7, 10000, Traffic{30, 30, 0.1}, decide);
      if (verbose()) {
        MESSAGE("10x fault at 1 rps: FAIL by look " << st.breach_look_quantile(0.5) << " (median), "
                                                    << st.breach_look_quantile(0.99) << " (99%)");
      }
      CHECK(st.ever_breach == 10000);
      // 3 errors a look; a breach sized for breachFactor 2 needs about 7 net errors (ln 100 / ln 2).
      CHECK(st.breach_look_quantile(0.5) <= 3);
      CHECK(st.breach_look_quantile(0.99) <= 8);
    }
  }

  // The relative rule on two sets: the to set gets 10% of 200 rps, the from set 90%; the SLO allows an
  // increase of 0.005 over the from set's rate of 0.01. 2,000 streams each: the confidence sequences cost
  // more than the SPRT, and their real error rates are far below the bound (union bound, Ville).
  TEST_CASE("the relative rule's false FAIL rate at to = from + maxIncrease is at most 1 - confidence") {
    const StreamStats st = run_relative_streams(8, 2000, 0.015, 0.01, 0.005);
    if (verbose()) MESSAGE("relative at +delta: false FAIL " << st.breach_rate());
    CHECK(st.breach_rate() <= 0.01);
  }

  TEST_CASE("the relative rule passes equal rates and does not fail them") {
    const StreamStats st = run_relative_streams(9, 2000, 0.01, 0.01, 0.005);
    if (verbose())
      MESSAGE("relative equal: false FAIL " << st.breach_rate() << ", PASS by look 30 "
                                            << st.compliance_rate());
    CHECK(st.breach_rate() <= 0.01);
    CHECK(st.compliance_rate() > 0.5);  // 0.005 is half the base rate: it takes ~20 looks to resolve
  }

  TEST_CASE("the relative rule's false PASS rate at to = from + 2 maxIncrease is at most 1 - confidence") {
    const StreamStats st = run_relative_streams(10, 2000, 0.02, 0.01, 0.005);
    if (verbose()) MESSAGE("relative at +2 delta: false PASS " << st.compliance_rate());
    CHECK(st.compliance_rate() <= 0.01);
  }

  TEST_CASE("the relative rule detects a tripled error rate") {
    const StreamStats st = run_relative_streams(11, 2000, 0.03, 0.01, 0.005);
    if (verbose()) {
      MESSAGE("relative 3x: FAIL by look " << st.breach_look_quantile(0.5) << " (median), "
                                           << st.breach_look_quantile(0.99) << " (99%)");
    }
    CHECK(st.ever_breach == 2000);
    CHECK(st.breach_look_quantile(0.5) <= 5);
    CHECK(st.breach_look_quantile(0.99) <= 10);
  }
}
