// The brink binary's kernel: one variant shared object, loaded at run time.
//
// Each variant is compiled for one instruction set with hidden visibility and
// exports only brink_kernel_table(). It is loaded with RTLD_LOCAL, so none of
// its symbols (Eigen's templates above all) can bind to another variant's or
// to this binary's copies: the path that runs is the path that was chosen.
#include <dlfcn.h>
#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "brink/model/kernel_dispatch.hpp"
#include "brink/model/kernel_files.hpp"
#include "kernel_fingerprint.hpp"

#ifndef BRINK_KERNEL_VARIANTS
#error "BRINK_KERNEL_VARIANTS (the built paths, best first, separated by spaces) is set by engine/CMakeLists.txt"
#endif
#ifndef BRINK_KERNEL_INSTALL_DIR
#define BRINK_KERNEL_INSTALL_DIR "lib/brink"
#endif

namespace brink {
namespace {

namespace fs = std::filesystem;

std::mutex g_mutex;
std::atomic<const KernelTable*> g_active{nullptr};

// Never the working directory as a fallback: a kernel found there would be
// whatever shared object lies where the user happens to stand.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw std::runtime_error(
        "cannot find the directory of the brink executable, where its kernels are "
        "(/proc/self/exe: " +
        ec.message() + "); run it where /proc is mounted");
  return self.parent_path();
}

// Beside the executable (the build tree), then in the install prefix's lib dir.
std::vector<fs::path> candidates(std::string_view isa) {
  const std::string file = "brink_kernel_" + std::string(isa) + ".so";
  const fs::path dir = executable_dir();
  return {dir / file, dir.parent_path() / BRINK_KERNEL_INSTALL_DIR / file};
}

// The bytes an ELF object's headers say it holds: its program headers, every
// loaded segment, and its section headers (written last). 0 if it is no
// 64-bit ELF file, which dlopen then names itself.
std::uintmax_t elf_extent(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != ELFCLASS64)
    return 0;
  std::uintmax_t extent =
      std::max<std::uintmax_t>(header.e_phoff + std::uintmax_t{header.e_phnum} * header.e_phentsize,
                               header.e_shoff + std::uintmax_t{header.e_shnum} * header.e_shentsize);
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + std::uintmax_t{i} * header.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&segment), sizeof segment)) break;  // past the end: extent says so
    if (segment.p_type == PT_LOAD) extent = std::max<std::uintmax_t>(extent, segment.p_offset + segment.p_filesz);
  }
  return extent;
}

const KernelTable* load(std::string_view isa) {
  std::string tried;
  for (const fs::path& path : candidates(isa)) {
    if (!fs::exists(path)) {
      tried += (tried.empty() ? "" : " or ") + path.string();
      continue;
    }
    // A truncated copy (an interrupted install) passes dlopen's checks, whose
    // mapping then faults (SIGBUS) on the first page past the file's end.
    std::error_code ec;
    const std::uintmax_t size = fs::file_size(path, ec);
    if (const std::uintmax_t extent = elf_extent(path); !ec && size < extent)
      throw std::runtime_error(path.string() + " is truncated (" + std::to_string(size) + " of its " +
                               std::to_string(extent) + " bytes); rebuild or reinstall brink");
    // Never closed: the table and the code it points to live as long as the process.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error("cannot load the " + std::string(isa) + " kernel: " + dlerror());
    using Fingerprint = const char* (*)();
    auto fingerprint = reinterpret_cast<Fingerprint>(dlsym(handle, "brink_kernel_fingerprint"));
    const bool ours = fingerprint && std::string_view(fingerprint()) == BRINK_KERNEL_FINGERPRINT;
    using Entry = const KernelTable* (*)();
    auto entry = ours ? reinterpret_cast<Entry>(dlsym(handle, "brink_kernel_table")) : nullptr;
    const KernelTable* table = entry ? entry() : nullptr;
    if (!table || std::string_view(table->isa) != isa)
      throw std::runtime_error(path.string() + " is not a brink " + std::string(isa) +
                               " kernel of this version; rebuild or reinstall brink");
    return table;
  }
  throw std::runtime_error("the " + std::string(isa) + " kernel is missing (looked for " + tried +
                           "); rebuild or reinstall brink");
}

}  // namespace

std::vector<std::string> built_isas() {
  std::vector<std::string> isas;
  std::istringstream in(BRINK_KERNEL_VARIANTS);
  for (std::string isa; in >> isa;) isas.push_back(isa);
  return isas;
}

std::vector<std::string> kernel_files() {
  std::vector<std::string> files;
  try {
    for (const std::string& isa : built_isas())
      for (const fs::path& path : candidates(isa))
        if (std::error_code ec; fs::exists(path, ec)) files.push_back(path.string());
  } catch (const std::runtime_error&) {  // no /proc: nothing to name, and no kernel will load
  }
  return files;
}

void select_kernel(std::string_view isa) {
  const std::vector<std::string> built = built_isas();
  if (std::find(built.begin(), built.end(), isa) == built.end()) {
    std::string all;
    for (const std::string& b : built) all += (all.empty() ? "" : ", ") + b;
    throw IsaUnavailable("instruction set '" + std::string(isa) + "' is not built into this brink (it has " + all +
                         ")");
  }
  if (!cpu_supports(isa))
    throw IsaUnavailable("this CPU does not support " + std::string(isa) + "; run without --isa to use " +
                         default_isa());
  std::lock_guard lock(g_mutex);
  const KernelTable* current = g_active.load();
  if (current && std::string_view(current->isa) == isa) return;
  g_active.store(load(isa));
}

const KernelTable& kernel() {
  if (const KernelTable* table = g_active.load(std::memory_order_acquire)) return *table;
  {
    std::lock_guard lock(g_mutex);
    if (!g_active.load()) g_active.store(load(default_isa()));
  }
  return *g_active.load();
}

}  // namespace brink
