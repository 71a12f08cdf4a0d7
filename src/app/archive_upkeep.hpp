// The rooms' archive at run time (mapping/room_archive.hpp, README "Room
// archive"): one SqliteArchive in "<registry path>.archive", shared by the
// components that keep one ([[irc]] with archive_days > 0). What the core
// appends is written every 500 ms (and at stop); each component's retention
// (archive_days, archive_max_lines) is applied at start and hourly.
// Threading: the io thread only.
#pragma once
#include <memory>
#include <string>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include "app/config.hpp"
#include "common/clock.hpp"
#include "mapping/room_archive.hpp"

namespace sb::app {

// "<registry path>.archive" (":memory:" stays in memory).
std::string archive_path(const std::string& registry_path);

class ArchiveUpkeep {
 public:
  // Opens the archive when a component keeps one; false (with error set) when it
  // cannot be opened. With none wanted, archive_for() is always null.
  bool open(const Config& cfg, std::string& error);
  // The archive the core of this component uses; null = it keeps none.
  mapping::RoomArchive* archive_for(const ComponentConfig& c) const;
  void start(boost::asio::io_context& io, const Clock& clock);
  void stop();  // cancels the timer and writes what is buffered

 private:
  void tick();
  void prune();

  const Config* cfg_ = nullptr;
  const Clock* clock_ = nullptr;
  std::unique_ptr<mapping::RoomArchive> archive_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  int ticks_ = 0;
};

}  // namespace sb::app
