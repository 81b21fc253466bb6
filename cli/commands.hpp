#pragma once
// One function per command. Each returns the process exit code (exit_code.hpp) and writes through
// Output; none of them calls exit().
#include "cli/options.hpp"
#include "cli/output.hpp"

namespace meshmove::cli {

int cmd_validate(Output& out, const ValidateOptions& options);
int cmd_plan(Output& out, const PlanOptions& options);
int cmd_rollback(Output& out, const RollbackOptions& options);
int cmd_check(Output& out, const CheckOptions& options);

}  // namespace meshmove::cli
