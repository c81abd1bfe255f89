// The variable table against docs/output.md: every variable the writer can
// create is documented with the same dimensions, type and units, and nothing
// is documented that the table does not create.
#include "brink/io/variables.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/scenarios.hpp"

namespace brink {
namespace {

struct DocRow {
  std::vector<std::string> dims;
  std::string dtype, units;
};

std::string trim(std::string s) {
  const auto begin = s.find_first_not_of(" \t");
  const auto end = s.find_last_not_of(" \t");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line.substr(1));
  std::string cell;
  while (std::getline(in, cell, '|')) out.push_back(trim(cell));
  return out;
}

// Every `name` in a cell, in order.
std::vector<std::string> quoted_names(const std::string& cell) {
  std::vector<std::string> names;
  for (std::size_t at = cell.find('`'); at != std::string::npos; at = cell.find('`', at + 1)) {
    const std::size_t end = cell.find('`', at + 1);
    names.push_back(cell.substr(at + 1, end - at - 1));
    at = end;
  }
  return names;
}

// The rows of the markdown tables between `## from` and the next `## ` heading
// whose first column holds back-quoted names.
std::vector<std::vector<std::string>> table_rows(const std::string& doc, const std::string& from) {
  std::vector<std::vector<std::string>> rows;
  std::stringstream in(doc);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inside = line == "## " + from;
    if (inside && line.rfind("| `", 0) == 0) rows.push_back(cells(line));
  }
  return rows;
}

const std::string& output_doc() {
  static const std::string doc = testing::read_file(std::string(BRINK_SOURCE_DIR) + "/docs/output.md");
  return doc;
}

TEST(VariableTableTest, EveryVariableIsDocumentedWithItsDimensionsTypeAndUnits) {
  std::map<std::string, DocRow> documented;
  for (const auto& row : table_rows(output_doc(), "Variables")) {
    ASSERT_GE(row.size(), 5u) << row[0];
    DocRow doc;
    std::stringstream dims(row[1]);
    for (std::string d; std::getline(dims, d, ',');) doc.dims.push_back(trim(d));
    doc.dtype = row[2].substr(0, row[2].find(' '));
    doc.units = row[3] == "–" ? "" : row[3];
    if (doc.units.size() > 1 && doc.units.front() == '"') doc.units = doc.units.substr(1, doc.units.size() - 2);
    for (const auto& name : quoted_names(row[0])) documented[name] = doc;
  }
  std::set<std::string> in_table;
  for (const VariableSpec& v : variable_table()) {
    if (v.kind == Kind::kDimension) continue;
    const std::string name(v.name);
    in_table.insert(name);
    ASSERT_TRUE(documented.count(name)) << name << " is written but not documented in docs/output.md";
    const DocRow& doc = documented.at(name);
    std::vector<std::string> dims;
    for (Dim d : v.dims) dims.emplace_back(dimension_name(d));
    EXPECT_EQ(doc.dims, dims) << name;
    EXPECT_EQ(doc.dtype, dtype_name(v.dtype)) << name;
    EXPECT_EQ(doc.units, v.units) << name;
  }
  for (const auto& [name, row] : documented)
    EXPECT_TRUE(in_table.count(name)) << name << " is documented but not in the variable table";
}

TEST(VariableTableTest, EveryDimensionIsDocumented) {
  std::set<std::string> documented, in_table;
  for (const auto& row : table_rows(output_doc(), "Dimensions"))
    for (const auto& name : quoted_names(row[0])) documented.insert(name);
  for (const VariableSpec& v : variable_table())
    if (v.kind == Kind::kDimension) in_table.insert(std::string(v.name));
  EXPECT_EQ(documented, in_table);
  EXPECT_EQ(in_table.size(), static_cast<std::size_t>(kDimCount));
}

TEST(VariableTableTest, NamesAreUniqueAndSourcesMatchKinds) {
  std::set<std::string_view> names;
  for (const VariableSpec& v : variable_table()) {
    EXPECT_TRUE(names.insert(v.name).second) << v.name;
    const bool from_block = v.kind == Kind::kPerRun || v.kind == Kind::kSeries;
    EXPECT_EQ(from_block, !std::holds_alternative<std::monostate>(v.block)) << v.name;
    EXPECT_EQ(from_block, v.storage == Storage::kBlockChunks) << v.name;
    EXPECT_EQ(v.kind == Kind::kPerPoint, v.from_summary != nullptr) << v.name;
    EXPECT_EQ(v.kind == Kind::kSensitivity, v.sobol != nullptr) << v.name;
    EXPECT_EQ(v.kind == Kind::kMorris, v.morris != nullptr) << v.name;
    if (v.kind == Kind::kPerRun || v.kind == Kind::kSeries) {
      EXPECT_EQ(v.fill, Fill::kMissing) << v.name;
    }
  }
}

TEST(VariableTableTest, StepCountsNarrowOnlyWhileTheyFit) {
  const VariableSpec& counts = find_variable("action_count");
  FileLayout layout;
  layout.steps = 32767;
  EXPECT_EQ(layout.dtype(counts), Dtype::kInt16);
  layout.steps = 32768;
  EXPECT_EQ(layout.dtype(counts), Dtype::kInt32);
}

// A variable whose rows arrive a point at a time is chunked over as many
// points as fit in kPointChunkBytes, in as few chunks as that allows, none
// of them mostly padding, and cached when a chunk holds several points;
// block chunks, stored whole, never are.
TEST(VariableTableTest, PointChunksHoldAsManyPointsAsFitEvenedOut) {
  for (std::uint64_t points : {1u, 7u, 600u, 5000u, 1000003u})
    for (std::uint64_t steps : {2u, 121u, 4000u}) {
      FileLayout layout;
      layout.steps = static_cast<int>(steps) - 1;
      for (std::uint64_t& n : layout.size) n = 3;
      layout.size[static_cast<int>(Dim::kPoint)] = points;
      layout.size[static_cast<int>(Dim::kStep)] = steps;
      layout.size[static_cast<int>(Dim::kBlock)] = 5;
      int by_points = 0;
      for (const VariableSpec& v : variable_table()) {
        SCOPED_TRACE(std::string(v.name) + " at " + std::to_string(points) + " points, " + std::to_string(steps) +
                     " records");
        const std::vector<std::uint64_t> chunk = layout.chunk(v);
        if (v.storage != Storage::kChunked || v.chunk[0] != kPointsThatFit) {
          EXPECT_EQ(layout.cache_bytes(v), 0u);
          continue;
        }
        ++by_points;
        ASSERT_EQ(v.dims.axis[0], Dim::kPoint);
        std::uint64_t row = dtype_size(layout.dtype(v));
        for (std::size_t i = 1; i < chunk.size(); ++i) row *= chunk[i];
        const std::uint64_t fit = std::max<std::uint64_t>(1, kPointChunkBytes / row);
        const std::uint64_t chunks = (points + chunk[0] - 1) / chunk[0];
        EXPECT_LE(chunk[0], std::min(points, fit));
        EXPECT_EQ(chunks, (points + fit - 1) / fit);    // no more chunks than the rows need
        EXPECT_LT(chunks * chunk[0] - points, chunks);  // padding under a row per chunk
        EXPECT_EQ(layout.cache_bytes(v), chunk[0] > 1 ? kPointChunksCached * chunk[0] * row : 0u);
      }
      EXPECT_GT(by_points, 10);  // the summaries, `replications` and block_done
    }
}

// HDF5 refuses a chunk of 4 GiB or more (at H5Dcreate, once the file is
// made): a layout is refused exactly when one of its present variables'
// chunks reaches that size, and the refusal names the first such variable.
TEST(VariableTableTest, ChunksOfFourGibibytesAreRefusedBeforeTheFileIsMade) {
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 32;
  int refused = 0, passed = 0;
  for (const bool series : {false, true})
    for (const std::uint64_t replications : {1ul, 120ul, 256ul})
      for (const std::uint64_t steps : {1000ul, 995'000ul, 1'000'001ul, 4'473'925ul, 4'473'925'000ul}) {
        FileLayout layout;
        for (std::uint64_t& n : layout.size) n = 3;
        layout.size[static_cast<int>(Dim::kPoint)] = 1;
        layout.size[static_cast<int>(Dim::kReplication)] = replications;
        layout.size[static_cast<int>(Dim::kBlock)] = 1;
        layout.size[static_cast<int>(Dim::kStep)] = steps;
        layout.size[static_cast<int>(Dim::kType)] = 8;
        layout.series = series;
        layout.steps = 1'000'000;
        std::string oversized;
        for (const VariableSpec& v : variable_table()) {
          const std::vector<std::uint64_t> chunk = layout.chunk(v);
          if (!layout.present(v) || chunk.empty()) continue;
          long double bytes = std::max<std::size_t>(1, dtype_size(layout.dtype(v)));
          for (std::uint64_t e : chunk) bytes *= static_cast<long double>(e);
          if (bytes >= kLimit) {
            oversized = v.name;
            break;
          }
        }
        SCOPED_TRACE(std::to_string(replications) + " replications, " + std::to_string(steps) + " records");
        const std::string problem = oversized_chunk_problem(layout);
        if (oversized.empty()) {
          EXPECT_EQ(problem, "");
          ++passed;
        } else {
          EXPECT_NE(problem.find("variable '" + oversized + "'"), std::string::npos) << problem;
          EXPECT_NE(problem.find("and HDF5 stores a chunk of less than 4 GiB (4294967296 bytes)"), std::string::npos)
              << problem;
          ++refused;
        }
      }
  EXPECT_GT(refused, 3);
  EXPECT_GT(passed, 3);
}

TEST(VariableTableTest, ParameterCoordinatesHaveSafeUniqueNames) {
  const std::vector<std::string> names =
      parameter_coordinate_names({"actors.RUS.forces.deployed", "actors.RUS_forces.deployed", "9lives.x-y",
                                  "outcome_code", "actors.RUS.forces.deployed"});
  EXPECT_EQ(names, (std::vector<std::string>{"actors_RUS_forces_deployed", "actors_RUS_forces_deployed_2",
                                             "p_9lives_x_y", "outcome_code_2", "actors_RUS_forces_deployed_3"}));
}

// netCDF-C reads names of at most 255 bytes (NC_MAX_NAME, 256, with the
// terminating NUL; a 256-byte name made files it opened only sometimes): a longer path's
// name keeps its start and ends in a digest of the whole path, so that paths
// alike in their first 255 bytes still get distinct names, and a numeric
// suffix still fits.
TEST(VariableTableTest, LongParameterPathsGetNamesNetcdfReads) {
  constexpr std::size_t kNcMaxName = 255;  // netcdf.h's NC_MAX_NAME less the NUL
  const std::string a = "actors." + std::string(1000, 'A') + ".forces.deployed";
  const std::string b = "actors." + std::string(999, 'A') + "B.forces.deployed";
  const std::string edge = "actors." + std::string(255 - 23, 'E') + ".forces.deployed";  // exactly 255 flattened
  const std::vector<std::string> names = parameter_coordinate_names({a, b, a, edge, edge});
  ASSERT_EQ(names.size(), 5u);
  for (const std::string& name : names) {
    EXPECT_LE(name.size(), kNcMaxName) << name;
    EXPECT_TRUE(name.starts_with("actors_AAAA") || name.starts_with("actors_EEEE")) << name;
  }
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 5u);
  EXPECT_EQ(names[3], "actors_" + std::string(255 - 23, 'E') + "_forces_deployed");  // fits: unchanged
  EXPECT_EQ(names[3].size(), kNcMaxName);
  EXPECT_EQ(parameter_coordinate_names({a, b}), (std::vector<std::string>{names[0], names[1]}));  // deterministic
}

// From the field table (FieldSpec::udunits): every field's unit text has one.
TEST(VariableTableTest, ScenarioUnitsMapToUdunits) {
  EXPECT_EQ(udunits_of("days"), "day");
  EXPECT_EQ(udunits_of("troops"), "1");
  EXPECT_EQ(udunits_of("probability"), "1");
  EXPECT_EQ(udunits_of("troops/day"), "1/day");
  EXPECT_EQ(udunits_of("1/day per 100,000 troops"), "1/day");
  EXPECT_EQ(udunits_of("share of the stake"), "1");
  EXPECT_EQ(udunits_of("per day"), "1");
  EXPECT_EQ(udunits_of(""), "1");
}

TEST(VariableTableTest, MissingIntegersAreNetcdfDefaultFills) {
  EXPECT_EQ(missing_integer(1), -127);
  EXPECT_EQ(missing_integer(2), -32767);
  EXPECT_EQ(missing_integer(4), -2147483647);
}

}  // namespace
}  // namespace brink
