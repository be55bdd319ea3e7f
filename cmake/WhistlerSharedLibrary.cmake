# libwhistler.so: the public C++ API (include/whistler/) for programs that
# embed the compiler and the runtime. LLVM is linked in statically and nothing
# but the API is exported, so users link one library.
configure_file(${PROJECT_SOURCE_DIR}/include/whistler/version.hpp.in
               ${PROJECT_BINARY_DIR}/include/whistler/version.hpp @ONLY)

add_library(whistler SHARED
  ${PROJECT_SOURCE_DIR}/compiler/api.cpp
  ${PROJECT_SOURCE_DIR}/runtime/api.cpp)
add_library(Whistler::whistler ALIAS whistler)
target_include_directories(whistler PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(whistler PRIVATE whistler_compiler whistler_runtime)
target_link_options(whistler PRIVATE -Wl,--exclude-libs,ALL)
set_target_properties(whistler PROPERTIES
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR})
