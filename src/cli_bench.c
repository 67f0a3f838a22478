/* placeholder replaced below */
int dtcl_cmd_bench(int argc, char **argv) { (void)argc; (void)argv; return 1; }
