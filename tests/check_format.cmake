# Fails when a C++ file of ours is not formatted as .clang-format says (clang-format -i fixes it).
# Run: cmake -DSOURCE_DIR=<repo> -DCLANG_FORMAT=<clang-format> -P tests/check_format.cmake
cmake_minimum_required(VERSION 3.25)
set(sources "")
foreach(folder eval common metrics config http cache wire integrity sources serving api tools proxy
    mgmt load tests)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${folder}/*.hpp" "${SOURCE_DIR}/${folder}/*.cpp")
  list(FILTER found EXCLUDE REGEX "/node_modules/")
  list(APPEND sources ${found})
endforeach()
execute_process(COMMAND "${CLANG_FORMAT}" --dry-run --Werror ${sources}
                RESULT_VARIABLE result ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "Not formatted (run clang-format -i on these):\n${errors}")
endif()
list(LENGTH sources count)
message(STATUS "${count} files formatted as .clang-format says")
