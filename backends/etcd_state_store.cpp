#include "backends/etcd_state_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "backends/etcd_gateway.hpp"
#include "planner/time_format.hpp"

namespace meshmove::backends {
namespace {

using planner::ErrorKind;
using planner::make_error;

constexpr int k_append_attempts = 64;       // each failed attempt means another append won a race
constexpr std::int64_t k_page_size = 1000;  // keys per range request when reading the journal
constexpr int k_max_migrations = 100000;    // bounds the scan in migrations()

// "00000000000000000042".
std::string sequence_text(std::int64_t seq) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(seq));
  return buf;
}

// Holds a migration's lock: keeps the lease alive every TTL/3 on its own thread, and revokes it (which
// deletes the lock key at once) when destroyed. If the lease is lost anyway (etcd unreachable for longer
// than the TTL), the thread stops and the store's next save() fails with Conflict.
class EtcdLock final : public planner::StateLock {
 public:
  // Starts the keep-alive thread; throws std::system_error when no thread can be started (the store
  // catches it).
  EtcdLock(std::unique_ptr<HttpTransport> transport, const EtcdUrl& url, std::string migration,
           std::int64_t lease, std::chrono::milliseconds interval)
      : m_transport(std::move(transport)),
        m_gateway(url.endpoint, url.shown, *m_transport),
        m_migration(std::move(migration)),
        m_lease(lease),
        m_interval(interval),
        m_thread([this] { keep_alive(); }) {}
  EtcdLock(const EtcdLock&) = delete;
  EtcdLock& operator=(const EtcdLock&) = delete;

  ~EtcdLock() override {
    {
      std::lock_guard guard(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
    // Best effort: when etcd cannot be reached now, the lease (and the lock) expires after its TTL.
    (void)m_gateway.call("lease/revoke", {{"ID", std::to_string(m_lease)}},
                         "releasing the lock of '" + m_migration + "'", false);
  }

  // Alive exactly as long as this lock; the store watches it through a weak_ptr.
  [[nodiscard]] std::weak_ptr<const bool> token() const { return m_token; }

 private:
  void keep_alive() {
    std::unique_lock guard(m_mutex);
    // The lease is a real-time contract with etcd, so this waits on the steady clock, not on the
    // injected Clock (which a test may move by hand); the destructor cuts the wait short.
    while (!m_cv.wait_for(guard, m_interval, [this] { return m_stop; })) {
      guard.unlock();
      auto r = m_gateway.call("lease/keepalive", {{"ID", std::to_string(m_lease)}},
                              "keeping the lock of '" + m_migration + "'");
      guard.lock();
      if (!r.ok()) continue;  // tried again at the next tick; the lease survives a few missed ones
      const auto result = r->contains("result") ? (*r)["result"] : *r;
      if (etcd_number(result, "TTL") <= 0) return;  // expired: nothing left to keep alive
    }
  }

  std::unique_ptr<HttpTransport> m_transport;  // this lock's own: the store's is used by another thread
  EtcdGateway m_gateway;
  std::string m_migration;
  std::int64_t m_lease;
  std::chrono::milliseconds m_interval;
  std::shared_ptr<const bool> m_token = std::make_shared<const bool>(true);
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;  // last: starts once everything it uses exists
};

class EtcdStateStore final : public planner::StateStore {
 public:
  EtcdStateStore(EtcdUrl url, planner::Clock& clock, EtcdStoreOptions options)
      : m_url(std::move(url)),
        m_clock(clock),
        m_options(std::move(options)),
        m_transport(new_transport(m_options.transport)),
        m_gateway(m_url.endpoint, m_url.shown, *m_transport) {}

  planner::Result<std::unique_ptr<planner::StateLock>> lock(const std::string& migration) override {
    const std::string key = key_of(migration, "lock");
    auto grant = m_gateway.call("lease/grant", {{"TTL", std::to_string(m_options.lock_ttl.count())}},
                                "granting a lease for the lock of '" + migration + "'", false);
    if (!grant.ok()) return grant.error();
    const std::int64_t lease = etcd_number(*grant, "ID");
    if (lease == 0) {
      return make_error(ErrorKind::Invalid,
                        "etcd " + m_url.shown + " granted a lease without an ID: " + grant->dump());
    }
    const auto granted_ttl = std::chrono::seconds(std::max<std::int64_t>(etcd_number(*grant, "TTL"), 1));
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    const std::string holder = nlohmann::json{{"host", host},
                                              {"pid", static_cast<long>(::getpid())},
                                              {"since", planner::format_rfc3339(m_clock.now())}}
                                   .dump();
    std::string held_by;
    std::string expiry;
    // Twice: the holder may release the lock between our failed compare and our read of its details.
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto answer = m_gateway.txn(nlohmann::json::array({etcd_compare_create(key, 0)}),
                                  nlohmann::json::array({etcd_put_op(key, holder, lease)}),
                                  nlohmann::json::array({etcd_range_op(EtcdRange(key))}),
                                  "taking the lock of '" + migration + "'");
      if (!answer.ok()) {
        revoke(lease, migration);
        return answer.error();
      }
      if (txn_succeeded(*answer)) {
        const std::int64_t created =
            etcd_number(answer->value("header", nlohmann::json::object()), "revision");
        try {
          auto held = std::make_unique<EtcdLock>(
              new_transport(lock_transport_config(granted_ttl)), m_url, migration, lease,
              std::chrono::duration_cast<std::chrono::milliseconds>(granted_ttl) / 3);
          m_held[migration] = HeldLock{held->token(), created};
          return std::unique_ptr<planner::StateLock>(std::move(held));
        } catch (const std::system_error& e) {
          revoke(lease, migration);
          return make_error(ErrorKind::Unavailable, "cannot start the thread that keeps the lock of '" +
                                                        migration + "' alive: " + e.what());
        }
      }
      auto kvs = etcd_key_values(txn_response(*answer, 0, "response_range"));
      if (kvs.ok() && !kvs->empty()) {
        held_by = describe_holder(kvs->front());
        expiry = describe_expiry(kvs->front());
        break;
      }
    }
    revoke(lease, migration);
    return make_error(ErrorKind::Locked, "the migration '" + migration + "' is locked" + held_by + " (" +
                                             m_url.shown + "/" + migration +
                                             "/lock); another meshmove is running it" + expiry);
  }

  planner::Result<std::optional<planner::MigrationState>> load(const std::string& migration) override {
    auto answer = m_gateway.call("kv/range", etcd_range_request(EtcdRange(key_of(migration, "state"))),
                                 "reading the state of '" + migration + "'");
    if (!answer.ok()) return answer.error();
    auto kvs = etcd_key_values(*answer);
    if (!kvs.ok()) return make_error(ErrorKind::Invalid, location(migration) + ": " + kvs.error().message);
    if (kvs->empty()) {
      m_revisions[migration] = 0;
      return std::optional<planner::MigrationState>{};
    }
    const EtcdKeyValue& kv = kvs->front();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(kv.value);
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorKind::Invalid, "the state " + location(migration) + " is not valid JSON (" +
                                                e.what() +
                                                "); delete the key to start the migration's state afresh");
    }
    auto state = planner::state_from_json(j);
    if (!state.ok())
      return make_error(ErrorKind::Invalid, location(migration) + ": " + state.error().message);
    m_revisions[migration] = kv.mod_revision;
    return std::optional<planner::MigrationState>(std::move(state).value());
  }

  planner::Status save(const planner::MigrationState& state) override {
    const std::string& migration = state.migration;
    const std::string key = key_of(migration, "state");
    const std::string lock_key = key_of(migration, "lock");
    const auto known = m_revisions.find(migration);
    const std::int64_t expected = known == m_revisions.end() ? 0 : known->second;
    nlohmann::json compare = nlohmann::json::array();
    compare.push_back(expected == 0 ? etcd_compare_create(key, 0) : etcd_compare_mod(key, expected));
    // While this store holds the migration's lock, a save also requires that the lock is still ours, so
    // a runner whose lease expired cannot overwrite the state of the runner that took over.
    const std::int64_t lock_created = held_lock(migration);
    if (lock_created != 0) compare.push_back(etcd_compare_create(lock_key, lock_created));
    auto answer = m_gateway.txn(
        compare, nlohmann::json::array({etcd_put_op(key, planner::to_json(state).dump(2) + "\n")}),
        nlohmann::json::array(
            {etcd_range_op(EtcdRange(key).only_keys()), etcd_range_op(EtcdRange(lock_key).only_keys())}),
        "saving the state of '" + migration + "'");
    if (!answer.ok()) return answer.error();
    if (txn_succeeded(*answer)) {
      m_revisions[migration] = etcd_number(answer->value("header", nlohmann::json::object()), "revision");
      return planner::ok_status();
    }
    const auto state_kvs = etcd_key_values(txn_response(*answer, 0, "response_range"));
    const auto lock_kvs = etcd_key_values(txn_response(*answer, 1, "response_range"));
    if (auto lost = lost_lock(migration, lock_created, lock_kvs, "the state was not saved")) return *lost;
    const std::int64_t found = state_kvs.ok() && !state_kvs->empty() ? state_kvs->front().mod_revision : 0;
    return make_error(ErrorKind::Conflict,
                      "the state of '" + migration + "' was not saved: another runner " +
                          "changed the state in " + location(migration) +
                          " since this one read it (mod revision " + std::to_string(found) + ", expected " +
                          std::to_string(expected) + "); run again to continue from the stored state");
  }

  planner::Status append(const std::string& migration, const nlohmann::json& event) override {
    const std::string prefix = key_of(migration, "journal/");
    const std::string value = event.dump();
    const auto next = m_next_sequence.find(migration);
    std::int64_t seq = next == m_next_sequence.end() ? 1 : next->second;
    // Fenced like save(): a runner that lost its lock appends nothing to the journal of the one that
    // took over.
    const std::string lock_key = key_of(migration, "lock");
    const std::int64_t lock_created = held_lock(migration);
    for (int attempt = 0; attempt < k_append_attempts; ++attempt) {
      const std::string key = prefix + sequence_text(seq);
      const auto last = EtcdRange(prefix, prefix_end(prefix)).limited(1).descending().only_keys();
      nlohmann::json compare = nlohmann::json::array({etcd_compare_create(key, 0)});
      if (lock_created != 0) compare.push_back(etcd_compare_create(lock_key, lock_created));
      auto answer = m_gateway.txn(
          compare, nlohmann::json::array({etcd_put_op(key, value)}),
          nlohmann::json::array({etcd_range_op(last), etcd_range_op(EtcdRange(lock_key).only_keys())}),
          "appending to the journal of '" + migration + "'");
      if (!answer.ok()) return answer.error();
      if (txn_succeeded(*answer)) {
        m_next_sequence[migration] = seq + 1;
        return planner::ok_status();
      }
      const auto lock_kvs = etcd_key_values(txn_response(*answer, 1, "response_range"));
      if (auto lost = lost_lock(migration, lock_created, lock_kvs, "nothing was appended to the journal")) {
        return *lost;
      }
      // The key exists: continue after the journal's last event.
      std::int64_t last_seq = seq;
      auto kvs = etcd_key_values(txn_response(*answer, 0, "response_range"));
      if (kvs.ok() && !kvs->empty()) last_seq = std::max(last_seq, sequence_of(kvs->front().key, prefix));
      seq = last_seq + 1;
    }
    return make_error(ErrorKind::Conflict, "could not append to the journal of '" + migration +
                                               "': " + std::to_string(k_append_attempts) +
                                               " concurrent appends took every sequence number tried");
  }

  planner::Result<std::vector<nlohmann::json>> journal(const std::string& migration) override {
    std::vector<nlohmann::json> events;
    const std::string prefix = key_of(migration, "journal/");
    auto page = EtcdRange(prefix, prefix_end(prefix)).limited(k_page_size);
    while (true) {
      auto answer =
          m_gateway.call("kv/range", etcd_range_request(page), "reading the journal of '" + migration + "'");
      if (!answer.ok()) return answer.error();
      auto kvs = etcd_key_values(*answer);
      if (!kvs.ok())
        return make_error(ErrorKind::Invalid, "the journal of '" + migration + "': " + kvs.error().message);
      // etcd answers keys from the page's start on; anything else would make this loop forever.
      if (!kvs->empty() && kvs->front().key < page.key)
        return make_error(ErrorKind::Invalid, "the journal of '" + migration + "': etcd " + m_url.shown +
                                                  " answered keys before the page asked for");
      for (const auto& kv : *kvs) {
        try {
          events.push_back(nlohmann::json::parse(kv.value));
        } catch (const nlohmann::json::exception&) {
          // Not an event meshmove wrote; skipped like a torn line of the file store's journal.
        }
      }
      const auto more = answer->find("more");
      if (more == answer->end() || !more->is_boolean() || !more->get<bool>() || kvs->empty()) return events;
      // The next page at the same revision, so that the pages form one consistent snapshot.
      page.key = kvs->back().key + std::string(1, '\0');
      page.revision = etcd_number(answer->value("header", nlohmann::json::object()), "revision");
    }
  }

  planner::Result<std::vector<std::string>> migrations() override {
    // Keys are sorted, so each migration's keys form one run: find a run's name from its first key, ask
    // whether it has a state key, and skip to the next run ('0' is the byte after '/').
    std::vector<std::string> names;
    const std::string root = m_url.prefix + "/";
    const std::string end = prefix_end(root);
    const std::string what = "listing the migrations";
    auto first =
        m_gateway.call("kv/range", etcd_range_request(EtcdRange(root, end).limited(1).only_keys()), what);
    if (!first.ok()) return first.error();
    auto kvs = etcd_key_values(*first);
    std::string after = root;  // every key etcd answers next is at or after this, and under the root
    for (int i = 0; i < k_max_migrations && kvs.ok() && !kvs->empty(); ++i) {
      if (kvs->front().key.rfind(root, 0) != 0 || kvs->front().key < after)
        return make_error(ErrorKind::Invalid, what + ": etcd " + m_url.shown + " answered the key '" +
                                                  kvs->front().key + "', outside the range asked for");
      const std::string rest = kvs->front().key.substr(root.size());
      const auto slash = rest.find('/');
      const std::string name = rest.substr(0, slash);
      const std::string next =
          slash == std::string::npos ? kvs->front().key + std::string(1, '\0') : root + name + "0";
      const auto state = EtcdRange(key_of(name, "state")).only_count();
      after = next;
      const auto following = EtcdRange(next, end).limited(1).only_keys();
      auto answer = m_gateway.txn(nlohmann::json::array(),
                                  nlohmann::json::array({etcd_range_op(state), etcd_range_op(following)}),
                                  nlohmann::json::array(), what, true);
      if (!answer.ok()) return answer.error();
      if (slash != std::string::npos &&
          etcd_number(txn_response(*answer, 0, "response_range"), "count") > 0) {
        names.push_back(name);
      }
      kvs = etcd_key_values(txn_response(*answer, 1, "response_range"));
    }
    if (!kvs.ok()) return make_error(ErrorKind::Invalid, what + ": " + kvs.error().message);
    std::sort(names.begin(), names.end());
    return names;
  }

  planner::Status post_request(const std::string& migration, const nlohmann::json& request) override {
    nlohmann::json put = etcd_put_op(key_of(migration, "request"), request.dump())["request_put"];
    auto answer = m_gateway.call("kv/put", put, "posting a request for '" + migration + "'", false);
    if (!answer.ok()) return answer.error();
    return planner::ok_status();
  }

  planner::Result<std::optional<nlohmann::json>> take_request(const std::string& migration) override {
    // One delete that returns what it deleted: atomic, so of two takers exactly one gets the request.
    const std::string key = key_of(migration, "request");
    const nlohmann::json remove{{"key", base64_encode(key)}, {"prev_kv", true}};
    const std::string what = "taking the request for '" + migration + "'";
    // The lock's holder takes requests only while the lock is still its own: a runner that lost it must
    // not take (and so lose) a request meant for the runner that took over.
    const std::string lock_key = key_of(migration, "lock");
    const std::int64_t lock_created = held_lock(migration);
    nlohmann::json removed;
    if (lock_created != 0) {
      nlohmann::json delete_op = nlohmann::json::object();
      delete_op["request_delete_range"] = remove;
      auto answer = m_gateway.txn(nlohmann::json::array({etcd_compare_create(lock_key, lock_created)}),
                                  nlohmann::json::array({delete_op}),
                                  nlohmann::json::array({etcd_range_op(EtcdRange(lock_key).only_keys())}), what);
      if (!answer.ok()) return answer.error();
      if (!txn_succeeded(*answer)) {
        const auto lock_kvs = etcd_key_values(txn_response(*answer, 0, "response_range"));
        if (auto lost = lost_lock(migration, lock_created, lock_kvs, "no operator request was taken")) return *lost;
        return make_error(ErrorKind::Invalid, "etcd " + m_url.shown + " refused taking the request for '" +
                                                  migration + "' although the lock is this runner's");
      }
      removed = txn_response(*answer, 0, "response_delete_range");
    } else {
      auto answer = m_gateway.call("kv/deleterange", remove, what, false);
      if (!answer.ok()) return answer.error();
      removed = std::move(answer).value();
    }
    auto kvs = etcd_key_values(removed, "prev_kvs");
    if (!kvs.ok())
      return make_error(ErrorKind::Invalid, "the request for '" + migration + "': " + kvs.error().message);
    if (kvs->empty()) return std::optional<nlohmann::json>{};
    try {
      return std::optional<nlohmann::json>(nlohmann::json::parse(kvs->front().value));
    } catch (const nlohmann::json::exception& e) {
      return make_error(ErrorKind::Invalid, "the operator request " + m_url.shown + "/" + migration +
                                                "/request is not JSON: " + e.what());
    }
  }

  [[nodiscard]] std::string location(const std::string& migration) const override {
    return m_url.shown + "/" + migration + "/state";
  }

 private:
  struct HeldLock {
    std::weak_ptr<const bool> alive;   // expired once the lock object is gone
    std::int64_t create_revision = 0;  // of the lock key this store created
  };

  // The create revision of the lock key while this store holds the migration's lock; 0 otherwise.
  [[nodiscard]] std::int64_t held_lock(const std::string& migration) const {
    const auto held = m_held.find(migration);
    return held != m_held.end() && !held->second.alive.expired() ? held->second.create_revision : 0;
  }

  // After a fenced transaction failed: Error Locked when the lock key (as read by the failure branch) is
  // no longer the one this store created, nullopt when the lock is still ours (another compare failed).
  [[nodiscard]] std::optional<planner::Error> lost_lock(const std::string& migration, std::int64_t lock_created,
                                                        const planner::Result<std::vector<EtcdKeyValue>>& lock_kvs,
                                                        const std::string& consequence) {
    if (lock_created == 0 || !lock_kvs.ok()) return std::nullopt;
    if (!lock_kvs->empty() && lock_kvs->front().create_revision == lock_created) return std::nullopt;
    const std::string why = "its etcd lease ran out while this runner was stopped or cut off from etcd; " + consequence;
    if (lock_kvs->empty()) {
      return make_error(ErrorKind::Locked, "my lock on '" + migration + "' expired; nobody holds it now (" + why +
                                               "); run again to continue from the stored state");
    }
    auto holder = m_gateway.call("kv/range", etcd_range_request(EtcdRange(key_of(migration, "lock"))),
                                 "reading the holder of the lock of '" + migration + "'");
    auto kvs = holder.ok() ? etcd_key_values(*holder) : planner::Result<std::vector<EtcdKeyValue>>(holder.error());
    const std::string by = kvs.ok() && !kvs->empty() ? describe_holder(kvs->front()) : "";
    return make_error(ErrorKind::Locked, "my lock on '" + migration + "' expired; another runner holds it now" + by +
                                             " (" + why + "); this runner stops and leaves the migration to it");
  }

  [[nodiscard]] std::unique_ptr<HttpTransport> new_transport(const TransportConfig& config) const {
    return m_options.make_transport ? m_options.make_transport(config) : make_curl_transport(config, m_clock);
  }

  [[nodiscard]] std::string key_of(const std::string& migration, const std::string& leaf) const {
    return m_url.prefix + "/" + migration + "/" + leaf;
  }

  static std::int64_t sequence_of(const std::string& key, const std::string& prefix) {
    if (key.size() <= prefix.size()) return 0;
    return etcd_number(nlohmann::json{{"seq", key.substr(prefix.size())}}, "seq");
  }

  // The lock's transport renews the lease: one attempt per tick, each bounded by a third of the TTL (at
  // least 1 s), so that a hung request does not outlast the lease.
  [[nodiscard]] TransportConfig lock_transport_config(std::chrono::seconds ttl) const {
    TransportConfig c = m_options.transport;
    const planner::Duration third = std::max<planner::Duration>(ttl / 3, std::chrono::seconds(1));
    c.request_timeout = std::min(c.request_timeout, third);
    c.connect_timeout = std::min(c.connect_timeout, c.request_timeout);
    c.retry.max_attempts = 1;
    return c;
  }

  // " by host H, pid P, since T" from the lock's value (the file store's words); "" when unreadable.
  static std::string describe_holder(const EtcdKeyValue& kv) {
    try {
      const auto j = nlohmann::json::parse(kv.value);
      return " by host " + j.value("host", "?") + ", pid " + std::to_string(j.value("pid", 0L)) + ", since " +
             j.value("since", "?");
    } catch (const nlohmann::json::exception&) {
      return "";
    }
  }

  // "; if it died, its lock expires in 12s" from the holder's lease; "" when that cannot be read.
  std::string describe_expiry(const EtcdKeyValue& kv) {
    if (kv.lease == 0) return "";
    auto ttl =
        m_gateway.call("lease/timetolive", {{"ID", std::to_string(kv.lease)}}, "reading the lock's lease");
    if (!ttl.ok() || etcd_number(*ttl, "TTL") <= 0) return "";
    return "; if it died, its lock expires in " + std::to_string(etcd_number(*ttl, "TTL")) + "s";
  }

  void revoke(std::int64_t lease, const std::string& migration) {
    (void)m_gateway.call("lease/revoke", {{"ID", std::to_string(lease)}},
                         "returning an unused lease for '" + migration + "'", false);
  }

  EtcdUrl m_url;
  planner::Clock& m_clock;
  EtcdStoreOptions m_options;
  std::unique_ptr<HttpTransport> m_transport;
  EtcdGateway m_gateway;
  std::map<std::string, std::int64_t> m_revisions;      // state mod revision last read or written; 0: absent
  std::map<std::string, std::int64_t> m_next_sequence;  // journal: the next sequence number to try
  std::map<std::string, HeldLock> m_held;
};

}  // namespace

planner::Result<std::unique_ptr<planner::StateStore>> make_etcd_state_store(const std::string& url,
                                                                            planner::Clock& clock,
                                                                            EtcdStoreOptions options) {
  auto parsed = parse_etcd_url(url);
  if (!parsed.ok()) return parsed.error();
  if (options.lock_ttl < std::chrono::seconds(1)) {
    return make_error(ErrorKind::Config, "the etcd lock TTL must be at least 1 second");
  }
  return std::unique_ptr<planner::StateStore>(
      std::make_unique<EtcdStateStore>(std::move(parsed).value(), clock, std::move(options)));
}

}  // namespace meshmove::backends
