# The `startup_libraries` test: the shared libraries a binary loads at start.
#   cmake -DTOOL=objdump -DFILE=<binary> -DFORBID=<regex> -DOUT=<scratch> -P check_needed.cmake
# Fails when a NEEDED entry of FILE's dynamic section matches FORBID. Debian's
# shared HDF5 needs libcurl and, through it, 35 libraries whose loading was
# most of a short run's start-up (CMakeLists.txt, BRINK_STATIC_HDF5).
execute_process(COMMAND ${TOOL} -p ${FILE} OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TOOL} failed on ${FILE}")
endif()
file(STRINGS ${OUT} needed REGEX "^ *NEEDED ")
list(LENGTH needed n)
if(n EQUAL 0)
  message(FATAL_ERROR "${FILE}: no NEEDED entries found (is it dynamically linked?)")
endif()
foreach(line IN LISTS needed)
  string(REGEX REPLACE "^ *NEEDED +" "" library "${line}")
  if(library MATCHES "${FORBID}")
    message(FATAL_ERROR "${FILE} loads ${library} at start (matches '${FORBID}')")
  endif()
endforeach()
message(STATUS "${FILE}: ${n} libraries at start, none matching '${FORBID}'")
