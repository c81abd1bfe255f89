# The `layers_catches` test: cmake/check_layers.cmake refuses a forbidden
# include wherever it is put in the model or the YAML-free scenario layer.
#   cmake -DLAYERS=<build>/layers.cmake -DSOURCE_DIR=<source> -DWORK_DIR=<scratch> -P check_layers_test.cmake
# Each case edits a copy of the layers' sources under WORK_DIR, never the tree.
cmake_minimum_required(VERSION 3.25)
set(copy ${WORK_DIR}/tree)
file(REMOVE_RECURSE ${copy})
foreach(module model scenario sweep io mpi cli calibrate dispatch)
  foreach(dir src/${module} include/brink/${module})
    if(EXISTS ${SOURCE_DIR}/engine/${dir})
      get_filename_component(parent ${copy}/engine/${dir} DIRECTORY)
      file(COPY ${SOURCE_DIR}/engine/${dir} DESTINATION ${parent})
    endif()
  endforeach()
endforeach()
file(COPY ${SOURCE_DIR}/engine/include/brink/version.hpp DESTINATION ${copy}/engine/include/brink)

# run_check(<result var> <output var>): the check on the copy.
function(run_check result output)
  execute_process(COMMAND ${CMAKE_COMMAND} -DLAYERS=${LAYERS} -DSOURCE_DIR=${copy}
                          -P ${SOURCE_DIR}/cmake/check_layers.cmake
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${result} ${rc} PARENT_SCOPE)
  set(${output} "${out}${err}" PARENT_SCOPE)
endfunction()

set(failures "")
run_check(rc out)
if(NOT rc EQUAL 0)
  set(failures "${failures}\n  the unchanged copy fails the check:\n${out}")
endif()

# expect_caught(<name> <file under engine/> <mode> <text>): with <text> put
# at the file's start (mode "start") or after its `#pragma once` ("pragma"),
# the check fails and names the file; the file is restored afterwards.
function(expect_caught name file mode text)
  set(path ${copy}/engine/${file})
  file(READ ${path} original)
  if(mode STREQUAL "start")
    set(changed "${text}\n${original}")
  else()
    string(FIND "${original}" "#pragma once" at)
    if(at LESS 0)
      message(FATAL_ERROR "${file} has no #pragma once")
    endif()
    string(SUBSTRING "${original}" 0 ${at} head)
    string(SUBSTRING "${original}" ${at} -1 tail)
    string(REPLACE "#pragma once" "#pragma once\n${text}" tail "${tail}")
    set(changed "${head}${tail}")
  endif()
  file(WRITE ${path} "${changed}")
  run_check(rc out)
  file(WRITE ${path} "${original}")
  if(rc EQUAL 0)
    set(failures "${failures}\n  (${name}) not caught: ${text} in ${file}" PARENT_SCOPE)
  elseif(NOT out MATCHES "engine/${file}: ")
    set(failures "${failures}\n  (${name}) failed without naming ${file}:\n${out}" PARENT_SCOPE)
  endif()
endfunction()

# The outside check's cases (a)-(e), then the other ways into the layers.
expect_caught(a src/model/combat.cpp start "#include <yaml-cpp/yaml.h>")
expect_caught(b src/model/model.cpp start "#include <yaml-cpp/yaml.h>\n#include <hdf5.h>")
expect_caught(b-hdf5 src/model/model.cpp start "#include <hdf5.h>")
expect_caught(c src/model/block_scratch.hpp pragma "#include <yaml-cpp/yaml.h>")
expect_caught(d src/scenario/fields.cpp start "#include <yaml-cpp/yaml.h>")
expect_caught(e src/model/combat.cpp start "#include <yaml-cpp/yaml.h>  // was #include <vector>")
expect_caught(public-model-header include/brink/model/rules.hpp pragma "#include <boost/math/constants/constants.hpp>")
expect_caught(public-scenario-header include/brink/scenario/scenario.hpp pragma "#  include \"yaml-cpp/yaml.h\"")
expect_caught(private-scenario-header src/scenario/number_text.hpp pragma "#include <yaml-cpp/yaml.h>")
expect_caught(model-reaches-parser src/model/kernel.cpp start "#include \"brink/scenario/parse.hpp\"")
expect_caught(scenario-reaches-reader src/scenario/validate.cpp start "#include \"yaml_reader.hpp\"")
expect_caught(scenario-reaches-model src/scenario/scenario.cpp start "#include \"brink/model/model.hpp\"")
expect_caught(model-reaches-sweep src/model/model.cpp start "#include \"brink/sweep/plan.hpp\"")
expect_caught(unreadable src/model/decide.cpp start "#include BRINK_HEADER")
# Above the model: a header of a higher layer (round 40: the calibrator's
# evaluator, built into brink_sweep, included the mpi layer's distributed.hpp).
expect_caught(sweep-reaches-mpi include/brink/calibrate/evaluator.hpp pragma "#include \"brink/mpi/distributed.hpp\"")
expect_caught(sweep-reaches-io src/sweep/plan.cpp start "#include <brink/io/variables.hpp>")
expect_caught(io-reaches-cli src/io/merge.cpp start "#include \"brink/cli/cli.hpp\"")
expect_caught(mpi-reaches-cli src/mpi/worker.cpp start "%:include \"brink/cli/cli.hpp\"")
expect_caught(calibrate-in-sweep-reaches-io src/calibrate/smc.cpp start "#include \"brink/calibrate/calibration_file.hpp\"")
expect_caught(io-reaches-cli-calibrate src/io/table.cpp start "#include \"brink/calibrate/cli_calibrate.hpp\"")
# Round 41: the dispatcher's files the kernel variants and brink_model build, and every other
# way up: a relative path, a path with '..' or '//', a computed include, a library of another layer.
expect_caught(kernel-entry-reaches-sweep src/dispatch/kernel_entry.cpp start "#include \"brink/sweep/plan.hpp\"")
expect_caught(kernel-entry-reaches-yaml src/dispatch/kernel_entry.cpp start "#include <yaml-cpp/yaml.h>")
expect_caught(kernel-static-reaches-io src/dispatch/kernel_static.cpp start "#include \"brink/io/variables.hpp\"")
expect_caught(isa-reaches-boost src/dispatch/isa.cpp start "#include <boost/program_options.hpp>")
expect_caught(io-climbs-to-cli src/io/merge.cpp start "#include \"../cli/commands.hpp\"")
expect_caught(io-dot-dot src/io/merge.cpp start "#include \"brink/../brink/cli/cli.hpp\"")
expect_caught(sweep-double-slash src/sweep/plan.cpp start "#include \"brink//io/variables.hpp\"")
expect_caught(sweep-dot src/sweep/plan.cpp start "#include \"brink/./io/variables.hpp\"")
expect_caught(sweep-computed src/sweep/plan.cpp start "#define UP \"brink/io/variables.hpp\"\n#include UP")
expect_caught(sweep-program-options src/sweep/plan.cpp start "#include <boost/program_options.hpp>")
expect_caught(io-mpi src/io/merge.cpp start "#include <mpi.h>")
expect_caught(mpi-hdf5 src/mpi/worker.cpp start "#include <hdf5.h>")
expect_caught(cli-yaml src/cli/cli.cpp start "#include <yaml-cpp/yaml.h>")

# Every other spelling of an include the compiler reads (the outside check's
# `%:include`, round 38): the digraph, comments and splices around '#',
# blanks other than space and tab, lines ended by CR, a byte order mark,
# #include_next and #import, the trigraph C++17 no longer reads, and
# CMake's own list characters that could join lines.
string(ASCII 11 vertical_tab)
string(ASCII 12 form_feed)
string(ASCII 13 carriage_return)
string(ASCII 239 187 191 byte_order_mark)
expect_caught(digraph src/model/combat.cpp start "%:include <yaml-cpp/yaml.h>")
expect_caught(digraph-blank src/model/combat.cpp start "  %:  include <yaml-cpp/yaml.h>")
expect_caught(digraph-header include/brink/model/rules.hpp pragma "%:include <hdf5.h>")
expect_caught(digraph-scenario src/scenario/fields.cpp start "%:include \"yaml_reader.hpp\"")
expect_caught(comment-inside src/model/combat.cpp start "#/* */include <yaml-cpp/yaml.h>")
expect_caught(comment-before src/model/combat.cpp start "/* a comment */ #include <yaml-cpp/yaml.h>")
expect_caught(comment-across-lines src/model/combat.cpp start "/* a\ncomment */ #include <yaml-cpp/yaml.h>")
expect_caught(splice-after-hash src/model/combat.cpp start "#\\\ninclude <yaml-cpp/yaml.h>")
expect_caught(splice-in-name src/model/combat.cpp start "#inc\\\nlude <yaml-cpp/yaml.h>")
expect_caught(form-feed src/model/combat.cpp start "${form_feed}#include <yaml-cpp/yaml.h>")
expect_caught(vertical-tab src/model/combat.cpp start "#${vertical_tab}include <yaml-cpp/yaml.h>")
expect_caught(carriage-return src/model/combat.cpp start "// a comment${carriage_return}#include <yaml-cpp/yaml.h>")
expect_caught(byte-order-mark src/model/combat.cpp start "${byte_order_mark}#include <yaml-cpp/yaml.h>")
expect_caught(include-next src/model/block_scratch.hpp pragma "#include_next <yaml-cpp/yaml.h>")
expect_caught(import src/model/combat.cpp start "#import <yaml-cpp/yaml.h>")
expect_caught(trigraph src/model/combat.cpp start "??=include <yaml-cpp/yaml.h>")
expect_caught(list-brackets src/model/combat.cpp start
              "#include <vector> // [\n#include <yaml-cpp/yaml.h>\n#include <string> // ]")

# ... and what is no include passes: __has_include, and include text in a comment or a string.
file(READ ${copy}/engine/src/model/combat.cpp original)
file(WRITE ${copy}/engine/src/model/combat.cpp
     "#if __has_include(<yaml-cpp/yaml.h>)\n#endif\n// #include <yaml-cpp/yaml.h>\n"
     "[[maybe_unused]] static const char* brink_probe = \"#include <yaml-cpp/yaml.h>\"\;\n${original}")
run_check(rc out)
file(WRITE ${copy}/engine/src/model/combat.cpp "${original}")
if(NOT rc EQUAL 0)
  set(failures "${failures}\n  __has_include, or an include in a comment or a string, is refused:\n${out}")
endif()

# The YAML reader's own files may use yaml-cpp: the copy passes with one more.
file(READ ${copy}/engine/src/scenario/parse.cpp original)
file(WRITE ${copy}/engine/src/scenario/parse.cpp "#include <yaml-cpp/yaml.h>\n${original}")
run_check(rc out)
if(NOT rc EQUAL 0)
  set(failures "${failures}\n  a yaml-cpp include in the YAML reader (parse.cpp) is refused:\n${out}")
endif()

file(REMOVE_RECURSE ${copy})
if(failures)
  message(FATAL_ERROR "the layers check misses:${failures}")
endif()
message(STATUS "the layers check catches every forbidden include tried")
