# Use ccache when present. The base dir and no-hash-dir settings let build
# trees in different folders (presets, fresh clones) share cached objects.
find_program(RAMPART_CCACHE ccache)
if(RAMPART_CCACHE)
  set(_launcher ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ${RAMPART_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
endif()
