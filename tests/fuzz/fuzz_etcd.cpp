// libFuzzer entry point for etcd answers: the etcd state store (backends/etcd_state_store.cpp over
// backends/etcd_gateway.cpp, etcd's JSON gateway) with a fake transport that answers from the fuzz input
// (answers in the format of fuzz_transport.hpp; request i gets answer i modulo their number). lock,
// load, save, append, take_request, journal, migrations and post_request, in the order a run uses them.
// Whatever etcd says: no crash, no endless loop, errors are values that say something.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "backends/etcd_state_store.hpp"
#include "tests/fuzz/fuzz_transport.hpp"

namespace {

[[noreturn]] void violation(const char* what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what);
  std::abort();
}

template <class R>
void check(const R& r) {
  if (!r.ok() && r.error().message.empty()) violation("an error without a message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto answers = meshmove::fuzz::split_answers(input);
  meshmove::fuzz::FuzzClock clock;
  meshmove::backends::EtcdStoreOptions options;
  options.make_transport = [&answers](const meshmove::backends::TransportConfig&) {
    return std::unique_ptr<meshmove::backends::HttpTransport>(
        std::make_unique<meshmove::fuzz::FuzzTransport>(answers));
  };
  auto made = meshmove::backends::make_etcd_state_store("etcd://127.0.0.1:2379/fuzz", clock, options);
  if (!made.ok()) violation("the store URL is refused");
  auto& store = **made;
  const std::string migration = "apitier";
  {
    auto lock = store.lock(migration);
    check(lock);
    auto loaded = store.load(migration);
    check(loaded);
    meshmove::planner::MigrationState state;
    if (loaded.ok() && *loaded) state = **loaded;
    state.migration = migration;
    state.step = 1;
    state.weight = 2500;
    check(store.save(state));
    check(store.save(state));  // the revision the first save read or wrote
    check(store.append(migration, {{"event", "fuzz"}, {"seq", 1}}));
    check(store.take_request(migration));
    check(store.journal(migration));
    auto names = store.migrations();
    check(names);
    check(store.post_request(migration, {{"action", "pause"}}));
  }  // the lock, if taken, is released here (its keep-alive thread stops)
  return 0;
}
