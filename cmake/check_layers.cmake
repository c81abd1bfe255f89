# The `layers` test: the build enforces scenario ← model ← sweep ← io ← cli.
#   cmake -DLAYERS=<build>/layers.cmake -DSOURCE_DIR=<source> -P check_layers.cmake
# Fails if a module links, sees the include directories of, or includes a
# header of something above it or of a library its layer must not use.
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

# Sources: the model's headers and kernel sources include only the standard
# library, Eigen, Random123 and model or scenario headers (never parse.hpp);
# a bare name is a private header of engine/src/model, beside the sources.
file(GLOB model_headers ${SOURCE_DIR}/engine/include/brink/model/*.hpp)
set(model_files ${model_headers})
foreach(source IN LISTS BRINK_KERNEL_SOURCES)
  list(APPEND model_files ${SOURCE_DIR}/engine/${source})
endforeach()
foreach(file IN LISTS model_files)
  file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    if(NOT line MATCHES "#[ \t]*include[ \t]*(<[a-z_0-9]+>|<immintrin\\.h>|<Eigen/[A-Za-z]+>|<Random123/[a-z0-9_./]+>|\"brink/model/[a-z_]+\\.hpp\"|\"brink/scenario/[a-z_]+\\.hpp\"|\"[a-z_]+\\.hpp\")"
       OR line MATCHES "scenario/parse\\.hpp")
      set(failures "${failures}\n  ${file}: ${line}")
    endif()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "layering broken:${failures}")
endif()
message(STATUS "layers ok: scenario and model reach no yaml-cpp, HDF5 or Boost; nothing reaches up")
