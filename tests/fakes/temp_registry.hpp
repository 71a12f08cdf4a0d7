// A temporary directory and an SQLite registry opened in it, for the tests that
// need real files (persistence, kill -9, the queue journal). Test-only.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <doctest/doctest.h>
#include "common/clock.hpp"
#include "mapping/sqlite_registry.hpp"

namespace sb::test {

// mkdtemp under the system temp dir; removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "sb-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Opens (or creates) the registry at `path`; the test fails with its error if it cannot.
inline std::unique_ptr<mapping::SqliteRegistry> open_ok(const std::string& path, const Clock* clock = nullptr) {
  std::string error;
  auto r = mapping::SqliteRegistry::open(path, error, clock);
  INFO(error);
  REQUIRE(r);
  return r;
}

}  // namespace sb::test
