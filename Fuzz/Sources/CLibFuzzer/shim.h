// libFuzzer's driver, for a main that SwiftPM names itself: SwiftPM links every executable with
// `main=<Target>_main`, so libFuzzer's own main never runs and the fuzzer's top-level code has to
// start the driver (https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

// OpenSSL's per-thread state (the error queue keeps the text of the last errors until later
// errors reuse the slot), freed as at a thread's exit: FuzzDTLS frees it after each input so that
// every run frees what it allocated. Otherwise libFuzzer sees more allocations than frees in
// nearly every run and scans the heap for a leak each time (three quarters of the run's time).
// libcrypto comes with the SFU library the fuzzer links.
void OPENSSL_thread_stop(void);
