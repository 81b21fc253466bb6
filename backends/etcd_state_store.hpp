#pragma once
// The etcd state store (DESIGN.md §6: --state etcd://host:port/prefix), for fleets run from many CI
// runners and cron hosts that share no disk. Same contract as the file store. Under the URL's prefix P,
// per migration:
//   P/<migration>/state            the state JSON; every save is a compare-and-swap on the key's mod
//                                  revision (the one this store last read or wrote; "absent" for a new
//                                  migration), so a save never overwrites a change it has not seen
//   P/<migration>/journal/<seq>    one event per key, seq = 20 zero-padded decimal digits from 1; each
//                                  key is created only if absent, so concurrent appends never overwrite
//   P/<migration>/lock             {host, pid, since}, created only if absent and attached to a lease
//                                  that the holder keeps alive; it vanishes when the lease expires
//   P/<migration>/request          an operator's pending request, taken (read and deleted) atomically
// Talks to etcd 3.4+ through its JSON gateway (/v3/) with the project's HTTP transport.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "backends/http_transport.hpp"
#include "planner/clock.hpp"
#include "planner/error.hpp"
#include "planner/state_store.hpp"

namespace meshmove::backends {

struct EtcdStoreOptions {
  // The lock's lease TTL (seconds): how long the lock outlives a runner that died without releasing it.
  // A live holder renews it every TTL/3 from a background thread. etcd raises TTLs below its minimum
  // (2 s with the default heartbeat and election timeout).
  std::chrono::seconds lock_ttl{15};
  // Timeouts, retries and TLS (ca_file, cert_file, key_file, insecure_skip_verify) for etcd+https.
  TransportConfig transport;
  // Makes the store's transports (one for the store, one per lock) from `transport`; empty: libcurl
  // (make_curl_transport). Tests and the fuzz target pass fakes.
  std::function<std::unique_ptr<HttpTransport>(const TransportConfig&)> make_transport;
};

// `url`: etcd://host:port/prefix, or etcd+https://host:port/prefix (the port defaults to 2379, the
// prefix to /meshmove). Returns Error Config for a URL of another form or a TTL under 1 s; connects
// only when first used. `clock` stamps the lock's "since" and paces the transport's retries; it must
// outlive the store and every lock it hands out.
//
// Errors of the store's operations: Unavailable when etcd cannot be reached after the transport's
// retries; Conflict from save() when another runner changed the state since this store read it; Locked
// from lock() naming the holder, and from save(), append() and take_request() when this store's lock on
// the migration was lost (its lease expired: "my lock on 'NAME' expired; another runner holds it now"),
// in which case nothing was written; gateway error bodies as messages that quote etcd. Nothing throws. A store is used from one thread at a
// time; its locks renew their leases on threads of their own.
planner::Result<std::unique_ptr<planner::StateStore>> make_etcd_state_store(const std::string& url,
                                                                            planner::Clock& clock,
                                                                            EtcdStoreOptions options = {});

}  // namespace meshmove::backends
