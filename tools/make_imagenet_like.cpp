// qforge_make_imagelist: writes a small ImageNet-layout dataset (JPEG/PNG files, train_list.txt,
// val_list.txt) from Fashion-MNIST, for tests and demos (what it writes: tools/imagenet_like.h).
//
//   qforge_make_imagelist --out DIR [--train 200] [--val 50] [--width 64] [--height 64]
//                         [--quality 90] [--gray-every 0] [--png-every 0] [--noise 8] [--seed 1]
//                         [--source /usr/share/datasets/fashion-mnist]
//
// Then: qforge train --data.format imagelist --data.root DIR --model.in_channels 3 ...
// A bad option or input ends with one line on stderr and exit code 2.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "nn/error.h"
#include "tools/imagenet_like.h"

namespace {

int64_t to_int(const std::string& flag, const char* v) {
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (end == v || *end != '\0') qf::throw_input_error(flag, ": '", v, "' is not an integer");
  return x;
}

double to_double(const std::string& flag, const char* v) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (end == v || *end != '\0') qf::throw_input_error(flag, ": '", v, "' is not a number");
  return x;
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: qforge_make_imagelist --out DIR [--train N] [--val N] [--width W] "
               "[--height H]\n"
               "       [--quality Q] [--gray-every K] [--png-every K] [--noise SIGMA] [--seed S]\n"
               "       [--source FASHION_MNIST_DIR]\n");
}

qf::ImagenetLikeOptions parse(int argc, char** argv) {
  qf::ImagenetLikeOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) qf::throw_input_error(flag, ": needs a value (see --help)");
    const char* v = argv[++i];
    if (flag == "--out")
      o.out = v;
    else if (flag == "--source")
      o.source = v;
    else if (flag == "--train")
      o.train_images = static_cast<int>(to_int(flag, v));
    else if (flag == "--val")
      o.val_images = static_cast<int>(to_int(flag, v));
    else if (flag == "--width")
      o.width = static_cast<int>(to_int(flag, v));
    else if (flag == "--height")
      o.height = static_cast<int>(to_int(flag, v));
    else if (flag == "--quality")
      o.quality = static_cast<int>(to_int(flag, v));
    else if (flag == "--gray-every")
      o.gray_every = static_cast<int>(to_int(flag, v));
    else if (flag == "--png-every")
      o.png_every = static_cast<int>(to_int(flag, v));
    else if (flag == "--noise")
      o.noise = to_double(flag, v);
    else if (flag == "--seed")
      o.seed = static_cast<uint64_t>(to_int(flag, v));
    else
      qf::throw_input_error("unknown option '", flag,
                            "' (allowed: --out, --train, --val, --width, ",
                            "--height, --quality, --gray-every, --png-every, --noise, --seed, "
                            "--source)");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const qf::ImagenetLikeOptions o = parse(argc, argv);
    const qf::ImagenetLikeSummary s = qf::write_imagenet_like(o);
    std::printf(
        "wrote %lld training and %lld validation images (%lld grayscale JPEG, %lld PNG, "
        "%.1f MB) to %s\n",
        static_cast<long long>(s.train), static_cast<long long>(s.val),
        static_cast<long long>(s.gray), static_cast<long long>(s.png), s.bytes / 1e6,
        o.out.c_str());
    return 0;
  } catch (const qf::InputError& e) {
    std::fprintf(stderr, "qforge_make_imagelist: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qforge_make_imagelist: internal error: %s\n", e.what());
    return 3;
  }
}
