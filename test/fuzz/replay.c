/*
 * Runs a fuzz harness over its seed corpus as a plain test: every file in
 * the folders (or files) named on the command line goes through
 * LLVMFuzzerTestOneInput once. Under libFuzzer this file is not built.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define REPLAY_MAX_INPUT	(1024 * 1024)

static int
run_file(const char *path)
{
	uint8_t *p;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		perror(path);
		return -1;
	}
	if ((p = malloc(REPLAY_MAX_INPUT)) == NULL) {
		close(fd);
		return -1;
	}
	n = read(fd, p, REPLAY_MAX_INPUT);
	close(fd);
	if (n < 0) {
		perror(path);
		free(p);
		return -1;
	}
	/* An exact-size copy, so ASan sees any read past the input. */
	{
		uint8_t *q = malloc(n > 0 ? (size_t)n : 1);

		if (q == NULL) {
			free(p);
			return -1;
		}
		memcpy(q, p, (size_t)n);
		free(p);
		LLVMFuzzerTestOneInput(q, (size_t)n);
		free(q);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct dirent *de;
	struct stat st;
	char path[4096];
	int i, count = 0;
	DIR *d;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) != 0)
				return 1;
			count++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    de->d_name);
			if (run_file(path) != 0) {
				closedir(d);
				return 1;
			}
			count++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", count);
	/* A harness with an empty corpus tests nothing: fail loudly. */
	return count > 0 ? 0 : 1;
}
