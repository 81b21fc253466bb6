#include "tests/support/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace meshmove::testsupport {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> build_env(const RunOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) env.erase(name);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

struct Spawned {
  pid_t pid;
  int in_fd;
  int out_fd;
  int err_fd;
};

Spawned spawn(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  const auto env = build_env(options);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: own process group so that stop() reaches grandchildren too.
    setpgid(0, 0);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execvpe(cargv[0], cargv.data(), cenv.data());
    const char* msg = "exec failed\n";
    (void)!write(2, msg, std::strlen(msg));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  return {pid, in_pipe[1], out_pipe[0], err_pipe[0]};
}

// Reads whatever is available on the fds within `timeout`; closes an fd (sets it to -1) at EOF.
void pump_fds(int& out_fd, std::string& out, int& err_fd, std::string& err, std::chrono::milliseconds timeout) {
  std::array<pollfd, 2> fds{};
  nfds_t n = 0;
  if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
  if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
  if (n == 0) return;
  const int r = ::poll(fds.data(), n, static_cast<int>(timeout.count()));
  if (r <= 0) return;
  for (nfds_t i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[65536];
    const ssize_t got = read(fds[i].fd, buf, sizeof buf);
    const bool is_out = fds[i].fd == out_fd;
    if (got > 0) {
      (is_out ? out : err).append(buf, static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
      close(fds[i].fd);
      (is_out ? out_fd : err_fd) = -1;
    }
  }
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  Spawned s = spawn(argv, options);
  // Feed stdin from a thread so a large input cannot deadlock against a full stdout pipe.
  std::thread feeder([fd = s.in_fd, data = options.stdin_data] {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t w = write(fd, data.data() + off, data.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    close(fd);
  });
  RunResult result;
  const auto deadline = Clock::now() + options.timeout;
  int out_fd = s.out_fd, err_fd = s.err_fd;
  int status = 0;
  bool reaped = false;
  while (true) {
    pump_fds(out_fd, result.out, err_fd, result.err, 50ms);
    if (!reaped && waitpid(s.pid, &status, WNOHANG) == s.pid) reaped = true;
    if (reaped && out_fd < 0 && err_fd < 0) break;
    if (reaped) {
      // The child is gone; drain what its pipes still hold (grandchildren may keep them open).
      const auto drain_deadline = Clock::now() + 2s;
      while ((out_fd >= 0 || err_fd >= 0) && Clock::now() < drain_deadline) {
        pump_fds(out_fd, result.out, err_fd, result.err, 50ms);
      }
      break;
    }
    if (Clock::now() > deadline) {
      result.timed_out = true;
      kill(-s.pid, SIGKILL);
      kill(s.pid, SIGKILL);
      waitpid(s.pid, &status, 0);
      reaped = true;
      break;
    }
  }
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  feeder.join();
  result.exit_code = decode_status(status);
  return result;
}

std::filesystem::path binary(const std::string& name) { return std::filesystem::path(MESHMOVE_BINARY_DIR) / name; }
std::filesystem::path source(const std::string& relative) {
  return std::filesystem::path(MESHMOVE_SOURCE_DIR) / relative;
}

Process::Process(Process&& other) noexcept { *this = std::move(other); }

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (m_pid > 0) stop();
    m_pid = std::exchange(other.m_pid, -1);
    m_out_fd = std::exchange(other.m_out_fd, -1);
    m_err_fd = std::exchange(other.m_err_fd, -1);
    m_out = std::move(other.m_out);
    m_err = std::move(other.m_err);
    m_exit = std::exchange(other.m_exit, std::nullopt);
  }
  return *this;
}

Process::~Process() {
  if (m_pid > 0 && !m_exit) stop();
  if (m_out_fd >= 0) close(m_out_fd);
  if (m_err_fd >= 0) close(m_err_fd);
}

Process Process::start(const std::vector<std::string>& argv, const RunOptions& options) {
  Spawned s = spawn(argv, options);
  close(s.in_fd);
  Process p;
  p.m_pid = s.pid;
  p.m_out_fd = s.out_fd;
  p.m_err_fd = s.err_fd;
  return p;
}

void Process::pump(std::chrono::milliseconds timeout) { pump_fds(m_out_fd, m_out, m_err_fd, m_err, timeout); }

void Process::reap_nonblocking() {
  if (m_pid <= 0 || m_exit) return;
  int status = 0;
  if (waitpid(m_pid, &status, WNOHANG) == m_pid) m_exit = decode_status(status);
}

bool Process::running() {
  reap_nonblocking();
  return m_pid > 0 && !m_exit;
}

const std::string& Process::out() {
  pump(0ms);
  return m_out;
}

const std::string& Process::err() {
  pump(0ms);
  return m_err;
}

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (m_out.find(needle) != std::string::npos) return true;
    pump(50ms);
    if (m_out.find(needle) != std::string::npos) return true;
    if (!running() && m_out_fd < 0) return false;
  }
  return m_out.find(needle) != std::string::npos;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    pump(20ms);
    reap_nonblocking();
    if (m_exit) {
      const auto drain_deadline = Clock::now() + 1s;
      while ((m_out_fd >= 0 || m_err_fd >= 0) && Clock::now() < drain_deadline) pump(20ms);
      return m_exit;
    }
    if (Clock::now() > deadline) return std::nullopt;
  }
}

std::optional<int> Process::signal_and_wait(int signal, std::chrono::milliseconds timeout) {
  if (m_pid <= 0) return m_exit;
  reap_nonblocking();
  if (m_exit) return m_exit;
  kill(m_pid, signal);
  return wait(timeout);
}

int Process::stop(std::chrono::milliseconds grace) {
  if (m_pid <= 0) return -1;
  if (auto code = signal_and_wait(SIGTERM, grace)) {
    kill(-m_pid, SIGKILL);  // anything the process left behind in its group
    return *code;
  }
  kill(-m_pid, SIGKILL);
  kill(m_pid, SIGKILL);
  int status = 0;
  waitpid(m_pid, &status, 0);
  m_exit = decode_status(status);
  return *m_exit;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() + poll > deadline) return condition();
    std::this_thread::sleep_for(poll);  // a poll interval between condition checks, not synchronisation
  }
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path root = base != nullptr && *base != '\0' ? base : "/tmp";
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::ostringstream name;
    name << "meshmove-test-" << std::hex << rd() << rd();
    const auto candidate = root / name.str();
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      m_path = candidate;
      return;
    }
  }
  throw std::runtime_error("could not create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  const auto p = m_path / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << content;
  if (!f) throw std::runtime_error("could not write " + p.string());
  return p;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace meshmove::testsupport
