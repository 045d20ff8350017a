# Optional backends. Each adds its sources to qforge_core and a QF_HAVE_* definition; code outside
# the backend never tests these macros — it goes through the op registry and the Communicator.
set(QF_HAVE_CUDA OFF)
set(QF_HAVE_MPI OFF)
set(QF_HAVE_NCCL OFF)
set(QF_HAVE_OPENCV OFF)

# CUDA (kernels under nn/kernels/cuda, registered through register_cuda_kernels). Built when nvcc,
# the CUDA runtime and cuDNN 9 are found; cuBLAS is loaded at run time (nn/kernels/cuda/cublas_lib.h)
# because linking it costs every process ~1 s of start-up on this machine, GPU or not.
# Targets: sm_90 machine code (H100 / H200) plus compute_90 PTX that newer GPUs compile at load.
if(QF_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
endif()
file(GLOB QF_CUDA_SOURCES CONFIGURE_DEPENDS nn/kernels/cuda/*.cu nn/kernels/cuda/*.cpp)
if(QF_WITH_CUDA AND CMAKE_CUDA_COMPILER AND QF_CUDA_SOURCES)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90-real 90-virtual)
  endif()
  enable_language(CUDA)
  set(QF_CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}" CACHE INTERNAL "CUDA targets of the build")
  # CMake 3.25 predates nvcc's C++20 support in its tables; the backend is C++20 like the rest.
  if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
  endif()
  find_package(CUDAToolkit)
  find_path(QF_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(QF_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
               HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib /usr/local/cuda/lib64)
  find_path(QF_CUBLAS_INCLUDE_DIR cublas_v2.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(CUDAToolkit_FOUND AND QF_CUDNN_INCLUDE_DIR AND QF_CUDNN_LIBRARY AND QF_CUBLAS_INCLUDE_DIR)
    file(STRINGS ${QF_CUDNN_INCLUDE_DIR}/cudnn_version.h _cudnn_major REGEX "define CUDNN_MAJOR")
    string(REGEX MATCH "[0-9]+" QF_CUDNN_MAJOR "${_cudnn_major}")
    if(QF_CUDNN_MAJOR STREQUAL "9")
      set(QF_HAVE_CUDA ON)
    else()
      message(STATUS "CUDA backend off: cuDNN 9 is required, found major version ${QF_CUDNN_MAJOR}")
    endif()
  else()
    message(STATUS "CUDA backend off: CUDA toolkit, cuBLAS headers or cuDNN not found")
  endif()
endif()
if(QF_HAVE_CUDA)
  # The backend's sources are an object library of their own: they alone see QF_HAVE_CUDA, cuDNN's
  # headers and nvcc's flags; everything else stays device-agnostic.
  add_library(qforge_cuda OBJECT ${QF_CUDA_SOURCES})
  target_compile_definitions(qforge_cuda PRIVATE QF_HAVE_CUDA QF_CUBLAS_DIR="${CUDAToolkit_LIBRARY_DIR}")
  target_include_directories(qforge_cuda PRIVATE ${CMAKE_SOURCE_DIR} ${QF_CUDNN_INCLUDE_DIR})
  target_link_libraries(qforge_cuda PUBLIC CUDA::cudart_static)
  target_compile_options(qforge_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter>)
  target_sources(qforge_core PRIVATE $<TARGET_OBJECTS:qforge_cuda>)
  target_link_libraries(qforge_core PUBLIC CUDA::cudart_static ${QF_CUDNN_LIBRARY} ${CMAKE_DL_LIBS})
else()
  target_sources(qforge_core PRIVATE nn/kernels/cuda_stub/cuda_stub.cpp)
endif()
