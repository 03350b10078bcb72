/* libFuzzer target for the tar reader: any input must give entries, an
 * end or an error, never a crash, a hang or a leak. */
#include "tar.h"
#include "util.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096];
	const struct tar_entry *e;
	struct tar_reader *r;
	int fd = memfd_create("tar", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write_all(fd, data, size) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
	    (r = tar_open(fd, "fuzz"))) {
		while (tar_next(r, &e) > 0)
			while (tar_read(r, buf, sizeof buf) > 0)
				;
		tar_close(r);
	}
	close(fd);
	return 0;
}
