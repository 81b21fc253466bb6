#include "tests/sim/random.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace meshmove::sim {
namespace {

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr double k_two_pi = 6.283185307179586476925286766559;

}  // namespace

Rng::Rng(std::uint64_t seed) {
  std::uint64_t state = seed;
  for (auto& word : m_s) word = splitmix64(state);
}

Rng::result_type Rng::operator()() {
  const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
  const std::uint64_t t = m_s[1] << 17;
  m_s[2] ^= m_s[0];
  m_s[3] ^= m_s[1];
  m_s[1] ^= m_s[2];
  m_s[0] ^= m_s[3];
  m_s[2] ^= t;
  m_s[3] = rotl(m_s[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (m_has_spare) {
    m_has_spare = false;
    return m_spare_normal;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  m_spare_normal = radius * std::sin(k_two_pi * u2);
  m_has_spare = true;
  return radius * std::cos(k_two_pi * u2);
}

std::uint64_t Rng::binomial(std::uint64_t n, double p) {
  if (n == 0 || !(p > 0.0)) return 0;
  if (p >= 1.0) return n;
  if (p > 0.5) return n - binomial(n, 1.0 - p);
  const double mean = static_cast<double>(n) * p;
  if (mean < 30.0) {
    // Waiting times: the gaps between successes are geometric; count successes that fit in n trials.
    const double log_q = std::log1p(-p);
    std::uint64_t successes = 0;
    double position = 0;
    const double trials = static_cast<double>(n);
    while (true) {
      double u = uniform();
      while (u <= 0.0) u = uniform();
      position += std::floor(std::log(u) / log_q) + 1.0;
      if (position > trials) break;
      ++successes;
    }
    return successes;
  }
  std::binomial_distribution<std::uint64_t> dist(n, p);
  return dist(*this);
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

LogNormal LogNormal::fit(double median_ms, double p99_ms) {
  LogNormal d;
  d.m_mu = std::log(median_ms);
  d.m_sigma = std::max(0.0, (std::log(p99_ms) - d.m_mu) / k_z99);
  return d;
}

double LogNormal::cdf(double x_ms) const {
  if (!(x_ms > 0)) return 0.0;
  if (std::isinf(x_ms)) return 1.0;
  if (m_sigma == 0.0) return std::log(x_ms) >= m_mu ? 1.0 : 0.0;
  return normal_cdf((std::log(x_ms) - m_mu) / m_sigma);
}

double LogNormal::quantile(double q) const {
  // Inverse normal CDF by bisection: only used by tests and set-up code, never per request.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (normal_cdf(mid) < q ? lo : hi) = mid;
  }
  return std::exp(m_mu + m_sigma * 0.5 * (lo + hi));
}

double LogNormal::partial_mean(double a_ms, double b_ms) const {
  const double mean = std::exp(m_mu + 0.5 * m_sigma * m_sigma);
  if (m_sigma == 0.0) {
    const double x = std::exp(m_mu);
    return (x >= a_ms && x < b_ms) ? x : 0.0;
  }
  auto shifted = [&](double x) {
    if (!(x > 0)) return 0.0;
    if (std::isinf(x)) return 1.0;
    return normal_cdf((std::log(x) - m_mu - m_sigma * m_sigma) / m_sigma);
  };
  return mean * (shifted(b_ms) - shifted(a_ms));
}

double LogNormal::sample(Rng& rng) const { return std::exp(m_mu + m_sigma * rng.normal()); }

}  // namespace meshmove::sim
