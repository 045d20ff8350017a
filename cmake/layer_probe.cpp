// Linked with one layer's whole library and only the layers below it (cmake/layers.cmake): the
// program exists so that the link fails when the layer calls into a layer above it. It never runs.
int main() {
  return 0;
}
