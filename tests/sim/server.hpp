#pragma once
// The meshsim program: loads the scenario, serves the Kuma API and /metrics over HTTP (cpp-httplib), and
// runs the Simulation on a real-time tick thread. This is the only part of meshsim that reads the real
// clock, sleeps or does network I/O; one mutex guards the Simulation and the API store.
namespace meshmove::sim {

// The whole program: parses argv, runs until SIGTERM/SIGINT. Returns the exit code (see --help).
int run_meshsim(int argc, char** argv);

}  // namespace meshmove::sim
