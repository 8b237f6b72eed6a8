# The version and git revision that --version prints. Regenerated on every
# build, but the file is rewritten only when the text changes, so a build
# with no new commit relinks nothing.
set(RAMPART_BUILD_INFO_CC ${CMAKE_BINARY_DIR}/generated/build_info.cc)
add_custom_target(rampart_build_info_gen
  COMMAND ${CMAKE_COMMAND}
    -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DOUTPUT=${RAMPART_BUILD_INFO_CC}
    -DVERSION=${PROJECT_VERSION} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -P ${CMAKE_SOURCE_DIR}/cmake/WriteBuildInfo.cmake
  BYPRODUCTS ${RAMPART_BUILD_INFO_CC}
  COMMENT "Recording git revision")
