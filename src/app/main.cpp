// SPEC §1: CLI, exit codes, graceful stop within 5 s.
#include "app/main.hpp"

#include <csignal>
#include <iostream>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include "app/archive_upkeep.hpp"
#include "app/cli.hpp"
#include "app/config.hpp"
#include "app/domain_runtime.hpp"
#include "app/transports.hpp"
#include "common/log.hpp"
#include "http/http_handler.hpp"
#include "http/http_server.hpp"
#include "mapping/sqlite_registry.hpp"

namespace sb::app {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

void print_problems(const ConfigProblems& problems) {
  for (auto& p : problems.all()) std::cerr << p.str() << "\n";
}

// Builds every transport from its block (reading the transport's own keys). In
// --check-config mode the transports are discarded unstarted.
// `http` gets the transports' webhook routes; nullptr when [http] has no listener.
std::vector<std::unique_ptr<transport::Transport>> make_transports(const Config& cfg, boost::asio::io_context& io,
                                                                   Clock& clock, transport::Store& store,
                                                                   http::HttpHandler* http, ConfigProblems& problems) {
  std::vector<std::unique_ptr<transport::Transport>> out;
  for (auto& comp : cfg.components) {
    auto* f = find_factory(comp.kind);
    if (!f) {
      problems.add(comp.line, comp.column, "transport '" + comp.kind + "' is not built into this switchboard");
      out.push_back(nullptr);
      continue;
    }
    auto reader = component_reader(comp, problems);
    transport::Deps deps{io.get_executor(), clock, store, comp.domain, http, comp.keeps_room_archive()};
    out.push_back(f->create(reader, deps));
  }
  return out;
}

int check_config(const std::string& path) {
  ConfigProblems problems(path);
  Config cfg = load_config(path, transport_kinds(), problems);
  if (problems.empty()) {
    boost::asio::io_context io;
    SystemClock clock;
    std::string err;
    auto store = mapping::SqliteRegistry::open(":memory:", err);
    if (!store) {
      std::cerr << path << ": internal error: " << err << "\n";
      return kExitRuntime;
    }
    // Routes are checked (a webhook path taken twice is a problem) and discarded.
    http::HttpHandler handler([] { return std::vector<http::ComponentHealth>{}; });
    make_transports(cfg, io, clock, *store, cfg.http.listen.empty() ? nullptr : &handler, problems);
    problems.sort();
  }
  if (!problems.empty()) {
    print_problems(problems);
    return kExitConfig;
  }
  std::cout << path << ": ok (" << cfg.components.size() << " component" << (cfg.components.size() == 1 ? "" : "s")
            << ")\n";
  return kExitOk;
}

int run(const CliOptions& opts) {
  ConfigProblems problems(opts.config);
  Config cfg = load_config(opts.config, transport_kinds(), problems);
  if (!problems.empty()) {
    print_problems(problems);
    return kExitConfig;
  }
  log::set_level(opts.log_level.empty() ? cfg.log.level : opts.log_level);
  auto lg = log::get("switchboard");

  std::string err;
  SystemClock clock;
  auto registry = mapping::SqliteRegistry::open(cfg.storage.path, err, &clock);
  if (!registry) {
    lg->critical("cannot open the registry: {}", err);
    return kExitRuntime;
  }

  boost::asio::io_context io(1);
  // After io: its timer must go before the io_context does.
  ArchiveUpkeep archive;
  if (!archive.open(cfg, err)) {
    lg->critical("cannot open the rooms' archive: {}", err);
    return kExitRuntime;
  }
  std::vector<std::unique_ptr<DomainRuntime>> domains;
  // Before the transports: they add their webhook routes while being built.
  http::HttpHandler handler([&domains] {
    std::vector<http::ComponentHealth> v;
    for (auto& d : domains) v.push_back({d->domain(), d->kind(), d->authenticated(), d->backend_up(), d->backend_text()});
    return v;
  });
  auto transports = make_transports(cfg, io, clock, *registry, cfg.http.listen.empty() ? nullptr : &handler, problems);
  if (!problems.empty()) {
    problems.sort();
    print_problems(problems);
    return kExitConfig;
  }

  for (std::size_t i = 0; i < cfg.components.size(); ++i)
    domains.push_back(std::make_unique<DomainRuntime>(io, cfg, cfg.components[i], std::move(transports[i]), *registry, clock,
                                                      archive.archive_for(cfg.components[i])));

  http::HttpServer http_server(io, handler);
  if (!cfg.http.listen.empty()) {
    if (!http_server.listen(cfg.http.listen, err)) {
      lg->critical("cannot listen on {}: {}", cfg.http.listen, err);
      return kExitRuntime;
    }
    lg->info("HTTP listener on {} (/healthz, /metrics)", cfg.http.listen);
  }

  lg->info("switchboard {} starting with {} component(s)", SB_VERSION, domains.size());
  for (auto& d : domains) d->start();
  archive.start(io, clock);

  // SPEC §1: SIGINT/SIGTERM -> graceful stop within 5 s.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer deadline(io);
  bool stopping = false;
  std::size_t remaining = domains.size();
  auto finish = [&] {
    for (auto& d : domains) d->spool_undelivered();
    archive.stop();
    http_server.stop();
    signals.cancel();
    deadline.cancel();
    io.stop();
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    stopping = true;
    lg->info("received {}, stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    if (remaining == 0) return finish();
    deadline.expires_after(std::chrono::milliseconds(4500));
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      lg->warn("graceful stop timed out; stopping now");
      finish();
    });
    for (auto& d : domains) {
      d->stop([&] {
        if (--remaining == 0) finish();
      });
    }
  });

  io.run();
  (void)stopping;
  lg->info("stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string error;
  auto opts = parse_cli(argc, argv, error);
  if (!opts) {
    std::cerr << "switchboard: " << error << "\n\n" << usage_text();
    return kExitConfig;
  }
  try {
    switch (opts->mode) {
      case CliOptions::Help: std::cout << usage_text(); return kExitOk;
      case CliOptions::Version: std::cout << version_text() << "\n"; return kExitOk;
      case CliOptions::CheckConfig: return check_config(opts->config);
      case CliOptions::Run: return run(*opts);
    }
  } catch (const std::exception& e) {
    // Startup is the one place exceptions may reach: say what, never a stack trace.
    std::cerr << "switchboard: fatal: " << e.what() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace sb::app
