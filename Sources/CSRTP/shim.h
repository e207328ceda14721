// libsrtp2's public header, as Debian installs it (libsrtp2-dev).
#include <srtp2/srtp.h>
