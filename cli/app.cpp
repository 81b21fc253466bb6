#include "cli/app.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/exit_code.hpp"
#include "meshmove/version.hpp"

namespace meshmove::cli {

int run(int argc, char** argv) {
  CLI::App app{"meshmove: progressive, SLO-gated migration of mesh traffic from VMs to Kubernetes"};
  app.set_version_flag("--version", std::string("meshmove ") + k_version);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return to_int(ExitCode::Done);
}

}  // namespace meshmove::cli
