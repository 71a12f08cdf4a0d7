# sb_library(name dir deps...): a static library of every .cpp in dir (not recursive),
# with src/ on the include path so headers are included as "component/jid.hpp".
function(sb_library name dir)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.cpp)
  if(_srcs)
    add_library(${name} STATIC ${_srcs})
    target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${ARGN})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
  endif()
endfunction()

# sb_unit_test(name dir deps...): one doctest binary per test folder, so each part of
# the tree builds and tests on its own.
function(sb_unit_test name dir)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.cpp)
  if(_srcs)
    add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/unit/doctest_main.cpp ${_srcs})
    target_link_libraries(${name} PRIVATE doctest::doctest ${ARGN})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
    add_test(NAME ${name} COMMAND ${name})
  endif()
endfunction()
