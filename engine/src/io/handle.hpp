// A move-only owner of one HDF5 identifier: whatever throws, every file,
// dataset, dataspace, type, property list and attribute is closed.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

#include "brink/io/hdf5_writer.hpp"

#include "hdf5_recovery.hpp"

namespace brink {

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  // Throws OutputError("HDF5 failed to <what>") if `id` is invalid.
  Handle(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
    if (id < 0) throw OutputError(hdf5_failure_message(what));
  }
  ~Handle() { (void)close(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      (void)close();
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Closes now and reports HDF5's status (a file's close flushes it).
  herr_t close() { return id_ >= 0 && closer_ ? closer_(std::exchange(id_, -1)) : 0; }
  // Gives the id up without closing it: after a failed write, closing would
  // write a mix of old and new data; the file stays as its last flush left it.
  void abandon() { id_ = -1; }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline Handle file_handle(hid_t id, const std::string& what) { return {id, H5Fclose, what}; }
inline Handle dataset_handle(hid_t id, const std::string& what) { return {id, H5Dclose, what}; }
inline Handle space_handle(hid_t id, const std::string& what) { return {id, H5Sclose, what}; }
inline Handle type_handle(hid_t id, const std::string& what) { return {id, H5Tclose, what}; }
inline Handle plist_handle(hid_t id, const std::string& what) { return {id, H5Pclose, what}; }
inline Handle attribute_handle(hid_t id, const std::string& what) { return {id, H5Aclose, what}; }

}  // namespace brink
