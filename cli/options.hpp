#pragma once
// Options shared by every command (set by flags, environment variables and defaults).
#include <string>
#include <vector>

namespace meshmove::cli {

enum class OutputFormat { Text, Json };
enum class LogFormat { Text, Json };

struct GlobalOptions {
  OutputFormat output = OutputFormat::Text;  // -o text|json
  LogFormat log_format = LogFormat::Text;    // --log-format
  int verbosity = 0;                         // -v (repeatable)
  bool quiet = false;                        // -q
  bool color = true;                         // off with --no-color or NO_COLOR
  std::string prometheus_url;                // --prometheus-url / MESHMOVE_PROMETHEUS_URL
  std::string control_plane_url;             // --control-plane-url / MESHMOVE_CONTROL_PLANE_URL
  std::string state_dir;                     // --state-dir
  std::string state_url;                     // --state / MESHMOVE_STATE: etcd://host:port/prefix
  std::string metrics_file;                  // --metrics-file: write own metrics here at exit
  std::string pushgateway;                   // --pushgateway: push own metrics here at exit
};

struct ValidateOptions {
  std::vector<std::string> plans;
};

struct PlanOptions {
  std::string plan;
  bool offline = false;
  std::string start;  // RFC 3339; default now
  bool skip_preflight = false;
};

struct ApplyOptions {
  std::vector<std::string> plans;
  bool once = false;
  bool dry_run = false;
  bool shadow = false;
  bool adopt = false;
  bool restart = false;
  bool accept_plan_change = false;
  bool skip_preflight = false;
  bool rollback_on_interrupt = false;
  std::string rollback_deadline = "30s";  // --rollback-deadline: how long a rollback write retries
  std::string report;        // JUnit XML file
  std::string metrics_addr;  // serve meshmove's own metrics here during apply
};

struct StatusOptions {
  std::vector<std::string> plans;  // empty: every migration in the state directory
};

struct OperatorOptions {
  std::string plan;
  std::string reason;
  bool yes = false;    // promote without asking
  bool adopt = false;  // promote: overwrite a policy meshmove does not own, or drift
};

struct CheckOptions {
  std::string plan;
  std::string window = "5m";  // Prometheus duration
};

struct RollbackOptions {
  std::string plan;
  bool adopt = false;           // take over a policy meshmove does not own, or accept drift
  bool skip_preflight = false;  // write even if the from set shows no instances
  std::string reason;           // recorded in the state and journal
  bool no_state = false;        // --no-state: write and verify 0% without taking the lock or recording it
  std::string rollback_deadline = "30s";  // --rollback-deadline: how long the write retries
};

}  // namespace meshmove::cli
