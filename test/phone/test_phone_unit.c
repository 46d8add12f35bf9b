/* Unit tests for the reference phone's parts. */
#include <stdio.h>
int main(void);
int main(void) { puts("1..0 # SKIP not written yet"); return 0; }
