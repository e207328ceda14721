// libFuzzer's driver, for a main that SwiftPM names itself: SwiftPM links every executable with
// `main=<Target>_main`, so libFuzzer's own main never runs and the fuzzer's top-level code has to
// start the driver (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
