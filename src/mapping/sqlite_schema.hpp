// The registry's schema (SPEC §5 "schema versioned and migrated at start"):
// an ordered list of migrations, the version kept in PRAGMA user_version.
// Migration i takes a database from version i-1 to i, in one transaction
// together with the user_version update, so a crash mid-migration leaves the
// previous version intact.
#pragma once
#include <string>
#include "mapping/sqlite_db.hpp"

namespace sb::mapping::sqlite {

// The version this build creates and understands.
int latest_schema_version();

// The database's current version (PRAGMA user_version); -1 on error.
int schema_version(Db& db);

// Applies migrations up to target_version (<= latest). Fails, with error set,
// if the database is newer than target_version or a migration fails. Exposed
// with a target so tests can build an old database and then upgrade it.
bool migrate(Db& db, int target_version, std::string& error);

}  // namespace sb::mapping::sqlite
