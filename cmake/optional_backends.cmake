# Optional backends. Each adds its sources to the layer library it belongs to (qforge_nn and
# qforge_quant for CUDA kernels, qforge_comm for MPI and NCCL, qforge_data for OpenCV), or that
# layer's stub without it, and a QF_HAVE_* definition; code outside the backend never tests these
# macros — it goes through the op registry and the Communicator.
set(QF_HAVE_CUDA OFF)
set(QF_HAVE_MPI OFF)
set(QF_HAVE_NCCL OFF)
set(QF_HAVE_OPENCV OFF)

# CUDA (the device infrastructure under nn/kernels/cuda, each op's *_cuda.cpp / *_cuda.cu in its
# folder under nn/ops and quant/ops, registered by nn/ops/register_cuda.cpp and
# quant/ops/register_cuda.cpp). Built when nvcc,
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
file(GLOB QF_CUDA_SOURCES CONFIGURE_DEPENDS nn/kernels/cuda/*.cu nn/kernels/cuda/*.cpp
     nn/ops/*_cuda.cpp nn/ops/*/*_cuda.cpp nn/ops/*/*_cuda.cu)
file(GLOB QF_QUANT_CUDA_SOURCES CONFIGURE_DEPENDS quant/ops/*_cuda.cpp quant/ops/*/*_cuda.cpp
     quant/ops/*/*_cuda.cu)
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
# qf_cuda_objects(LAYER SOURCES...): the layer's CUDA sources as an object library of their own —
# they alone see QF_HAVE_CUDA, cuDNN's headers and nvcc's flags; everything else stays
# device-agnostic — compiled against the layer's include root and added to its library.
function(qf_cuda_objects layer)
  qf_layer_root(${layer} root)
  add_library(qforge_${layer}_cuda OBJECT ${ARGN})
  target_compile_definitions(qforge_${layer}_cuda PRIVATE QF_HAVE_CUDA
                             QF_CUBLAS_DIR="${CUDAToolkit_LIBRARY_DIR}")
  target_include_directories(qforge_${layer}_cuda PRIVATE ${root} ${QF_CUDNN_INCLUDE_DIR})
  target_link_libraries(qforge_${layer}_cuda PUBLIC CUDA::cudart_static)
  target_compile_options(qforge_${layer}_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${QF_LAYER_WARNINGS}>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter>)
  target_sources(qforge_${layer} PRIVATE $<TARGET_OBJECTS:qforge_${layer}_cuda>)
endfunction()
if(QF_HAVE_CUDA)
  qf_cuda_objects(nn ${QF_CUDA_SOURCES})
  qf_cuda_objects(quant ${QF_QUANT_CUDA_SOURCES})
  target_link_libraries(qforge_nn PUBLIC CUDA::cudart_static ${QF_CUDNN_LIBRARY} ${CMAKE_DL_LIBS})
else()
  target_sources(qforge_nn PRIVATE nn/kernels/cuda_stub/cuda_stub.cpp)
  target_sources(qforge_quant PRIVATE quant/ops/cuda_stub/register_cuda_stub.cpp)
endif()

# MPI (comm/mpi: the MPI communicator and MPI start-up). Without it, comm/stub runs one process.
if(QF_WITH_MPI)
  find_package(MPI COMPONENTS CXX)
endif()
if(QF_WITH_MPI AND MPI_CXX_FOUND)
  set(QF_HAVE_MPI ON)
  file(GLOB QF_MPI_SOURCES CONFIGURE_DEPENDS comm/mpi/*.cpp)
  target_sources(qforge_comm PRIVATE ${QF_MPI_SOURCES})
  target_link_libraries(qforge_comm PUBLIC MPI::MPI_CXX)
  target_compile_definitions(qforge_comm PUBLIC QF_HAVE_MPI)
else()
  target_sources(qforge_comm PRIVATE comm/stub/mpi_stub.cpp)
endif()

# NCCL (comm/nccl: the GPU communicator) needs the CUDA backend, NCCL (under /usr/local/cuda on
# these machines) and MPI, which carries NCCL's unique id between ranks.
if(QF_HAVE_CUDA AND QF_HAVE_MPI)
  find_package(CUDAToolkit)
  find_path(QF_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(QF_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  if(CUDAToolkit_FOUND AND QF_NCCL_INCLUDE_DIR AND QF_NCCL_LIBRARY)
    set(QF_HAVE_NCCL ON)
    target_sources(qforge_comm PRIVATE comm/nccl/nccl_communicator.cpp)
    target_include_directories(qforge_comm PRIVATE ${QF_NCCL_INCLUDE_DIR} ${QF_CUDNN_INCLUDE_DIR})
    target_link_libraries(qforge_comm PUBLIC ${QF_NCCL_LIBRARY} CUDA::cudart)
    target_compile_definitions(qforge_comm PUBLIC QF_HAVE_NCCL)
  endif()
endif()
if(NOT QF_HAVE_NCCL)
  target_sources(qforge_comm PRIVATE comm/stub/nccl_stub.cpp)
endif()

# OpenCV (the image-list / ImageNet dataset under data/opencv, the ImageNet-like dataset writer
# under tools/). Without it data/opencv_stub says so when data.format = imagelist is asked for.
if(QF_WITH_OPENCV)
  find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
  if(OpenCV_FOUND)
    set(QF_HAVE_OPENCV ON)
  endif()
endif()
if(QF_HAVE_OPENCV)
  file(GLOB QF_OPENCV_SOURCES CONFIGURE_DEPENDS data/opencv/*.cpp)
  target_sources(qforge_data PRIVATE ${QF_OPENCV_SOURCES})
  target_link_libraries(qforge_data PRIVATE opencv_core opencv_imgproc opencv_imgcodecs)
else()
  target_sources(qforge_data PRIVATE data/opencv_stub/image_list_stub.cpp)
endif()
