// Mode `distributed` in a build without the MPI component (DIFFEVO_ENABLE_MPI off or no MPI found).
#include "common.hpp"

namespace bench {
int run_distributed(const options&) {
  throw usage_error("distributed needs the MPI component, and this diffevo-bench was built without it "
                    "(install MPI, e.g. Debian's openmpi-bin libopenmpi-dev, and reconfigure)");
}
}  // namespace bench
