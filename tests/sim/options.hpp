#pragma once
// Command-line options of the meshsim binary.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace meshmove::sim {

struct Options {
  std::string scenario_path;
  std::string api_host = "127.0.0.1";
  int api_port = 5681;  // Kuma's default API port; 0 picks a free one
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 5670;  // Kuma's default dataplane metrics port; 0 picks a free one
  std::string tls_cert;     // both set: the API address serves HTTPS
  std::string tls_key;
  std::optional<std::uint64_t> seed;  // overrides the scenario's seed
  bool verbose = false;               // log every API request to stderr
  bool help = false;
};

struct OptionsParse {
  std::optional<Options> options;
  std::string error;  // set when options is not
};

// Parses argv[1..]. --help wins over everything else.
OptionsParse parse_options(const std::vector<std::string>& args);

// The --help text.
std::string usage();

}  // namespace meshmove::sim
