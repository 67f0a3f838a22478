/* progress.h: what a long command is doing, on stderr. On a terminal one
 * live line, redrawn in place at most 5 times a second:
 *   dtcl experiment [######----------] 37% ETA 1 h 02 min | proposed r2: epoch 4/16 step 30/66, 120 img/s, ETA 2 min
 * otherwise (a log file, a pipe) a plain line when a task starts and at most
 * once a minute while it runs. Nothing with quiet. Progress never goes to
 * standard output, where tables and results go, nor to any file.
 *
 * The command's work is counted in units of its choosing (estimated
 * seconds, images, checkpoints); each task is a share of it. The ETA of the
 * command is the work left at the rate of the work done by this invocation
 * (work already done before it started, `skip', takes no time); the ETA of
 * the task is its fraction left at its own rate. */
#ifndef DTCL_PROGRESS_H
#define DTCL_PROGRESS_H

#include <stdio.h>

typedef struct {
    FILE *f;
    char cmd[64];          /* "dtcl experiment" */
    int live, quiet;       /* live: f is a terminal */
    double total;          /* the command's work */
    double done, skipped;  /* work done before the current task; of it, done before this invocation */
    double weight;         /* the current task's share */
    double fraction, f0;   /* of the current task; where it stood when it started */
    double t0, task_t0;    /* when the command and the task started */
    double last;           /* when a line was last written */
    int width;             /* the live line's length, to clear it */
    char task[256], detail[512];
} DtclProgress;

/* Starts the command `cmd' with `total' units of work. */
void dtcl_progress_begin(DtclProgress *p, const char *cmd, int quiet, double total);
/* More work than the command first counted (a step whose cost is known only when it starts). */
void dtcl_progress_grow(DtclProgress *p, double work);
/* Work finished before this invocation (a resumed experiment's runs). */
void dtcl_progress_skip(DtclProgress *p, double work);
/* The next task, `work' units of the total, named by fmt. */
void dtcl_progress_task(DtclProgress *p, double work, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Where the task stands: fraction in [0,1] of it done, what it is doing (fmt), at `rate' images/s (0: not shown). */
void dtcl_progress_update(DtclProgress *p, double fraction, double rate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The task is finished: its work counts as done. */
void dtcl_progress_task_end(DtclProgress *p);
/* A line that stays (the live line is cleared first and redrawn after). */
void dtcl_progress_note(DtclProgress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the live line. */
void dtcl_progress_end(DtclProgress *p);

/* "45 s", "12 min", "1 h 02 min" */
void dtcl_format_duration(char *buf, size_t size, double seconds);

#endif
