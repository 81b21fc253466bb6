#pragma once
// What Prometheus holds for one subset's counters, and what increase() over a range gives: samples scraped
// at fixed times, and Prometheus's extrapolation (promql/functions.go, extrapolatedRate) applied to each
// counter. Pure: no clock, no I/O. Not thread-safe.
//
// One simplification, stated: Prometheus extrapolates each series (each dataplane, each `le`) on its own
// and sum() adds the results; here the subset's sums are extrapolated as one series. Every series of a
// subset is scraped at the same instants, so the only difference is the zero-point clamp on a counter's
// first window, where the subset's sum starts near zero exactly when its series do.
#include <array>
#include <chrono>
#include <optional>
#include <vector>

#include "metrics/gate_verdict.hpp"
#include "tests/sim/simulation.hpp"

namespace meshmove::bench {

using Millis = std::chrono::milliseconds;

// The cumulative counters of one subset at one scrape.
struct Sample {
  Millis at{0};  // since the start of the run
  double requests = 0;
  double errors = 0;                             // 5xx responses
  std::array<double, sim::k_bucket_count> le{};  // cumulative: requests at or below each bound, +Inf last
};

// increase() over a range: requests, 5xx, and the cumulative latency buckets (le in milliseconds, +Inf
// last, as metrics::Buckets wants them).
struct Increase {
  double requests = 0;
  double errors = 0;
  metrics::Buckets buckets;
};

// The sample a Simulation's counters give (buckets made cumulative).
Sample sample_of(const sim::Counters& c, Millis at);

class SeriesStore {
 public:
  // Appends a scrape; samples must come in time order.
  void add(const Sample& s) { m_samples.push_back(s); }
  // increase() of every counter over (at - range, at] (Prometheus 3 selects a left-open range). nullopt
  // when fewer than two samples fall in the range: Prometheus returns an empty vector then.
  [[nodiscard]] std::optional<Increase> increase(Millis range, Millis at) const;
  [[nodiscard]] std::size_t size() const { return m_samples.size(); }

 private:
  std::vector<Sample> m_samples;
};

// Prometheus's extrapolated increase of one counter from its first and last sample in a range: `first`,
// `last` values at times `first_at`, `last_at` (seconds), `count` samples, range (start, end] in seconds.
double extrapolated_increase(double first, double last, double first_at, double last_at, std::size_t count,
                             double range_start, double range_end);

}  // namespace meshmove::bench
