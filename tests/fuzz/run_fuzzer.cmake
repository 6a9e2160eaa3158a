# Runs one libFuzzer target for a bounded time on a fresh copy of its seeds, in the build tree
# (the source tree is never written). Fails on any crash, leak, timeout or sanitizer report:
# libFuzzer then exits non-zero and leaves the input in ${WORK}/artifacts.
# Run: cmake -DFUZZER=<exe> -DWORK=<dir> -DSEEDS=<dir|file|...> -DSECONDS=<n> [-DSEED=<n>]
#            [-DDICT=<file>] [-DMAX_LEN=<bytes>] -P run_fuzzer.cmake
# A fixed SEED makes the run the same sequence of inputs every time (a slower machine runs a
# shorter part of it), so the test command passes or fails alike wherever it runs; a long run by
# hand explores further.
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
string(REPLACE "|" ";" seeds "${SEEDS}")
foreach(seed IN LISTS seeds)
  if(IS_DIRECTORY "${seed}")
    file(GLOB files LIST_DIRECTORIES false "${seed}/*")
    if(files)
      file(COPY ${files} DESTINATION "${WORK}/corpus")
    endif()
  elseif(EXISTS "${seed}")
    file(COPY "${seed}" DESTINATION "${WORK}/corpus")
  endif()
endforeach()

set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -error_exitcode=1
    -print_final_stats=1 "-artifact_prefix=${WORK}/artifacts/")
if(SEED)
  list(APPEND args "-seed=${SEED}")
endif()
if(DICT)
  list(APPEND args "-dict=${DICT}")
endif()
if(MAX_LEN)
  list(APPEND args "-max_len=${MAX_LEN}")
endif()
execute_process(COMMAND "${FUZZER}" ${args} "${WORK}/corpus"
                WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(GLOB found "${WORK}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (${result}); the input: ${found}\n"
          "Reproduce: ${FUZZER} <input>; once fixed, add it to tests/fuzz/regressions/<target>/")
endif()
