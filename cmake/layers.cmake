# The layers of qforge (docs/architecture.md), each a static library that links only downward:
#
#   layer 1  qforge_nn                                   nn/
#   layer 2  qforge_data  qforge_io  qforge_comm  qforge_models     data/ io/ comm/ models/
#   layer 3  qforge_quant  qforge_trainer               quant/ trainer/
#   layer 4  qforge_launch (and the qforge binary)      launch/
#
# Two guards make an upward dependency fail the build, not just the review:
#  - includes: a layer's sources see the headers of the folders it may use and no others. Each
#    layer compiles against its own include root (build/layer_roots/<layer>/), a folder of links
#    to exactly those source folders, so `#include "quant/..."` in nn/ finds no such file;
#  - links: qf_layer_probe_<layer> links the whole of the layer's library (every object, used or
#    not) with only the layers below it, so a call into a higher layer is an undefined symbol.
# tools/check_layers.py checks the same rule over the sources (ctest layers.includes_point_down).
#
# Tests, benchmarks and tools sit above every layer and see the whole tree (qforge_core).

set(QF_LAYER_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

# qf_layer(NAME SOURCES <globs> SEES <folders> [DEPS <layer targets>] [LINKS <libraries>])
# Makes qforge_<NAME> from the globbed sources, minus CUDA kernels (*_cuda.cpp, *.cu, added by
# cmake/optional_backends.cmake), tests (*_test.cpp), shared test cases (*_cases.cpp) and stubs.
function(qf_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;SEES;DEPS;LINKS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${L_SOURCES})
  list(FILTER srcs EXCLUDE REGEX "(_cuda\\.cpp|_test\\.cpp|_cases\\.cpp|\\.cu)$")
  list(FILTER srcs EXCLUDE REGEX "/(cuda_stub|opencv_stub|stub|mpi|nccl|opencv)/")
  set(root ${CMAKE_BINARY_DIR}/layer_roots/${name})
  file(MAKE_DIRECTORY ${root})
  foreach(folder ${L_SEES})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
  endforeach()
  set_property(GLOBAL PROPERTY QF_LAYER_ROOT_${name} ${root})
  add_library(qforge_${name} STATIC ${srcs})
  target_include_directories(qforge_${name} PRIVATE ${root})
  target_link_libraries(qforge_${name} PUBLIC ${L_DEPS} ${L_LINKS})
  target_compile_options(qforge_${name} PRIVATE ${QF_LAYER_WARNINGS})
  set_property(GLOBAL APPEND PROPERTY QF_LAYERS ${name})
  set_property(GLOBAL PROPERTY QF_LAYER_DEPS_${name} ${L_DEPS})
endfunction()

# The include root of a layer (for its optional backend sources).
function(qf_layer_root name out)
  get_property(root GLOBAL PROPERTY QF_LAYER_ROOT_${name})
  set(${out} ${root} PARENT_SCOPE)
endfunction()

# One link probe per layer: the layer's whole archive with only what it may link.
function(qf_layer_probes)
  get_property(layers GLOBAL PROPERTY QF_LAYERS)
  foreach(name ${layers})
    add_executable(qf_layer_probe_${name} ${CMAKE_SOURCE_DIR}/cmake/layer_probe.cpp)
    target_link_libraries(qf_layer_probe_${name} PRIVATE
      "$<LINK_LIBRARY:WHOLE_ARCHIVE,qforge_${name}>")
    set_target_properties(qf_layer_probe_${name} PROPERTIES
      RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/layer_probes)
  endforeach()
endfunction()
