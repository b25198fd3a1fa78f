/*
 * Patch for tests/integration/svc_nginx.sh: Debian's /usr/sbin/nginx, no
 * headers needed. ngx_http_time(buf, t) formats the HTTP dates nginx sends
 * (Last-Modified, Expires) and is called for every static response, in every
 * worker. The wrapper shifts them by one day through the original, so a
 * file dated Mon, 01 Jan 2001 is served as Tue, 02 Jan 2001 while patched.
 */
#include <time.h>
#include <hotpatch.h>

typedef unsigned char u_char;

static u_char *ngx_http_time_v2(u_char *buf, time_t t);
HOTPATCH_WRAP(ngx_http_time, ngx_http_time_v2, orig_http_time);

static u_char *ngx_http_time_v2(u_char *buf, time_t t)
{
	return orig_http_time(buf, t + 86400);
}
