/* testutil.c: shared helpers of the test programs; see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

const char *test_tmpdir(void)
{
    static char dir[512];
    if (dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/cim-test-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(dir) == NULL)
            return "/tmp";
    }
    return dir;
}
