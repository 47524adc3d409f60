// A stand-in for the CUDA driver (built as libcuda.so.1 in a folder of its own): it reports one device,
// so that diffevo's loader goes on to load its cuda plugin on a machine without a GPU. The CUDA runtime
// inside the plugin then finds no usable driver, which is the reason the test expects.
extern "C" {
int cuInit(unsigned) { return 0; }
int cuDeviceGetCount(int* n) {
  *n = 1;
  return 0;
}
}
