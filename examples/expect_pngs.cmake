# Smoke test of an example that writes PNGs: empties OUT, runs the command given
# after "--", then expects it to succeed and leave exactly EXPECTED PNG files in OUT.
#
#   cmake -DOUT=dir -DEXPECTED=2 -P expect_pngs.cmake -- program arg...

set(command)
set(after_marker FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_marker)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_marker TRUE)
  endif()
endforeach()
if(NOT command OR NOT DEFINED OUT OR NOT DEFINED EXPECTED)
  message(FATAL_ERROR "usage: cmake -DOUT=dir -DEXPECTED=n -P expect_pngs.cmake -- program arg...")
endif()

file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND ${command} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${command} exited with ${status}")
endif()
file(GLOB pngs "${OUT}/*.png")
list(LENGTH pngs count)
if(NOT count EQUAL EXPECTED)
  message(FATAL_ERROR "expected ${EXPECTED} PNG files in ${OUT}, found ${count}: ${pngs}")
endif()
message(STATUS "${count} PNG files in ${OUT}")
