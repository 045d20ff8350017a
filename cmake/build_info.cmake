# Build facts for `qforge --version` (launch/lib/help.h BuildInfo): the project's version, the git
# commit of the sources and the backends compiled in, with their versions.
#
# The backend facts are known at configure time; the commit can change with every build, so a
# custom target runs cmake/write_build_info.cmake on each build. That script rewrites
# generated/build_info.cpp only when its text changes, and only the qforge program compiles it
# (the libraries and tests do not depend on it, so a new commit relinks one program).

# "#define NAME value" lines of a header, joined by ".": "9.19.0" from cudnn_version.h.
function(qf_header_version out header)
  set(parts)
  foreach(macro ${ARGN})
    file(STRINGS "${header}" line REGEX "#define ${macro} +[0-9]+")
    string(REGEX MATCH "[0-9]+$" v "${line}")
    list(APPEND parts "${v}")
  endforeach()
  list(JOIN parts "." joined)
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

set(QF_BACKENDS "oneDNN ${dnnl_VERSION} (CPU kernels)")
if(QF_HAVE_CUDA)
  qf_header_version(cudnn_v "${QF_CUDNN_INCLUDE_DIR}/cudnn_version.h"
                    CUDNN_MAJOR CUDNN_MINOR CUDNN_PATCHLEVEL)
  list(JOIN QF_CUDA_ARCHITECTURES ", " archs)
  list(APPEND QF_BACKENDS "CUDA ${CUDAToolkit_VERSION} with cuDNN ${cudnn_v} (GPU kernels for ${archs})")
else()
  list(APPEND QF_BACKENDS "CUDA: not built (no CUDA toolkit with cuDNN 9 found, or QF_WITH_CUDA off)")
endif()
if(QF_HAVE_MPI)
  set(mpi_desc "MPI ${MPI_CXX_VERSION}")
  foreach(dir ${MPI_CXX_INCLUDE_DIRS})
    if(EXISTS "${dir}/mpi.h")
      file(STRINGS "${dir}/mpi.h" ompi REGEX "#define OMPI_MAJOR_VERSION")
      if(ompi)
        qf_header_version(ompi_v "${dir}/mpi.h"
                          OMPI_MAJOR_VERSION OMPI_MINOR_VERSION OMPI_RELEASE_VERSION)
        set(mpi_desc "Open MPI ${ompi_v}, MPI ${MPI_CXX_VERSION}")
      endif()
      break()
    endif()
  endforeach()
  list(APPEND QF_BACKENDS "${mpi_desc} (multi-process communicator)")
else()
  list(APPEND QF_BACKENDS "MPI: not built (no MPI found, or QF_WITH_MPI off)")
endif()
if(QF_HAVE_NCCL)
  qf_header_version(nccl_v "${QF_NCCL_INCLUDE_DIR}/nccl.h" NCCL_MAJOR NCCL_MINOR NCCL_PATCH)
  list(APPEND QF_BACKENDS "NCCL ${nccl_v} (GPU communicator)")
else()
  list(APPEND QF_BACKENDS "NCCL: not built (needs the CUDA and MPI backends and nccl.h)")
endif()
if(QF_HAVE_OPENCV)
  list(APPEND QF_BACKENDS "OpenCV ${OpenCV_VERSION} (image-list datasets)")
else()
  list(APPEND QF_BACKENDS "OpenCV: not built (image-list datasets unavailable)")
endif()
list(APPEND QF_BACKENDS "ONNX ${ONNX_VERSION}, Protobuf ${Protobuf_VERSION} (model files)")

set(QF_BUILD_INFO_CPP ${CMAKE_BINARY_DIR}/generated/build_info.cpp)
add_custom_target(qforge_build_info
  COMMAND ${CMAKE_COMMAND} -DOUT=${QF_BUILD_INFO_CPP} -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
          -DVERSION=${PROJECT_VERSION}
          "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
          -DBUILD_TYPE=${CMAKE_BUILD_TYPE} "-DBACKENDS=${QF_BACKENDS}"
          -P ${CMAKE_SOURCE_DIR}/cmake/write_build_info.cmake
  BYPRODUCTS ${QF_BUILD_INFO_CPP}
  COMMENT "" VERBATIM)
