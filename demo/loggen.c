/*
 * loggen.c - synthetic Traefik JSON access-log lines (see loggen.h).
 *
 * The value tables are fixed so the set of services and statuses, and with
 * it the number of long-lived records in stats.c, stays bounded; paths and
 * client addresses carry random numbers so no two lines are alike.
 */
#include "loggen.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "demo.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define LINE_CAPACITY_MIN 1536 /* bytes; a line never needs more than ~1.4 KiB */
#define LINE_CAPACITY_MAX 4096 /* bytes */

/* 2024-05-01T00:00:00Z; synthetic requests start there, 1 ms apart. */
#define START_EPOCH_S 1714521600LL

typedef struct service {
    const char *service; /* Traefik ServiceName */
    const char *router;  /* Traefik RouterName */
    const char *host;    /* RequestHost */
    const char *backend; /* ServiceAddr, host:port */
} service_t;

static const service_t services[] = {
    { "api@docker", "api-secure@docker", "api.example.com", "172.18.0.5:8080" },
    { "web@docker", "web-secure@docker", "www.example.com", "172.18.0.6:80" },
    { "auth@docker", "auth@docker", "auth.example.com", "172.18.0.7:9000" },
    { "grafana@docker", "grafana@docker", "grafana.example.com",
      "172.18.0.8:3000" },
    { "static@file", "static@file", "cdn.example.com", "10.0.0.12:8081" },
    { "search@docker", "search@docker", "api.example.com", "172.18.0.9:7700" },
    { "blog@docker", "blog@docker", "blog.example.com", "172.18.0.10:2368" },
    { "minio@docker", "minio@docker", "s3.example.com", "172.18.0.11:9000" },
    { "gitea@docker", "gitea@docker", "git.example.com", "172.18.0.12:3000" },
    { "api@internal", "dashboard@internal", "traefik.example.com", "-" },
};

static const char *const methods[] = {
    "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET",
    "GET", "GET", "GET", "GET", "GET", "POST", "POST", "POST", "PUT",
    "DELETE", "HEAD", "OPTIONS",
};

static const int statuses[] = {
    200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
    304, 304, 301, 302, 201, 204, 404, 404, 401, 403, 429, 500, 502, 503,
};

static const char *const protocols[] = {
    "HTTP/1.1", "HTTP/2.0", "HTTP/2.0", "HTTP/2.0", "HTTP/3.0",
};

static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/"
    "605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "Go-http-client/2.0",
    "python-requests/2.31.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Prometheus/2.51.2",
};

static const char *const words[] = {
    "alpha", "lynx", "kubernetes", "invoice", "dashboard", "profile",
    "settings", "release-notes", "pricing", "docs", "observability", "x",
};

/* Writes a random request path into buf (size > 0) and returns buf. */
static const char *
random_path(demo_rng_t *rng, char *buf, size_t size)
{
    unsigned id = (unsigned) demo_rng_below(rng, 1000000);
    const char *w1 = words[demo_rng_below(rng, NELEMS(words))];
    const char *w2 = words[demo_rng_below(rng, NELEMS(words))];

    switch (demo_rng_below(rng, 10)) {
    case 0:
        snprintf(buf, size, "/api/v1/users/%u", id);
        break;
    case 1:
        snprintf(buf, size, "/api/v1/orders/%u/items?expand=%s", id, w1);
        break;
    case 2:
        snprintf(buf, size, "/static/js/app.%08x.chunk.js", id * 2654435761u);
        break;
    case 3:
        snprintf(buf, size, "/assets/img/%s-%s-%u.webp", w1, w2, id % 977);
        break;
    case 4:
        snprintf(buf, size, "/api/v2/search?q=%s+%s&page=%u&per_page=50", w1,
                 w2, id % 40);
        break;
    case 5:
        snprintf(buf, size, "/blog/%04u/%02u/%s-%s", 2015 + id % 10,
                 1 + id % 12, w1, w2);
        break;
    case 6:
        snprintf(buf, size, "/d/%s/%s?orgId=1&refresh=30s&from=now-%uh", w1,
                 w2, 1 + id % 48);
        break;
    case 7:
        snprintf(buf, size, "/api/health");
        break;
    case 8:
        snprintf(buf, size, "/%s/%s/raw/branch/main/src/%s.c", w1, w2, w1);
        break;
    default:
        snprintf(buf, size, "/wp-login.php?redirect_to=%%2F%s%%2F%u", w1, id);
        break;
    }
    return buf;
}

/* Returns a request duration in ns: mostly a few ms, a long tail to ~2 s. */
static uint64_t
random_duration_ns(demo_rng_t *rng)
{
    uint64_t r = demo_rng_below(rng, 1000);

    if (r < 700) {
        return demo_rng_range(rng, 200000, 8000000);
    }
    if (r < 950) {
        return demo_rng_range(rng, 8000000, 120000000);
    }
    return demo_rng_range(rng, 120000000, 2000000000);
}

/* Formats one line into buf; returns what snprintf returns. */
static int
format_line(char *buf, size_t size, demo_rng_t *rng, uint64_t seq)
{
    const service_t *svc = &services[demo_rng_below(rng, NELEMS(services))];
    const char *method = methods[demo_rng_below(rng, NELEMS(methods))];
    const char *proto = protocols[demo_rng_below(rng, NELEMS(protocols))];
    const char *ua = user_agents[demo_rng_below(rng, NELEMS(user_agents))];
    int status = statuses[demo_rng_below(rng, NELEMS(statuses))];
    uint64_t duration_ns = random_duration_ns(rng);
    uint64_t overhead_ns = duration_ns / 50 + demo_rng_below(rng, 90000);
    uint64_t size_bytes = status == 304 || status == 204
                              ? 0
                              : demo_rng_range(rng, 120, 250000);
    uint32_t ip = (uint32_t) demo_rng_next(rng);
    unsigned port = 1024 + demo_rng_below(rng, 64000);
    time_t start_s = (time_t) (START_EPOCH_S + (long long) (seq / 1000));
    unsigned start_ns = (unsigned) (seq % 1000) * 1000000
                        + demo_rng_below(rng, 1000000);
    char path[160];
    char when[32];
    struct tm tm;

    gmtime_r(&start_s, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    random_path(rng, path, sizeof(path));

    return snprintf(
        buf, size,
        "{\"ClientAddr\":\"%u.%u.%u.%u:%u\",\"ClientHost\":\"%u.%u.%u.%u\","
        "\"ClientPort\":\"%u\",\"ClientUsername\":\"-\","
        "\"DownstreamContentSize\":%llu,\"DownstreamStatus\":%d,"
        "\"Duration\":%llu,\"OriginContentSize\":%llu,"
        "\"OriginDuration\":%llu,\"OriginStatus\":%d,\"Overhead\":%llu,"
        "\"RequestAddr\":\"%s\",\"RequestContentSize\":%u,"
        "\"RequestCount\":%llu,\"RequestHost\":\"%s\","
        "\"RequestMethod\":\"%s\",\"RequestPath\":\"%s\","
        "\"RequestPort\":\"-\",\"RequestProtocol\":\"%s\","
        "\"RequestScheme\":\"https\",\"RetryAttempts\":%u,"
        "\"RouterName\":\"%s\",\"ServiceAddr\":\"%s\","
        "\"ServiceName\":\"%s\",\"ServiceURL\":\"http://%s\","
        "\"StartLocal\":\"%s.%09u+02:00\",\"StartUTC\":\"%s.%09uZ\","
        "\"TLSCipher\":\"TLS_AES_128_GCM_SHA256\",\"TLSVersion\":\"1.3\","
        "\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\","
        "\"request_User-Agent\":\"%s\",\"time\":\"%sZ\"}",
        ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, port,
        ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, port,
        (unsigned long long) size_bytes, status,
        (unsigned long long) duration_ns, (unsigned long long) size_bytes,
        (unsigned long long) (duration_ns - overhead_ns), status,
        (unsigned long long) overhead_ns, svc->host,
        method[0] == 'P' ? (unsigned) demo_rng_below(rng, 8192) : 0u,
        (unsigned long long) seq + 1, svc->host, method, path, proto,
        status >= 502 ? 1u : 0u, svc->router, svc->backend, svc->service,
        svc->backend, when, start_ns, when, start_ns, ua, when);
}

DEMO_NOINLINE char *
demo_generate_line(demo_rng_t *rng, uint64_t seq, size_t *len_bytes)
{
    size_t capacity = demo_rng_range(rng, LINE_CAPACITY_MIN, LINE_CAPACITY_MAX);
    char *line = malloc(capacity);
    int n;

    if (line == NULL) {
        return NULL;
    }
    n = format_line(line, capacity, rng, seq);
    if (n < 0 || (size_t) n >= capacity) {
        /* Cannot happen with the tables above; refuse rather than truncate. */
        free(line);
        return NULL;
    }
    *len_bytes = (size_t) n;
    return line;
}
