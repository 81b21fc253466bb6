#include "backends/webhook_notifier.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "backends/http_transport.hpp"
#include "planner/time_format.hpp"

namespace meshmove::backends {
namespace {

using planner::EngineEvent;
using planner::NotifyEvent;

// Slack's text fields treat these three as markup.
std::string slack_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string headline(NotifyEvent kind, const std::optional<int>& weight, int previous) {
  switch (kind) {
    case NotifyEvent::Start:
      return "started";
    case NotifyEvent::Step:
      return previous >= 0 && weight && *weight < previous ? "stepped back" : "advanced";
    case NotifyEvent::Hold:
      return "is holding";
    case NotifyEvent::Paused:
      return "paused";
    case NotifyEvent::Resumed:
      return "resumed";
    case NotifyEvent::Rollback:
      return "rolled back";
    case NotifyEvent::Promoted:
      return "promoted";
    case NotifyEvent::Drift:
      return "stopped: the live policy drifted";
    case NotifyEvent::Error:
      return "error";
  }
  return "event";
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Replaces the secret URL, its path, and each long path segment (a token a receiver may quote on its
// own) by "[redacted]" wherever a message quotes them.
std::string scrub(std::string line, const std::string& url) {
  std::vector<std::string> secrets{url};
  if (const auto scheme = url.find("://"); scheme != std::string::npos) {
    if (const auto path = url.find('/', scheme + 3); path != std::string::npos && url.size() - path > 1) {
      const std::string rest = url.substr(path + 1);
      secrets.push_back(rest);
      for (std::size_t b = 0; b < rest.size();) {
        const auto e = std::min(rest.find_first_of("/?&=#", b), rest.size());
        if (e - b >= 16) secrets.push_back(rest.substr(b, e - b));
        b = e + 1;
      }
    }
  }
  for (const auto& secret : secrets) {
    for (std::size_t p; (p = line.find(secret)) != std::string::npos;)
      line.replace(p, secret.size(), "[redacted]");
  }
  return line;
}

struct Job {
  planner::WebhookConfig target;
  std::string body;
  std::string id;
  std::string what;  // "rollback of orders-to-kube", for log lines
};

class Notifier final : public WebhookNotifier {
 public:
  Notifier(planner::Clock& clock, std::function<void(const std::string&)> log, WebhookNotifierOptions options)
      : m_clock(clock), m_log(std::move(log)), m_capacity(std::max<std::size_t>(1, options.queue_capacity)) {
    m_worker = std::thread([this] { work(); });
  }

  ~Notifier() override {
    std::size_t dropped = 0;
    {
      std::lock_guard lock(m_mutex);
      m_stopping = true;
      dropped = m_queue.size();
      m_stats.dropped += dropped;
      m_queue.clear();
    }
    m_wake.notify_all();
    m_worker.join();
    if (dropped > 0)
      log("dropped " + std::to_string(dropped) + " webhook notification(s) not sent before exit");
  }

  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void notify(const planner::Plan& plan, const EngineEvent& event) override {
    if (const auto kind = notify_event_for(event)) notify(plan, *kind, event);
  }

  void notify(const planner::Plan& plan, NotifyEvent kind, const EngineEvent& event) override {
    std::vector<const planner::NotifyConfig*> targets;
    for (const auto& t : plan.notify) {
      if (wants(t, kind)) targets.push_back(&t);
    }
    if (targets.empty()) return;
    const nlohmann::json payload = build_webhook_payload(plan, kind, event);
    // Replace invalid UTF-8 (a reason may quote a peer's error body) rather than throw.
    const std::string body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string what = std::string(to_string(kind)) + " of " + plan.name;
    std::vector<std::string> dropped;
    {
      std::lock_guard lock(m_mutex);
      for (const auto* t : targets) {
        if (m_queue.size() >= m_capacity) {
          dropped.push_back(m_queue.front().what);
          m_queue.pop_front();
          ++m_stats.dropped;
        }
        m_queue.push_back(Job{t->webhook, body, payload.value("id", ""), what});
      }
    }
    m_wake.notify_one();
    for (const auto& d : dropped) {
      log("webhook queue full (" + std::to_string(m_capacity) + "): dropped the oldest notification (" + d +
          ")");
    }
  }

  void notify_resumed(const planner::Plan& plan, const planner::MigrationState& state,
                      const std::string& reason) override {
    EngineEvent e;
    e.migration = plan.name;
    e.at = m_clock.now();
    e.message = reason;
    e.state = &state;
    e.step = state.step;
    notify(plan, NotifyEvent::Resumed, e);
  }

  std::size_t flush(planner::Duration max_wait) override {
    const auto deadline = m_clock.now() + max_wait;
    std::unique_lock lock(m_mutex);
    while (!m_queue.empty() || m_sending) {
      if (m_clock.now() >= deadline) break;
      // Woken when the worker goes idle; the slice only re-checks the deadline on the injected clock.
      m_idle.wait_for(lock, std::chrono::milliseconds(50));
    }
    return m_queue.size() + (m_sending ? 1 : 0);
  }

  [[nodiscard]] WebhookStats stats() const override {
    std::lock_guard lock(m_mutex);
    WebhookStats s = m_stats;
    s.queued = m_queue.size();
    s.sending = m_sending;
    return s;
  }

 private:
  // Serialised: the worker and the callers of notify() both log.
  void log(const std::string& line) const {
    std::lock_guard lock(m_log_mutex);
    if (m_log) m_log(line);
  }

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(m_mutex);
        m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
        if (m_queue.empty()) return;  // stopping
        job = std::move(m_queue.front());
        m_queue.pop_front();
        m_sending = true;
      }
      bool delivered = false;
      try {
        delivered = send(job);
      } catch (const std::exception& e) {  // std::bad_alloc and the like: never out of the thread
        log("webhook notification (" + job.what + ") not sent: " + e.what());
      }
      {
        std::lock_guard lock(m_mutex);
        m_sending = false;
        ++(delivered ? m_stats.delivered : m_stats.failed);
      }
      m_idle.notify_all();
    }
  }

  // Sends one notification with the target's timeout and retries; logs and returns false on failure.
  bool send(const Job& job) {
    std::string url = job.target.url;
    if (url.empty() && job.target.url_file.empty()) {
      log("webhook notification (" + job.what + ") not sent: the target has neither url nor urlFile");
      return false;
    }
    if (url.empty()) {
      auto secret = read_secret_file(job.target.url_file);  // read at each send: the file may be rotated
      if (!secret.ok()) {
        log("webhook notification (" + job.what + ") not sent: " + secret.error().message);
        return false;
      }
      url = std::move(*secret);
    }
    const std::string shown = redact_url(url);
    const auto timeout =
        job.target.timeout > planner::Duration::zero() ? job.target.timeout : std::chrono::seconds(5);
    const int attempts = std::max(0, job.target.retries) + 1;

    TransportConfig config;
    config.request_timeout = timeout;
    config.connect_timeout = std::min<planner::Duration>(timeout, std::chrono::seconds(5));
    config.max_response_bytes = 64 * 1024;
    config.retry.max_attempts = attempts;
    config.retry.initial_backoff = std::chrono::milliseconds(500);
    config.retry.max_backoff = std::chrono::seconds(5);
    config.retry.max_total = (timeout + config.retry.max_backoff) * attempts;  // every retry may start
    config.log = [this, &url](const std::string& line) {
      if (line.rfind("retrying", 0) == 0) log("webhook: " + scrub(line, url));
    };
    auto transport = make_curl_transport(std::move(config), m_clock);

    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.display_url = shown;
    request.body = job.body;
    // At least once: a retried POST may repeat a notification the receiver already took (a timeout after
    // it was handled); the id lets receivers drop the repeat, and a repeated message beats a lost rollback.
    request.idempotent = true;
    if (!job.id.empty()) request.headers.emplace_back("Idempotency-Key", job.id);
    auto response = transport->send(request);
    if (!response.ok()) {
      log("webhook notification (" + job.what + ") to " + shown +
          " failed: " + scrub(response.error().message, url));
      return false;
    }
    if (response->status < 200 || response->status >= 300) {
      std::string body = response->body.substr(0, 200);
      std::replace(body.begin(), body.end(), '\n', ' ');
      log("webhook notification (" + job.what + ") to " + shown + " was refused: HTTP " +
          std::to_string(response->status) + (body.empty() ? "" : ": " + scrub(body, url)));
      return false;
    }
    return true;
  }

  planner::Clock& m_clock;
  std::function<void(const std::string&)> m_log;
  mutable std::mutex m_log_mutex;
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;  // work queued, or stopping
  std::condition_variable m_idle;  // a notification was handled
  std::deque<Job> m_queue;
  bool m_sending = false;
  bool m_stopping = false;
  WebhookStats m_stats;
  std::thread m_worker;  // last: started once everything above exists
};

}  // namespace

std::optional<NotifyEvent> notify_event_for(const EngineEvent& event) {
  using K = EngineEvent::Kind;
  switch (event.kind) {
    case K::Started:
      return NotifyEvent::Start;
    case K::Wrote:
      return event.step >= 0 ? std::optional(NotifyEvent::Step) : std::nullopt;
    case K::Held:
      return NotifyEvent::Hold;
    case K::Paused:
      return NotifyEvent::Paused;
    case K::RolledBack:
      return NotifyEvent::Rollback;
    case K::Promoted:
      return NotifyEvent::Promoted;
    case K::Drift:
      return NotifyEvent::Drift;
    case K::Error:
      return NotifyEvent::Error;
    case K::Reconciled:
    case K::Evaluated:
    case K::Waiting:
    case K::Interrupted:
      return std::nullopt;
  }
  return std::nullopt;
}

bool wants(const planner::NotifyConfig& target, NotifyEvent event) {
  return target.events.empty() ||
         std::find(target.events.begin(), target.events.end(), event) != target.events.end();
}

nlohmann::json build_webhook_payload(const planner::Plan& plan, NotifyEvent kind, const EngineEvent& event) {
  const planner::MigrationState* state = event.state;
  const bool write =
      (event.kind == EngineEvent::Kind::Wrote || event.kind == EngineEvent::Kind::RolledBack) &&
      event.to_weight >= 0;
  std::optional<int> weight;
  if (event.to_weight >= 0) {
    weight = event.to_weight;
  } else if (state != nullptr) {
    weight = state->weight;
  }
  const int step = state != nullptr && !write ? state->step : event.step;
  std::string reason = event.message;
  if (reason.empty() && state != nullptr) reason = state->reason;
  const std::string migration = plan.name.empty() ? event.migration : plan.name;
  const std::string at = planner::format_rfc3339(event.at);

  nlohmann::json j;
  std::string text = "meshmove: " + migration + " " + headline(kind, weight, write ? event.from_weight : -1);
  if (weight) text += ": " + planner::format_weight(*weight) + "% to " + plan.to;
  if (step >= 0 && !plan.steps.empty()) {
    text += " (step " + std::to_string(step + 1) + " of " + std::to_string(plan.steps.size()) + ")";
  }
  if (!reason.empty()) text += " - " + reason;
  j["text"] = slack_escape(text);
  j["id"] = migration + "/" + to_string(kind) + "/" + std::to_string(step) + "/" + at;
  j["migration"] = migration;
  j["event"] = to_string(kind);
  j["service"] = plan.service;
  j["mesh"] = plan.mesh;
  j["from"] = plan.from;
  j["to"] = plan.to;
  j["weight"] = weight ? nlohmann::json(*weight / 100.0) : nlohmann::json();
  if (write && event.from_weight >= 0) j["previousWeight"] = event.from_weight / 100.0;
  j["step"] = step;
  j["steps"] = plan.steps.size();
  j["phase"] = state != nullptr ? nlohmann::json(planner::to_string(state->phase)) : nlohmann::json();
  j["reason"] = reason;
  j["at"] = at;
  nlohmann::json gates = nlohmann::json::array();
  if (!event.gates.empty()) {
    for (const auto& g : event.gates) {
      gates.push_back({{"slo", g.slo},
                       {"set", g.set},
                       {"verdict", planner::to_string(g.verdict)},
                       {"value", optional_number(g.value)},
                       {"bound", g.bound},
                       {"samples", optional_number(g.samples)},
                       {"reason", g.reason}});
    }
  } else if (state != nullptr && kind != NotifyEvent::Start) {
    // The verdicts that led here (a start's would be the previous run's).
    for (const auto& g : state->last_verdicts) {
      gates.push_back({{"slo", g.slo},
                       {"set", g.set},
                       {"verdict", g.verdict},
                       {"value", optional_number(g.value)},
                       {"bound", g.bound},
                       {"samples", optional_number(g.samples)},
                       {"reason", g.reason},
                       {"at", planner::format_rfc3339(g.at)}});
    }
  }
  if (!gates.empty()) j["gates"] = std::move(gates);
  return j;
}

std::unique_ptr<WebhookNotifier> make_webhook_notifier(planner::Clock& clock,
                                                       std::function<void(const std::string&)> log,
                                                       WebhookNotifierOptions options) {
  return std::make_unique<Notifier>(clock, std::move(log), options);
}

}  // namespace meshmove::backends
