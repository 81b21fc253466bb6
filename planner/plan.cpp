#include "planner/plan.hpp"

#include <cctype>

namespace meshmove::planner {

const char* to_string(ControlPlaneType t) {
  switch (t) {
    case ControlPlaneType::Kuma: return "kuma";
    case ControlPlaneType::Kubernetes: return "kubernetes";
    case ControlPlaneType::Consul: return "consul";
    case ControlPlaneType::File: return "file";
  }
  return "?";
}

const char* to_string(RouteKind r) {
  switch (r) {
    case RouteKind::MeshHttpRoute: return "mesh-http-route";
    case RouteKind::MeshTcpRoute: return "mesh-tcp-route";
    case RouteKind::TrafficRoute: return "traffic-route";
    case RouteKind::MeshService: return "mesh-service";
  }
  return "?";
}

const char* to_string(NoDataAction a) {
  switch (a) {
    case NoDataAction::Hold: return "hold";
    case NoDataAction::Fail: return "fail";
    case NoDataAction::Pass: return "pass";
  }
  return "?";
}

const char* to_string(MaxHoldAction a) { return a == MaxHoldAction::Pause ? "pause" : "rollback"; }
const char* to_string(DecisionMode m) { return m == DecisionMode::Sequential ? "sequential" : "threshold"; }

const char* to_string(SloType t) {
  switch (t) {
    case SloType::ErrorRate: return "error-rate";
    case SloType::Latency: return "latency";
    case SloType::Custom: return "custom";
  }
  return "?";
}

const char* to_string(SetSelector s) {
  switch (s) {
    case SetSelector::To: return "to";
    case SetSelector::From: return "from";
    case SetSelector::Both: return "both";
  }
  return "?";
}

const char* to_string(RollbackMode m) { return m == RollbackMode::Immediate ? "immediate" : "stepped"; }

const char* to_string(NotifyEvent e) {
  switch (e) {
    case NotifyEvent::Start: return "start";
    case NotifyEvent::Step: return "step";
    case NotifyEvent::Hold: return "hold";
    case NotifyEvent::Paused: return "paused";
    case NotifyEvent::Resumed: return "resumed";
    case NotifyEvent::Rollback: return "rollback";
    case NotifyEvent::Promoted: return "promoted";
    case NotifyEvent::Drift: return "drift";
    case NotifyEvent::Error: return "error";
  }
  return "?";
}

std::string format_weight(int basis_points) {
  const bool negative = basis_points < 0;
  const int v = negative ? -basis_points : basis_points;
  std::string out = std::to_string(v / 100);
  const int frac = v % 100;
  if (frac != 0) {
    out += '.';
    out += static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
  }
  return negative ? "-" + out : out;
}

std::string default_policy_name(const std::string& service) {
  std::string body;
  for (char c : service) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      body += static_cast<char>(std::tolower(u));
    } else if (c == '.' || c == '-') {
      body += c;
    } else {
      body += '-';
    }
  }
  std::string name = "meshmove-" + body;
  if (name.size() > 253) name.resize(253);
  while (!name.empty() && std::isalnum(static_cast<unsigned char>(name.back())) == 0) name.pop_back();
  return name;
}

std::string policy_name(const Plan& plan) {
  return plan.control_plane.policy_name.empty() ? default_policy_name(plan.service) : plan.control_plane.policy_name;
}

}  // namespace meshmove::planner
