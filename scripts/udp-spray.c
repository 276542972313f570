// SPDX-License-Identifier: GPL-2.0
/*
 * udp-spray: send small UDP datagrams round-robin to a range of IPv4
 * addresses for a given time, for scripts/bench-scale (traffic spread
 * over many SAs, one per destination). Prints the number of datagrams
 * the kernel accepted and of those it refused.
 *
 *   udp-spray FIRST_ADDR COUNT SECONDS [PAYLOAD_BYTES]
 *
 * FIRST_ADDR is dotted IPv4; addresses FIRST_ADDR .. FIRST_ADDR+COUNT-1
 * are used in turn, port 9 (discard).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long long sent = 0, refused = 0;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned int count, i = 0, len = 64;
	char buf[1472];
	double secs, end;
	uint32_t first;
	int fd;

	if (argc < 4 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s FIRST_ADDR COUNT SECONDS [PAYLOAD]\n",
			argv[0]);
		return 2;
	}
	first = ntohl(dst.sin_addr.s_addr);
	count = strtoul(argv[2], NULL, 0);
	secs = strtod(argv[3], NULL);
	if (argc > 4)
		len = strtoul(argv[4], NULL, 0);
	if (!count || secs <= 0 || len > sizeof(buf)) {
		fprintf(stderr, "udp-spray: bad count, time or size\n");
		return 2;
	}
	memset(buf, 0xa5, sizeof(buf));
	dst.sin_port = htons(9);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udp-spray: socket");
		return 1;
	}
	end = now() + secs;
	while (now() < end) {
		/* Check the clock every 64 datagrams. */
		for (unsigned int k = 0; k < 64; k++) {
			dst.sin_addr.s_addr = htonl(first + i);
			if (++i == count)
				i = 0;
			if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst,
				   sizeof(dst)) < 0) {
				if (errno != ENOBUFS && errno != EAGAIN &&
				    errno != ECONNREFUSED && errno != EPERM) {
					perror("udp-spray: sendto");
					return 1;
				}
				refused++;
			} else {
				sent++;
			}
		}
	}
	printf("sent %llu refused %llu\n", sent, refused);
	close(fd);
	return 0;
}
