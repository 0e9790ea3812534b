#include "zip_archive.h"

namespace stylemm {
namespace {

constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kDirectoryEntry = 0x02014b50;
constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::size_t kEndSize = 22, kEntrySize = 46, kLocalSize = 30;

// Little-endian reads, bounds checked by the callers.
std::uint32_t u16(const std::uint8_t* p) { return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8; }
std::uint32_t u32(const std::uint8_t* p) { return u16(p) | u16(p + 2) << 16; }

bool fits(std::size_t offset, std::size_t length, std::size_t size) { return offset <= size && length <= size - offset; }

// The end-of-central-directory record: the last 22 bytes, or earlier if a comment (up to
// 64 KiB) follows it.
bool find_end(const std::uint8_t* archive, std::size_t size, std::size_t& end) {
  if (size < kEndSize) return false;
  const std::size_t lowest = size - kEndSize > 0xffff ? size - kEndSize - 0xffff : 0;
  for (std::size_t at = size - kEndSize;; --at) {
    if (u32(archive + at) == kEndOfDirectory && u16(archive + at + 20) == size - kEndSize - at) {
      end = at;
      return true;
    }
    if (at == lowest) return false;
  }
}

bool fail(std::string& error, const std::string& why) {
  error = why;
  return false;
}

}  // namespace

bool read_stored_zip(const std::uint8_t* archive, std::size_t size, std::map<std::string, Span>& members,
                     std::string& error) {
  members.clear();
  std::size_t end = 0;
  if (!find_end(archive, size, end)) return fail(error, "not a zip archive (no end-of-directory record)");
  const std::uint32_t count = u16(archive + end + 10);
  const std::size_t directory_size = u32(archive + end + 12), directory = u32(archive + end + 16);
  if (count == 0xffff || directory == 0xffffffff) return fail(error, "ZIP64 archives are not .smm bundles");
  if (!fits(directory, directory_size, end)) return fail(error, "the zip directory lies outside the archive (truncated?)");
  std::size_t at = directory, total = 0;  // total: members' bytes, at most the archive's unless members overlap
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!fits(at, kEntrySize, directory + directory_size) || u32(archive + at) != kDirectoryEntry)
      return fail(error, "damaged zip directory (truncated?)");
    const std::uint32_t flags = u16(archive + at + 8), method = u16(archive + at + 10);
    const std::size_t stored = u32(archive + at + 20), length = u32(archive + at + 24);
    const std::size_t name_size = u16(archive + at + 28);
    const std::size_t extra = u16(archive + at + 30) + std::size_t{u16(archive + at + 32)};
    const std::size_t local = u32(archive + at + 42);
    if (!fits(at + kEntrySize, name_size + extra, directory + directory_size))
      return fail(error, "damaged zip directory (a name runs past it)");
    std::string name(reinterpret_cast<const char*>(archive + at + kEntrySize), name_size);
    at += kEntrySize + name_size + extra;
    if (flags & 1u) return fail(error, "member '" + name + "' is encrypted");
    if (method != 0 || stored != length)
      return fail(error, "member '" + name + "' is compressed; .smm archives store their files uncompressed");
    if (!fits(local, kLocalSize, size) || u32(archive + local) != kLocalHeader)
      return fail(error, "member '" + name + "' has no local header where the directory says");
    const std::size_t data = local + kLocalSize + u16(archive + local + 26) + std::size_t{u16(archive + local + 28)};
    if (!fits(data, length, size)) return fail(error, "member '" + name + "' runs past the end of the archive (truncated?)");
    if ((total += length) > size) return fail(error, "members overlap (each would be copied: a zip bomb)");
    if (!name.empty() && name.back() == '/') continue;  // a folder entry holds nothing
    if (!members.emplace(name, Span{archive + data, length}).second)
      return fail(error, "member '" + name + "' appears twice");
  }
  return true;
}

}  // namespace stylemm
