#include "app/archive_upkeep.hpp"

#include <limits>
#include <sys/stat.h>

#include "common/log.hpp"
#include "mapping/sqlite_archive.hpp"

namespace sb::app {
namespace {
constexpr auto kFlushEvery = std::chrono::milliseconds(500);
constexpr int kTicksPerPrune = 2 * 3600;  // hourly
constexpr std::int64_t kDayMs = 86'400'000;
}  // namespace

std::string archive_path(const std::string& registry_path) {
  return registry_path == ":memory:" ? registry_path : registry_path + ".archive";
}

bool ArchiveUpkeep::open(const Config& cfg, std::string& error) {
  cfg_ = &cfg;
  bool wanted = false, rooms = false;
  for (const auto& c : cfg.components) {
    wanted = wanted || c.keeps_room_archive();
    rooms = rooms || c.kind == "irc";
  }
  // An archive left by an earlier configuration is opened too, so that its lines
  // of domains that now keep none are deleted (archive_days = 0 means none kept).
  struct stat st{};
  const std::string path = archive_path(cfg.storage.path);
  if (!wanted && !(rooms && path != ":memory:" && ::stat(path.c_str(), &st) == 0)) return true;
  // Its own file: the registry holds its file's lock for its lifetime.
  archive_ = mapping::SqliteArchive::open(path, error);
  return archive_ != nullptr;
}

mapping::RoomArchive* ArchiveUpkeep::archive_for(const ComponentConfig& c) const {
  return c.keeps_room_archive() ? archive_.get() : nullptr;
}

void ArchiveUpkeep::start(boost::asio::io_context& io, const Clock& clock) {
  if (!archive_) return;
  clock_ = &clock;
  timer_ = std::make_unique<boost::asio::steady_timer>(io);
  prune();
  tick();
}

void ArchiveUpkeep::tick() {
  timer_->expires_after(kFlushEvery);
  timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    archive_->flush();
    if (++ticks_ % kTicksPerPrune == 0) prune();
    tick();
  });
}

void ArchiveUpkeep::prune() {
  for (const auto& c : cfg_->components) {
    if (c.kind != "irc") continue;
    // archive_days = 0: everything of the domain goes (keep none; no age pass needed).
    const auto n = c.keeps_room_archive()
                       ? archive_->prune(c.domain, clock_->unix_ms() - c.archive_days * kDayMs,
                                         static_cast<std::size_t>(c.archive_max_lines))
                       : archive_->prune(c.domain, std::numeric_limits<std::int64_t>::min(), 0);
    if (n) log::get(c.domain)->info("archive: {} lines past retention dropped", n);
  }
}

void ArchiveUpkeep::stop() {
  if (timer_) timer_->cancel();
  if (archive_) archive_->flush();
}

}  // namespace sb::app
