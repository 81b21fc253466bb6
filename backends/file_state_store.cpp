#include "backends/file_state_store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "backends/atomic_file.hpp"
#include "planner/time_format.hpp"

namespace meshmove::backends {
namespace {

using planner::ErrorKind;
using planner::make_error;

constexpr std::size_t k_max_file_bytes = 64U << 20U;  // a state or request larger than this is not ours

std::string errno_text(int err) { return std::strerror(err); }

// The message for a planted (or mistaken) link where meshmove keeps a file of its own.
planner::Error link_refused(const std::string& path) {
  return make_error(ErrorKind::Config, path +
                                           " is a symbolic link; meshmove does not follow links in its state "
                                           "directory (remove the link, or put the file itself there)");
}

// Errors of the file system that mean "this runner cannot write here" (read-only mount, permissions,
// a full disk or quota), as opposed to a store that is in use by another runner.
bool unwritable(int err) { return err == EROFS || err == EACCES || err == EPERM || err == ENOSPC || err == EDQUOT; }

// User "name (uid N)" or "uid N" when the uid has no passwd entry.
std::string describe_user(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  const std::string number = "uid " + std::to_string(uid);
  return pw != nullptr && pw->pw_name != nullptr ? std::string(pw->pw_name) + " (" + number + ")" : number;
}

planner::Status write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::Unavailable, "cannot write " + path + ": " + errno_text(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return planner::ok_status();
}

// Reads an open descriptor to its end (at most `limit` bytes, else Error Invalid).
planner::Result<std::string> read_all(int fd, const std::string& path, std::size_t limit = k_max_file_bytes) {
  std::string data;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(ErrorKind::Unavailable, "cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) return data;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > limit) {
      return make_error(ErrorKind::Invalid, path + " is larger than " + std::to_string(limit >> 20U) +
                                                " MiB; it is not a file meshmove wrote");
    }
  }
}

// A descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  [[nodiscard]] int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }

 private:
  int m_fd;
};

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
      : m_options(std::move(options)), m_clock(clock) {
    // "st/" and "st" are the same directory; without the slash the last component is the one to create.
    while (m_options.directory.size() > 1 && m_options.directory.back() == '/') m_options.directory.pop_back();
  }

  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& migration) override {
    if (auto st = ensure_directory(); !st.ok()) return st.error();
    const std::string path = file(migration, ".lock");
    auto opened = open_file(path, O_RDWR | O_CREAT, "opening the lock");
    if (!opened.ok()) return opened.error();
    Fd fd(*opened);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder;
      char buf[512] = {0};
      const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
      if (err != EWOULDBLOCK) {
        return make_error(ErrorKind::Unavailable, "cannot lock " + path + ": " + errno_text(err));
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
    if (::ftruncate(fd.get(), 0) == 0) (void)write_all(fd.get(), info, path);
    return std::unique_ptr<planner::StateLock>(std::make_unique<FileLock>(fd.release()));
  }

  planner::Result<std::optional<planner::MigrationState>> load(const std::string& migration) override {
    const std::string path = file(migration, ".json");
    auto opened = open_file(path, O_RDONLY, "reading the state");
    if (!opened.ok()) {
      if (opened.error().kind == ErrorKind::NotFound) return std::optional<planner::MigrationState>{};
      return opened.error();
    }
    Fd fd(*opened);
    auto text = read_all(fd.get(), path);
    if (!text.ok()) return text.error();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(*text);
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
    if (auto st = refuse_link(path); !st.ok()) return st;
    AtomicWriteOptions o;
    o.mode = 0600;
    o.what = "the state";
    o.failpoint = m_options.failpoint;
    return write_file_atomically(path, planner::to_json(state).dump(2) + "\n", o);
  }

  planner::Status append(const std::string& migration, const nlohmann::json& event) override {
    if (auto st = ensure_directory(); !st.ok()) return st;
    const std::string path = file(migration, ".journal");
    auto opened = open_file(path, O_WRONLY | O_CREAT | O_APPEND, "opening the journal");
    if (!opened.ok()) return opened.error();
    Fd fd(*opened);
    auto st = write_all(fd.get(), event.dump() + "\n", path);
    if (st.ok() && ::fdatasync(fd.get()) != 0) {
      st = make_error(ErrorKind::Unavailable, "cannot fsync " + path + ": " + errno_text(errno));
    }
    return st;
  }

  planner::Result<std::vector<nlohmann::json>> journal(const std::string& migration) override {
    std::vector<nlohmann::json> events;
    const std::string path = file(migration, ".journal");
    auto opened = open_file(path, O_RDONLY, "reading the journal");
    if (!opened.ok()) {
      if (opened.error().kind == ErrorKind::NotFound) return events;
      return opened.error();
    }
    Fd fd(*opened);
    auto text = read_all(fd.get(), path, SIZE_MAX);  // a journal grows for as long as the migration runs
    if (!text.ok()) return text.error();
    std::size_t begin = 0;
    while (begin < text->size()) {
      std::size_t end = text->find('\n', begin);
      if (end == std::string::npos) end = text->size();
      const std::string line = text->substr(begin, end - begin);
      begin = end + 1;
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
      const std::string name = p.filename().string();
      // Temporary files are hidden (".NAME.json.RANDOM"); ".tmp." names are those of older versions.
      if (p.extension() == ".json" && name.front() != '.' && name.find(".tmp.") == std::string::npos) {
        names.push_back(p.stem().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  planner::Status post_request(const std::string& migration, const nlohmann::json& request) override {
    if (auto st = ensure_directory(); !st.ok()) return st;
    const std::string path = file(migration, ".request");
    if (auto st = refuse_link(path); !st.ok()) return st;
    AtomicWriteOptions o;
    o.mode = 0600;
    o.what = "the operator request";
    return write_file_atomically(path, request.dump() + "\n", o);
  }

  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& migration) override {
    const std::string path = file(migration, ".request");
    if (auto st = refuse_link(path); !st.ok()) return st.error();
    // Rename first, so that a request posted while this one is read is not lost.
    const std::string taken = temporary_name_for(path);
    if (::rename(path.c_str(), taken.c_str()) != 0) {
      if (errno == ENOENT) return std::optional<nlohmann::json>{};
      return make_error(ErrorKind::Unavailable, "cannot take " + path + ": " + errno_text(errno));
    }
    auto opened = open_file(taken, O_RDONLY, "reading the operator request");
    ::unlink(taken.c_str());
    if (!opened.ok()) return opened.error().kind == ErrorKind::Config ? link_refused(path) : opened.error();
    Fd fd(*opened);
    auto text = read_all(fd.get(), path);
    if (!text.ok()) return text.error();
    try {
      return std::optional<nlohmann::json>(nlohmann::json::parse(*text));
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorKind::Invalid, "the operator request " + path + " is not JSON: " + e.what());
    }
  }

  [[nodiscard]] std::string location(const std::string& migration) const override { return file(migration, ".json"); }

 private:
  [[nodiscard]] std::string file(const std::string& migration, const char* suffix) const {
    return (std::filesystem::path(m_options.directory) / (migration + suffix)).string();
  }

  // open(2) of one of the store's files, never through a symbolic link (O_NOFOLLOW) and only a regular
  // file. Errors: NotFound when it does not exist (and `flags` does not create it); Config for a link or
  // a file of another type; Unavailable "cannot write state in DIR" when the file system refuses writes.
  [[nodiscard]] planner::Result<int> open_file(const std::string& path, int flags, const char* doing) const {
    // O_NONBLOCK: a FIFO planted in place of a file must not hang the open; cleared below.
    const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
      const int err = errno;
      struct stat st {};
      if (err == ELOOP || (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))) return link_refused(path);
      if (err == ENOENT) return make_error(ErrorKind::NotFound, path + " does not exist");
      if ((flags & (O_WRONLY | O_RDWR)) != 0 && unwritable(err)) return cannot_write(err, path);
      return make_error(ErrorKind::Unavailable, std::string("cannot open ") + path + " (" + doing +
                                                    "): " + errno_text(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return make_error(ErrorKind::Config, path + " is not a regular file; meshmove keeps only its own files in its "
                                                  "state directory (move it away)");
    }
    (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
  }

  [[nodiscard]] planner::Error cannot_write(int err, const std::string& path) const {
    return make_error(ErrorKind::Unavailable,
                      "cannot write state in " + m_options.directory + ": " + errno_text(err) + " (" + path +
                          "); make the directory writable for this user, or choose another with --state-dir");
  }

  static planner::Status refuse_link(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return link_refused(path);
    return planner::ok_status();
  }

  // Creates the directory (mode 0700) when it does not exist, then checks, once per store, that it is
  // fit to hold state: after resolving links (a --state-dir that links to a directory of one's own is
  // fine), a directory owned by this user or root and not writable by every user. Group-writable is
  // allowed (a Kubernetes volume with fsGroup). An existing directory is never chmod'ed.
  planner::Status ensure_directory() {
    if (m_directory_ready) return planner::ok_status();
    const std::string& dir = m_options.directory;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
      if (errno != ENOENT) return cannot_write(errno, dir);
      std::error_code ec;
      const auto parent = std::filesystem::path(dir).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) {
        return make_error(unwritable(ec.value()) ? ErrorKind::Unavailable : ErrorKind::Config,
                          "cannot write state in " + dir + ": cannot create " + parent.string() + ": " + ec.message() +
                              " (choose another state directory with --state-dir)");
      }
      if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        const int err = errno;
        return make_error(unwritable(err) ? ErrorKind::Unavailable : ErrorKind::Config,
                          "cannot write state in " + dir + ": cannot create it: " + errno_text(err) +
                              " (choose another state directory with --state-dir)");
      }
    }
    const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(dir.c_str(), nullptr), &std::free);
    if (!resolved) return cannot_write(errno, dir);
    const std::string real(resolved.get());
    const std::string shown = real == dir ? dir : dir + " (" + real + ")";
    if (::stat(real.c_str(), &st) != 0) return cannot_write(errno, dir);
    if (!S_ISDIR(st.st_mode)) {
      return make_error(ErrorKind::Config, "the state directory " + shown +
                                               " is not a directory (choose another with --state-dir)");
    }
    if ((st.st_mode & S_IWOTH) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return make_error(ErrorKind::Config,
                        "the state directory " + shown + " is writable by every user (mode " + mode +
                            "), so anyone could replace meshmove's lock, state and journal there; run 'chmod 700 " +
                            real + "', or choose a directory of your own with --state-dir");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
      return make_error(ErrorKind::Config, "the state directory " + shown + " belongs to " + describe_user(st.st_uid) +
                                               ", not to this user, " + describe_user(::geteuid()) +
                                               " (or root), so its owner could change meshmove's state; choose "
                                               "a directory of your own with --state-dir, or run as its owner");
    }
    m_directory_ready = true;
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
