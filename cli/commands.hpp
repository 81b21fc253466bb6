#pragma once
// One function per command. Each returns the process exit code (exit_code.hpp) and writes through
// Output; none of them calls exit().
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "planner/engine.hpp"

namespace meshmove::cli {

int cmd_validate(Output& out, const ValidateOptions& options);
int cmd_plan(Output& out, const PlanOptions& options);
int cmd_rollback(Output& out, const RollbackOptions& options);
int cmd_check(Output& out, const CheckOptions& options);
int cmd_apply(Output& out, const ApplyOptions& options);
int cmd_status(Output& out, const StatusOptions& options);
int cmd_history(Output& out, const OperatorOptions& options);
int cmd_pause(Output& out, const OperatorOptions& options);
int cmd_resume(Output& out, const OperatorOptions& options);
int cmd_promote(Output& out, const OperatorOptions& options);

// The exit code of an engine outcome, and of several (the most severe wins).
int exit_code_for(planner::Outcome outcome);

}  // namespace meshmove::cli
