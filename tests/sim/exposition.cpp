// The /metrics exposition: Envoy's inbound-cluster stats of every simulated dataplane, labelled the way a
// Prometheus scraping Kuma's MADS targets sees them (mesh, dataplane, every tag and its plural form).
// Formats follow Envoy's admin /stats/prometheus: counters without a _total suffix added, histogram
// buckets cumulative with `le` printed as "%.32g" ("0.5", "1", ..., "3600000") and a final "+Inf".
#include <charconv>

#include "tests/sim/simulation.hpp"

namespace meshmove::sim {
namespace {

constexpr std::array<std::string_view, k_latency_bounds_ms.size()> k_le = {
    "0.5",  "1",    "5",     "10",    "25",    "50",     "100",    "250",     "500",    "1000",
    "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000"};

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, result.ptr);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, std::string_view name, const std::string& labels, std::string_view extra,
            std::uint64_t value) {
  out += name;
  out += '{';
  out += labels;
  out += extra;
  out += "} ";
  append_u64(out, value);
  out += '\n';
}

}  // namespace

std::string Simulation::metrics_text() const {
  std::string out;
  write_metrics(out);
  return out;
}

void Simulation::write_metrics(std::string& out) const {
  std::size_t active = 0;
  std::size_t label_bytes = 0;
  for (const Instance& inst : m_instances) {
    if (!inst.active) continue;
    ++active;
    label_bytes += inst.labels.size();
  }
  // 27 lines per instance, each the labels plus about 80 bytes of name, extra label and value.
  out.reserve(out.size() + 27 * (label_bytes + active * 80) + 2048);

  header(out, "envoy_cluster_upstream_rq_total", "counter",
         "Total requests received by the dataplane's inbound cluster (meshsim).");
  for (const Instance& inst : m_instances) {
    if (inst.active) sample(out, "envoy_cluster_upstream_rq_total", inst.labels, "", inst.counters.requests);
  }
  header(out, "envoy_cluster_upstream_rq_xx", "counter", "Requests by response code class (meshsim).");
  for (const Instance& inst : m_instances) {
    if (!inst.active) continue;
    const Counters& c = inst.counters;
    sample(out, "envoy_cluster_upstream_rq_xx", inst.labels, ",envoy_response_code_class=\"2\"",
           c.requests - c.errors);
    sample(out, "envoy_cluster_upstream_rq_xx", inst.labels, ",envoy_response_code_class=\"5\"", c.errors);
  }
  header(out, "envoy_cluster_upstream_rq", "counter", "Requests by response code (meshsim).");
  for (const Instance& inst : m_instances) {
    if (!inst.active) continue;
    const Counters& c = inst.counters;
    sample(out, "envoy_cluster_upstream_rq", inst.labels, ",envoy_response_code=\"200\"",
           c.requests - c.errors);
    sample(out, "envoy_cluster_upstream_rq", inst.labels, ",envoy_response_code=\"503\"", c.errors);
  }
  header(out, "envoy_cluster_upstream_rq_time", "histogram",
         "Upstream request time in milliseconds, Envoy's default buckets (meshsim).");
  for (const Instance& inst : m_instances) {
    if (!inst.active) continue;
    const Counters& c = inst.counters;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < k_le.size(); ++b) {
      cumulative += c.buckets[b];
      out += "envoy_cluster_upstream_rq_time_bucket{";
      out += inst.labels;
      out += ",le=\"";
      out += k_le[b];
      out += "\"} ";
      append_u64(out, cumulative);
      out += '\n';
    }
    sample(out, "envoy_cluster_upstream_rq_time_bucket", inst.labels, ",le=\"+Inf\"", c.requests);
    sample(out, "envoy_cluster_upstream_rq_time_sum", inst.labels, "", c.latency_sum_ms);
    sample(out, "envoy_cluster_upstream_rq_time_count", inst.labels, "", c.requests);
  }
}

}  // namespace meshmove::sim
