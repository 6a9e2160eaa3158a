// mutex-edge: serves experiment assignments for mutual exclusion groups.
#include <cstring>
#include <exception>
#include <iostream>

#include "proxy/assign_command.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: mutex-edge COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  assign    assign users read as JSON lines on stdin, offline, from a config file\n"
    "\n"
    "Run 'mutex-edge COMMAND --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    if (argc >= 2 && std::strcmp(argv[1], "assign") == 0) {
      return mutex_edge::proxy::run_assign_command(argc - 1, argv + 1, std::cin, std::cout,
                                                   std::cerr);
    }
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << (argc >= 2 ? "mutex-edge: unknown command '" + std::string{argv[1]} + "'\n"
                            : std::string{})
              << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mutex-edge: " << e.what() << '\n';
    return 1;
  }
}
