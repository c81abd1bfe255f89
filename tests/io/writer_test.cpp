// The writer against real HDF5: chunks encoded on the worker threads hold
// the bytes HDF5's own filters would (a zlib stream of the shuffled chunk), a written file holds exactly the table's
// variables, --resume reads blocks back bit for bit, and no HDF5 object
// outlives the writer, also when it throws.
#include "brink/io/hdf5_writer.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "../support/scenarios.hpp"
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

// Writes the block's field with HDF5's own filter pipeline and returns the
// stored bytes of its chunk.
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
  std::visit(
      [&](auto member) {
        if constexpr (!std::is_same_v<decltype(member), std::monostate>) {
          const auto& data = block.*member;
          using T = typename std::decay_t<decltype(data)>::value_type;
          hid_t memory = H5T_NATIVE_DOUBLE;
          if constexpr (std::is_same_v<T, std::int8_t>) memory = H5T_NATIVE_INT8;
          if constexpr (std::is_same_v<T, std::int32_t>) memory = H5T_NATIVE_INT32;
          if constexpr (std::is_same_v<T, float>) memory = H5T_NATIVE_FLOAT;
          EXPECT_GE(H5Dwrite(ds, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
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
    const std::vector<std::uint8_t> ours = encode_chunk(v, layout, block);
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

TEST(ChunkCodecTest, ChunksOfEveryByteValueAndOfNoisyBitsRoundTrip) {
  // The trained Huffman code (level 0) must encode any chunk, also values
  // whose bytes it never saw in training, and a chunk it cannot shrink must
  // still come out no larger than stored blocks allow.
  const SweepPlan plan = flagship_plan("256", "0");
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
  noise(block.record_troops_sum);
  const int checked = expect_chunks_as_hdf5_stores_them(
      file_layout(plan), block, [](const VariableSpec& v, std::size_t encoded, std::size_t raw) {
        EXPECT_LE(encoded, raw + raw / 65535 * 5 + 64) << v.name;  // stored blocks' bound
      });
  EXPECT_GE(checked, 20);
}

void expect_same_resume_fields(const BlockResult& a, const BlockResult& b) {
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.end_step, b.end_step);
  EXPECT_EQ(a.war_start_step, b.war_start_step);
  EXPECT_EQ(a.casualties, b.casualties);
  EXPECT_EQ(a.agreed, b.agreed);
  EXPECT_EQ(a.record_rung_count, b.record_rung_count);
  EXPECT_EQ(a.record_troops_sum, b.record_troops_sum);
  EXPECT_EQ(a.record_belief_sum, b.record_belief_sum);
}

TEST(Hdf5WriterTest, AFileHoldsTheTablesVariablesAndResumeReadsBlocksBack) {
  // 600 replications: two full blocks and a tail of 88 in a padded chunk.
  const SweepPlan plan = flagship_plan("600", "20");
  const FileLayout layout = file_layout(plan);
  const OutputMetadata metadata{"flagship", testing::flagship_text(), "run.replications=600\n", "test"};
  const std::string path = temp_path("roundtrip.h5");
  std::vector<BlockResult> blocks;
  {
    Hdf5Writer writer(path, plan, metadata);
    for (std::int64_t b = 0; b < plan.blocks_per_point(); ++b) {
      blocks.push_back(simulate_block(plan.model(0), plan.block(0, b)));
      if (b != 1) writer.encode(blocks.back());  // block 1: encoded by the writer itself
      writer.write_block(blocks.back());
    }
    writer.close();
  }
  {
    Hdf5Writer reopened(path, plan, metadata, Hdf5Writer::Mode::kResume);
    EXPECT_EQ(reopened.finished_blocks(), std::vector<std::uint8_t>(3, 1));
    for (const BlockResult& block : blocks) expect_same_resume_fields(reopened.read_block(block.spec), block);
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
