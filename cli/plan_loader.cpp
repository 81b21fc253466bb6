#include "cli/plan_loader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

namespace meshmove::cli {

planner::PlanParseResult load_plan(const std::string& path) {
  planner::PlanParseResult result;
  std::string text;
  const std::size_t cap = planner::k_max_plan_bytes + 1;  // one more byte tells "too large"
  const auto read_stream = [&](std::istream& in) {
    text.resize(cap);
    in.read(text.data(), static_cast<std::streamsize>(cap));
    text.resize(static_cast<std::size_t>(in.gcount()));
  };
  if (path == "-") {
    read_stream(std::cin);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      const int err = errno;
      result.diagnostics.push_back(planner::Diagnostic{path, 0, 0, "", std::string("cannot read the plan: ") +
                                                                         std::strerror(err)});
      return result;
    }
    read_stream(in);
    if (in.bad()) {
      result.diagnostics.push_back(planner::Diagnostic{path, 0, 0, "", "cannot read the plan (is it a directory?)"});
      return result;
    }
  }
  if (text.size() >= cap) {
    result.diagnostics.push_back(planner::Diagnostic{path, 0, 0, "",
                                                     "the file is larger than 1 MiB; plans are limited to 1 MiB"});
    return result;
  }
  return planner::parse_plan(text, path == "-" ? "<stdin>" : path);
}

void apply_overrides(planner::Plan& plan, const GlobalOptions& options) {
  if (!options.prometheus_url.empty()) plan.gates.prometheus.url = options.prometheus_url;
  if (!options.control_plane_url.empty()) plan.control_plane.url = options.control_plane_url;
}

}  // namespace meshmove::cli
