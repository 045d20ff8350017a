// Preloaded (LD_PRELOAD) into the MPI ranks of the sanitizer build's tests only (tests/CMakeLists.txt,
// QF_SANITIZE): dlclose() does nothing, so the Open MPI components (mca_*.so) that MPI_Finalize
// unloads stay mapped until exit. LeakSanitizer reports at exit, and without this the memory those
// components keep by design shows up with "<unknown module>" stacks that no suppression can name;
// with it, every frame names its library and tools/lsan.supp suppresses Open MPI's libraries by name,
// while leaks in qforge's own code are still reported.
extern "C" int dlclose(void* handle) {
  (void)handle;
  return 0;
}
