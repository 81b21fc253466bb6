#include "cli/app.hpp"

int main(int argc, char** argv) { return meshmove::cli::run(argc, argv); }
