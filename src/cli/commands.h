/* commands.h: the dtcl commands, one file each (cli_<name>.c); main.c
 * dispatches on the first argument. Each returns the exit status. */
#ifndef DTCL_COMMANDS_H
#define DTCL_COMMANDS_H

int dtcl_cmd_transform(int argc, char **argv);
int dtcl_cmd_gradcheck(int argc, char **argv);
int dtcl_cmd_bench(int argc, char **argv);
int dtcl_cmd_import(int argc, char **argv);
int dtcl_cmd_info(int argc, char **argv);
int dtcl_cmd_split(int argc, char **argv);
int dtcl_cmd_synth(int argc, char **argv);
int dtcl_cmd_embed(int argc, char **argv);
int dtcl_cmd_train(int argc, char **argv);
int dtcl_cmd_eval(int argc, char **argv);
int dtcl_cmd_demo(int argc, char **argv);
int dtcl_cmd_experiment(int argc, char **argv);
int dtcl_cmd_figures(int argc, char **argv);

#endif
