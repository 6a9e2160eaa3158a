# The layering test: every folder is one library, and this is its dependency graph (design in
# docs/development.md, Layout). Fails, naming the file and line, on an include or a link that
# breaks it:
#   - an include of another folder's header ("cache/snapshot.hpp") that the graph does not allow;
#   - a third-party header outside the folders allowed to use it, or in a public header where
#     only .cpp files may have it (simdjson, Beast, OpenSSL and Boost.URL stay private);
#   - a link to one of our libraries (mutex_edge::<folder>) the graph does not allow.
# Run: cmake -DSOURCE_DIR=<repo> -P tests/check_layering.cmake

cmake_minimum_required(VERSION 3.25)

# Our folders and the folders each may use. The rules of the graph, besides "nothing runs back
# up": tools/ use none of api/, serving/, sources/ or metrics/; wire/ and integrity/ never use
# http/; serving/ uses neither http/ nor sources/; nothing below proxy/ uses proxy/ (each room
# takes an options struct of its own, filled by the composition root).
set(deps_eval "")
set(deps_common "")
set(deps_metrics "")
set(deps_config "common")
set(deps_http "common")
set(deps_cache "eval;config;common")
set(deps_wire "cache;eval;config;common")
set(deps_integrity "cache;wire;eval;config;common")
set(deps_sources "cache;wire;config;common;http")
set(deps_serving "cache;wire;integrity;eval;config;common;metrics")
set(deps_api "serving;wire;cache;eval;config;common;http;metrics")
set(deps_tools "wire;integrity;cache;eval;config;common;http")
set(deps_proxy "api;serving;sources;tools;wire;integrity;cache;eval;config;common;http;metrics")
set(deps_mgmt "common;config;http")
set(deps_load "eval;common;config;cache;sources;wire")
set(folders eval common metrics config http cache wire integrity sources serving api tools proxy
  mgmt load)

# Third-party headers (by prefix of the <...> name) each folder's public headers and .cpp
# files may include. "posix" stands for the C and POSIX headers (<unistd.h>, <sys/stat.h>).
# No public header of serving/ or api/ includes prometheus (the metrics stay behind EdgeMetrics).
set(hpp_eval "")
set(cpp_eval "")
set(hpp_common "boost/system")
set(cpp_common "boost/system;boost/program_options;boost/url;spdlog;posix")
set(hpp_metrics "prometheus")
set(cpp_metrics "prometheus")
set(hpp_config "boost/system")
set(cpp_config "boost/system;simdjson")
set(hpp_http "boost/asio;boost/system")
set(cpp_http "boost/asio;boost/system;boost/beast;boost/url;spdlog;openssl;posix")
set(hpp_cache "boost/unordered")
set(cpp_cache "boost/unordered")
set(hpp_wire "boost/system")
set(cpp_wire "boost/system;simdjson;zlib")
set(hpp_integrity "")
set(cpp_integrity "boost/math")
set(hpp_sources "boost/asio;boost/system")
set(cpp_sources "boost/asio;boost/system;boost/url;simdjson;posix")
set(hpp_serving "boost/asio;boost/system")
set(cpp_serving "boost/asio;boost/system;prometheus;spdlog")
set(hpp_api "boost/asio;boost/system")
set(cpp_api "boost/asio;boost/system;simdjson")
set(hpp_tools "")
set(cpp_tools "posix")
set(hpp_proxy "boost/asio;boost/system")
set(cpp_proxy "boost/asio;boost/system;spdlog;posix")
set(hpp_mgmt "boost/asio;boost/system")
set(cpp_mgmt "boost/asio;boost/system;spdlog;openssl;sqlite3;posix")
set(hpp_load "")
set(cpp_load "posix;simdjson;zlib")
# Private headers: only .cpp files of their own folder include them, and they may include what
# those .cpp files may.
set(private_headers "config/json_fields.hpp")

set(problems "")

function(classify header out)
  if(header MATCHES "^[a-z_0-9]+$")
    set(${out} "std" PARENT_SCOPE)
  elseif(header MATCHES "^(boost/[a-z_0-9]+)")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(header MATCHES "^(simdjson|prometheus|spdlog|openssl|catch2)[/.]")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(header STREQUAL "sqlite3.h")
    set(${out} "sqlite3" PARENT_SCOPE)
  elseif(header STREQUAL "zlib.h")
    set(${out} "zlib" PARENT_SCOPE)
  elseif(header MATCHES "^(sys/|arpa/|netinet/)?[a-z_0-9]+\\.h$")
    set(${out} "posix" PARENT_SCOPE)
  else()
    set(${out} "unknown" PARENT_SCOPE)
  endif()
endfunction()

# Checks the includes of `source` (in folder `folder`, "tests" for tests) against `allowed_ours`
# (folders) and `allowed_third` (classes of third-party headers).
function(check_includes source folder allowed_ours allowed_third)
  file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include")
  file(RELATIVE_PATH relative "${SOURCE_DIR}" "${source}")
  foreach(line IN LISTS lines)
    if(line MATCHES "#[ \t]*include[ \t]*\"([a-z_0-9]+)/([^\"]+)\"")
      set(target_folder "${CMAKE_MATCH_1}")
      set(included "${CMAKE_MATCH_1}/${CMAKE_MATCH_2}")
      if(included IN_LIST private_headers AND
         NOT (relative MATCHES "^${target_folder}/[^/]+\\.cpp$" OR included STREQUAL relative))
        list(APPEND problems "${relative}: ${line} (a private header of ${target_folder}/)")
      elseif(NOT target_folder STREQUAL folder AND NOT target_folder IN_LIST allowed_ours)
        list(APPEND problems "${relative}: ${line} (${folder}/ may not use ${target_folder}/)")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
      classify("${CMAKE_MATCH_1}" class)
      if(NOT class STREQUAL "std" AND NOT class IN_LIST allowed_third)
        list(APPEND problems "${relative}: ${line} (${class} is not for this file)")
      endif()
    else()
      list(APPEND problems "${relative}: ${line} (includes are rooted: \"folder/file.hpp\")")
    endif()
  endforeach()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()

foreach(folder IN LISTS folders)
  file(GLOB sources "${SOURCE_DIR}/${folder}/*.hpp" "${SOURCE_DIR}/${folder}/*.cpp")
  if(NOT sources)
    list(APPEND problems "${folder}/: no sources found (is SOURCE_DIR right?)")
  endif()
  foreach(source IN LISTS sources)
    file(RELATIVE_PATH relative "${SOURCE_DIR}" "${source}")
    if(source MATCHES "\\.cpp$" OR relative IN_LIST private_headers)
      check_includes("${source}" "${folder}" "${deps_${folder}}" "${cpp_${folder}}")
    else()
      check_includes("${source}" "${folder}" "${deps_${folder}}" "${hpp_${folder}}")
    endif()
  endforeach()

  # Links: the mutex_edge::<folder> libraries named in the folder's CMakeLists.txt.
  file(READ "${SOURCE_DIR}/${folder}/CMakeLists.txt" cmake_text)
  string(REGEX MATCHALL "mutex_edge::[a-z_]+" links "${cmake_text}")
  foreach(link IN LISTS links)
    string(REPLACE "mutex_edge::" "" linked "${link}")
    if(NOT linked STREQUAL folder AND NOT linked IN_LIST deps_${folder})
      list(APPEND problems "${folder}/CMakeLists.txt: links ${link} (${folder}/ may not use ${linked}/)")
    endif()
  endforeach()
endforeach()

# Tests use what the folder they test uses, plus tests/support; tests/e2e and tests/support
# may use anything of ours.
foreach(folder IN LISTS folders)
  file(GLOB sources "${SOURCE_DIR}/tests/${folder}/*.hpp" "${SOURCE_DIR}/tests/${folder}/*.cpp")
  foreach(source IN LISTS sources)
    set(allowed "${deps_${folder}};tests")
    check_includes("${source}" "${folder}" "${allowed}"
                   "${cpp_${folder}};catch2;simdjson;boost/asio;boost/beast;prometheus;posix;zlib")
  endforeach()
endforeach()

# tests/fuzz drives each parser the way its binary does, so it may use anything of ours (and
# zlib, to read the gzipped answers of /sdk/v2/flags).
file(GLOB sources "${SOURCE_DIR}/tests/fuzz/*.hpp" "${SOURCE_DIR}/tests/fuzz/*.cpp")
foreach(source IN LISTS sources)
  check_includes("${source}" "tests" "${folders}"
                 "simdjson;spdlog;boost/asio;boost/beast;boost/system;posix;zlib")
endforeach()

if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "The layering is broken:\n  ${text}")
endif()
message(STATUS "Layering holds: every include and link follows the dependency graph")
