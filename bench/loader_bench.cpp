// loader_bench: what the ImageNet input pipeline costs beside OpenCV's raw decode of the same
// files.
//
// Writes an ImageNet-like set of JPEGs (tools/imagenet_like.h: Fashion-MNIST upscaled to
// --width x --height, coloured, noised; 500x375 by default, the typical ImageNet photo) into a
// temporary folder, reads every file once so the page cache holds them, then times over all files,
// each figure the median of --repeats passes (taken in turns, so load changes hit all alike):
//   raw decode     cv::imread(path, IMREAD_COLOR) — file read + JPEG decode, a fresh Mat each
//   decode only    the dataset's own first half: read the file into a reused buffer and
//                  cv::imdecode into a reused Mat (what is left when the transforms cost nothing)
//   train sample   ImageListDataset::get, training transform (read, decode, RandomResizedCrop to
//                  --crop, flip, normalize to float32)
//   eval sample    ImageListDataset::get, evaluation transform (resize short side 256, crop)
// on one thread (img/s per core), and with --threads threads: raw decode on that many threads,
// and the DataLoader with that many workers assembling batches of 64 (img/s with all cores). Each
// is reported per wall-clock second and per CPU-second of the process (on a machine shared with
// other jobs, wall times stretch while CPU time stays meaningful); the loader's overhead is
// raw / pipeline - 1 in both (and, on one thread, decode-only / pipeline - 1: the transforms' own
// cost, as cv::imread's fresh Mat per image costs more than the dataset's reused one). Per image it
// also reports minor page faults and operator-new calls on one thread (heap churn), and how many
// cores one GPU training MobileNetV1 at --gpu-rate img/s (default 3000: the assumption for an H100
// in FP32) would need for its input, from the training sample's images per CPU-second.
//
//   loader_bench [--images 500] [--width 500] [--height 375] [--quality 90] [--crop 224]
//                [--repeats 5] [--threads N (all cores)] [--gpu-rate 3000] [--noise 24]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <thread>
#include <vector>

#include "data/image_list.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "nn/error.h"
#include "tools/imagenet_like.h"

namespace {
std::atomic<long> g_news{0};
}  // namespace

void* operator new(std::size_t bytes) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int images = 500, width = 500, height = 375, quality = 90, crop = 224, repeats = 5;
  double noise = 24;  // gives ~105 KB per 500x375 JPEG, about ImageNet's average (138 GB / 1.28 M)
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double gpu_rate = 3000;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    const double v = std::atof(argv[i + 1]);
    if (f == "--images")
      a.images = static_cast<int>(v);
    else if (f == "--width")
      a.width = static_cast<int>(v);
    else if (f == "--height")
      a.height = static_cast<int>(v);
    else if (f == "--quality")
      a.quality = static_cast<int>(v);
    else if (f == "--crop")
      a.crop = static_cast<int>(v);
    else if (f == "--repeats")
      a.repeats = static_cast<int>(v);
    else if (f == "--threads")
      a.threads = static_cast<int>(v);
    else if (f == "--gpu-rate")
      a.gpu_rate = v;
    else if (f == "--noise")
      a.noise = v;
    else
      qf::throw_input_error("loader_bench: unknown option ", f);
  }
  if (a.images < 1 || a.repeats < 1 || a.threads < 1)
    qf::throw_input_error("loader_bench: --images, --repeats and --threads must be >= 1");
  return a;
}

long minor_faults() {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_minflt;
}

double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// CPU time of this process (all its threads).
double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Pass {
  double seconds = 0;
  double cpu = 0;  // CPU seconds the process spent (every thread)
  long faults = 0, news = 0;
};

// One measured workload and its timed passes.
struct Measure {
  std::function<void()> body;
  std::vector<Pass> passes;
  Pass median() const {
    std::vector<Pass> p = passes;
    std::sort(p.begin(), p.end(),
              [](const Pass& a, const Pass& b) { return a.seconds < b.seconds; });
    return p[p.size() / 2];
  }
};

// Runs every workload once as a warm-up, then `repeats` rounds that time each workload once in
// turn, so a change in the machine's load during the run hits all of them alike.
void run_interleaved(const std::vector<Measure*>& measures, int repeats) {
  for (Measure* m : measures) m->body();
  for (int r = 0; r < repeats; ++r)
    for (Measure* m : measures) {
      const long f0 = minor_faults(), n0 = g_news.load();
      const double c0 = process_cpu_seconds();
      const auto t0 = Clock::now();
      m->body();
      Pass p;
      p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      p.cpu = process_cpu_seconds() - c0;
      p.faults = minor_faults() - f0;
      p.news = g_news.load() - n0;
      m->passes.push_back(p);
    }
}

// Splits `n` items over `threads` threads (item i on thread i % threads) and waits for them.
void parallel(int threads, int64_t n, const std::function<void(int64_t)>& item) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t i = t; i < n; i += threads) item(i);
    });
  for (auto& th : pool) th.join();
}

void row(const char* what, const Pass& p, int64_t n, bool churn = true) {
  std::printf("  %-44s %12.1f %14.1f", what, n / p.seconds, n / p.cpu);
  if (churn)
    std::printf("   %5.1f faults/img %5.1f news/img", double(p.faults) / n, double(p.news) / n);
  std::printf("\n");
}

// Writes the JPEGs, reads them once into the page cache, and returns their paths.
std::vector<std::string> make_images(const Args& a, const std::filesystem::path& dir,
                                     qf::ImagenetLikeSummary& made) {
  qf::ImagenetLikeOptions g;
  g.out = dir.string();
  g.train_images = a.images;
  g.val_images = 1;
  g.width = a.width;
  g.height = a.height;
  g.quality = a.quality;
  g.noise = a.noise;
  made = qf::write_imagenet_like(g);
  std::vector<std::string> paths;
  {
    std::ifstream list(dir / "train_list.txt");
    std::string p, label;
    while (list >> p >> label) paths.push_back((dir / p).string());
  }
  for (const auto& p : paths) {  // into the page cache
    std::ifstream f(p, std::ios::binary);
    std::vector<char> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  return paths;
}

struct Passes {
  Pass raw1, dec1, train1, eval1, rawN, loaderN;
};

// Every measurement, interleaved pass by pass (medians of a.repeats).
Passes measure(const Args& a, const std::filesystem::path& dir,
               const std::vector<std::string>& paths) {
  const auto n = static_cast<int64_t>(paths.size());
  qf::ImageListOptions o;
  o.root = dir.string();
  o.list = "train_list.txt";
  o.num_classes = 10;
  o.crop_size = a.crop;
  o.train = true;
  const auto train = qf::open_image_list(o);
  o.train = false;
  const auto eval = qf::open_image_list(o);
  std::vector<float> sample(static_cast<size_t>(3) * a.crop * a.crop);

  Measure raw1m{[&] {
    for (const auto& p : paths)
      if (cv::imread(p, cv::IMREAD_COLOR).empty()) qf::throw_input_error("cannot decode ", p);
  }};
  std::vector<char> bytes;
  cv::Mat decoded;
  Measure dec1m{[&] {
    for (const auto& p : paths) {
      std::ifstream f(p, std::ios::binary | std::ios::ate);
      bytes.resize(static_cast<size_t>(f.tellg()));
      f.seekg(0);
      f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
      cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION, &decoded);
      if (decoded.empty()) qf::throw_input_error("cannot decode ", p);
    }
  }};
  Measure train1m{[&] {
    for (int64_t i = 0; i < n; ++i) {
      qf::SampleRng rng(qf::sample_seed(1, 0, i));
      train->get(i, sample.data(), rng);
    }
  }};
  Measure eval1m{[&] {
    for (int64_t i = 0; i < n; ++i) {
      qf::SampleRng rng(1);
      eval->get(i, sample.data(), rng);
    }
  }};
  Measure rawNm{[&] {
    parallel(a.threads, n,
             [&](int64_t i) { cv::imread(paths[static_cast<size_t>(i)], cv::IMREAD_COLOR); });
  }};
  const qf::ShuffleSampler sampler(n, 1);
  qf::LoaderOptions lo;
  lo.batch_size = 64;
  lo.workers = a.threads;
  lo.prefetch = 4;
  lo.drop_last = false;
  qf::DataLoader loader(*train, sampler, lo);
  int64_t epoch = 0;
  Measure loaderNm{[&] {
    loader.start_epoch(epoch++);
    qf::Batch b;
    while (loader.next(b)) {
    }
  }};
  run_interleaved({&raw1m, &dec1m, &train1m, &eval1m, &rawNm, &loaderNm}, a.repeats);
  return {raw1m.median(),  dec1m.median(), train1m.median(),
          eval1m.median(), rawNm.median(), loaderNm.median()};
}

void print_report(const Args& a, int64_t n, const Passes& p) {
  const Pass &raw1 = p.raw1, &dec1 = p.dec1, &train1 = p.train1, &eval1 = p.eval1;
  auto rate = [n](const Pass& q) { return n / q.seconds; };
  auto cpu_rate = [n](const Pass& q) { return n / q.cpu; };
  std::printf("%-46s %12s %14s\n", "one thread:", "img/s (wall)", "img/CPU-second");
  row("raw decode (cv::imread)", raw1, n);
  row("decode only (read + imdecode, reused buffers)", dec1, n);
  row("train sample (decode+RandomResizedCrop+flip)", train1, n);
  row("eval sample (decode+resize 256+crop)", eval1, n);
  std::printf("all %d threads:\n", a.threads);
  row("raw decode (cv::imread)", p.rawN, n, false);
  row("DataLoader, train transform, batch 64", p.loaderN, n, false);
  std::printf(
      "overhead over raw decode, wall time: train %+.1f%% one thread, %+.1f%% all threads; "
      "eval %+.1f%% one thread\n",
      100 * (rate(raw1) / rate(train1) - 1), 100 * (rate(p.rawN) / rate(p.loaderN) - 1),
      100 * (rate(raw1) / rate(eval1) - 1));
  std::printf(
      "overhead over raw decode, CPU time: train %+.1f%% one thread, %+.1f%% all threads; "
      "eval %+.1f%% one thread\n",
      100 * (cpu_rate(raw1) / cpu_rate(train1) - 1),
      100 * (cpu_rate(p.rawN) / cpu_rate(p.loaderN) - 1),
      100 * (cpu_rate(raw1) / cpu_rate(eval1) - 1));
  std::printf(
      "overhead over decode only (read + imdecode into reused buffers), wall time: train "
      "%+.1f%%, "
      "eval %+.1f%% one thread; CPU time: train %+.1f%%, eval %+.1f%%\n",
      100 * (rate(dec1) / rate(train1) - 1), 100 * (rate(dec1) / rate(eval1) - 1),
      100 * (cpu_rate(dec1) / cpu_rate(train1) - 1), 100 * (cpu_rate(dec1) / cpu_rate(eval1) - 1));
  std::printf(
      "one GPU training MobileNetV1 at %.0f img/s (assumed: H100, FP32) needs %.1f cores "
      "of this machine for its input (%.0f train images per CPU-second)\n",
      a.gpu_rate, a.gpu_rate / cpu_rate(train1), cpu_rate(train1));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("qforge-loader-bench-" + std::to_string(::getpid()));
    qf::ImagenetLikeSummary made;
    const std::vector<std::string> paths = make_images(a, dir, made);
    const auto n = static_cast<int64_t>(paths.size());
    std::printf("machine load (1 min) at start: %.2f\n", load_average());
    std::printf(
        "loader_bench: %lld JPEGs %dx%d (quality %d, %.0f KB average), crop %d, "
        "median of %d passes, %d threads\n",
        static_cast<long long>(n), a.width, a.height, a.quality, made.bytes / 1e3 / n, a.crop,
        a.repeats, a.threads);
    print_report(a, n, measure(a, dir, paths));
    std::printf("machine load (1 min) at end: %.2f\n", load_average());
    fs::remove_all(dir);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loader_bench: error: %s\n", e.what());
    return 2;
  }
}
