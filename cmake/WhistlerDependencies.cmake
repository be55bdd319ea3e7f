# Third-party dependencies, all from Debian packages (see scripts/setup).

# LLVM 19, linked statically into the compiler for start-up speed.
# LLVM's version file wants an exact major.minor, so ask for 19.1.
find_package(LLVM 19.1 REQUIRED CONFIG HINTS /usr/lib/llvm-19/lib/cmake/llvm)
if(NOT LLVM_VERSION_MAJOR EQUAL 19)
  message(FATAL_ERROR "Whistler needs LLVM 19, found ${LLVM_PACKAGE_VERSION}")
endif()
message(STATUS "LLVM ${LLVM_PACKAGE_VERSION} from ${LLVM_DIR}")
llvm_map_components_to_libnames(WHISTLER_LLVM_LIBS bpfcodegen bpfdesc bpfinfo passes object)
add_library(whistler_llvm INTERFACE)
target_include_directories(whistler_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
separate_arguments(WHISTLER_LLVM_DEFS NATIVE_COMMAND "${LLVM_DEFINITIONS}")
target_compile_definitions(whistler_llvm INTERFACE ${WHISTLER_LLVM_DEFS})
target_link_libraries(whistler_llvm INTERFACE ${WHISTLER_LLVM_LIBS})

find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.0)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)
