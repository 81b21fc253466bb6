#include "tests/sim/options.hpp"

#include <charconv>

namespace meshmove::sim {
namespace {

// "HOST:PORT" -> host, port (0..65535).
bool parse_address(const std::string& text, std::string& host, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string digits = text.substr(colon + 1);
  int value = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value < 0 || value > 65535) return false;
  host = text.substr(0, colon);
  port = value;
  return true;
}

}  // namespace

std::string usage() {
  return R"(usage: meshsim --scenario FILE [--api-addr HOST:PORT] [--metrics-addr HOST:PORT]
               [--tls-cert FILE --tls-key FILE] [--seed N] [--verbose]

A stand-in for a Kuma service mesh, for testing meshmove: it serves the subset of Kuma's universal REST
API that meshmove uses (MeshHTTPRoute, MeshTCPRoute, TrafficRoute, dataplanes) with Kuma's validation and
error bodies, and simulates each service's traffic in real time, split by the routing policy in effect,
exposing Envoy's inbound-cluster metrics with Kuma's labels for a real Prometheus to scrape.

options:
  --scenario FILE          the scenario (YAML or JSON): services, subsets, rates, errors, latencies and
                           timed events; the format is described in tests/sim/README.md (required)
  --api-addr HOST:PORT     where the Kuma API listens (default 127.0.0.1:5681; port 0 picks a free one)
  --metrics-addr HOST:PORT where /metrics (Prometheus text format) listens (default 127.0.0.1:5670;
                           port 0 picks a free one); /_sim/state and /_sim/events are served here too, so
                           they stay reachable while a scenario takes the API down
  --tls-cert FILE          PEM certificate: serve the API over HTTPS (needs --tls-key)
  --tls-key FILE           PEM private key of --tls-cert
  --seed N                 override the scenario's RNG seed
  --verbose                log every API request and its status to stderr
  --help                   show this text

On start meshsim prints `listening api=HOST:PORT metrics=HOST:PORT` and then `ready` on stdout once both
listeners accept connections. It runs until SIGTERM or SIGINT and then exits 0.
Exit codes: 0 stopped by a signal, 1 a listener could not be opened, 2 bad usage or an invalid scenario
(every problem printed as file:line:col: field: message).

meshsim's own endpoints:
  GET  /_sim/state   per service: policy in effect, effective weights (percent), cumulative requests and
                     errors per subset, rps; fired events; sim time in seconds
  POST /_sim/events  inject one event in the scenario's event format, e.g.
                     {"controlPlane": {"status": 503, "for": "5s"}}; it fires at the next tick
)";
}

OptionsParse parse_options(const std::vector<std::string>& args) {
  Options o;
  OptionsParse out;
  auto fail = [&](std::string message) {
    out.error = std::move(message);
    return out;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      out.options = o;
      return out;
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_inline_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    auto take_value = [&]() -> bool {
      if (has_inline_value) return true;
      if (i + 1 >= args.size()) return false;
      value = args[++i];
      return true;
    };
    if (arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "--scenario" || arg == "--api-addr" || arg == "--metrics-addr" || arg == "--tls-cert" ||
               arg == "--tls-key" || arg == "--seed") {
      if (!take_value()) return fail(arg + " needs a value");
      if (arg == "--scenario") {
        o.scenario_path = value;
      } else if (arg == "--api-addr") {
        if (!parse_address(value, o.api_host, o.api_port))
          return fail("--api-addr must be HOST:PORT, not " + value);
      } else if (arg == "--metrics-addr") {
        if (!parse_address(value, o.metrics_host, o.metrics_port)) {
          return fail("--metrics-addr must be HOST:PORT, not " + value);
        }
      } else if (arg == "--tls-cert") {
        o.tls_cert = value;
      } else if (arg == "--tls-key") {
        o.tls_key = value;
      } else {
        std::uint64_t seed = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seed);
        if (ec != std::errc{} || end != value.data() + value.size()) {
          return fail("--seed must be a non-negative integer, not " + value);
        }
        o.seed = seed;
      }
    } else {
      return fail("unknown argument " + args[i]);
    }
  }
  if (o.scenario_path.empty()) return fail("--scenario FILE is required");
  if (o.tls_cert.empty() != o.tls_key.empty()) return fail("--tls-cert and --tls-key go together");
  if (o.api_port != 0 && o.api_port == o.metrics_port && o.api_host == o.metrics_host) {
    return fail("--api-addr and --metrics-addr must differ");
  }
  out.options = o;
  return out;
}

}  // namespace meshmove::sim
