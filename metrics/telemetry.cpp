#include "metrics/telemetry.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gateway.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "backends/atomic_file.hpp"
#include "meshmove/version.hpp"

namespace meshmove::metrics {
namespace {

using planner::ErrorKind;
using planner::make_error;

constexpr std::array<planner::Phase, 5> k_phases = {planner::Phase::Pending, planner::Phase::Ramping,
                                                    planner::Phase::Paused, planner::Phase::Promoted,
                                                    planner::Phase::RolledBack};
constexpr std::array<planner::Verdict, 4> k_verdicts = {planner::Verdict::Pass, planner::Verdict::Fail,
                                                        planner::Verdict::Hold, planner::Verdict::Error};

std::vector<std::string> sets_of(planner::SetSelector s) {
  switch (s) {
    case planner::SetSelector::To:
      return {"to"};
    case planner::SetSelector::From:
      return {"from"};
    case planner::SetSelector::Both:
      return {"to", "from"};
  }
  return {"to"};
}

// A Pushgateway URL taken apart for prometheus::Gateway, which builds "HOST:PORT/metrics/job/JOB".
struct GatewayAddress {
  std::string host;  // scheme://host
  std::string port;  // the port, followed by the path prefix if any
  std::string username;
  std::string password;
  std::string shown;  // for messages: no credentials
};

std::optional<GatewayAddress> parse_gateway_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string rest = url.substr(scheme_end + 3);
  std::string prefix;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    prefix = rest.substr(slash);
    rest.resize(slash);
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  GatewayAddress a;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    a.username = userinfo.substr(0, colon);
    if (colon != std::string::npos) a.password = userinfo.substr(colon + 1);
  }
  std::string host = rest;
  std::string port;
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  if (port.empty()) port = scheme == "https" ? "443" : "80";
  if (port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  a.host = scheme + "://" + host;
  a.shown = a.host + ":" + port + prefix;
  a.port = port + prefix;
  return a;
}

// The result of a push running on its own thread (prometheus::Gateway sets no timeout of its own).
struct PushOutcome {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  int status = 0;
  std::string exception;
};

}  // namespace

struct Telemetry::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& weight =
      prometheus::BuildGauge()
          .Name("meshmove_migration_weight")
          .Help(
              "Percent of the service's traffic that meshmove routes to each instance set (from: the VMs, "
              "to: Kubernetes), as last written and verified")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& phase =
      prometheus::BuildGauge()
          .Name("meshmove_migration_phase")
          .Help(
              "1 for the migration's current phase, 0 for the others (pending, ramping, paused, promoted, "
              "rolled-back)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& step =
      prometheus::BuildGauge()
          .Name("meshmove_migration_step")
          .Help("Index of the plan step in effect (0 is the first step); -1 while pinned to the from set")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& gate_value =
      prometheus::BuildGauge()
          .Name("meshmove_gate_value")
          .Help(
              "Latest point estimate of each SLO gate, in the SLO's unit (error rate: fraction; latency: "
              "milliseconds or fraction of slow requests; custom: the query's value)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& verdicts =
      prometheus::BuildCounter()
          .Name("meshmove_gate_verdicts_total")
          .Help("Gate evaluations by verdict (PASS, FAIL, HOLD, ERROR)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& transitions =
      prometheus::BuildCounter()
          .Name("meshmove_transitions_total")
          .Help("Traffic policy writes that meshmove made and verified (pin, advance, rollback)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rollbacks = prometheus::BuildCounter()
                                                           .Name("meshmove_rollbacks_total")
                                                           .Help("Migrations rolled back to the from set")
                                                           .Register(*registry);
  prometheus::Family<prometheus::Counter>& control_plane =
      prometheus::BuildCounter()
          .Name("meshmove_control_plane_requests_total")
          .Help("Requests to the control plane API by HTTP status code (0: no response)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& build_info = prometheus::BuildGauge()
                                                          .Name("meshmove_build_info")
                                                          .Help("meshmove's version; always 1")
                                                          .Register(*registry);

  // Guards the read-modify sequences below (prometheus-cpp makes each single call thread-safe).
  std::mutex mutex;
  std::map<std::string, std::pair<std::string, std::string>> subsets;  // migration -> from, to subsets
  std::unique_ptr<prometheus::Exposer> exposer;

  Impl() { build_info.Add({{"version", k_version}}).Set(1); }

  // Creates every series of a migration at its initial value, so that rate() and increase() see the
  // first change. Caller holds the mutex.
  void ensure(const planner::Plan& plan) {
    const std::string& m = plan.name;
    auto [it, fresh] = subsets.try_emplace(m, plan.from, plan.to);
    if (!fresh && it->second != std::make_pair(plan.from, plan.to)) {
      // The plan's subsets changed: drop the weight series named after the old ones.
      for (const auto& [set, subset] :
           {std::pair{"from", it->second.first}, std::pair{"to", it->second.second}}) {
        const prometheus::Labels labels{{"migration", m}, {"set", set}, {"subset", subset}};
        if (weight.Has(labels)) weight.Remove(&weight.Add(labels));
      }
      it->second = {plan.from, plan.to};
      fresh = true;
    }
    if (!fresh) return;
    weight.Add({{"migration", m}, {"set", "from"}, {"subset", plan.from}}).Set(100);
    weight.Add({{"migration", m}, {"set", "to"}, {"subset", plan.to}}).Set(0);
    for (const auto p : k_phases) {
      phase.Add({{"migration", m}, {"phase", planner::to_string(p)}})
          .Set(p == planner::Phase::Pending ? 1 : 0);
    }
    step.Add({{"migration", m}}).Set(-1);
    transitions.Add({{"migration", m}});
    rollbacks.Add({{"migration", m}});
    for (const auto& slo : plan.gates.slos) {
      for (const auto& set : sets_of(slo.set)) ensure_verdicts(m, slo.name, set);
    }
  }

  void ensure_verdicts(const std::string& m, const std::string& slo, const std::string& set) {
    for (const auto v : k_verdicts) {
      verdicts.Add({{"migration", m}, {"slo", slo}, {"set", set}, {"verdict", planner::to_string(v)}});
    }
  }

  void set_weight(const planner::Plan& plan, int to_basis_points) {
    const double to = to_basis_points / 100.0;
    weight.Add({{"migration", plan.name}, {"set", "to"}, {"subset", plan.to}}).Set(to);
    weight.Add({{"migration", plan.name}, {"set", "from"}, {"subset", plan.from}}).Set(100.0 - to);
  }

  void set_state(const planner::Plan& plan, const planner::MigrationState& s) {
    set_weight(plan, s.weight);
    for (const auto p : k_phases) {
      phase.Add({{"migration", plan.name}, {"phase", planner::to_string(p)}}).Set(p == s.phase ? 1 : 0);
    }
    step.Add({{"migration", plan.name}}).Set(s.step);
  }

  void set_gate_value(const std::string& m, const std::string& slo, const std::string& set,
                      const std::optional<double>& value) {
    const prometheus::Labels labels{{"migration", m}, {"slo", slo}, {"set", set}};
    if (value) {
      gate_value.Add(labels).Set(*value);
    } else if (gate_value.Has(labels)) {
      gate_value.Remove(&gate_value.Add(labels));  // no estimate: no sample, rather than a stale one
    }
  }
};

Telemetry::Telemetry() : m_impl(std::make_unique<Impl>()) {}

Telemetry::~Telemetry() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->exposer.reset();  // joins civetweb's threads
}

void Telemetry::report(const planner::Plan& plan, const planner::EngineEvent& event) {
  using Kind = planner::EngineEvent::Kind;
  Impl& t = *m_impl;
  std::lock_guard lock(t.mutex);
  t.ensure(plan);
  if (event.state != nullptr) {
    t.set_state(plan, *event.state);
  } else if ((event.kind == Kind::Wrote || event.kind == Kind::RolledBack) && event.to_weight >= 0) {
    t.set_weight(plan, event.to_weight);
  }
  if ((event.kind == Kind::Wrote || event.kind == Kind::RolledBack) && event.to_weight >= 0) {
    t.transitions.Add({{"migration", plan.name}}).Increment();
  }
  if (event.kind == Kind::RolledBack) t.rollbacks.Add({{"migration", plan.name}}).Increment();
  if (event.kind == Kind::Evaluated) {
    for (const auto& g : event.gates) {
      t.ensure_verdicts(plan.name, g.slo, g.set);
      t.verdicts
          .Add({{"migration", plan.name},
                {"slo", g.slo},
                {"set", g.set},
                {"verdict", planner::to_string(g.verdict)}})
          .Increment();
      t.set_gate_value(plan.name, g.slo, g.set, g.value);
    }
  }
}

void Telemetry::record_state(const planner::Plan& plan, const planner::MigrationState& state) {
  Impl& t = *m_impl;
  std::lock_guard lock(t.mutex);
  t.ensure(plan);
  t.set_state(plan, state);
  for (const auto& g : state.last_verdicts) t.set_gate_value(plan.name, g.slo, g.set, g.value);
}

void Telemetry::count_control_plane_response(int status) {
  m_impl->control_plane.Add({{"code", std::to_string(status < 0 ? 0 : status)}}).Increment();
}

planner::Result<int> Telemetry::serve(const std::string& address) {
  Impl& t = *m_impl;
  std::lock_guard lock(t.mutex);
  t.exposer.reset();  // frees the address when serving again on the same one
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(address, 2);
    exposer->RegisterCollectable(t.registry);
    const auto ports = exposer->GetListeningPorts();
    if (ports.empty()) {
      return make_error(ErrorKind::Config, "cannot serve metrics on " + address + ": nothing is listening");
    }
    t.exposer = std::move(exposer);
    return ports.front();
  } catch (const std::exception& e) {
    return make_error(ErrorKind::Config, "cannot serve metrics on " + address +
                                             ": the port is in use or the address is not HOST:PORT such as "
                                             "127.0.0.1:9464 (" +
                                             e.what() + ")");
  }
}

std::string Telemetry::text() const {
  try {
    return prometheus::TextSerializer{}.Serialize(m_impl->registry->Collect());
  } catch (const std::exception&) {
    return {};  // only std::bad_alloc is possible here
  }
}

planner::Status Telemetry::write_file(const std::string& path) const {
  // Readable by the node exporter, which usually runs as another user; the metrics are not secret.
  backends::AtomicWriteOptions o;
  o.mode = 0644;
  o.error_kind = ErrorKind::Config;
  o.what = "the metrics file";
  return backends::write_file_atomically(path, text(), o);
}

planner::Status Telemetry::push(const std::string& gateway_url, const std::string& job,
                                const std::map<std::string, std::string>& grouping,
                                planner::Duration timeout) const {
  const auto address = parse_gateway_url(gateway_url);
  if (!address) {
    return make_error(ErrorKind::Config,
                      "the Pushgateway URL is not http(s)://HOST[:PORT][/PREFIX]: " +
                          (gateway_url.find('@') == std::string::npos ? gateway_url : "[redacted]"));
  }
  const auto bad_segment = [](const std::string& s) { return s.empty() || s.find('/') != std::string::npos; };
  if (bad_segment(job))
    return make_error(ErrorKind::Config, "the Pushgateway job name must be non-empty without '/'");
  for (const auto& [name, value] : grouping) {
    if (bad_segment(name) || bad_segment(value)) {
      return make_error(ErrorKind::Config, "the Pushgateway grouping label " + name + "=" + value +
                                               " must be non-empty without '/'");
    }
  }
  const std::string where = "the Pushgateway at " + address->shown;
  auto outcome = std::make_shared<PushOutcome>();
  std::shared_ptr<prometheus::Gateway> gateway;
  std::thread worker;
  try {
    gateway = std::make_shared<prometheus::Gateway>(address->host, address->port, job, grouping,
                                                    address->username, address->password);
    gateway->RegisterCollectable(m_impl->registry);
    // The thread owns what it uses, so that it may outlive this call (and this object) after a timeout.
    worker = std::thread([outcome, gateway, registry = m_impl->registry] {
      int status = 0;
      std::string exception;
      try {
        status = gateway->Push();
      } catch (const std::exception& e) {
        exception = e.what();
      }
      std::lock_guard lock(outcome->mutex);
      outcome->done = true;
      outcome->status = status;
      outcome->exception = std::move(exception);
      outcome->cv.notify_all();
    });
  } catch (const std::exception& e) {
    return make_error(ErrorKind::Config, "cannot push to " + where + ": " + e.what());
  }
  std::unique_lock lock(outcome->mutex);
  if (!outcome->cv.wait_for(lock, timeout, [&] { return outcome->done; })) {
    lock.unlock();
    worker.detach();  // libcurl has no timeout set by prometheus-cpp; the process does not wait for it
    return make_error(ErrorKind::Unavailable,
                      "pushing to " + where + " took longer than " + planner::format_duration(timeout));
  }
  const int status = outcome->status;
  const std::string exception = outcome->exception;
  lock.unlock();
  worker.join();
  if (!exception.empty())
    return make_error(ErrorKind::Unavailable, "cannot push to " + where + ": " + exception);
  if (status < 0) {
    return make_error(ErrorKind::Unavailable,
                      "cannot push to " + where + ": " + curl_easy_strerror(static_cast<CURLcode>(-status)));
  }
  if (status >= 200 && status < 300) return planner::ok_status();
  return make_error(status >= 500 || status == 429 ? ErrorKind::Unavailable : ErrorKind::Rejected,
                    where + " answered HTTP " + std::to_string(status) + " to the push", status);
}

}  // namespace meshmove::metrics
