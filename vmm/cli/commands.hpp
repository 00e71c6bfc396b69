// The launcher's commands, each returning the process's exit status.
#pragma once

#include <string>

#include "cli/options.hpp"

namespace kagami {

int run_vm(const RunOptions& run);                   // cli/run_command.cpp
int migrate_command(const MigrateOptions& migrate);  // cli/migrate_command.cpp
int api_command(const ApiOptions& api);              // cli/client_commands.cpp
int state_dump_command(const std::string& file);     // cli/client_commands.cpp

}  // namespace kagami
