// Umbrella header for liburing. <features.h> and <linux/io_uring.h> must come before
// <liburing.h>, or importing Glibc beside this module fails.
#ifndef ESOCK_CLIBURING_SHIM_H
#define ESOCK_CLIBURING_SHIM_H
#include <features.h>
#include <linux/io_uring.h>
#include <liburing.h>
#endif
