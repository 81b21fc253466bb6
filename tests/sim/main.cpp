// meshsim: a Kuma-faithful test mesh (see README.md and `meshsim --help`).
#include "tests/sim/server.hpp"

int main(int argc, char** argv) { return meshmove::sim::run_meshsim(argc, argv); }
