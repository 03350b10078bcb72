/* AWS Signature V4 against AWS's published examples: the S3 API reference
 * examples (examplebucket, 20130524) and cases of the generic sig-v4 test
 * suite (service "service", us-east-1, 20150830T123600Z). Each asserts the
 * canonical request, the string to sign and the signature. */
#include <stdlib.h>

#include "sha256.h"
#include "sigv4.h"
#include "tap.h"

#define SUITE_DATE "20150830T123600Z"
#define SUITE_SCOPE "20150830/us-east-1/service/aws4_request"

static const struct sigv4_cred suite_cred = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL
};
static const struct sigv4_cred s3_cred = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL
};

static void
check(const char *name, const struct sigv4_req *r, const struct sigv4_cred *cr,
    const char *region, const char *service, const char *date,
    const char *creq, const char *sts_hash, const char *sig)
{
	struct sigv4_out o;
	char sts[300];

	if (!ok(sigv4_sign(r, cr, region, service, date, &o) == 0, "%s: signs", name))
		return;
	is_str(o.canonical_request, creq, "%s: canonical request", name);
	if (sts_hash) {
		snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
		    date, date, region, service, sts_hash);
		is_str(o.string_to_sign, sts, "%s: string to sign", name);
	}
	is_str(o.signature, sig, "%s: signature", name);
	sigv4_out_free(&o);
}

static const struct sigv4_header suite_hdrs[] = {
	{ "Host", "example.amazonaws.com" }, { "X-Amz-Date", SUITE_DATE },
};

/* A generic-suite GET with Host and X-Amz-Date only. */
static void
suite_get(const char *name, const char *path, int flags,
    const struct sigv4_param *q, size_t nq, const char *creq_uri_query,
    const char *sts_hash, const char *sig)
{
	struct sigv4_req r = { "GET", path, q, nq, suite_hdrs, 2, SIGV4_EMPTY_SHA256, flags };
	char creq[600];

	snprintf(creq, sizeof creq, "GET\n%s\nhost:example.amazonaws.com\nx-amz-date:" SUITE_DATE
	    "\n\nhost;x-amz-date\n" SIGV4_EMPTY_SHA256, creq_uri_query);
	check(name, &r, &suite_cred, "us-east-1", "service", SUITE_DATE, creq, sts_hash, sig);
}

static void
suite_cases(void)
{
	static const struct sigv4_param q_empty_key[] = { { "Param1", "value1" } };
	static const struct sigv4_param q_order_case[] = { { "Param2", "value2" }, { "Param1", "value1" } };
	static const struct sigv4_param q_order_key[] = { { "Param1", "value2" }, { "Param1", "Value1" } };
	static const struct sigv4_param q_utf8[] = { { "\xe1\x88\xb4", "bar" } };
	static const struct sigv4_param q_unres[] = {
		{ "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
		  "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" } };
	static const struct sigv4_header trim_hdrs[] = {
		{ "Host", "example.amazonaws.com" }, { "My-Header1", " value1" },
		{ "My-Header2", " \"a   b   c\"" }, { "X-Amz-Date", SUITE_DATE },
	};
	static const struct sigv4_header dup_hdrs[] = {
		{ "Host", "example.amazonaws.com" }, { "My-Header1", "value2" },
		{ "My-Header1", "value2" }, { "My-Header1", "value1" }, { "X-Amz-Date", SUITE_DATE },
	};
	static const struct sigv4_header sts_hdrs[] = {
		{ "Host", "example.amazonaws.com" }, { "X-Amz-Date", SUITE_DATE },
		{ "X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==" },
	};
	struct sigv4_req r = { "GET", "/", NULL, 0, trim_hdrs, 4, SIGV4_EMPTY_SHA256, 0 };

	suite_get("get-vanilla", "/", 0, NULL, 0, "/\n",
	    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	/* the suite's get-vanilla-query request carries no query at all */
	suite_get("get-vanilla-query", "/", 0, NULL, 0, "/\n",
	    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	suite_get("get-vanilla-empty-query-key", "/", 0, q_empty_key, 1, "/\nParam1=value1",
	    "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
	    "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
	suite_get("get-vanilla-query-order-key-case", "/", 0, q_order_case, 2,
	    "/\nParam1=value1&Param2=value2",
	    "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
	    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	suite_get("get-vanilla-query-order-key", "/", 0, q_order_key, 2,
	    "/\nParam1=Value1&Param1=value2",
	    "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
	    "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
	suite_get("get-vanilla-query-unreserved", "/", 0, q_unres, 1,
	    "/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	    "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	    "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
	    "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
	suite_get("get-vanilla-utf8-query", "/", 0, q_utf8, 1, "/\n%E1%88%B4=bar",
	    "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
	    "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
	suite_get("get-unreserved",
	    "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 0, NULL, 0,
	    "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n",
	    "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
	    "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
	suite_get("get-utf8", "/\xe1\x88\xb4", 0, NULL, 0, "/%E1%88%B4\n",
	    "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
	    "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
	suite_get("get-space (S3 mode)", "/example space/", 0, NULL, 0, "/example%20space/\n",
	    "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
	    "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
	suite_get("get-space (normalize mode)", "/example space/", SIGV4_NORMALIZE, NULL, 0,
	    "/example%20space/\n",
	    "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
	    "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
	/* Path normalisation: the generic suite folds these; S3 must not. */
	suite_get("get-slashes (normalize mode)", "//example//", SIGV4_NORMALIZE, NULL, 0,
	    "/example/\n",
	    "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
	    "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84");
	suite_get("get-slashes-unnormalized (S3 mode)", "//example//", 0, NULL, 0,
	    "//example//\n", NULL,
	    "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5");
	suite_get("get-relative-relative (normalize mode)", "/example1/example2/../..",
	    SIGV4_NORMALIZE, NULL, 0, "/\n",
	    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	suite_get("get-slash-pointless-dot (normalize mode)", "/./example", SIGV4_NORMALIZE,
	    NULL, 0, "/example\n",
	    "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
	    "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5");
	suite_get("get-slash-dot-slash (normalize mode)", "/./", SIGV4_NORMALIZE, NULL, 0, "/\n",
	    "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

	check("get-header-value-trim", &r, &suite_cred, "us-east-1", "service", SUITE_DATE,
	    "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
	    "x-amz-date:" SUITE_DATE "\n\nhost;my-header1;my-header2;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
	    "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
	r.headers = dup_hdrs;
	r.nheaders = 5;
	check("get-header-key-duplicate", &r, &suite_cred, "us-east-1", "service", SUITE_DATE,
	    "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
	    "x-amz-date:" SUITE_DATE "\n\nhost;my-header1;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
	    "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
	r.method = "POST";
	r.headers = sts_hdrs;
	r.nheaders = 3;
	check("post-sts-header-before", &r, &suite_cred, "us-east-1", "service", SUITE_DATE,
	    "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:" SUITE_DATE "\nx-amz-security-token:"
	    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
	    "\n\nhost;x-amz-date;x-amz-security-token\n" SIGV4_EMPTY_SHA256,
	    "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
	    "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

/* The S3 API reference's signature examples (examplebucket). */
static void
s3_cases(void)
{
	static const struct sigv4_header get_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" },
	};
	static const char body[] = "Welcome to Amazon S3.";
	char bh[SHA256_HEX_LEN + 1];
	struct sigv4_header put_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" }, { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
		{ "x-amz-date", "20130524T000000Z" }, { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", bh },
	};
	static const struct sigv4_header list_h[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", SIGV4_EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" },
	};
	static const struct sigv4_param list_q[] = { { "prefix", "J" }, { "max-keys", "2" } };
	static const struct sigv4_param lc_q[] = { { "lifecycle", NULL } };
	struct sigv4_req r = { "GET", "/test.txt", NULL, 0, get_h, 4, SIGV4_EMPTY_SHA256, 0 };
	struct sigv4_out o;

	check("S3 GET Object with Range", &r, &s3_cred, "us-east-1", "s3", "20130524T000000Z",
	    "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
	    "x-amz-content-sha256:" SIGV4_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
	    "host;range;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
	    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	if (sigv4_sign(&r, &s3_cred, "us-east-1", "s3", "20130524T000000Z", &o) == 0) {
		is_str(o.authorization, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
		    "us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
		    "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		    "S3 GET Object: Authorization header");
		sigv4_out_free(&o);
	}

	sha256_hex_of(body, strlen(body), bh);
	is_str(bh, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	    "S3 PUT Object: payload hash");
	r.method = "PUT";
	r.path = "/test$file.text";
	r.headers = put_h;
	r.nheaders = 5;
	r.payload_hash = bh;
	check("S3 PUT Object", &r, &s3_cred, "us-east-1", "s3", "20130524T000000Z",
	    "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
	    "host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:"
	    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
	    "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
	    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
	    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	    "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
	    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");

	r.method = "GET";
	r.path = "/";
	r.headers = list_h;
	r.nheaders = 3;
	r.payload_hash = SIGV4_EMPTY_SHA256;
	r.query = lc_q;
	r.nquery = 1;
	check("S3 GET Bucket Lifecycle (empty query value)", &r, &s3_cred, "us-east-1", "s3",
	    "20130524T000000Z",
	    "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:"
	    SIGV4_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
	    "host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
	    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
	r.query = list_q;
	r.nquery = 2;
	check("S3 GET Bucket (list objects)", &r, &s3_cred, "us-east-1", "s3", "20130524T000000Z",
	    "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:"
	    SIGV4_EMPTY_SHA256 "\nx-amz-date:20130524T000000Z\n\n"
	    "host;x-amz-content-sha256;x-amz-date\n" SIGV4_EMPTY_SHA256,
	    "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
	    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

static void
encoding(void)
{
	struct strbuf b = STRBUF_INIT;
	static const struct sigv4_param q[] = {
		{ "prefix", "a b/c+d" }, { "list-type", "2" }, { "delimiter", "/" },
		{ "continuation-token", "1/2=3" }, { "empty", "" },
	};

	sigv4_uri_path(&b, "/bucket/dir with space/\xc3\xa9t\xc3\xa9/x+y=z&?#%/./../", 0);
	is_str(b.s, "/bucket/dir%20with%20space/%C3%A9t%C3%A9/x%2By%3Dz%26%3F%23%25/./../",
	    "S3 path: each segment encoded once, '/' kept, no normalisation");
	sb_truncate(&b, 0);
	sigv4_uri_path(&b, "/a b//c/./d/../", SIGV4_NORMALIZE | SIGV4_DOUBLE_ENCODE);
	is_str(b.s, "/a%2520b/c/", "generic path: normalised, each segment encoded twice");
	sb_truncate(&b, 0);
	sigv4_query(&b, q, sizeof q / sizeof q[0]);
	is_str(b.s, "continuation-token=1%2F2%3D3&delimiter=%2F&empty=&list-type=2&prefix=a%20b%2Fc%2Bd",
	    "query: sorted, RFC 3986 encoded ('/' and '+' too), empty value as key=");
	sb_free(&b);
}

int
main(void)
{
	char d[17];

	suite_cases();
	s3_cases();
	encoding();
	sigv4_amz_date(1369353600, d);
	is_str(d, "20130524T000000Z", "amz date from a time_t");
	return done_testing();
}
