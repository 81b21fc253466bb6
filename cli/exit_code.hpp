#pragma once
// meshmove's exit codes: one enum shared by every command and documented in meshmove(1).
namespace meshmove::cli {

enum class ExitCode : int {
  Done = 0,            // promoted, gates pass, rollback written, command succeeded
  InternalError = 1,   // a bug in meshmove
  Usage = 2,           // usage error or invalid plan
  RolledBack = 3,      // rolled back because an SLO failed (check: a gate failed)
  InProgress = 4,      // --once moved or is waiting; not finished
  Held = 5,            // paused or held: outside a window, operator pause, no data
  Infrastructure = 6,  // control plane, Prometheus or state store unreachable after retries
  Locked = 7,          // the migration is locked by another runner
  Interrupted = 130,   // SIGINT or SIGTERM
};

constexpr int to_int(ExitCode c) { return static_cast<int>(c); }

}  // namespace meshmove::cli
