// The members of a .smm archive: a zip whose members are all stored uncompressed
// (docs/bundle-format.md). Only that much of zip is read. libzip would read more, but it
// brings zlib, bzip2 and OpenSSL with it, which an engine plugin should not have to ship
// for archives that are never compressed. Fuzzed with libFuzzer (tests/fuzz).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace stylemm {

struct Span {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

// Member name -> its bytes inside `archive` (views, not copies). Returns false and sets
// `error` when the archive is not a zip, is truncated, compresses or encrypts a member,
// uses ZIP64, names a member twice, or puts a member outside the archive.
bool read_stored_zip(const std::uint8_t* archive, std::size_t size, std::map<std::string, Span>& members,
                     std::string& error);

}  // namespace stylemm
