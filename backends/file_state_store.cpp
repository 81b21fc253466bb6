#include "backends/file_state_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <sstream>

#include "planner/time_format.hpp"

namespace meshmove::backends {
namespace {

using planner::ErrorKind;
using planner::make_error;

std::string errno_text() { return std::strerror(errno); }

planner::Status write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::Unavailable, "cannot write " + path + ": " + errno_text());
    }
    off += static_cast<std::size_t>(n);
  }
  return planner::ok_status();
}

class FileLock final : public planner::StateLock {
 public:
  explicit FileLock(int fd) : m_fd(fd) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() override {
    // Closing the descriptor releases the flock; the holder's details stay as a record of the last holder.
    if (m_fd >= 0) ::close(m_fd);
  }

 private:
  int m_fd;
};

class FileStateStore final : public planner::StateStore {
 public:
  FileStateStore(FileStoreOptions options, const planner::Clock& clock)
      : m_options(std::move(options)), m_clock(clock) {}

  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& migration) override {
    if (auto st = ensure_directory(); !st.ok()) return st.error();
    const std::string path = file(migration, ".lock");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::Unavailable, "cannot open the lock " + path + ": " + errno_text());
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder;
      char buf[512] = {0};
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      if (err != EWOULDBLOCK) {
        return make_error(ErrorKind::Unavailable, "cannot lock " + path + ": " + std::strerror(err));
      }
      if (n > 0) {
        try {
          const auto j = nlohmann::json::parse(std::string(buf, static_cast<std::size_t>(n)));
          holder = " by host " + j.value("host", "?") + ", pid " + std::to_string(j.value("pid", 0)) + ", since " +
                   j.value("since", "?");
        } catch (const nlohmann::json::exception&) {
        }
      }
      return make_error(ErrorKind::Locked, "the migration '" + migration + "' is locked" + holder + " (" + path +
                                               "); another meshmove is running it");
    }
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    const std::string info = nlohmann::json{{"host", host},
                                            {"pid", static_cast<long>(::getpid())},
                                            {"since", planner::format_rfc3339(m_clock.now())}}
                                 .dump() +
                             "\n";
    if (::ftruncate(fd, 0) == 0) (void)write_all(fd, info, path);
    return std::unique_ptr<planner::StateLock>(std::make_unique<FileLock>(fd));
  }

  planner::Result<std::optional<planner::MigrationState>> load(const std::string& migration) override {
    const std::string path = file(migration, ".json");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return std::optional<planner::MigrationState>{};
      return make_error(ErrorKind::Unavailable, "cannot read the state " + path + ": " + errno_text());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorKind::Invalid, "the state " + path + " is not valid JSON (" + e.what() +
                                                "); move it away to start the migration's state afresh");
    }
    auto state = planner::state_from_json(j);
    if (!state.ok()) return make_error(ErrorKind::Invalid, path + ": " + state.error().message);
    return std::optional<planner::MigrationState>(std::move(state).value());
  }

  planner::Status save(const planner::MigrationState& state) override {
    if (auto st = ensure_directory(); !st.ok()) return st;
    const std::string path = file(state.migration, ".json");
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::Unavailable, "cannot write " + temp + ": " + errno_text());
    auto st = write_all(fd, planner::to_json(state).dump(2) + "\n", temp);
    if (st.ok() && ::fsync(fd) != 0) st = make_error(ErrorKind::Unavailable, "cannot fsync " + temp + ": " + errno_text());
    ::close(fd);
    if (!st.ok()) {
      ::unlink(temp.c_str());
      return st;
    }
    failpoint("after-temp-write");
    failpoint("before-rename");
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      const std::string why = errno_text();
      ::unlink(temp.c_str());
      return make_error(ErrorKind::Unavailable, "cannot replace " + path + ": " + why);
    }
    return sync_directory();
  }

  planner::Status append(const std::string& migration, const nlohmann::json& event) override {
    if (auto st = ensure_directory(); !st.ok()) return st;
    const std::string path = file(migration, ".journal");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::Unavailable, "cannot open the journal " + path + ": " + errno_text());
    auto st = write_all(fd, event.dump() + "\n", path);
    if (st.ok() && ::fdatasync(fd) != 0) {
      st = make_error(ErrorKind::Unavailable, "cannot fsync " + path + ": " + errno_text());
    }
    ::close(fd);
    return st;
  }

  planner::Result<std::vector<nlohmann::json>> journal(const std::string& migration) override {
    std::vector<nlohmann::json> events;
    std::ifstream in(file(migration, ".journal"), std::ios::binary);
    if (!in) return events;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        events.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception&) {
        // A torn line from a crash in the middle of an append; later lines are intact.
      }
    }
    return events;
  }

  planner::Result<std::vector<std::string>> migrations() override {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(m_options.directory, ec)) {
      const auto p = entry.path();
      if (p.extension() == ".json" && p.filename().string().find(".tmp.") == std::string::npos) {
        names.push_back(p.stem().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  planner::Status post_request(const std::string& migration, const nlohmann::json& request) override {
    if (auto st = ensure_directory(); !st.ok()) return st;
    const std::string path = file(migration, ".request");
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::Unavailable, "cannot write " + temp + ": " + errno_text());
    auto st = write_all(fd, request.dump() + "\n", temp);
    if (st.ok() && ::fsync(fd) != 0) st = make_error(ErrorKind::Unavailable, "cannot fsync " + temp + ": " + errno_text());
    ::close(fd);
    if (st.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
      st = make_error(ErrorKind::Unavailable, "cannot write " + path + ": " + errno_text());
    }
    if (!st.ok()) {
      ::unlink(temp.c_str());
      return st;
    }
    return sync_directory();
  }

  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& migration) override {
    const std::string path = file(migration, ".request");
    // Rename first, so that a request posted while this one is read is not lost.
    const std::string taken = path + ".taken." + std::to_string(::getpid());
    if (::rename(path.c_str(), taken.c_str()) != 0) {
      if (errno == ENOENT) return std::optional<nlohmann::json>{};
      return make_error(ErrorKind::Unavailable, "cannot take " + path + ": " + errno_text());
    }
    std::ifstream in(taken, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    ::unlink(taken.c_str());
    try {
      return std::optional<nlohmann::json>(nlohmann::json::parse(ss.str()));
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorKind::Invalid, "the operator request " + path + " is not JSON: " + e.what());
    }
  }

  [[nodiscard]] std::string location(const std::string& migration) const override { return file(migration, ".json"); }

 private:
  [[nodiscard]] std::string file(const std::string& migration, const char* suffix) const {
    return (std::filesystem::path(m_options.directory) / (migration + suffix)).string();
  }

  void failpoint(const char* point) const {
    if (m_options.failpoint) m_options.failpoint(point);
  }

  planner::Status ensure_directory() {
    if (m_directory_ready) return planner::ok_status();
    std::error_code ec;
    std::filesystem::create_directories(m_options.directory, ec);
    if (ec) {
      return make_error(ErrorKind::Config, "cannot create the state directory " + m_options.directory + ": " +
                                               ec.message() + " (choose another with --state-dir)");
    }
    ::chmod(m_options.directory.c_str(), 0700);
    m_directory_ready = true;
    return planner::ok_status();
  }

  planner::Status sync_directory() const {
    const int fd = ::open(m_options.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(ErrorKind::Unavailable, "cannot open " + m_options.directory + ": " + errno_text());
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return make_error(ErrorKind::Unavailable, "cannot fsync " + m_options.directory + ": " + errno_text());
    return planner::ok_status();
  }

  FileStoreOptions m_options;
  const planner::Clock& m_clock;
  bool m_directory_ready = false;
};

}  // namespace

std::unique_ptr<planner::StateStore> make_file_state_store(FileStoreOptions options, const planner::Clock& clock) {
  return std::make_unique<FileStateStore>(std::move(options), clock);
}

std::string default_state_directory() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') {
    return (std::filesystem::path(xdg) / "meshmove").string();
  }
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".local/state/meshmove").string();
}

}  // namespace meshmove::backends
