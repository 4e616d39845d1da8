# The web viewer (`vgsplat view`, `vgsplat train --viewer`), optional: cpp-httplib serves the page (Debian
# libcpp-httplib-dev) and npm installs the renderer pinned in web/package-lock.json, which esbuild bundles into
# <build>/web at build time (installed to share/vgsplat/web). Missing either: the viewer is off and the commands
# say how to get it. Included by the top-level CMakeLists.txt after the library, the CLI and the tests.
option(VGSPLAT_VIEWER "Build the web viewer when cpp-httplib and npm are found" ON)
set(VGSPLAT_HAS_VIEWER OFF)
if(VGSPLAT_VIEWER)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)  # Debian builds it as a shared library
  endif()
  find_program(VGSPLAT_NPM npm)
  find_program(VGSPLAT_NODE NAMES node nodejs)
  if(HTTPLIB_FOUND AND VGSPLAT_NPM AND VGSPLAT_NODE)
    set(VGSPLAT_HAS_VIEWER ON)
    message(STATUS "vgsplat: cpp-httplib ${HTTPLIB_VERSION} and npm found, web viewer enabled")
  else()
    message(STATUS "vgsplat: web viewer disabled (needs cpp-httplib and npm: apt-get install libcpp-httplib-dev npm)")
  endif()
endif()

set(_viewer_dir ${CMAKE_SOURCE_DIR}/src/viewer)
if(VGSPLAT_HAS_VIEWER)
  set_source_files_properties(${_viewer_dir}/server_off.cc PROPERTIES HEADER_FILE_ONLY ON)
  target_link_libraries(vgsplat_lib PUBLIC PkgConfig::HTTPLIB)
  target_compile_definitions(vgsplat_lib PUBLIC VGSPLAT_HAS_VIEWER=1)
else()
  set_source_files_properties(${_viewer_dir}/server.cc PROPERTIES HEADER_FILE_ONLY ON)
  target_compile_definitions(vgsplat_lib PUBLIC VGSPLAT_HAS_VIEWER=0)
endif()
set(VGSPLAT_WEB_DIR ${CMAKE_BINARY_DIR}/web)
set_property(SOURCE ${_viewer_dir}/web_assets.cc APPEND PROPERTY COMPILE_DEFINITIONS
             VGSPLAT_WEB_BUILD_DIR="${VGSPLAT_WEB_DIR}")
if(NOT VGSPLAT_HAS_VIEWER)
  return()
endif()

# npm ci into <build>/web_npm (never into the source tree), then one esbuild bundle of web/src.
set(_npm_dir ${CMAKE_BINARY_DIR}/web_npm)
set(_src ${CMAKE_SOURCE_DIR}/web)
file(GLOB _web_js CONFIGURE_DEPENDS ${_src}/src/*.js)
add_custom_command(
  OUTPUT ${_npm_dir}/node_modules/.package-lock.json
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_npm_dir}
  COMMAND ${CMAKE_COMMAND} -E copy ${_src}/package.json ${_src}/package-lock.json ${_npm_dir}/
  COMMAND ${VGSPLAT_NPM} ci --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${_npm_dir}
  DEPENDS ${_src}/package.json ${_src}/package-lock.json
  COMMENT "npm ci (web viewer: Spark, three.js, esbuild)")
add_custom_command(
  OUTPUT ${VGSPLAT_WEB_DIR}/viewer.js ${VGSPLAT_WEB_DIR}/index.html ${VGSPLAT_WEB_DIR}/viewer.css
         ${_npm_dir}/snapshot.cjs
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${_src}/src ${_npm_dir}/src
  COMMAND ${_npm_dir}/node_modules/.bin/esbuild ${_npm_dir}/src/main.js --bundle --format=esm --minify
          --log-level=warning --outfile=${VGSPLAT_WEB_DIR}/viewer.js
  COMMAND ${CMAKE_COMMAND} -E copy ${_src}/index.html ${_src}/viewer.css ${VGSPLAT_WEB_DIR}/
  COMMAND ${CMAKE_COMMAND} -E copy ${_src}/test/snapshot.cjs ${_npm_dir}/
  WORKING_DIRECTORY ${_npm_dir}
  DEPENDS ${_npm_dir}/node_modules/.package-lock.json ${_web_js} ${_src}/index.html ${_src}/viewer.css
          ${_src}/test/snapshot.cjs
  COMMENT "esbuild: web viewer bundle")
add_custom_target(vgsplat_web ALL DEPENDS ${VGSPLAT_WEB_DIR}/viewer.js ${_npm_dir}/snapshot.cjs)
add_dependencies(vgsplat vgsplat_web)
install(FILES ${VGSPLAT_WEB_DIR}/index.html ${VGSPLAT_WEB_DIR}/viewer.css ${VGSPLAT_WEB_DIR}/viewer.js
        DESTINATION share/vgsplat/web)

# The browser test drives Chromium through web/test/snapshot.cjs (its `ws` comes from web_npm).
foreach(_t viewer_browser_test viewer_server_test)
  if(TARGET ${_t})
    add_dependencies(${_t} vgsplat_web)
    target_compile_definitions(${_t} PRIVATE VGSPLAT_WEB_NPM_DIR="${_npm_dir}" VGSPLAT_NODE="${VGSPLAT_NODE}")
  endif()
endforeach()
if(TARGET viewer_server_test)  # `vgsplat view` with a port in use
  add_dependencies(viewer_server_test vgsplat)
  target_compile_definitions(viewer_server_test PRIVATE VGSPLAT_BINARY="$<TARGET_FILE:vgsplat>")
endif()
