/* progress.c: progress lines on stderr (see progress.h). */
#include "base/progress.h"

#include <stdarg.h>
#include <string.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include "base/clock.h"

#define LIVE_INTERVAL_S 0.2
#define PLAIN_INTERVAL_S 60.0

void dtcl_format_duration(char *buf, size_t size, double s)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, size, "?");
    else if (s < 90)
        snprintf(buf, size, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, size, "%.0f min", s / 60);
    else
        snprintf(buf, size, "%d h %02d min", (int)(s / 3600), (int)(s - 3600 * (int)(s / 3600)) / 60);
}

void dtcl_progress_begin(DtclProgress *p, const char *cmd, int quiet, double total)
{
    memset(p, 0, sizeof *p);
    p->f = stderr;
    snprintf(p->cmd, sizeof p->cmd, "%s", cmd);
    p->quiet = quiet;
    p->live = !quiet && isatty(fileno(stderr));
    p->total = total > 0 ? total : 1;
    p->t0 = p->task_t0 = dtcl_now_s();
    p->last = -1e9;
}

void dtcl_progress_grow(DtclProgress *p, double work)
{
    p->total += work > 0 ? work : 0;
}

void dtcl_progress_skip(DtclProgress *p, double work)
{
    p->done += work;
    p->skipped += work;
}

/* The columns of the terminal, or 120. */
static int columns(void)
{
    struct winsize w;
    if (ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col >= 40)
        return w.ws_col;
    return 120;
}

static void clear_live(DtclProgress *p)
{
    if (p->live && p->width > 0) {
        fprintf(p->f, "\r%*s\r", p->width, "");
        p->width = 0;
    }
}

/* The command's fraction done and its ETA (s; negative when unknown). */
static double overall(const DtclProgress *p, double now, double *eta)
{
    double done = p->done + p->weight * p->fraction, worked = done - p->skipped;
    *eta = worked > 0 && now - p->t0 > 1 ? (p->total - done) * (now - p->t0) / worked : -1;
    double f = done / p->total;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

static void draw(DtclProgress *p, int force)
{
    if (p->quiet)
        return;
    double now = dtcl_now_s();
    if (!force && now - p->last < (p->live ? LIVE_INTERVAL_S : PLAIN_INTERVAL_S))
        return;
    p->last = now;
    double eta, f = overall(p, now, &eta), task_eta = -1;
    double moved = p->fraction - p->f0;
    if (moved > 0 && now - p->task_t0 > 1)
        task_eta = (1 - p->fraction) * (now - p->task_t0) / moved;
    char e1[32] = "?", e2[48] = "", line[1200];
    if (eta >= 0)
        dtcl_format_duration(e1, sizeof e1, eta);
    if (task_eta >= 0) {
        char d[32];
        dtcl_format_duration(d, sizeof d, task_eta);
        snprintf(e2, sizeof e2, ", ETA %s", d);
    }
    if (p->live) {
        enum { BAR = 16 };
        char bar[BAR + 1];
        int full = (int)(f * BAR + 0.5);
        for (int k = 0; k < BAR; k++)
            bar[k] = k < full ? '#' : '-';
        bar[BAR] = 0;
        int n = snprintf(line, sizeof line, "%s [%s] %3.0f%% ETA %s | %s%s%s%s", p->cmd, bar, 100 * f, e1, p->task,
                         p->detail[0] ? ": " : "", p->detail, e2);
        int cols = columns() - 1;
        if (n > cols) {
            n = cols;
            line[n] = 0;
        }
        fprintf(p->f, "\r%s", line);
        if (n < p->width)
            fprintf(p->f, "%*s", p->width - n, "");
        p->width = n;
    } else {
        fprintf(p->f, "%s: %.0f%% (ETA %s): %s%s%s%s\n", p->cmd, 100 * f, e1, p->task, p->detail[0] ? ": " : "",
                p->detail, e2);
    }
    fflush(p->f);
}

void dtcl_progress_task(DtclProgress *p, double work, const char *fmt, ...)
{
    p->weight = work;
    p->fraction = p->f0 = 0;
    p->task_t0 = dtcl_now_s();
    p->detail[0] = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->task, sizeof p->task, fmt, ap);
    va_end(ap);
    draw(p, 1);
}

void dtcl_progress_update(DtclProgress *p, double fraction, double rate, const char *fmt, ...)
{
    if (p->quiet)
        return;
    if (p->fraction == 0 && p->f0 == 0 && fraction > 0 && dtcl_now_s() - p->task_t0 < 0.5)
        p->f0 = fraction; /* a resumed task starts part way */
    p->fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    if (rate > 0 && n >= 0 && (size_t)n < sizeof p->detail)
        snprintf(p->detail + n, sizeof p->detail - (size_t)n, ", %.0f img/s", rate);
    draw(p, 0);
}

void dtcl_progress_task_end(DtclProgress *p)
{
    p->done += p->weight;
    p->weight = 0;
    p->fraction = p->f0 = 0;
}

void dtcl_progress_note(DtclProgress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    clear_live(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->f, fmt, ap);
    va_end(ap);
    fflush(p->f);
    if (p->live && p->task[0])
        draw(p, 1);
}

void dtcl_progress_end(DtclProgress *p)
{
    clear_live(p);
    fflush(p->f);
}
