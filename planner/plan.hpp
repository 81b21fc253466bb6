#pragma once
// The typed migration plan, schema meshmove/v1 (DESIGN.md §3; every field and default is documented
// in man/meshmove-plan.5). Weights are integer basis points: 10000 = 100 percent, 150 = 1.5 percent.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "planner/duration.hpp"

namespace meshmove::planner {

inline constexpr int k_full_weight = 10000;  // basis points

// Where a field was found in the plan file (1-based; 0 when the field was absent and defaulted).
struct SourcePos {
  int line = 0;
  int column = 0;
};

enum class ControlPlaneType { Kuma, Kubernetes, Consul, File };
enum class RouteKind { MeshHttpRoute, MeshTcpRoute, TrafficRoute, MeshService };

struct ControlPlaneConfig {
  ControlPlaneType type = ControlPlaneType::Kuma;
  std::string url = "http://127.0.0.1:5681";
  RouteKind route = RouteKind::MeshHttpRoute;
  std::string policy_name;  // empty: "meshmove-" + RFC 1123 form of the service name
  std::string token_file;   // bearer token; MESHMOVE_KUMA_TOKEN overrides when set
  std::string ca_file;
  std::string cert_file;  // client certificate for mTLS (with key_file)
  std::string key_file;
  bool insecure_skip_verify = false;
  Duration timeout = std::chrono::seconds(10);  // per request, total
  std::string namespace_;                        // kubernetes only
};

struct WindowsConfig {
  std::string timezone = "UTC";        // IANA name
  std::vector<std::string> allow;      // "Mon-Fri 09:00-17:00"; empty: always allowed
  std::vector<std::string> freeze;     // "2026-12-20/2027-01-04" (inclusive local dates)
  SourcePos timezone_pos;
  std::vector<SourcePos> allow_pos;
  std::vector<SourcePos> freeze_pos;
};

struct BasicAuth {
  std::string username;
  std::string password_file;
};

struct PrometheusConfig {
  std::string url = "http://127.0.0.1:9090";
  Duration timeout = std::chrono::seconds(5);
  std::string token_file;
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::optional<BasicAuth> basic_auth;
};

enum class NoDataAction { Hold, Fail, Pass };
enum class MaxHoldAction { Pause, Rollback };
enum class DecisionMode { Sequential, Threshold };
enum class SloType { ErrorRate, Latency, Custom };
enum class SetSelector { To, From, Both };

struct Slo {
  std::string name;
  SloType type = SloType::Custom;
  SetSelector set = SetSelector::To;  // which instance set the SLO is evaluated for
  std::optional<double> max;          // error-rate: fraction; latency with percentile: milliseconds
  std::optional<double> min;          // custom queries only
  std::optional<double> percentile;   // latency: (0,100), e.g. 99
  std::optional<double> threshold;    // latency: bound in milliseconds, with max_slow_fraction
  std::optional<double> max_slow_fraction;  // latency: fraction of requests allowed above threshold
  bool relative_to_from = false;             // relativeTo: from
  std::optional<double> max_increase;        // with relativeTo: allowed increase (fraction)
  std::string query;                         // custom PromQL with {{variables}}
  std::optional<long long> min_requests;     // overrides gates.minRequests
  std::optional<NoDataAction> on_no_data;    // overrides gates.onNoData
  SourcePos pos;
};

struct GatesConfig {
  PrometheusConfig prometheus;
  long long min_requests = 100;
  NoDataAction on_no_data = NoDataAction::Hold;
  Duration max_hold = std::chrono::minutes(30);  // 0: hold forever
  MaxHoldAction on_max_hold = MaxHoldAction::Pause;
  int failure_limit = 2;  // consecutive FAIL evaluations
  DecisionMode decision = DecisionMode::Sequential;
  double confidence = 0.99;
  double breach_factor = 2.0;  // sequential: the alternative hypothesis is breach_factor x the bound
  std::vector<Slo> slos;
};

enum class RollbackMode { Immediate, Stepped };

struct RollbackConfig {
  RollbackMode mode = RollbackMode::Immediate;
  Duration step_interval = std::chrono::seconds(30);  // stepped: time at each step on the way down
};

enum class NotifyEvent { Start, Step, Hold, Paused, Resumed, Rollback, Promoted, Drift, Error };

struct WebhookConfig {
  std::string url;       // not a secret (may be logged with its query string redacted)
  std::string url_file;  // a file holding the URL (e.g. a Slack webhook, which is a secret)
  Duration timeout = std::chrono::seconds(5);
  int retries = 2;
};

struct NotifyConfig {
  WebhookConfig webhook;
  std::vector<NotifyEvent> events;  // empty: every event
};

struct Plan {
  std::string file;  // where it was read from (for diagnostics and state)
  std::string api_version = "meshmove/v1";
  std::string kind = "Migration";
  std::string name;  // metadata.name, RFC 1123 label; the key of the migration's state
  std::map<std::string, std::string> labels;
  std::string service;
  std::string mesh = "default";
  std::string tag_key = "env";
  std::string from;
  std::string to;
  ControlPlaneConfig control_plane;
  std::vector<int> steps;  // basis points, strictly increasing, each in (0, 10000]
  Duration bake = std::chrono::minutes(5);
  Duration interval = std::chrono::seconds(30);
  Duration settle = std::chrono::seconds(30);
  WindowsConfig windows;
  GatesConfig gates;
  RollbackConfig rollback;
  std::vector<NotifyConfig> notify;

  [[nodiscard]] int final_weight() const { return steps.empty() ? 0 : steps.back(); }
};

// Names used in plan files and output.
const char* to_string(ControlPlaneType t);
const char* to_string(RouteKind r);
const char* to_string(NoDataAction a);
const char* to_string(MaxHoldAction a);
const char* to_string(DecisionMode m);
const char* to_string(SloType t);
const char* to_string(SetSelector s);
const char* to_string(RollbackMode m);
const char* to_string(NotifyEvent e);

// "12.5" for 1250 basis points, "100" for 10000.
std::string format_weight(int basis_points);

// The default policy name: "meshmove-" + the service lower-cased with every character outside
// [a-z0-9.-] replaced by '-', trimmed to 253 characters and to alphanumeric ends.
std::string default_policy_name(const std::string& service);

// The policy name the plan uses: control_plane.policy_name or default_policy_name(service).
std::string policy_name(const Plan& plan);

}  // namespace meshmove::planner
