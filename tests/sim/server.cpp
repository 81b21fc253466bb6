// The meshsim process: HTTP listeners (cpp-httplib), the real-time tick thread, signal handling, and the
// control-plane faults that need real time or sockets (delays, refused connections).
//
// Threads: the main thread opens and (for `down` faults) closes/reopens the API listener; one thread per
// listener accepts connections (httplib's pool serves them); the tick thread runs the Simulation in real
// time; a signal thread waits for SIGTERM/SIGINT. m_mutex guards the Simulation, the KumaApi and the flags.
#include "tests/sim/server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/sim/kuma_api.hpp"
#include "tests/sim/options.hpp"
#include "tests/sim/simulation.hpp"

namespace meshmove::sim {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Listener {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::string host;
  int port = 0;  // the bound port
};

class MeshsimServer {
 public:
  MeshsimServer(Options options, Scenario scenario)
      : m_options(std::move(options)),
        m_sim(std::move(scenario)),
        m_api(m_sim, std::chrono::system_clock::now(), hostname()) {}

  int run();
  // Makes run() return: called by the signal thread.
  void request_stop() {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
    m_cv.notify_all();
  }

 private:
  static std::string hostname() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "meshsim";
    return buf;
  }
  std::unique_ptr<httplib::Server> make_api_server();
  std::unique_ptr<httplib::Server> make_metrics_server();
  bool open(Listener& l, std::unique_ptr<httplib::Server> server, const std::string& host, int port);
  void close(Listener& l);
  void serve_api(const httplib::Request& req, httplib::Response& res, bool faults_apply);
  void tick_loop();

  Options m_options;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  Simulation m_sim;
  KumaApi m_api;
  bool m_stop = false;
  bool m_api_down_wanted = false;
  Listener m_api_listener;
  Listener m_metrics_listener;
  std::vector<Listener> m_retired;  // closed API listeners still finishing their last requests
};

std::unique_ptr<httplib::Server> MeshsimServer::make_api_server() {
  std::unique_ptr<httplib::Server> server;
  if (!m_options.tls_cert.empty()) {
    server = std::make_unique<httplib::SSLServer>(m_options.tls_cert.c_str(), m_options.tls_key.c_str());
  } else {
    server = std::make_unique<httplib::Server>();
  }
  if (!server->is_valid()) return nullptr;
  server->set_keep_alive_timeout(1);  // idle connections must not outlive a `down` fault by much
  const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    serve_api(req, res, true);
  };
  server->Get("(.*)", handler);
  server->Put("(.*)", handler);
  server->Post("(.*)", handler);
  server->Delete("(.*)", handler);
  server->Patch("(.*)", handler);
  server->Options("(.*)", handler);
  return server;
}

std::unique_ptr<httplib::Server> MeshsimServer::make_metrics_server() {
  auto server = std::make_unique<httplib::Server>();
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto body = std::make_shared<std::string>();
    {
      const std::lock_guard lock(m_mutex);
      m_sim.write_metrics(*body);
    }
    // A fixed-length provider: httplib compresses plain bodies for clients that accept it, and its brotli
    // takes minutes on the tens of megabytes of a 1,000-service scenario; loopback needs no compression.
    res.set_content_provider(body->size(), "text/plain; version=0.0.4; charset=utf-8",
                             [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               sink.write(body->data() + offset, length);
                               return true;
                             });
  });
  const auto sim_endpoints = [this](const httplib::Request& req, httplib::Response& res) {
    if (KumaApi::is_sim_path(req.path)) {
      serve_api(req, res, false);
    } else {
      res.status = 404;
      res.set_content("404: Page Not Found (this is meshsim's metrics address: GET /metrics)", "text/plain");
    }
  };
  server->Get("(.*)", sim_endpoints);
  server->Post("(.*)", sim_endpoints);
  return server;
}

void MeshsimServer::serve_api(const httplib::Request& req, httplib::Response& res, bool faults_apply) {
  ApiRequest request;
  request.method = req.method;
  request.path = req.path;
  request.query = req.params;
  request.body = req.body;
  request.content_type = req.get_header_value("Content-Type");
  const std::string scheme = m_options.tls_cert.empty() ? "http" : "https";
  request.base_url = scheme + "://" + req.get_header_value("Host");
  ApiResponse response;
  bool injected = false;
  {
    std::unique_lock lock(m_mutex);
    const bool sim_path = KumaApi::is_sim_path(req.path);
    const ControlPlaneState cp = m_sim.control_plane();
    if (faults_apply && !sim_path && cp.delay.count() > 0) {
      // The injected latency of the control plane; a shutdown cuts it short.
      m_cv.wait_for(lock, cp.delay, [this] { return m_stop; });
    }
    if (faults_apply && !sim_path && cp.status != 0) {
      response = std_error(
          cp.status, status_title(cp.status),
          "meshsim: control-plane fault injected by the scenario (status " + std::to_string(cp.status) + ")");
      injected = true;
    } else {
      response = m_api.handle(request, std::chrono::system_clock::now());
    }
  }
  res.status = response.status;
  res.set_content(response.body, response.content_type.c_str());
  if (m_options.verbose) {
    std::fprintf(stderr, "meshsim: %s %s -> %d%s\n", req.method.c_str(), req.path.c_str(), response.status,
                 injected ? " (injected)" : "");
  }
}

bool MeshsimServer::open(Listener& l, std::unique_ptr<httplib::Server> server, const std::string& host,
                         int port) {
  if (!server) return false;
  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(host);
    if (bound <= 0) return false;
  } else if (!server->bind_to_port(host, port)) {
    return false;
  }
  l.server = std::move(server);
  l.host = host;
  l.port = bound;
  l.thread = std::thread([s = l.server.get()] { s->listen_after_bind(); });
  // stop() only works once the accept loop runs: wait for it (bounded).
  const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (!l.server->is_running() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return l.server->is_running();
}

void MeshsimServer::close(Listener& l) {
  if (!l.server) return;
  l.server->stop();
  if (l.thread.joinable()) l.thread.join();
  l.server.reset();
}

void MeshsimServer::tick_loop() {
  const auto tick = m_sim.scenario().tick;
  const auto start = SteadyClock::now();
  std::uint64_t ticks = 0;
  bool warned = false;
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    const auto due = start + tick * static_cast<long long>(ticks + 1);
    if (m_cv.wait_until(lock, due, [this] { return m_stop; })) break;
    // Catch up on every tick that is due, at most 50 before letting API requests in again.
    int ran = 0;
    while (start + tick * static_cast<long long>(ticks + 1) <= SteadyClock::now() && ran < 50) {
      m_sim.run_tick();
      ++ticks;
      ++ran;
    }
    if (ran == 50 && !warned) {
      std::fprintf(stderr, "meshsim: the simulation is falling behind real time (tick %lld ms)\n",
                   static_cast<long long>(tick.count()));
      warned = true;
    }
    const bool down = m_sim.control_plane().down;
    if (down != m_api_down_wanted) {
      m_api_down_wanted = down;
      m_cv.notify_all();
    }
  }
}

int MeshsimServer::run() {
  if (!open(m_metrics_listener, make_metrics_server(), m_options.metrics_host, m_options.metrics_port)) {
    std::fprintf(stderr, "meshsim: cannot listen on %s:%d for metrics\n", m_options.metrics_host.c_str(),
                 m_options.metrics_port);
    return 1;
  }
  auto api_server = make_api_server();
  if (!api_server) {
    std::fprintf(stderr, "meshsim: cannot load the TLS certificate %s and key %s\n",
                 m_options.tls_cert.c_str(), m_options.tls_key.c_str());
    close(m_metrics_listener);
    return 1;
  }
  if (!open(m_api_listener, std::move(api_server), m_options.api_host, m_options.api_port)) {
    std::fprintf(stderr, "meshsim: cannot listen on %s:%d for the API\n", m_options.api_host.c_str(),
                 m_options.api_port);
    close(m_metrics_listener);
    return 1;
  }
  const int api_port = m_api_listener.port;
  std::printf("listening api=%s:%d metrics=%s:%d\nready\n", m_options.api_host.c_str(), api_port,
              m_options.metrics_host.c_str(), m_metrics_listener.port);
  std::fflush(stdout);
  std::fprintf(stderr, "meshsim: Kuma API on %s://%s:%d, metrics on http://%s:%d/metrics\n",
               m_options.tls_cert.empty() ? "http" : "https", m_options.api_host.c_str(), api_port,
               m_options.metrics_host.c_str(), m_metrics_listener.port);

  std::thread ticker([this] { tick_loop(); });
  std::unique_lock lock(m_mutex);
  bool api_down = false;
  while (true) {
    m_cv.wait(lock, [&] { return m_stop || m_api_down_wanted != api_down; });
    if (m_stop) break;
    if (m_api_down_wanted && !api_down) {
      lock.unlock();
      m_api_listener.server->stop();  // refuse new connections now; in-flight requests finish
      m_retired.push_back(std::move(m_api_listener));
      m_api_listener = Listener{};
      std::fprintf(stderr, "meshsim: control plane down: the API refuses connections\n");
      api_down = true;
      lock.lock();
    } else if (!m_api_down_wanted && api_down) {
      lock.unlock();
      const bool reopened = open(m_api_listener, make_api_server(), m_options.api_host, api_port);
      lock.lock();
      if (reopened) {
        std::fprintf(stderr, "meshsim: control plane up again on port %d\n", api_port);
        api_down = false;
      } else {  // the port is still busy: retry shortly
        m_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return m_stop; });
      }
    }
  }
  lock.unlock();
  ticker.join();
  close(m_api_listener);
  for (Listener& l : m_retired) {
    if (l.thread.joinable()) l.thread.join();
  }
  close(m_metrics_listener);
  return 0;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int run_meshsim(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const OptionsParse parsed = parse_options(args);
  if (!parsed.options) {
    std::fprintf(stderr, "meshsim: %s\n%s", parsed.error.c_str(), usage().c_str());
    return 2;
  }
  Options options = *parsed.options;
  if (options.help) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  const auto text = read_text(options.scenario_path);
  if (!text) {
    std::fprintf(stderr, "meshsim: cannot read the scenario %s\n", options.scenario_path.c_str());
    return 2;
  }
  ScenarioParse scenario = parse_scenario(*text, options.scenario_path);
  for (const auto& d : scenario.diagnostics)
    std::fprintf(stderr, "%s\n", planner::format_diagnostic(d).c_str());
  if (!scenario.scenario) return 2;
  if (options.seed) scenario.scenario->seed = *options.seed;

  // SIGTERM/SIGINT are taken by a dedicated thread (blocked everywhere else); SIGPIPE is ignored so that
  // a client hanging up cannot kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  MeshsimServer server(std::move(options), std::move(*scenario.scenario));
  std::thread signal_thread([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.request_stop();
  });
  const int code = server.run();
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwait when run() ended without a signal
  signal_thread.join();
  return code;
}

}  // namespace meshmove::sim
