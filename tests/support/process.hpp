#pragma once
// Running programs from tests: one-shot runs with captured output, and long-running servers that are
// stopped by PID. Every wait is bounded by a deadline; nothing here sleeps to synchronise.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meshmove::testsupport {

using namespace std::chrono_literals;

struct RunResult {
  int exit_code = -1;     // the exit status, or 128 + signal number when killed by a signal
  bool timed_out = false;  // killed because the timeout passed
  std::string out;
  std::string err;
};

struct RunOptions {
  std::map<std::string, std::string> env;  // added to (or, with a value, overriding) the environment
  std::vector<std::string> unset_env;      // removed from the environment
  std::string stdin_data;
  std::chrono::milliseconds timeout = 120s;
  std::filesystem::path cwd;  // empty: the test's working directory
};

// Runs argv[0] (a path, or a name looked up in PATH) to completion or until the timeout.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// The path of a binary built by this project, e.g. binary("meshmove") -> <build>/meshmove.
std::filesystem::path binary(const std::string& name);
// A file under the source tree, e.g. source("plans/vm-to-kube.yaml").
std::filesystem::path source(const std::string& relative);

// A child process left running (a server). The destructor stops it: SIGTERM, then SIGKILL after 5 s.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  // Starts argv; stdout and stderr are captured (read them with output()/wait_for_output()).
  static Process start(const std::vector<std::string>& argv, const RunOptions& options = {});

  [[nodiscard]] pid_t pid() const { return m_pid; }
  [[nodiscard]] bool running();
  // Everything read so far from stdout (and stderr) of the process.
  const std::string& out();
  const std::string& err();
  // Reads output until `needle` appears on stdout, or the process exits, or the deadline passes.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  // Sends `signal` and waits up to `timeout` for the exit; returns the exit code as in RunResult.
  std::optional<int> signal_and_wait(int signal, std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the process to exit by itself.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the exit code.
  int stop(std::chrono::milliseconds grace = 5s);

 private:
  void pump(std::chrono::milliseconds timeout);  // reads available output for at most `timeout`
  void reap_nonblocking();
  pid_t m_pid = -1;
  int m_out_fd = -1;
  int m_err_fd = -1;
  std::string m_out;
  std::string m_err;
  std::optional<int> m_exit;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int free_port();

// Polls `condition` every `poll` until it is true or `timeout` passes; returns the last result.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = 50ms);

// A fresh directory under $TMPDIR, removed with its content by the destructor.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
  // Writes `content` to path()/name and returns the full path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path m_path;
};

std::string read_file(const std::filesystem::path& path);

}  // namespace meshmove::testsupport
