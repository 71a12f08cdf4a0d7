#include "mapping/sqlite_schema.hpp"

#include <array>
#include <cstdint>

namespace sb::mapping::sqlite {
namespace {

// Append only: a shipped migration is never edited, a change is a new entry.
constexpr std::array<const char*, 2> kMigrations = {
    // v1: base tables.
    R"sql(
CREATE TABLE registrations(
  domain TEXT NOT NULL, user TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY(domain, user));
-- Fields in declaration order (ord), so a form is shown back as it was filled.
CREATE TABLE registration_fields(
  domain TEXT NOT NULL, user TEXT NOT NULL, ord INTEGER NOT NULL,
  name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(domain, user, ord),
  FOREIGN KEY(domain, user) REFERENCES registrations(domain, user) ON DELETE CASCADE);
CREATE TABLE subscriptions(
  domain TEXT NOT NULL, user TEXT NOT NULL, peer TEXT NOT NULL,
  PRIMARY KEY(domain, user, peer));
CREATE INDEX subscriptions_by_peer ON subscriptions(domain, peer);
CREATE TABLE settings(
  domain TEXT NOT NULL, user TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(domain, user, key));
CREATE TABLE mappings(
  domain TEXT NOT NULL, legacy_id TEXT NOT NULL, localpart TEXT NOT NULL,
  PRIMARY KEY(domain, legacy_id), UNIQUE(domain, localpart));
CREATE TABLE state(
  domain TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(domain, key));
-- AUTOINCREMENT: ids never reused, so an id acked once can never come back as
-- a different item (delivery order = id order).
CREATE TABLE queue(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain TEXT NOT NULL, queue TEXT NOT NULL,
  payload BLOB NOT NULL, enqueued_ms INTEGER NOT NULL);
)sql",
    // v2: delivery attempts (retry backoff, SPEC §10) and an index for peek in
    // id order per queue.
    R"sql(
ALTER TABLE queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX queue_order ON queue(domain, queue, id);
)sql",
};

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

int schema_version(Db& db) {
  std::int64_t v = 0;
  if (!db.query_int("PRAGMA user_version", v)) return -1;
  return static_cast<int>(v);
}

bool migrate(Db& db, int target_version, std::string& error) {
  if (target_version < 0 || target_version > latest_schema_version()) {
    error = "unknown schema version " + std::to_string(target_version);
    return false;
  }
  int current = schema_version(db);
  if (current < 0) {
    error = "cannot read schema version: " + db.error();
    return false;
  }
  if (current > target_version) {
    error = "database schema version " + std::to_string(current) + " is newer than this switchboard (" +
            std::to_string(target_version) + ")";
    return false;
  }
  for (int v = current + 1; v <= target_version; ++v) {
    Transaction tx(db);
    // user_version lives in the database header and is part of the transaction.
    if (!tx.ok() || !db.exec(kMigrations[static_cast<std::size_t>(v - 1)]) ||
        !db.exec("PRAGMA user_version = " + std::to_string(v)) || !tx.commit()) {
      error = "schema migration to version " + std::to_string(v) + " failed: " + db.error();
      return false;
    }
  }
  return true;
}

}  // namespace sb::mapping::sqlite
