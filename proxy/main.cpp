// mutex-edge: serves experiment assignments for mutual exclusion groups.
#include <cstring>
#include <exception>
#include <iostream>

#include "tools/assign_command.hpp"
#include "tools/audit_command.hpp"
#include "tools/diff_command.hpp"
#include "tools/probe_command.hpp"

#include "proxy/serve_command.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    if (argc >= 2 && std::strcmp(argv[1], "assign") == 0) {
      return mutex_edge::tools::run_assign_command(argc - 1, argv + 1, std::cin, std::cout,
                                                   std::cerr);
    }
    if (argc >= 2 && std::strcmp(argv[1], "diff") == 0) {
      return mutex_edge::tools::run_diff_command(argc - 1, argv + 1, std::cout, std::cerr);
    }
    if (argc >= 2 && std::strcmp(argv[1], "audit") == 0) {
      return mutex_edge::tools::run_audit_command(argc - 1, argv + 1, std::cin, std::cout,
                                                  std::cerr);
    }
    if (argc >= 2 && std::strcmp(argv[1], "probe") == 0) {
      return mutex_edge::tools::run_probe_command(argc - 1, argv + 1, std::cout, std::cerr);
    }
    return mutex_edge::proxy::run_serve_command(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mutex-edge: " << e.what() << '\n';
    return 1;
  }
}
