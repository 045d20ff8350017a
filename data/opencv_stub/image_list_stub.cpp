// Image-list datasets in a build without OpenCV: the list rules (data/image_list_file.cpp) still
// work, but there is no decoder, so asking for the dataset is an InputError that says why.
#include "data/image_list.h"
#include "nn/error.h"

namespace qf {

bool image_list_available() {
  return false;
}

std::unique_ptr<Dataset> open_image_list(const ImageListOptions& options) {
  throw_input_error(
      "data.format: imagelist needs OpenCV, and this qforge was built without it "
      "(install libopencv-dev and rebuild with -DQF_WITH_OPENCV=ON; allowed "
      "here: data.format = idx)");
}

ImageListStats image_list_stats(const Dataset&) {
  return {};
}

}  // namespace qf
