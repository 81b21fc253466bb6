#include "tests/bench/series_store.hpp"

#include <algorithm>
#include <limits>

namespace meshmove::bench {

Sample sample_of(const sim::Counters& c, Millis at) {
  Sample s;
  s.at = at;
  s.requests = static_cast<double>(c.requests);
  s.errors = static_cast<double>(c.errors);
  double running = 0;
  for (std::size_t b = 0; b < sim::k_bucket_count; ++b) {
    running += static_cast<double>(c.buckets[b]);
    s.le[b] = running;
  }
  return s;
}

double extrapolated_increase(double first, double last, double first_at, double last_at, std::size_t count,
                             double range_start, double range_end) {
  // A counter reset (last < first) cannot happen here: the simulation's counters only grow.
  const double result = last - first;
  const double sampled = last_at - first_at;
  if (count < 2 || sampled <= 0) return 0;
  const double average = sampled / static_cast<double>(count - 1);
  const double threshold = average * 1.1;
  double to_start = first_at - range_start;
  double to_end = range_end - last_at;
  if (to_start >= threshold) to_start = average / 2;
  if (result > 0 && first >= 0) {
    // Do not extrapolate a counter below zero: it started within the range.
    const double to_zero = sampled * (first / result);
    to_start = std::min(to_start, to_zero);
  }
  if (to_end >= threshold) to_end = average / 2;
  return result * (sampled + to_start + to_end) / sampled;
}

std::optional<Increase> SeriesStore::increase(Millis range, Millis at) const {
  const Millis start = at - range;
  // First sample with time > start, last with time <= at.
  const auto lo = std::upper_bound(m_samples.begin(), m_samples.end(), start,
                                   [](Millis t, const Sample& s) { return t < s.at; });
  const auto hi = std::upper_bound(m_samples.begin(), m_samples.end(), at,
                                   [](Millis t, const Sample& s) { return t < s.at; });
  if (hi - lo < 2) return std::nullopt;
  const Sample& a = *lo;
  const Sample& b = *(hi - 1);
  const auto count = static_cast<std::size_t>(hi - lo);
  const auto seconds = [](Millis t) { return static_cast<double>(t.count()) / 1000.0; };
  const double fa = seconds(a.at), fb = seconds(b.at), rs = seconds(start), re = seconds(at);
  const auto inc = [&](double x, double y) { return extrapolated_increase(x, y, fa, fb, count, rs, re); };
  Increase out;
  out.requests = inc(a.requests, b.requests);
  out.errors = inc(a.errors, b.errors);
  out.buckets.reserve(sim::k_bucket_count);
  for (std::size_t i = 0; i < sim::k_bucket_count; ++i) {
    const double le = i < sim::k_latency_bounds_ms.size() ? sim::k_latency_bounds_ms[i]
                                                          : std::numeric_limits<double>::infinity();
    out.buckets.emplace_back(le, inc(a.le[i], b.le[i]));
  }
  return out;
}

}  // namespace meshmove::bench
