#pragma once
// Deterministic randomness for the traffic model: one seeded generator per Simulation, drawn from in a
// fixed order, so the same seed and the same inputs give the same counts on every run of the same build.
#include <array>
#include <cstdint>

namespace meshmove::sim {

// xoshiro256** (Blackman & Vigna), seeded through splitmix64. Satisfies UniformRandomBitGenerator.
// Not thread-safe; cheap to copy.
class Rng {
 public:
  using result_type = std::uint64_t;

  explicit Rng(std::uint64_t seed);

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()();

  // Uniform on [0, 1) with 53 random bits.
  double uniform();
  // Standard normal N(0, 1) (Box-Muller; the second value of each pair is kept for the next call).
  double normal();
  // Binomial(n, p): the number of successes in n trials of probability p (p is clamped to [0, 1]).
  // O(n p + 1) by waiting times when n p is small; libstdc++'s rejection sampler otherwise.
  std::uint64_t binomial(std::uint64_t n, double p);

 private:
  std::array<std::uint64_t, 4> m_s{};
  double m_spare_normal = 0;
  bool m_has_spare = false;
};

// Standard normal cumulative distribution function.
double normal_cdf(double z);

// A log-normal latency distribution in milliseconds, fitted to a median and a 99th percentile:
// mu = ln(median), sigma = (ln(p99) - mu) / z_0.99. p99 == median gives a point mass.
class LogNormal {
 public:
  LogNormal() = default;
  // median_ms > 0 and p99_ms >= median_ms (the scenario parser guarantees both).
  static LogNormal fit(double median_ms, double p99_ms);

  [[nodiscard]] double mu() const { return m_mu; }
  [[nodiscard]] double sigma() const { return m_sigma; }
  // P(X <= x) for x in milliseconds.
  [[nodiscard]] double cdf(double x_ms) const;
  // The q-quantile in milliseconds, 0 < q < 1.
  [[nodiscard]] double quantile(double q) const;
  // E[X; a <= X < b] (the partial expectation), in milliseconds; b may be infinity.
  [[nodiscard]] double partial_mean(double a_ms, double b_ms) const;
  // One draw, in milliseconds.
  double sample(Rng& rng) const;

 private:
  double m_mu = 0;
  double m_sigma = 0;
};

// The standard normal quantile of 0.99.
inline constexpr double k_z99 = 2.3263478740408408;

}  // namespace meshmove::sim
