#include "metrics/sequential.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace meshmove::metrics {
namespace {

constexpr double k_min_alpha = 1e-12;
constexpr double k_max_alpha = 0.5;
constexpr double k_infinity = std::numeric_limits<double>::infinity();

double clamp_alpha(double alpha) {
  if (std::isnan(alpha)) return k_max_alpha;
  return std::clamp(alpha, k_min_alpha, k_max_alpha);
}

double usable(double v) { return std::isfinite(v) && v > 0 ? v : 0.0; }

double log_beta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// x ln p + (n - x) ln(1 - p), with 0 ln 0 = 0.
double log_likelihood(double x, double n, double p) {
  double r = 0;
  if (x > 0) r += x * std::log(p);
  if (n - x > 0) r += (n - x) * std::log1p(-p);
  return r;
}

// The ends of the confidence interval: where log M(p) = t on either side of the maximum-likelihood rate
// `mle` (where log M < t). log M is convex and nearly linear in u = ln p below the rate and in
// w = -ln(1 - p) above it, so Newton's method runs in those coordinates: from the outer side (log M > t)
// a step never passes the end (convexity), and from the inner side one step crosses to the outer side.
// The starting point is a normal approximation with a margin for the mixture's cost (about 0.5 ln n).
constexpr int k_max_newton_steps = 100;
constexpr double k_newton_tolerance = 1e-12;  // in u or w: a relative precision of about 1e-12 in p

double start_reach(double mle, double n, double t) {
  const double margin = t + 0.5 * std::log1p(n) + 1;
  return std::sqrt(2 * margin * mle * (1 - mle) / n) + 2 * margin / n;
}

double lower_end(double x, double n, double log_mixture, double t, double mle) {
  const double inner = std::log(mle);
  double u = std::log(std::max(mle - start_reach(mle, n, t), mle / 16));
  for (int i = 0; i < k_max_newton_steps; ++i) {
    const double p = std::exp(u);
    const double v = log_mixture - x * u - (n - x) * std::log1p(-p) - t;
    const double slope = -x + (n - x) * p / (1 - p);  // d/du, negative below the rate
    double next = u - v / slope;
    if (!(next < inner) || !std::isfinite(next)) next = u - 1;  // flat or numerically lost: step out by e
    if (std::fabs(next - u) <= k_newton_tolerance) return std::exp(next);
    u = next;
  }
  return std::exp(u);
}

double upper_end(double x, double n, double log_mixture, double t, double mle) {
  const double inner = -std::log1p(-mle);
  double w = -std::log1p(-std::min(mle + start_reach(mle, n, t), 0.5 * (1 + mle)));
  for (int i = 0; i < k_max_newton_steps; ++i) {
    const double p = -std::expm1(-w);
    const double v = log_mixture - (x > 0 ? x * std::log(p) : 0.0) + (n - x) * w - t;
    const double slope = (n - x) - x * (1 - p) / p;  // d/dw, positive above the rate
    double next = w - v / slope;
    if (!(next > inner) || !std::isfinite(next)) next = w + 1;
    if (std::fabs(next - w) <= k_newton_tolerance) return -std::expm1(-next);
    w = next;
  }
  return -std::expm1(-w);
}

}  // namespace

Counts clamp_counts(double bad, double total) {
  Counts c;
  c.total = usable(total);
  c.bad = std::min(usable(bad), c.total);
  return c;
}

double sprt_alternative(double p0, double breach_factor) {
  const double halfway = 0.5 * (1 + p0);
  const double p1 = breach_factor * p0;
  if (!(p1 > p0)) return halfway;
  return std::min(p1, halfway);
}

double sprt_fail_threshold(double alpha) { return std::log(1 / clamp_alpha(alpha)); }

double sprt_pass_threshold(double beta) { return std::log(clamp_alpha(beta)); }

SprtParams make_sprt(double p0, double breach_factor, double confidence) {
  SprtParams s;
  s.p0 = p0;
  s.p1 = p0 > 0 && p0 < 1 ? sprt_alternative(p0, breach_factor) : p0;
  s.fail_at = sprt_fail_threshold(1 - confidence);
  s.pass_at = sprt_pass_threshold(1 - confidence);
  return s;
}

double sprt_log_lr(double bad, double total, double p0, double p1) {
  const Counts c = clamp_counts(bad, total);
  return c.bad * (std::log(p1) - std::log(p0)) + (c.total - c.bad) * (std::log1p(-p1) - std::log1p(-p0));
}

SprtOutcome sprt_judge(const SprtParams& params, double bad, double total) {
  const Counts c = clamp_counts(bad, total);
  SprtOutcome out;
  if (c.total <= 0) return out;
  if (params.p0 >= 1) {
    out.evidence = Evidence::Compliance;
    return out;
  }
  if (params.p0 <= 0) {
    out.evidence = c.bad > 0 ? Evidence::Breach : Evidence::Compliance;
    return out;
  }
  out.log_lr = sprt_log_lr(c.bad, c.total, params.p0, params.p1);
  if (out.log_lr >= params.fail_at) {
    out.evidence = Evidence::Breach;
  } else if (out.log_lr <= params.pass_at) {
    out.evidence = Evidence::Compliance;
  }
  return out;
}

double zero_bad_upper_bound(double total, double beta) {
  const double n = usable(total);
  if (n <= 0) return 1;
  return -std::expm1(std::log(clamp_alpha(beta)) / n);
}

double mixture_log_lr(double bad, double total, double p, BetaPrior prior) {
  const Counts c = clamp_counts(bad, total);
  if ((p <= 0 && c.bad > 0) || (p >= 1 && c.total - c.bad > 0)) return k_infinity;
  return log_beta(prior.a + c.bad, prior.b + c.total - c.bad) - log_beta(prior.a, prior.b) -
         log_likelihood(c.bad, c.total, p);
}

Interval confidence_sequence(double bad, double total, double alpha, BetaPrior prior) {
  const Counts c = clamp_counts(bad, total);
  Interval out;
  if (c.total <= 0) return out;
  const double t = std::log(1 / clamp_alpha(alpha));
  const double log_mixture =
      log_beta(prior.a + c.bad, prior.b + c.total - c.bad) - log_beta(prior.a, prior.b);
  const double mle = c.bad / c.total;  // log M is smallest here, and at most 0 there: inside the interval
  if (c.bad > 0) out.low = lower_end(c.bad, c.total, log_mixture, t, mle);
  if (c.total - c.bad > 0) out.high = upper_end(c.bad, c.total, log_mixture, t, mle);
  return out;
}

RelativeOutcome relative_judge(double to_bad, double to_total, double from_bad, double from_total,
                               double max_increase, double confidence, BetaPrior prior) {
  const double half_alpha = 0.5 * clamp_alpha(1 - confidence);
  RelativeOutcome out;
  out.to = confidence_sequence(to_bad, to_total, half_alpha, prior);
  out.from = confidence_sequence(from_bad, from_total, half_alpha, prior);
  out.difference.low = out.to.low - out.from.high;
  out.difference.high = out.to.high - out.from.low;
  if (out.difference.low > max_increase) {
    out.evidence = Evidence::Breach;
  } else if (out.difference.high <= max_increase) {
    out.evidence = Evidence::Compliance;
  }
  return out;
}

}  // namespace meshmove::metrics
