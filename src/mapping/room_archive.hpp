// Per-user archives of rooms: what a user's legacy connection saw in a room (an
// IRC channel's lines, the user's own messages in it), kept so that a client
// gets the room's history when it joins (XEP-0045 §7.2.15) and can page through
// it (XEP-0313 MAM), also after switchboard restarted. README "Room archive".
//
// Keyed by (component domain, user's bare JID, room's legacy id): a query names
// the user, so no user can read another's archive (the core passes the sender's
// own bare JID, never one taken from the request).
//
// Durability: append() may buffer; a buffered line is visible to query() at
// once and reaches the database at the next flush() (the app flushes every
// 500 ms, and at shutdown) — so kill -9 can lose the last half second of the
// archive, never a message (the archive is a copy of what was delivered).
// Threading: the io thread only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::mapping {

struct ArchivedLine {
  std::int64_t id = 0;     // > 0, increasing in the order appended (across every archive): the XEP-0359 stanza-id
  std::int64_t at_ms = 0;  // when it was said (Unix ms)
  std::string nick;        // who said it; empty = the room (server) itself
  std::string body;
};

struct ArchiveQuery {
  std::optional<std::int64_t> start_ms, end_ms;     // inclusive bounds on at_ms
  std::optional<std::int64_t> after_id, before_id;  // exclusive bounds on id
  std::string nick;                                  // non-empty: only this speaker's lines (exact match)
  std::size_t max = 50;                              // page size (0: none, only count/complete)
  bool last = false;  // the newest `max` lines that match (RSM <before/>), else the oldest
};

struct ArchivePage {
  std::vector<ArchivedLine> lines;  // oldest first, at most `max`
  // Nothing else matches beyond the page in the direction asked: after its last
  // line (last == false) or before its first (last == true).
  bool complete = true;
  // Lines matching start_ms/end_ms/nick, whatever the id bounds and max (XEP-0059 <count/>).
  std::size_t count = 0;
};

class RoomArchive {
 public:
  virtual ~RoomArchive() = default;
  // Keeps a line; returns its id (> 0), or 0 when it cannot be kept (logged).
  virtual std::int64_t append(std::string_view domain, std::string_view user, std::string_view room,
                              std::int64_t at_ms, std::string_view nick, std::string_view body) = 0;
  virtual ArchivePage query(std::string_view domain, std::string_view user, std::string_view room,
                            const ArchiveQuery& q) = 0;
  // Is line `id` in this user's archive of this room? (XEP-0313 §6.3: paging from
  // an id the archive does not hold is item-not-found.)
  virtual bool holds(std::string_view domain, std::string_view user, std::string_view room, std::int64_t id) = 0;
  // Forgets every room of the user in the domain (XEP-0077 <remove/>).
  virtual void remove_user(std::string_view domain, std::string_view user) = 0;
  // Writes what is buffered, in one transaction.
  virtual void flush() = 0;
  // Retention: drops the domain's lines older than `before_ms`, and all but the
  // newest `keep` of each (user, room) (keep 0: all of them; before_ms INT64_MIN:
  // no age pass). Returns how many were dropped.
  virtual std::size_t prune(std::string_view domain, std::int64_t before_ms, std::size_t keep) = 0;
};

}  // namespace sb::mapping
