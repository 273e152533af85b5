# The command-line rules of the example and bench programs (examples/cli.hpp), as tests.
#
# include()d from a CMakeLists.txt, this file defines
#
#   xgrad_cli_tests(<program> [--option ...])
#
# which adds two tests for the executable target <program>:
#   cli_<program>_help     `<program> --help` exits 0 and its output lists every --option given;
#   cli_<program>_unknown  `<program> --no-such-option` exits 2 and says so, with
#                          "Run with --help for more information.", on stderr.
#
# Run as a script, it is one of those checks:
#
#   cmake -DMODE=help|unknown -P cli_check.cmake -- program [--option ...]

if(NOT CMAKE_SCRIPT_MODE_FILE)
  function(xgrad_cli_tests program)
    foreach(mode help unknown)
      add_test(NAME cli_${program}_${mode}
               COMMAND ${CMAKE_COMMAND} -DMODE=${mode} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
                       -- $<TARGET_FILE:${program}> ${ARGN})
    endforeach()
  endfunction()
  return()
endif()

set(arguments)
set(after_marker FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_marker)
    list(APPEND arguments "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_marker TRUE)
  endif()
endforeach()
list(POP_FRONT arguments program)
if(NOT program OR NOT MODE MATCHES "^(help|unknown)$")
  message(FATAL_ERROR "usage: cmake -DMODE=help|unknown -P cli_check.cmake -- program [--option ...]")
endif()

if(MODE STREQUAL "help")
  execute_process(COMMAND ${program} --help RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} --help exited with ${status} (expected 0):\n${out}${err}")
  endif()
  foreach(option IN LISTS arguments)
    # The name as CLI11 prints it: after a space or a comma, before a space or a type.
    if(NOT out MATCHES "[ ,]${option}[ \n]")
      message(FATAL_ERROR "${program} --help does not list ${option}:\n${out}")
    endif()
  endforeach()
  list(LENGTH arguments count)
  message(STATUS "${program} --help lists all ${count} options checked")
else()
  execute_process(COMMAND ${program} --no-such-option RESULT_VARIABLE status OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT status EQUAL 2)
    message(FATAL_ERROR "${program} --no-such-option exited with ${status} (expected 2):\n${out}${err}")
  endif()
  if(NOT err MATCHES "--no-such-option" OR NOT err MATCHES "Run with --help for more information")
    message(FATAL_ERROR "${program} --no-such-option: the message does not name the option and --help:\n${err}")
  endif()
  message(STATUS "${program} --no-such-option exits with 2: ${err}")
endif()
