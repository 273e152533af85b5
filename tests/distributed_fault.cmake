# Runs `mpiexec -n 2 distributed_fault MODE` and checks that the job ends within
# LIMIT seconds, non-zero, and that its output matches EXPECT.
#   cmake -DMPIEXEC=... -DPROGRAM=... -DMODE=throw -DEXPECT=regex -DLIMIT=30 -P distributed_fault.cmake
string(TIMESTAMP start "%s")
execute_process(COMMAND ${MPIEXEC} -n 2 ${PROGRAM} ${MODE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 120)
string(TIMESTAMP stop "%s")
math(EXPR seconds "${stop} - ${start}")
message(STATUS "mode ${MODE}: exit ${rc} after ${seconds} s\n${out}")
if(rc EQUAL 0 OR rc MATCHES "timeout")
  message(FATAL_ERROR "the job should have failed, got exit status '${rc}'")
endif()
if(seconds GREATER LIMIT)
  message(FATAL_ERROR "the job took ${seconds} s to end (limit ${LIMIT} s)")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output does not match '${EXPECT}'")
endif()
if(out MATCHES "rank 0 was not stopped")
  message(FATAL_ERROR "rank 0 went on past the collective rank 1 never joined")
endif()
