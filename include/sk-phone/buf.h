/* Bounds-checked buffers: a reader for untrusted bytes, a capped writer. */
#ifndef SKP_BUF_H
#define SKP_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * A reader walks untrusted bytes. Every get consumes only when the whole
 * item is there; on failure the reader does not move and nothing is
 * written to the output. It never owns the bytes.
 */
typedef struct skp_reader {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
} skp_reader_t;

void	skp_reader_init(skp_reader_t *, const void *, size_t);
size_t	skp_reader_left(const skp_reader_t *);
int	skp_reader_u8(skp_reader_t *, uint8_t *);
int	skp_reader_u16(skp_reader_t *, uint16_t *);	/* big endian */
int	skp_reader_u32(skp_reader_t *, uint32_t *);
int	skp_reader_u64(skp_reader_t *, uint64_t *);
int	skp_reader_copy(skp_reader_t *, void *, size_t);
/* Consume n bytes and point at them inside the reader's input. */
int	skp_reader_ptr(skp_reader_t *, const uint8_t **, size_t);
/* SSH-style string: uint32 length then bytes; refused above max. */
int	skp_reader_string(skp_reader_t *, const uint8_t **, size_t *,
	    size_t max);
/* SKP_ERR_TRAILING unless the whole input was consumed. */
int	skp_reader_end(const skp_reader_t *);

/*
 * A writer grows up to its cap and never past it. Its memory is wiped
 * when it shrinks, resets or is freed, so it may hold secrets.
 */
typedef struct skp_buf skp_buf_t;

skp_buf_t	*skp_buf_new(size_t cap);
void		 skp_buf_free(skp_buf_t **);
void		 skp_buf_reset(skp_buf_t *);
int		 skp_buf_put(skp_buf_t *, const void *, size_t);
int		 skp_buf_u8(skp_buf_t *, uint8_t);
int		 skp_buf_u16(skp_buf_t *, uint16_t);
int		 skp_buf_u32(skp_buf_t *, uint32_t);
int		 skp_buf_u64(skp_buf_t *, uint64_t);
int		 skp_buf_string(skp_buf_t *, const void *, size_t);
const uint8_t	*skp_buf_ptr(const skp_buf_t *);
size_t		 skp_buf_len(const skp_buf_t *);
size_t		 skp_buf_cap(const skp_buf_t *);
/* Hand the bytes to the caller (malloc'd, free with freezero) and reset. */
int		 skp_buf_steal(skp_buf_t *, uint8_t **, size_t *);

#endif
