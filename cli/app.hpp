#pragma once
// The command-line entry point: parses arguments, runs a command, maps errors to exit codes.

namespace meshmove::cli {

// Runs meshmove with the given arguments and returns the process exit code (see exit_code.hpp).
int run(int argc, char** argv);

}  // namespace meshmove::cli
