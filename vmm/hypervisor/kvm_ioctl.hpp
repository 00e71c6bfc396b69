// Internal to vmm/hypervisor: the checked ioctl every KVM-ABI call goes through.
#pragma once

#include <sys/ioctl.h>

#include <cerrno>

#include "kagami/hypervisor.hpp"

namespace kagami {

// Retries an ioctl interrupted by a signal (never used for KVM_RUN, whose EINTR matters);
// throws HypervisorError naming the call and errno.
inline int checked_ioctl(int fd, unsigned long request, const char* name, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw HypervisorError(name, errno);
  return r;
}

}  // namespace kagami
