// The writer against real HDF5: chunks encoded on the worker threads hold
// the bytes HDF5's own filters would (a zlib stream of the shuffled chunk), a written file holds exactly the table's
// variables, --resume reads blocks back bit for bit, and no HDF5 object
// outlives the writer, also when it throws.
#include "brink/io/hdf5_writer.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "../support/scenarios.hpp"
#include "brink/io/resume_sums.hpp"
#include "brink/io/variables.hpp"
#include "brink/sweep/plan.hpp"

namespace brink {
namespace {

namespace fs = std::filesystem;

SweepPlan flagship_plan(const std::string& replications, const std::string& every) {
  const LoadedScenario loaded =
      load_scenario({"flagship", testing::flagship_text()},
                    std::vector<Override>{{"run.replications", replications}, {"output.timeseries_every", every}});
  return single_point_plan(loaded, {});
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("brink_io_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

hid_t stored_type(Dtype d) {
  switch (d) {
    case Dtype::kInt8:
      return H5T_NATIVE_INT8;
    case Dtype::kInt16:
      return H5T_NATIVE_INT16;
    case Dtype::kInt32:
      return H5T_NATIVE_INT32;
    case Dtype::kInt64:
      return H5T_NATIVE_INT64;
    case Dtype::kFloat32:
      return H5T_NATIVE_FLOAT;
    default:
      return H5T_NATIVE_DOUBLE;
  }
}

// Writes the block's field with HDF5's own filter pipeline, as the first
// chunk of the variable (the block must fill it), and returns the stored
// bytes of that chunk.
std::vector<std::uint8_t> hdf5_chunk(const VariableSpec& v, const FileLayout& layout, const BlockResult& block) {
  const std::string path = temp_path("reference.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const auto shape64 = layout.shape(v), chunk64 = layout.chunk(v);
  const std::vector<hsize_t> shape(shape64.begin(), shape64.end()), chunk(chunk64.begin(), chunk64.end());
  const hid_t space = H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 1);
  const hid_t ds = H5Dcreate2(file, "v", stored_type(layout.dtype(v)), space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const std::vector<hsize_t> origin(shape.size(), 0);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, origin.data(), nullptr, chunk.data(), nullptr);
  const hid_t memory_space = H5Screate_simple(static_cast<int>(chunk.size()), chunk.data(), nullptr);
  std::visit(
      [&](auto member) {
        if constexpr (!std::is_same_v<decltype(member), std::monostate>) {
          const auto& data = block.*member;
          using T = typename std::decay_t<decltype(data)>::value_type;
          hid_t memory = H5T_NATIVE_DOUBLE;
          if constexpr (std::is_same_v<T, std::int8_t>) memory = H5T_NATIVE_INT8;
          if constexpr (std::is_same_v<T, std::int32_t>) memory = H5T_NATIVE_INT32;
          if constexpr (std::is_same_v<T, float>) memory = H5T_NATIVE_FLOAT;
          const bool whole = data.size() == layout.chunk_elements(v);
          EXPECT_TRUE(whole) << v.name << ": the block does not fill its chunk";
          if (whole) {
            EXPECT_GE(H5Dwrite(ds, memory, memory_space, space, H5P_DEFAULT, data.data()), 0);
          }
        }
      },
      v.block);
  const std::vector<hsize_t> offset(shape.size(), 0);
  hsize_t size = 0;
  EXPECT_GE(H5Dget_chunk_storage_size(ds, offset.data(), &size), 0);
  std::vector<std::uint8_t> bytes(size);
  std::uint32_t filters = 0;
  EXPECT_GE(H5Dread_chunk(ds, H5P_DEFAULT, offset.data(), &filters, bytes.data()), 0);
  EXPECT_EQ(filters, 0u);  // every filter applied
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(memory_space);
  H5Sclose(space);
  H5Fclose(file);
  fs::remove(path);
  return bytes;
}

// The shuffled chunk inside a zlib stream (what HDF5's deflate filter undoes).
std::vector<std::uint8_t> inflate(const std::vector<std::uint8_t>& stream, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  uLongf length = size;
  EXPECT_EQ(uncompress(out.data(), &length, stream.data(), stream.size()), Z_OK);
  EXPECT_EQ(length, size);
  return out;
}

// Encodes every chunk of a one-block file's block (256 replications, so that
// HDF5's chunk is exactly the block) and checks that it holds what HDF5's own
// filters store: the compressor may differ from zlib's (any zlib stream is
// valid for HDF5), the shuffled, converted bytes inside may not. Calls
// size_check(variable, encoded size, raw size) for each; returns how many.
template <class SizeCheck>
int expect_chunks_as_hdf5_stores_them(const FileLayout& layout, const BlockResult& block, SizeCheck&& size_check) {
  int checked = 0;
  for (const VariableSpec& v : variable_table()) {
    if (v.storage != Storage::kBlockChunks || !layout.present(v)) continue;
    const std::size_t size = layout.chunk_elements(v) * dtype_size(layout.dtype(v));
    const std::vector<std::uint8_t> ours = encode_chunk(v, layout, std::span(&block, 1));
    EXPECT_EQ(inflate(ours, size), inflate(hdf5_chunk(v, layout, block), size)) << v.name;
    size_check(v, ours.size(), size);
    ++checked;
  }
  return checked;
}

TEST(ChunkCodecTest, WorkersEncodeWhatHdf5sShuffleAndDeflateFiltersStore) {
  const SweepPlan plan = flagship_plan("256", "10");
  const BlockResult block = simulate_block(plan.model(0), plan.block(0, 0));
  const int checked = expect_chunks_as_hdf5_stores_them(
      file_layout(plan), block,
      [](const VariableSpec& v, std::size_t encoded, std::size_t raw) { EXPECT_LT(encoded, raw) << v.name; });
  EXPECT_GE(checked, 20);  // every per-replication variable, block sum and series, int8 to float64
}

TEST(ChunkCodecTest, ChunksOfAFewBytesAreStoredAsOneStoredDeflateBlock) {
  // A point of one replication: every per-replication chunk is a few dozen
  // bytes, stored inside its zlib stream (2 bytes of header, 5 of block
  // header, 4 of checksum) instead of compressed; the larger ones (the
  // time series over 121 steps) are still compressed.
  const SweepPlan plan = flagship_plan("1", "1");
  const BlockResult block = simulate_block(plan.model(0), plan.block(0, 0));
  int stored = 0, compressed = 0;
  const int checked = expect_chunks_as_hdf5_stores_them(
      file_layout(plan), block, [&](const VariableSpec& v, std::size_t encoded, std::size_t raw) {
        if (raw < 128) {
          EXPECT_EQ(encoded, raw + 11) << v.name;
          ++stored;
        } else {
          EXPECT_LT(encoded, raw) << v.name;
          ++compressed;
        }
      });
  EXPECT_GE(stored, 10);
  EXPECT_GE(compressed, 2);
  EXPECT_EQ(stored + compressed, checked);
}

TEST(ChunkCodecTest, ChunksOfEveryByteValueAndOfNoisyBitsRoundTrip) {
  // The trained Huffman code (level 0) must encode any chunk, also values
  // whose bytes it never saw in training, and a chunk it cannot shrink must
  // still come out no larger than stored blocks allow.
  const SweepPlan plan = flagship_plan("300", "0");
  BlockResult block = simulate_block(plan.model(0), plan.block(0, 0));
  std::mt19937_64 bits(20221);
  auto noise = [&bits](auto& field) {
    using T = typename std::decay_t<decltype(field)>::value_type;
    for (T& value : field) {
      if constexpr (std::is_floating_point_v<T>) {
        // Finite values over the whole exponent range: every byte of the shuffled chunk is noise.
        value = static_cast<T>(std::ldexp(std::uniform_real_distribution<double>(-1.0, 1.0)(bits),
                                          std::uniform_int_distribution<int>(-120, 120)(bits)));
      } else {
        // Within every stored integer type's range (action counts are stored as int16).
        value = static_cast<T>(std::uniform_int_distribution<int>(0, sizeof(T) == 1 ? 127 : 32767)(bits));
      }
    }
  };
  noise(block.final_forces);
  noise(block.casualties);
  noise(block.offer);
  noise(block.final_belief);
  noise(block.action_count);
  noise(block.end_step);
  noise(block.resolve_type);
  const FileLayout layout = file_layout(plan);
  const int checked =
      expect_chunks_as_hdf5_stores_them(layout, block, [](const VariableSpec& v, std::size_t encoded, std::size_t raw) {
        EXPECT_LE(encoded, raw + raw / 65535 * 5 + 64) << v.name;  // stored blocks' bound
      });
  int block_chunks = 0;
  for (const VariableSpec& v : variable_table())
    block_chunks += v.storage == Storage::kBlockChunks && layout.present(v);
  EXPECT_GE(block_chunks, 15);
  EXPECT_EQ(checked, block_chunks);
}

// Leaves `byte` in the stack below the caller, where the next call's locals
// will live: a codec that reads a field it never set reads this.
[[gnu::noinline]] void dirty_stack(std::uint8_t byte) {
  // Small 16-bit values, as match tables hold: positions in a short chunk.
  volatile std::uint16_t junk[128 * 1024];
  for (std::size_t k = 0; k < std::size(junk); ++k) junk[k] = static_cast<std::uint16_t>((k * byte) % 29);
  // And freed heap blocks of small sizes, where a chunk's buffers will be allocated next.
  std::vector<std::unique_ptr<std::uint8_t[]>> blocks;
  for (std::size_t size = 1; size <= 512; ++size) {
    blocks.emplace_back(new std::uint8_t[size]);
    std::memset(blocks.back().get(), byte + static_cast<int>(size), size);
  }
}

void expect_chunks_whatever_the_thread_encoded_before(const FileLayout& layout, BlockResult block) {
  // Chunks of zeros of the same byte count but different element sizes (1 and 4 bytes).
  block.resolve_type.assign(block.resolve_type.size(), 0);
  block.incidents.assign(block.incidents.size(), 0);
  ASSERT_EQ(block.resolve_type.size(), block.incidents.size() * sizeof(std::int32_t));
  std::vector<const VariableSpec*> variables;
  for (const VariableSpec& v : variable_table())
    if (v.storage == Storage::kBlockChunks && layout.present(v)) variables.push_back(&v);
  auto encode_all = [&](bool reversed, std::uint8_t garbage) {
    std::map<std::string, std::vector<std::uint8_t>> chunks;
    std::thread([&] {
      dirty_stack(garbage);
      // Each chunk after another one: what ISA-L left on the stack and in the thread's buffers.
      for (std::size_t k = 0; k < variables.size(); ++k) {
        const VariableSpec& v = *variables[reversed ? variables.size() - 1 - k : k];
        chunks[std::string(v.name)] = encode_chunk(v, layout, std::span(&block, 1));
      }
    }).join();
    return chunks;
  };
  const auto first = encode_all(false, 0x05);
  for (const std::uint8_t garbage : {0x00, 0x01, 0x02, 0x03, 0x07, 0x10, 0x0B, 0xFF}) {
    const auto again = encode_all(garbage % 2 == 1, garbage);
    for (const auto& [name, bytes] : first) EXPECT_EQ(again.at(name), bytes) << name << ", garbage " << int{garbage};
  }
}

TEST(ChunkCodecTest, AChunksBytesDependOnItsValuesAlone) {
  // A block's chunks, each encoded on a fresh thread after other chunks (in
  // one order or the other) and after different garbage was left on the
  // stack, must be the same bytes: a file's chunks are then the same
  // whichever thread encoded which block.
  for (const char* replications : {"7", "256"}) {
    const SweepPlan plan = flagship_plan(replications, "10");
    expect_chunks_whatever_the_thread_encoded_before(file_layout(plan),
                                                     simulate_block(plan.model(0), plan.block(0, 0)));
  }
}

void expect_same_resume_fields(const BlockResult& a, const BlockResult& b) {
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.end_step, b.end_step);
  EXPECT_EQ(a.war_start_step, b.war_start_step);
  EXPECT_EQ(a.casualties, b.casualties);
  EXPECT_EQ(a.agreed, b.agreed);
}

void expect_same_sums(const ResumeSums& a, const ResumeSums& b) {
  EXPECT_EQ(a.point, b.point);
  EXPECT_EQ(a.blocks, b.blocks);
  EXPECT_EQ(a.rung_count, b.rung_count);
  EXPECT_EQ(a.troops, b.troops);
  EXPECT_EQ(a.belief, b.belief);
}

TEST(Hdf5WriterTest, AFileHoldsTheTablesVariablesAndResumeReadsBlocksBack) {
  // 600 replications: two full blocks and a tail of 88 in a padded chunk.
  const SweepPlan plan = flagship_plan("600", "20");
  const FileLayout layout = file_layout(plan);
  const OutputMetadata metadata{"flagship", testing::flagship_text(), "run.replications=600\n", "test"};
  const std::string path = temp_path("roundtrip.h5");
  std::vector<BlockResult> blocks;
  PointAccumulator accumulator(plan.model(0));
  {
    Hdf5Writer writer(path, plan, metadata);
    for (std::int64_t b = 0; b < plan.blocks_per_point(); ++b) {
      blocks.push_back(simulate_block(plan.model(0), plan.block(0, b)));
      if (b != 1) writer.encode(std::span(&blocks.back(), 1));  // block 1: encoded by the writer itself
      writer.write_block(blocks.back());
      accumulator.add(blocks.back());
      writer.stage_resume_sums(accumulator.sums_so_far(0));
    }
  }  // cut off without close(): a partial file, published as it stands
  const ResumeSums sums = accumulator.sums_so_far(0);
  ASSERT_EQ(sums.blocks, 3);
  {
    Hdf5Writer reopened(path, plan, metadata, Hdf5Writer::Mode::kResume);
    EXPECT_EQ(reopened.finished_blocks(), std::vector<std::uint8_t>(3, 1));
    for (const BlockResult& block : blocks) expect_same_resume_fields(reopened.read_block(block.spec), block);
    // The newest sums, and older ones in the point's other slot (the first were vouched for at once).
    std::vector<ResumeSums> slots = reopened.resume_sums({0});
    ASSERT_EQ(slots.size(), 2u);
    std::sort(slots.begin(), slots.end(), [](const auto& a, const auto& b) { return a.blocks > b.blocks; });
    expect_same_sums(slots[0], sums);
    EXPECT_LT(slots[1].blocks, sums.blocks);
    EXPECT_TRUE(reopened.resume_sums({600}).empty());  // a published point needs none
    reopened.close();
  }
  {
    // A finished file's slots are cleared: they would differ with the flushes' timing.
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    EXPECT_TRUE(read_resume_sums(file).empty());
    const hid_t ds = H5Dopen2(file, "resume_troops_sum", H5P_DEFAULT);
    const hid_t space = H5Dget_space(ds);
    std::vector<double> all(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)), 1.0);
    ASSERT_GE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
    EXPECT_EQ(std::count(all.begin(), all.end(), 0.0), static_cast<std::ptrdiff_t>(all.size()));
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(file);
  }
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  std::set<std::string> expected;
  for (const VariableSpec& v : variable_table()) {
    if (!layout.present(v)) continue;
    expected.insert(std::string(v.name));
    const hid_t ds = H5Dopen2(file, std::string(v.name).c_str(), H5P_DEFAULT);
    ASSERT_GE(ds, 0) << v.name;
    const hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    std::vector<hsize_t> shape(H5Sget_simple_extent_ndims(space));
    H5Sget_simple_extent_dims(space, shape.data(), nullptr);
    const auto want = layout.shape(v);
    EXPECT_EQ(std::vector<std::uint64_t>(shape.begin(), shape.end()), want) << v.name;
    if (layout.dtype(v) != Dtype::kString) {
      EXPECT_EQ(H5Tget_size(type), dtype_size(layout.dtype(v))) << v.name;
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(ds);
  }
  // The whole of outcome_code, the padded tail chunk included.
  std::vector<std::int8_t> codes(600);
  const hid_t ds = H5Dopen2(file, "outcome_code", H5P_DEFAULT);
  ASSERT_GE(H5Dread(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes.data()), 0);
  H5Dclose(ds);
  std::vector<std::int8_t> want;
  for (const BlockResult& b : blocks) want.insert(want.end(), b.outcome.begin(), b.outcome.end());
  EXPECT_EQ(codes, want);
  // The CF time coordinate is written beside the table's variables when the scenario has a start date.
  if (!plan.run().start_date.empty()) expected.insert("time");
  hsize_t count = 0;
  H5Gget_num_objs(file, &count);
  EXPECT_EQ(count, expected.size());  // nothing in the file that the table does not declare
  H5Fclose(file);
  fs::remove(path);
}

TEST(Hdf5WriterTest, ResumeSumsThatDoNotMatchTheirHeaderAreIgnored) {
  // The sums of a slot are written before the flush its header waits for: a
  // run cut off between them leaves sums the header does not vouch for.
  const SweepPlan plan = flagship_plan("600", "20");
  const OutputMetadata metadata{"flagship", testing::flagship_text(), "run.replications=600\n", "test"};
  const std::string path = temp_path("torn_sums.h5");
  {
    Hdf5Writer writer(path, plan, metadata);
    PointAccumulator accumulator(plan.model(0));
    for (std::int64_t b = 0; b < 2; ++b) {
      const BlockResult block = simulate_block(plan.model(0), plan.block(0, b));
      writer.write_block(block);
      accumulator.add(block);
      writer.stage_resume_sums(accumulator.sums_so_far(0));
    }
  }  // cut off without close()
  auto slots_in_file = [&] {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    std::vector<ResumeSums> slots = read_resume_sums(file);
    H5Fclose(file);
    return slots;
  };
  std::vector<ResumeSums> before = slots_in_file();
  ASSERT_EQ(before.size(), 2u);  // blocks 0 and 0-1: the first vouched for at once, the newest at the end
  std::sort(before.begin(), before.end(), [](const auto& a, const auto& b) { return a.blocks > b.blocks; });
  EXPECT_EQ(before[0].blocks, 2);
  EXPECT_EQ(before[1].blocks, 1);
  {
    // One troop sum of the newest slot changed by one unit in the last place.
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    std::vector<std::int64_t> blocks(2);  // one point: two slots
    const hid_t header = H5Dopen2(file, "resume_blocks", H5P_DEFAULT);
    ASSERT_GE(H5Dread(header, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, blocks.data()), 0);
    H5Dclose(header);
    const auto row = static_cast<std::size_t>(std::find(blocks.begin(), blocks.end(), 2) - blocks.begin());
    ASSERT_LT(row, blocks.size());
    const hid_t ds = H5Dopen2(file, "resume_troops_sum", H5P_DEFAULT);
    const hid_t space = H5Dget_space(ds);
    std::vector<double> all(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    ASSERT_GE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
    const std::size_t at = row * before[0].troops.size() + 7;
    ASSERT_EQ(all[at], before[0].troops[7]);
    all[at] = std::nextafter(all[at], 0.0);
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()), 0);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(file);
  }
  const std::vector<ResumeSums> after = slots_in_file();
  ASSERT_EQ(after.size(), 1u);  // the older slot alone
  expect_same_sums(after[0], before[1]);
  fs::remove(path);
}

TEST(Hdf5WriterTest, NoHdf5ObjectOutlivesTheWriterEvenWhenItThrows) {
  const SweepPlan plan = flagship_plan("256", "0");
  const OutputMetadata metadata{"flagship", testing::flagship_text(), "", "test"};
  const std::string path = temp_path("raii.h5");
  { Hdf5Writer writer(path, plan, metadata); }  // destroyed without close()
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  OutputMetadata other = metadata;
  other.scenario_text += "\n# edited\n";
  // Thrown after the file and its attributes were opened.
  EXPECT_THROW(Hdf5Writer(path, plan, other, Hdf5Writer::Mode::kResume), ResumeMismatch);
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  fs::remove(path);
}

}  // namespace
}  // namespace brink
