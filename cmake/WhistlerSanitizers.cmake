# Sanitizer and fuzzing builds (docs/reliability.md).
#
#   -DWHISTLER_SANITIZE=address,undefined
#       every project target is compiled and linked with -fsanitize=LIST
#       -fno-omit-frame-pointer; UBSan does not recover (undefined behaviour
#       fails the test that reaches it); LeakSanitizer runs with ASan.
#   -DWHISTLER_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-19
#       adds the libFuzzer targets in tests/fuzz (implies address,undefined
#       and coverage instrumentation of the compiler's code).
#
# The static LLVM and the system libraries are not instrumented; that only
# means ASan does not see inside them.
set(WHISTLER_SANITIZE "" CACHE STRING
    "Sanitizers for every target: a comma list passed to -fsanitize= (e.g. address,undefined)")
option(WHISTLER_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang++-19 and libclang-rt-19-dev)" OFF)

if(WHISTLER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WHISTLER_FUZZ needs clang: configure with -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19")
  endif()
  if(NOT WHISTLER_SANITIZE)
    set(WHISTLER_SANITIZE "address,undefined" CACHE STRING "" FORCE)
  endif()
endif()

set(WHISTLER_SANITIZE_FLAGS "")
if(WHISTLER_SANITIZE)
  set(WHISTLER_SANITIZE_FLAGS -fsanitize=${WHISTLER_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options(${WHISTLER_SANITIZE_FLAGS})
  add_link_options(${WHISTLER_SANITIZE_FLAGS})
  message(STATUS "Sanitizers: ${WHISTLER_SANITIZE_FLAGS}")
endif()

if(WHISTLER_FUZZ)
  # Coverage feedback for libFuzzer in all the compiler's code; the fuzz
  # targets themselves link with -fsanitize=fuzzer (tests/fuzz).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
