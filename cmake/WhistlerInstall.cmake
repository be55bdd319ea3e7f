# `cmake --install`: whistlerc, whistler, libwhistler with its headers, the
# standard library, a CMake package (find_package(Whistler) gives
# Whistler::whistler, Whistler::whistlerc and whistler_add_bpf_object()) and
# a pkg-config file.
include(CMakePackageConfigHelpers)

set(WHISTLER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Whistler)

install(TARGETS whistler whistlerc EXPORT WhistlerTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/whistler DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/whistler/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/whistler)

install(EXPORT WhistlerTargets NAMESPACE Whistler:: DESTINATION ${WHISTLER_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/WhistlerConfig.cmake.in
  ${PROJECT_BINARY_DIR}/WhistlerConfig.cmake INSTALL_DESTINATION ${WHISTLER_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/WhistlerConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/WhistlerConfig.cmake
  ${PROJECT_BINARY_DIR}/WhistlerConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/WhistlerBpfObject.cmake
  ${PROJECT_SOURCE_DIR}/cmake/whistler_embed_object.cmake
  DESTINATION ${WHISTLER_CMAKE_DIR})

# Relocatable: the prefix is found relative to the .pc file itself.
# (RELATIVE_PATH gives "../../" for an ancestor: drop the slash, or paths get "//".)
file(RELATIVE_PATH WHISTLER_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/+$" "" WHISTLER_PC_TO_PREFIX "${WHISTLER_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/whistler.pc.in ${PROJECT_BINARY_DIR}/whistler.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/whistler.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
