#include <iostream>

#include "brink/cli/cli.hpp"

int main(int argc, char** argv) { return brink::run_cli(argc, argv, std::cout, std::cerr); }
