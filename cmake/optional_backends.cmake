# Optional backends. Each adds its sources to qforge_core and a QF_HAVE_* definition; code outside
# the backend never tests these macros — it goes through the op registry and the Communicator.
set(QF_HAVE_CUDA OFF)
set(QF_HAVE_MPI OFF)
set(QF_HAVE_NCCL OFF)
set(QF_HAVE_OPENCV OFF)

# CUDA (kernels under nn/kernels/cuda, registered through register_cuda_kernels).
if(QF_WITH_CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
endif()
file(GLOB QF_CUDA_SOURCES CONFIGURE_DEPENDS nn/kernels/cuda/*.cu nn/kernels/cuda/*.cpp)
if(QF_WITH_CUDA AND CMAKE_CUDA_COMPILER AND QF_CUDA_SOURCES)
  set(QF_HAVE_CUDA ON)
endif()
if(NOT QF_HAVE_CUDA)
  target_sources(qforge_core PRIVATE nn/kernels/cuda_stub/cuda_stub.cpp)
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
  target_sources(qforge_core PRIVATE ${QF_OPENCV_SOURCES})
  target_link_libraries(qforge_core PRIVATE opencv_core opencv_imgproc opencv_imgcodecs)
else()
  target_sources(qforge_core PRIVATE data/opencv_stub/image_list_stub.cpp)
endif()
