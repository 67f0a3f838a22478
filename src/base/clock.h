/* clock.h: the monotonic clock for progress lines, estimates and benchmarks
 * (never for results). */
#ifndef DTCL_CLOCK_H
#define DTCL_CLOCK_H

#include <time.h>

static inline double dtcl_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double dtcl_now_ms(void)
{
    return dtcl_now_s() * 1e3;
}

#endif
