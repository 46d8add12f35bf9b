/*
 * Runs a fuzz harness as a plain test (under libFuzzer this file is not
 * built):
 *
 *   fuzz_NAME [--mutate COUNT] PATH...
 *
 * Every file in the folders (or files) named goes through
 * LLVMFuzzerTestOneInput once, in name order. With --mutate, COUNT more
 * inputs follow, made from the seeds (round robin) by a few random edits
 * each (bit flips, interesting bytes, insertions, deletions, copies,
 * splices with another seed) from a PRNG with a fixed seed: the same
 * inputs on every run and every machine, so a failure reproduces. With
 * SKP_REPLAY_SAVE=FILE set, each mutated input is written to FILE before
 * it runs: after a crash, FILE holds the input that crashed.
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
#define REPLAY_MAX_SEEDS	4096
#define MUTATE_GROW		256	/* a mutant is at most this longer */
#define PRNG_SEED		0x736b2d70686f6e65ULL	/* "sk-phone" */

struct seed {
	uint8_t	*p;
	size_t	 n;
};

static struct seed seeds[REPLAY_MAX_SEEDS];
static size_t nseeds;

static int
run_copy(const uint8_t *p, size_t n)
{
	/* An exact-size copy, so ASan sees any read past the input. */
	uint8_t *q = malloc(n > 0 ? n : 1);

	if (q == NULL)
		return -1;
	memcpy(q, p, n);
	LLVMFuzzerTestOneInput(q, n);
	free(q);
	return 0;
}

static int
load_file(const char *path)
{
	uint8_t *p, *q;
	ssize_t n;
	int fd;

	if (nseeds == REPLAY_MAX_SEEDS) {
		fprintf(stderr, "%s: more than %d seeds\n", path,
		    REPLAY_MAX_SEEDS);
		return -1;
	}
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
	/* Keep only what the file held. */
	if ((q = realloc(p, n > 0 ? (size_t)n : 1)) != NULL)
		p = q;
	seeds[nseeds].p = p;
	seeds[nseeds].n = (size_t)n;
	nseeds++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of a folder, in name order (readdir's order is not fixed). */
static int
load_dir(const char *dir)
{
	char *names[REPLAY_MAX_SEEDS], path[4096];
	struct dirent *de;
	size_t i, n = 0;
	int rc = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		if (n == REPLAY_MAX_SEEDS || (names[n] = strdup(de->d_name)) ==
		    NULL)
			rc = -1;
		else
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			rc = load_file(path);
		}
		free(names[i]);
	}
	return rc;
}

/* xorshift64*: small, fixed, the same everywhere. */
static uint64_t prng = PRNG_SEED;

static uint64_t
rnd(void)
{
	prng ^= prng >> 12;
	prng ^= prng << 25;
	prng ^= prng >> 27;
	return prng * 0x2545f4914f6cdd1dULL;
}

static size_t
below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* One edit of buf (len *n, room max) in place. */
static void
mutate_once(uint8_t *buf, size_t *n, size_t max)
{
	static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0xff,
	    0x17, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x40, 0x60, 0xa0, 0xbf, 0xf4,
	    0xf5, 0xf6, 0xf7 };
	const struct seed *o;
	size_t at, len, from;

	switch (rnd() % 8) {
	case 0:		/* flip a bit */
		if (*n > 0)
			buf[below(*n)] ^= (uint8_t)(1u << (rnd() & 7));
		break;
	case 1:		/* an interesting byte (CBOR heads, limits) */
		if (*n > 0)
			buf[below(*n)] = interesting[below(sizeof(
			    interesting))];
		break;
	case 2:		/* a random byte */
		if (*n > 0)
			buf[below(*n)] = (uint8_t)rnd();
		break;
	case 3:		/* insert random bytes */
		len = 1 + below(8);
		if (*n + len > max)
			break;
		at = below(*n + 1);
		memmove(buf + at + len, buf + at, *n - at);
		for (from = 0; from < len; from++)
			buf[at + from] = (uint8_t)rnd();
		*n += len;
		break;
	case 4:		/* delete a run */
		if (*n == 0)
			break;
		at = below(*n);
		len = 1 + below(*n - at < 16 ? *n - at : 16);
		memmove(buf + at, buf + at + len, *n - at - len);
		*n -= len;
		break;
	case 5:		/* copy a run over another place */
		if (*n < 2)
			break;
		from = below(*n);
		at = below(*n);
		len = 1 + below(16);
		if (len > *n - from)
			len = *n - from;
		if (len > *n - at)
			len = *n - at;
		memmove(buf + at, buf + from, len);
		break;
	case 6:		/* cut the end */
		*n = below(*n + 1);
		break;
	default:	/* splice: the tail of another seed */
		o = &seeds[below(nseeds)];
		at = below(*n + 1);
		from = below(o->n + 1);
		len = o->n - from;
		if (at + len > max)
			len = max - at;
		memcpy(buf + at, o->p + from, len);
		*n = at + len;
		break;
	}
}

static int
save(const char *path, const uint8_t *p, size_t n)
{
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "we")) == NULL)
		return -1;
	if (fwrite(p, 1, n, f) != n)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
run_mutants(unsigned long count)
{
	const char *savepath = getenv("SKP_REPLAY_SAVE");
	uint8_t *buf;
	size_t n, max, k, edits;
	unsigned long i;

	for (i = 0; i < count; i++) {
		const struct seed *s = &seeds[i % nseeds];

		max = s->n + MUTATE_GROW;
		if ((buf = malloc(max)) == NULL)
			return -1;
		memcpy(buf, s->p, s->n);
		n = s->n;
		edits = 1 + below(4);
		for (k = 0; k < edits; k++)
			mutate_once(buf, &n, max);
		if (savepath != NULL && save(savepath, buf, n) != 0) {
			perror(savepath);
			free(buf);
			return -1;
		}
		if (run_copy(buf, n) != 0) {
			free(buf);
			return -1;
		}
		free(buf);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long mutate = 0;
	struct stat st;
	char *end;
	size_t i;
	int a = 1, rc = 1;

	if (argc > 2 && strcmp(argv[1], "--mutate") == 0) {
		mutate = strtoul(argv[2], &end, 10);
		if (*end != '\0' || argv[2][0] == '\0') {
			fprintf(stderr, "--mutate wants a count\n");
			return 2;
		}
		a = 3;
	}
	for (; a < argc; a++) {
		if (stat(argv[a], &st) != 0) {
			perror(argv[a]);
			goto out;
		}
		if ((S_ISDIR(st.st_mode) ? load_dir(argv[a]) :
		    load_file(argv[a])) != 0)
			goto out;
	}
	/* A harness with an empty corpus tests nothing: fail loudly. */
	if (nseeds == 0) {
		fprintf(stderr, "no seeds\n");
		goto out;
	}
	for (i = 0; i < nseeds; i++)
		if (run_copy(seeds[i].p, seeds[i].n) != 0)
			goto out;
	if (mutate > 0 && run_mutants(mutate) != 0)
		goto out;
	printf("replayed %zu inputs and %lu mutants of them\n", nseeds,
	    mutate);
	rc = 0;
out:
	for (i = 0; i < nseeds; i++)
		free(seeds[i].p);
	return rc;
}
