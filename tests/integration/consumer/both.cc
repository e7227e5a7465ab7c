// both.cc - both installed headers from C++: they must be self-contained and
// give C linkage (a mangled name would not link against the libraries).
#include <lynxprof.h>
#include <lynxprof-agent.h>

#include <cstdio>

int main()
{
    std::printf("%s %s\n", lynx_err_name(LYNX_EVERSION),
                lynx_agent_name() == nullptr ? "no-agent" : "agent");
    lynx_cpu_destroy(nullptr);
    return 0;
}
