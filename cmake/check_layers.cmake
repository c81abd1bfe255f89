# The `layers` test: the build enforces scenario ← model ← sweep ← io ← cli.
#   cmake -DLAYERS=<build>/layers.cmake -DSOURCE_DIR=<source> -P check_layers.cmake
# Fails if a module links, sees the include directories of, or includes a
# header of something above it or of a library its layer must not use.
# Also run by every build (target brink_layers, cmake/layers.cmake).
cmake_minimum_required(VERSION 3.25)  # policies of the project, in script mode too
include(${LAYERS})
set(failures "")

# forbidden(<target> <regex>...): no item of the target's closure may match.
function(forbid target)
  foreach(pattern IN LISTS ARGN)
    foreach(item IN LISTS LAYER_${target})
      string(TOLOWER "${item}" lower)
      if(lower MATCHES "${pattern}")
        set(failures "${failures}\n  ${target} reaches '${item}' (matches '${pattern}')")
      endif()
    endforeach()
  endforeach()
  set(failures "${failures}" PARENT_SCOPE)
endfunction()

set(not_yaml "yaml")
set(not_hdf5 "hdf5")
set(not_boost "boost")
set(above_model "brink_sweep" "brink_io" "brink_cli" "brink_scenario_yaml")
forbid(brink_scenario ${not_yaml} ${not_hdf5} ${not_boost} ${above_model} "brink_model")
forbid(brink_model ${not_yaml} ${not_hdf5} ${not_boost} ${above_model})
forbid(brink_model_api ${not_yaml} ${not_hdf5} ${not_boost} ${above_model} "^brink_model$")
foreach(variant avx2 avx512 native)
  if(DEFINED LAYER_brink_kernel_${variant})
    forbid(brink_kernel_${variant} ${not_yaml} ${not_hdf5} ${not_boost} ${above_model} "^brink_model$")
  endif()
endforeach()
# The sweep layer must not pull in the kernel either: the brink binary loads it at run time.
forbid(brink_sweep ${not_hdf5} "brink_io" "brink_cli" "^brink_model$" "brink_kernel_")
forbid(brink_io "brink_cli" "brink_mpi" "^brink_model$" "brink_kernel_" "program_options")
forbid(brink_mpi "brink_cli" "^brink_model$" "brink_kernel_" "program_options")

# Sources: every file of the model (engine/src/model, engine/include/brink/model)
# and of the YAML-free scenario layer (engine/src/scenario,
# engine/include/brink/scenario, less the YAML reader's files listed in
# BRINK_SCENARIO_YAML_SOURCES) includes only:
#   model:    the standard library, <immintrin.h>, Eigen, Random123, model headers;
#   scenario: the standard library, {fmt};
#   both:     brink_scenario's headers, and a private header beside the file —
#             never one of the YAML reader's (parse.hpp, yaml_reader.hpp, ...).
# Each include line is read anchored and its header judged alone, so a
# comment after it changes nothing. An include is found in every spelling the
# compiler reads (include_directives).
set(engine ${SOURCE_DIR}/engine)
set(yaml_files "")
foreach(source IN LISTS BRINK_SCENARIO_YAML_SOURCES)
  list(APPEND yaml_files ${engine}/${source})
endforeach()
# The dispatcher's files that the kernel variants (kernel_entry.cpp) and
# brink_model (kernel_static.cpp, isa.cpp) build are held to the model's rules;
# kernel_dispatch.cpp, in the brink binary alone, to the top layer's.
file(GLOB model_files ${engine}/src/model/* ${engine}/include/brink/model/* ${engine}/src/dispatch/kernel_entry.cpp
     ${engine}/src/dispatch/kernel_static.cpp ${engine}/src/dispatch/isa.cpp)
file(GLOB scenario_files ${engine}/src/scenario/* ${engine}/include/brink/scenario/*)
foreach(source IN LISTS BRINK_KERNEL_SOURCES BRINK_MODEL_CORE_SOURCES)
  list(APPEND model_files ${engine}/${source})
endforeach()
foreach(source IN LISTS BRINK_SCENARIO_SOURCES)
  list(APPEND scenario_files ${engine}/${source})
endforeach()
list(REMOVE_DUPLICATES model_files)
list(REMOVE_DUPLICATES scenario_files)
list(REMOVE_ITEM scenario_files ${yaml_files})
if(NOT model_files OR NOT scenario_files)
  message(FATAL_ERROR "layering check: no model or scenario sources under '${engine}'")
endif()

# include_directives(<out var> <file>): the file's include directives
# (#include, #include_next, #import), each as one line, in every spelling the
# compiler reads: after blanks (space, tab, vertical tab, form feed), '#' or
# its digraph '%:' (or the trigraph '??=', which C++17 no longer reads), then
# blanks or comments (each one blank to the compiler) before the name; a
# backslash-newline spliced anywhere, even inside '#include'; lines ended by
# CR as well as LF; a byte order mark first. `#if __has_include(<h>)` is no
# include. The lines are taken from the text as written and from it with its
# comments removed, so that a comment in front of a directive does not hide
# it, nor one misread (a "/*" inside a string) another.
string(ASCII 11 12 vertical)
set(blank "[ \t${vertical}]")
set(directive "${blank}*(#|%:|\\?\\?=)${blank}*(include_next|include|import)")
string(ASCII 239 187 191 byte_order_mark)
# The lines stand in a CMake list, which cannot hold ';', an unmatched '[' or
# ']', or a '\' at an item's end: each is a control character there until
# shown (shown_directive).
string(ASCII 1 2 3 4 list_marks)
string(SUBSTRING "${list_marks}" 0 1 semicolon)
string(SUBSTRING "${list_marks}" 1 1 open)
string(SUBSTRING "${list_marks}" 2 1 close)
string(SUBSTRING "${list_marks}" 3 1 backslash)
function(shown_directive var)
  set(line "${${var}}")
  string(REPLACE "${semicolon}" ";" line "${line}")
  string(REPLACE "${open}" "[" line "${line}")
  string(REPLACE "${close}" "]" line "${line}")
  string(REPLACE "${backslash}" "\\" line "${line}")
  set(${var} "${line}" PARENT_SCOPE)
endfunction()
function(include_directives out file)
  file(READ ${file} text)
  string(FIND "${text}" "${byte_order_mark}" at)
  if(at EQUAL 0)
    string(SUBSTRING "${text}" 3 -1 text)
  endif()
  string(REPLACE "\r\n" "\n" text "${text}")
  string(REPLACE "\r" "\n" text "${text}")
  string(REGEX REPLACE "\\\\[ \t]*\n" "" text "${text}")  # splices
  string(REPLACE "\\" "${backslash}" text "${text}")
  string(REPLACE ";" "${semicolon}" text "${text}")
  string(REPLACE "[" "${open}" text "${text}")
  string(REPLACE "]" "${close}" text "${text}")
  # The text without comments, each replaced by a blank (strings are not read: see above).
  set(rest "${text}")
  set(uncommented "")
  while(TRUE)
    string(FIND "${rest}" "/*" block)
    string(FIND "${rest}" "//" line)
    if(block EQUAL -1 AND line EQUAL -1)
      break()
    endif()
    if(line EQUAL -1 OR (block GREATER -1 AND block LESS line))
      set(at ${block})
      set(end "*/")
    else()
      set(at ${line})
      set(end "\n")
    endif()
    string(SUBSTRING "${rest}" 0 ${at} head)
    string(APPEND uncommented "${head} ")
    math(EXPR at "${at} + 2")
    string(SUBSTRING "${rest}" ${at} -1 rest)
    string(FIND "${rest}" "${end}" at)
    if(at EQUAL -1)
      set(rest "")
    elseif(end STREQUAL "*/")
      math(EXPR at "${at} + 2")
      string(SUBSTRING "${rest}" ${at} -1 rest)
    else()
      string(SUBSTRING "${rest}" ${at} -1 rest)  # the newline ends the directive's line
    endif()
  endwhile()
  string(APPEND uncommented "${rest}")
  set(found "")
  foreach(version text uncommented)
    string(REGEX MATCHALL "\n${directive}[^\n]*" lines "\n${${version}}")
    list(APPEND found ${lines})
  endforeach()
  list(REMOVE_DUPLICATES found)
  list(TRANSFORM found REPLACE "^\n" "")
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

set(std_header "^[a-z_0-9]+$")
# Headers the build writes (cmake/kernel_fingerprint.cmake): a quoted bare name, not beside the file.
set(generated_headers kernel_fingerprint.hpp)
set(model_system "${std_header}|^immintrin\\.h$|^Eigen/[A-Za-z]+$|^Random123/[a-z0-9_./]+$")
set(scenario_system "${std_header}|^fmt/[a-z_]+\\.h$")
# check_includes(<layer> <system regex> <quoted regex> <file>...)
function(check_includes layer system quoted)
  foreach(file IN LISTS ARGN)
    get_filename_component(dir ${file} DIRECTORY)
    include_directives(lines ${file})
    set(reported "")  # a line with a comment is found as written and without it: one report
    foreach(line IN LISTS lines)
      set(problem "")
      if(NOT line MATCHES "^${directive}${blank}*([<\"])([^>\"]+)[>\"]")
        set(problem "an include brink cannot read")
        string(STRIP "${line}" header)
      else()
        set(header "${CMAKE_MATCH_4}")
        if(CMAKE_MATCH_3 STREQUAL "<")
          if(NOT header MATCHES "${system}")
            set(problem "<${header}> is not a library the ${layer} layer may use")
          endif()
        else()
          if(header IN_LIST generated_headers)
            set(target ${engine}/include/brink/version.hpp)  # written into the build tree; stands for one that exists
          elseif(header MATCHES "^[a-z_]+\\.hpp$")
            set(target ${dir}/${header})  # a private header beside the file
          elseif(header MATCHES "${quoted}")
            set(target ${engine}/include/${header})
          else()
            set(target "")
          endif()
          if(NOT target OR NOT EXISTS ${target})
            set(problem "\"${header}\" is not a header the ${layer} layer may include")
          elseif(target IN_LIST yaml_files)
            set(problem "\"${header}\" belongs to the YAML reader (brink_scenario_yaml)")
          endif()
        endif()
      endif()
      if(problem AND NOT "${problem}${header}" IN_LIST reported)
        list(APPEND reported "${problem}${header}")
        shown_directive(problem)
        shown_directive(line)
        file(RELATIVE_PATH shown ${SOURCE_DIR} ${file})
        set(failures "${failures}\n  ${shown}: ${problem}: ${line}")
      endif()
    endforeach()
  endforeach()
  set(failures "${failures}" PARENT_SCOPE)
endfunction()
check_includes(model "${model_system}" "^brink/(model|scenario)/[a-z_]+\\.hpp$" ${model_files})
check_includes(scenario "${scenario_system}" "^brink/scenario/[a-z_]+\\.hpp$" ${scenario_files})

# The layers above the model: a file of sweep, io, mpi or cli includes brink's
# headers of its own layer or below, never above. A file of the calibrate
# folder sits in the layer whose library builds its source of the same name
# (prior, smc, evaluator in brink_sweep; calibration_file in brink_io;
# cli_calibrate in brink_cli), so each part stays where it is used.
set(layer_order scenario model sweep io mpi cli)
# layer_of(<out var> <path under engine/>): the file's layer, or "" if none is known.
function(layer_of out path)
  set(layer "")
  if(path MATCHES "^(src|include/brink)/(scenario|model|sweep|io|mpi|cli)/")
    set(layer ${CMAKE_MATCH_2})
  elseif(path STREQUAL "src/dispatch/kernel_dispatch.cpp")
    set(layer cli)  # in the brink binary alone, above every module
  elseif(path STREQUAL "include/brink/version.hpp")
    set(layer io)  # defined by src/version.cpp, built into brink_io
  elseif(path MATCHES "^(src|include/brink)/calibrate/([a-z_0-9]+)\\.(cpp|hpp)$")
    set(stem ${CMAKE_MATCH_2})
    foreach(candidate sweep io cli)
      string(TOUPPER ${candidate} upper)
      foreach(source IN LISTS BRINK_${upper}_SOURCES)
        if(source MATCHES "/${stem}\\.cpp$")
          set(layer ${candidate})
        endif()
      endforeach()
    endforeach()
  endif()
  set(${out} "${layer}" PARENT_SCOPE)
endfunction()
file(GLOB upper_files ${engine}/src/dispatch/kernel_dispatch.cpp
     ${engine}/src/sweep/* ${engine}/src/io/* ${engine}/src/mpi/* ${engine}/src/cli/* ${engine}/src/calibrate/*
     ${engine}/include/brink/sweep/* ${engine}/include/brink/io/* ${engine}/include/brink/mpi/*
     ${engine}/include/brink/cli/* ${engine}/include/brink/calibrate/*)
if(NOT upper_files)
  message(FATAL_ERROR "layering check: no sweep, io, mpi or cli sources under '${engine}'")
endif()
# System headers only one layer may include (its library's): the parser's
# options (cli), MPI (mpi), HDF5 and ISA-L (io); yaml-cpp none of them.
set(only_cli "^boost/program_options")
set(only_mpi "^mpi\\.h$")
set(only_io "^hdf5(_hl)?\\.h$|^isa-l/")
foreach(file IN LISTS upper_files)
  file(RELATIVE_PATH path ${engine} ${file})
  file(RELATIVE_PATH shown ${SOURCE_DIR} ${file})
  get_filename_component(dir ${file} DIRECTORY)
  layer_of(layer ${path})
  if(NOT layer)
    set(failures "${failures}\n  ${shown}: no layer is known for it (no source of its name in engine/CMakeLists.txt)")
    continue()
  endif()
  list(FIND layer_order ${layer} rank)
  include_directives(lines ${file})
  foreach(line IN LISTS lines)
    set(problem "")
    if(NOT line MATCHES "^${directive}${blank}*([<\"])([^>\"]+)[>\"]")
      set(problem "an include brink cannot read")
    else()
      set(header "${CMAKE_MATCH_4}")
      if(CMAKE_MATCH_3 STREQUAL "\"" AND NOT header MATCHES "^brink/")
        # A private header beside the file, or a generated one; a calibrate file may use the private
        # headers of the layer that builds it (calibration_file.cpp: ../io/); no other path climbs out.
        set(private FALSE)
        if(header IN_LIST generated_headers OR (header MATCHES "^[a-z_0-9]+\\.(hpp|inc)$" AND EXISTS ${dir}/${header}))
          set(private TRUE)
        elseif(path MATCHES "^src/calibrate/" AND header MATCHES "^\\.\\./([a-z]+)/[a-z_0-9]+\\.hpp$"
               AND CMAKE_MATCH_1 STREQUAL layer AND EXISTS ${dir}/${header})
          set(private TRUE)
        endif()
        if(NOT private)
          set(problem "\"${header}\" is not a private header of its own layer (another module's: brink/<module>/)")
        endif()
      elseif(header MATCHES "^brink/")
        layer_of(header_layer include/${header})
        list(FIND layer_order "${header_layer}" header_rank)
        if(NOT header MATCHES "^brink/[a-z_0-9]+(/[a-z_0-9]+)?\\.hpp$" OR header_rank LESS 0)
          set(problem "\"${header}\" is not a brink header the layers can place")
        elseif(header_rank GREATER rank)
          set(problem "\"${header}\" belongs to the ${header_layer} layer, above ${layer}")
        endif()
      elseif(header MATCHES "yaml-cpp"
             OR (header MATCHES "${only_cli}" AND NOT layer STREQUAL "cli")
             OR (header MATCHES "${only_mpi}" AND NOT layer STREQUAL "mpi")
             OR (header MATCHES "${only_io}" AND NOT layer STREQUAL "io"))
        set(problem "<${header}> is not a library the ${layer} layer may use")
      endif()
    endif()
    if(problem)
      shown_directive(problem)
      shown_directive(line)
      set(failures "${failures}\n  ${shown}: ${problem}: ${line}")
    endif()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "layering broken:${failures}")
endif()
list(LENGTH model_files model_count)
list(LENGTH scenario_files scenario_count)
list(LENGTH upper_files upper_count)
message(STATUS "layers ok: scenario and model reach no yaml-cpp, HDF5 or Boost; nothing reaches up "
               "(${model_count} model, ${scenario_count} scenario and ${upper_count} sweep, io, mpi and cli "
               "files scanned)")
