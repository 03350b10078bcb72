/* s3: URL parsing, key joining, XML extraction, ListObjectsV2 parsing and
 * the curl config a request becomes. */
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "s3pool.h"
#include "tap.h"
#include "util.h"

static void
urls(void)
{
	struct s3_url u;

	if (ok(s3_url_parse("s3://my-bucket/snaps/x/", &u) == 0, "s3://bucket/prefix/ parses")) {
		is_str(u.bucket, "my-bucket", "bucket");
		is_str(u.prefix, "snaps/x", "prefix without trailing slash");
		s3_url_free(&u);
	}
	if (ok(s3_url_parse("s3://bkt", &u) == 0, "bucket alone parses")) {
		is_str(u.prefix, "", "empty prefix");
		s3_url_free(&u);
	}
	if (ok(s3_url_parse("s3://bkt/dir with space/\xc3\xa9t\xc3\xa9", &u) == 0,
	    "prefix with spaces and UTF-8 parses")) {
		is_str(u.prefix, "dir with space/\xc3\xa9t\xc3\xa9", "prefix kept byte for byte");
		s3_url_free(&u);
	}
	ok(s3_url_parse("http://bkt/x", &u) < 0 && strstr(errmsg(), "want s3://bucket/prefix"),
	    "non-s3 scheme refused with the expected form");
	ok(s3_url_parse("s3://a/x", &u) < 0 && strstr(errmsg(), "bucket name"),
	    "too-short bucket refused");
	ok(s3_url_parse("s3://bad*bucket/x", &u) < 0, "bad character in bucket refused");
}

static void
keys(void)
{
	char *k;

	k = s3_key_join("p/q", "chunks/ab");
	is_str(k, "p/q/chunks/ab", "key join with prefix");
	free(k);
	k = s3_key_join("", "chunks/ab");
	is_str(k, "chunks/ab", "key join without prefix");
	free(k);
}

static void
xml(void)
{
	static const char err[] = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>"
	    "<Message>The specified bucket &amp; &lt;x&gt; &#x27;y&#39; &quot;z&quot; &#x1234;</Message>"
	    "<Empty/></Error>";
	static const char page[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
	    "<IsTruncated>true</IsTruncated>"
	    "<Contents><Key>p/a &amp; b</Key><LastModified>x</LastModified>"
	    "<ETag>&quot;abc&quot;</ETag><Size>123</Size></Contents>"
	    "<Contents><Key>p/\xc3\xa9t\xc3\xa9 space</Key><Size>4294967296</Size></Contents>"
	    "<CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>"
	    "<NextContinuationToken>1x/a+b=</NextContinuationToken></ListBucketResult>";
	static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
	    "<Contents><Key>z</Key><Size>0</Size></Contents></ListBucketResult>";
	struct s3_list l;
	char *t, *next;
	int trunc;

	t = s3_xml_text(err, sizeof err - 1, "Code");
	is_str(t, "NoSuchBucket", "error Code extracted");
	free(t);
	t = s3_xml_text(err, sizeof err - 1, "Message");
	is_str(t, "The specified bucket & <x> 'y' \"z\" \xe1\x88\xb4",
	    "entities decoded (named, decimal, hex to UTF-8)");
	free(t);
	t = s3_xml_text(err, sizeof err - 1, "Empty");
	is_str(t, "", "self-closing element is empty text");
	free(t);
	ok(s3_xml_text(err, sizeof err - 1, "Nope") == NULL, "missing element is NULL");

	memset(&l, 0, sizeof l);
	if (ok(s3_list_parse(page, sizeof page - 1, &l, &trunc, &next) == 0, "list page parses")) {
		is_int(l.n, 2, "two keys");
		is_str(l.objs[0].key, "p/a & b", "key decoded");
		is_int(l.objs[0].size, 123, "size");
		is_str(l.objs[0].etag, "\"abc\"", "etag");
		is_str(l.objs[1].key, "p/\xc3\xa9t\xc3\xa9 space", "UTF-8 key");
		is_int(l.objs[1].size, 4294967296LL, "size above 4 GiB");
		is_int(l.nprefixes, 1, "one common prefix");
		is_str(l.prefixes[0], "p/dir/", "common prefix");
		is_int(trunc, 1, "truncated");
		is_str(next, "1x/a+b=", "continuation token");
		free(next);
	}
	if (ok(s3_list_parse(last, sizeof last - 1, &l, &trunc, &next) == 0, "last page appends")) {
		is_int(l.n, 3, "keys accumulate over pages");
		is_int(trunc, 0, "not truncated");
		ok(next == NULL, "no token on the last page");
	}
	s3_list_free(&l);
	ok(s3_list_parse("<Error/>", 8, &l, &trunc, &next) < 0, "a non-list answer is refused");
	s3_list_free(&l);
	{
		static const char nosize[] = "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>";
		static const char negsize[] = "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>";

		ok(s3_list_parse(nosize, sizeof nosize - 1, &l, &trunc, &next) < 0 &&
		    strstr(errmsg(), "without a valid <Size>"), "an entry without a Size is refused: %s", errmsg());
		s3_list_free(&l);
		ok(s3_list_parse(negsize, sizeof negsize - 1, &l, &trunc, &next) < 0,
		    "a negative Size is refused: %s", errmsg());
		s3_list_free(&l);
	}
}

static void
config(void)
{
	struct creds cr = { 0 };
	struct awsconf conf = { 0 };
	struct s3_opts o = S3_OPTS_INIT;
	struct s3_req r = S3_REQ_INIT;
	struct sigv4_header bad[] = { { "x-amz-meta-a", "1\r\nInjected: yes" } };
	struct s3 c;
	char *cfg;

	cr.access_key = "AKTEST";
	cr.secret_key = "SECRET/KEY";
	cr.session_token = "TOKEN";
	conf.creds = &cr;
	conf.region = "eu-west-1";
	conf.addressing = "auto";
	o.curl = "/bin/sh";     /* any executable: only the config is built here */
	if (!ok(s3_open(&c, &conf, "my-bucket", &o) == 0, "client for AWS opens"))
		return;
	is_str(c.host, "my-bucket.s3.eu-west-1.amazonaws.com", "AWS: virtual-hosted host");
	r.key = "dir with space/\xc3\xa9\"q";
	cfg = s3_curl_config(&c, &r, -1, NULL);
	ok(cfg && strstr(cfg, "url = \"https://my-bucket.s3.eu-west-1.amazonaws.com/"
	    "dir%20with%20space/%C3%A9%22q\"\n"), "URL: key encoded once per segment");
	ok(cfg && strstr(cfg, "header = \"Authorization: AWS4-HMAC-SHA256 Credential=AKTEST/"),
	    "Authorization header in the config");
	ok(cfg && strstr(cfg, "header = \"x-amz-security-token: TOKEN\""), "session token header");
	ok(cfg && strstr(cfg, "header = \"x-amz-content-sha256: " SIGV4_EMPTY_SHA256 "\""),
	    "empty-body payload hash");
	ok(cfg && !strstr(cfg, "SECRET/KEY"), "the secret itself is never in the config");
	free(cfg);
	r.headers = bad;
	r.nheaders = 1;
	ok(s3_curl_config(&c, &r, -1, NULL) == NULL && strstr(errmsg(), "control character"),
	    "CR/LF in a header value is refused (no header injection)");
	s3_close(&c);

	conf.endpoint = "http://127.0.0.1:9000/base/";
	cr.session_token = NULL;
	if (ok(s3_open(&c, &conf, "bkt", &o) == 0, "client for a custom endpoint opens")) {
		r = (struct s3_req)S3_REQ_INIT;
		r.key = "k";
		r.method = "PUT";
		r.body_mem = "hello";
		r.body_mem_len = 5;
		cfg = s3_curl_config(&c, &r, 7, "~fcsnap~0123");
		ok(cfg && strstr(cfg, "url = \"http://127.0.0.1:9000/base/bkt/k\""),
		    "custom endpoint: path-style under the endpoint's base path");
		ok(cfg && strstr(cfg, "upload-file = \"/dev/fd/7\""), "body from its pipe");
		ok(cfg && strstr(cfg, "header = \"Content-Length: 5\"") &&
		    strstr(cfg, "header = \"Transfer-Encoding:\""),
		    "a piped body is sent with its length, not chunked");
		ok(cfg && strstr(cfg, "write-out = \"~fcsnap~0123 %{http_code} %{size_download}\\n\""),
		    "the end-of-response line carries the token");
		ok(cfg && strstr(cfg, "x-amz-content-sha256: "
		    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
		    "memory body hashed into x-amz-content-sha256");
		free(cfg);
		s3_close(&c);
	}
	o.addressing = S3_ADDR_VIRTUAL;
	if (ok(s3_open(&c, &conf, "bkt", &o) == 0, "forced virtual-hosted opens")) {
		is_str(c.host, "bkt.127.0.0.1:9000", "forced virtual: bucket in the host");
		s3_close(&c);
	}
	conf.endpoint = NULL;
	o.addressing = S3_ADDR_AUTO;
	if (ok(s3_open(&c, &conf, "dotted.bucket", &o) == 0, "AWS bucket with dots opens")) {
		ok(c.path_style, "AWS bucket with dots: path-style (TLS wildcard)");
		s3_close(&c);
	}
	o.curl = "/nonexistent/curl";
	ok(s3_open(&c, &conf, "bkt", &o) < 0 && strstr(errmsg(), "cannot run curl '/nonexistent/curl'"),
	    "missing curl is a clear error at open");
}

/* s3pool's parser of curl's response heads. */
static void
heads(void)
{
	struct s3_result r;
	const char *why;
	char b[256];
	int st;

	memset(&r, 0, sizeof r);
	snprintf(b, sizeof b, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nETag: \"abc\"\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) == 0 && st == 200 && r.content_length == 12 &&
	    !strcmp(r.etag, "abc"), "a 200 head: status, length, etag without quotes");
	snprintf(b, sizeof b, "HTTP/1.1 100 Continue\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) == 0 && st == 100, "a 1xx head is taken as interim");
	snprintf(b, sizeof b, "HTTP/2 404\nContent-Type: x\n\n");
	ok(s3_parse_head(b, &r, &st, &why) == 0 && st == 404 && r.content_length == -1,
	    "no Content-Length is -1");
	snprintf(b, sizeof b, "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) < 0 && !strcmp(why, "bad Content-Length"),
	    "a negative Content-Length is refused");
	snprintf(b, sizeof b, "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) < 0, "a Content-Length with junk is refused");
	snprintf(b, sizeof b, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) < 0, "an overflowing Content-Length is refused");
	snprintf(b, sizeof b, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) < 0, "two different Content-Lengths are refused");
	snprintf(b, sizeof b, "HTTP/1.1 99999999999 OK\r\n\r\n");
	ok(s3_parse_head(b, &r, &st, &why) < 0 && !strcmp(why, "no HTTP status line"),
	    "a status out of range is no status line");
}

int
main(void)
{
	urls();
	keys();
	xml();
	heads();
	config();
	return done_testing();
}
