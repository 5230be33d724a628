"""The DuckDB schema as numbered migrations. Applied in order by warehouse.migrate;
each applied version is recorded in `schema_migrations`, so a file knows its own schema.

Times: `published_at` is TIMESTAMPTZ (the page's publish time, read as Asia/Shanghai);
warehouse connections set TimeZone to Asia/Shanghai so it displays as local time.
"""

# source_health as migration 8 defined it; migration 10 adds the last run's new articles
_SOURCE_HEALTH_8 = """CREATE OR REPLACE VIEW source_health AS
WITH runs AS (
    SELECT source, count(*) AS runs,
           max(finished_at) FILTER (WHERE status = 'ok') AS last_success,
           max(finished_at) AS last_run,
           arg_max(status, finished_at) AS last_status,
           sum(coalesce(pages_fetched, 0)) AS pages,
           sum(coalesce(errors, 0)) AS errors,
           avg(articles_new) FILTER (WHERE processed_at IS NOT NULL) AS new_per_run,
           count(*) FILTER (WHERE processed_at IS NULL) AS runs_unprocessed
    FROM crawl_runs GROUP BY source),
arts AS (
    SELECT source, count(*) AS articles, max(first_seen) AS last_new_article,
           avg((published_at IS NOT NULL)::INT) AS with_date,
           avg((original_source IS NOT NULL)::INT) AS with_source,
           avg((author IS NOT NULL)::INT) AS with_author,
           avg(quality) AS quality
    FROM articles GROUP BY source),
-- articles loaded but not yet grouped into stories (a process killed between its load and its
-- dedupe): the next process/ingest picks them up
pending AS (
    SELECT a.source, count(*) AS dedupe_pending
    FROM articles a LEFT JOIN dedupe_docs d ON d.article_id = a.id
    WHERE d.article_id IS NULL OR d.content_hash IS DISTINCT FROM a.content_hash
    GROUP BY a.source)
SELECT coalesce(r.source, a.source) AS source, r.last_status, r.last_success, r.last_run, r.runs,
       a.articles, a.last_new_article, r.new_per_run AS yield_per_run,
       CASE WHEN r.pages > 0 THEN r.errors / r.pages END AS error_rate,
       a.with_date, a.with_source, a.with_author, a.quality,
       coalesce(p.dedupe_pending, 0) AS dedupe_pending, coalesce(r.runs_unprocessed, 0) AS runs_unprocessed
FROM runs r FULL OUTER JOIN arts a ON a.source = r.source
LEFT JOIN pending p ON p.source = coalesce(r.source, a.source);
"""


def _with_last_run_new(view: str) -> str:
    return (view.replace("           arg_max(status, finished_at) AS last_status,\n",
                         "           arg_max(status, finished_at) AS last_status,\n"
                         "           arg_max(articles_new, finished_at) AS new_last_run,\n")
                .replace("       a.articles, a.last_new_article, r.new_per_run AS yield_per_run,\n",
                         "       a.articles, a.last_new_article, r.new_per_run AS yield_per_run, r.new_last_run,\n"))


def _archive_relative(table: str) -> str:
    """Migration 9: a stored WARC path in the archive's layout becomes `<source>/<file>`."""
    return (f"UPDATE {table} SET warc_path = source || '/' || regexp_extract(warc_path, '[^/]+$')\n"
            "WHERE regexp_extract(warc_path, '([^/]+)/[^/]+[.]warc[.]gz$', 1) = source\n"
            "  AND warc_path <> source || '/' || regexp_extract(warc_path, '[^/]+$');\n")


MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial tables", """
CREATE TABLE articles (
    id                VARCHAR PRIMARY KEY,   -- hash of the canonical URL
    url               VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,      -- registry name of the site it came from
    title             VARCHAR,
    published_at      TIMESTAMPTZ,           -- from the page; NULL when the page has none
    date_missing      BOOLEAN NOT NULL DEFAULT false,
    original_source   VARCHAR,               -- 来源: the credited outlet
    author            VARCHAR,
    editor            VARCHAR,               -- 责任编辑, never the author
    text              VARCHAR,
    language          VARCHAR,
    encoding          VARCHAR,
    content_hash      VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    provenance        VARCHAR,               -- JSON: field -> rule that produced it
    first_seen        TIMESTAMPTZ NOT NULL,
    last_seen         TIMESTAMPTZ NOT NULL,
    fetched_at        TIMESTAMPTZ,
    run_id            VARCHAR,
    warc_path         VARCHAR,
    warc_offset       BIGINT
);
CREATE TABLE rejected (
    url         VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    detail      VARCHAR,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR,
    warc_path   VARCHAR,
    warc_offset BIGINT,
    PRIMARY KEY (url, reason)
);
CREATE TABLE crawl_runs (
    run_id            VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    status            VARCHAR,
    pages_fetched     INTEGER,
    list_pages        INTEGER,
    article_requests  INTEGER,
    articles_archived INTEGER,
    not_modified      INTEGER,
    errors            INTEGER,
    blocked           INTEGER,
    bytes             BIGINT,
    errors_by_kind    VARCHAR,               -- JSON object kind -> count
    articles_new      INTEGER,
    articles_updated  INTEGER,
    articles_rejected INTEGER,
    warc_path         VARCHAR,
    message           VARCHAR,
    PRIMARY KEY (run_id, source)
);
"""),
    (2, "article quality, script, simplified copies, images and attachments", """
ALTER TABLE articles ADD COLUMN title_simplified VARCHAR;
ALTER TABLE articles ADD COLUMN text_simplified VARCHAR;
ALTER TABLE articles ADD COLUMN script VARCHAR;
ALTER TABLE articles ADD COLUMN quality DOUBLE;
ALTER TABLE articles ADD COLUMN quality_flags VARCHAR[];
ALTER TABLE articles ADD COLUMN column_name VARCHAR;
ALTER TABLE articles ADD COLUMN images STRUCT(src VARCHAR, caption VARCHAR)[];
ALTER TABLE articles ADD COLUMN attachments STRUCT(url VARCHAR, name VARCHAR)[];
"""),
    (3, "crawl reports, fetched URLs and list-page state (issue 4)", """
ALTER TABLE crawl_runs ADD COLUMN retries INTEGER;
ALTER TABLE crawl_runs ADD COLUMN robots_disallowed INTEGER;
ALTER TABLE crawl_runs ADD COLUMN links_found INTEGER;
ALTER TABLE crawl_runs ADD COLUMN known_skipped INTEGER;
ALTER TABLE crawl_runs ADD COLUMN duration_s DOUBLE;
ALTER TABLE crawl_runs ADD COLUMN blocked_by_reason VARCHAR;   -- JSON object reason -> count
ALTER TABLE crawl_runs ADD COLUMN skipped_by_kind VARCHAR;     -- JSON object: known, robots, offsite ...
ALTER TABLE crawl_runs ADD COLUMN flags VARCHAR[];             -- nothing_new, mostly_errors, ...
ALTER TABLE crawl_runs ADD COLUMN mode VARCHAR;                -- incremental | since | refresh
ALTER TABLE crawl_runs ADD COLUMN resumed BOOLEAN;
CREATE TABLE crawl_run_status (                -- responses per HTTP status, per run and source
    run_id      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    http_status INTEGER NOT NULL,
    responses   INTEGER NOT NULL,
    PRIMARY KEY (run_id, source, http_status)
);
CREATE TABLE crawl_urls (                      -- every response a crawl archived: the fetch log
    run_id       VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,             -- requested (real-site) URL
    final_url    VARCHAR,                      -- after redirects
    kind         VARCHAR,                      -- list | sitemap | feed | article | other
    status       INTEGER,
    block_reason VARCHAR,                      -- challenge_ruishu, login_wall, soft_404 ...
    list_date    VARCHAR,
    fetched_at   TIMESTAMPTZ,
    warc_path    VARCHAR,
    warc_offset  BIGINT
);
CREATE TABLE list_pages (                      -- conditional-GET state of each list page
    source        VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    etag          VARCHAR,
    last_modified VARCHAR,
    status        INTEGER,                     -- 200, or 304 when the last visit was not modified
    links         VARCHAR,                     -- JSON [[article url, list date], ...]
    next_pages    VARCHAR,                     -- JSON [{url, page, parse, form}]
    page_count    INTEGER,
    run_id        VARCHAR,
    seen_at       TIMESTAMPTZ,
    PRIMARY KEY (source, url)
);
"""),
    (4, "dedupe: signatures, LSH bands, clusters, syndication edges, story views; original URL", """
ALTER TABLE articles ADD COLUMN url_original VARCHAR;   -- the URL as fetched; `url` is canonical
CREATE TABLE dedupe_meta (            -- the parameters the stored signatures and bands were made with
    key        VARCHAR PRIMARY KEY,
    value      VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- dedupe_docs, dedupe_clusters and syndication_edges declare no key on purpose: each batch
-- checks what exists inside its own transaction (warehouse/clusters.py), and an ART index on
-- a table that grows with every article costs more per batch the bigger it gets (measured:
-- 20k rows into 800k, 0.86 s CPU with a key and its anti-join, under 0.1 s without).
CREATE TABLE dedupe_docs (            -- one row per article that went through dedupe
    article_id      VARCHAR NOT NULL,
    seq             BIGINT NOT NULL,      -- signing order; dedupe_bands refers to it
    cluster_id      VARCHAR NOT NULL,     -- the story; see dedupe_clusters
    content_hash    VARCHAR,              -- articles.content_hash when signed (re-signed on change)
    text_hash       VARCHAR,              -- exact-duplicate key: hash of the folded simplified text
    title_hash      VARCHAR,              -- hash of the folded simplified title (excerpt rule)
    n_chars         INTEGER NOT NULL,     -- folded text length
    signature       BLOB,                 -- MinHash, num_perm little-endian uint32; NULL when too short
    source          VARCHAR,              -- copies of the article fields the canonical choice uses
    published_at    TIMESTAMPTZ,
    original_source VARCHAR,
    first_seen      TIMESTAMPTZ,
    match_kind      VARCHAR NOT NULL,     -- how it joined: founder | exact | near | excerpt | short
    matched_id      VARCHAR,              -- the article it matched when it joined
    similarity      DOUBLE,               -- Jaccard (containment for excerpt) with matched_id
    signed_at       TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE TABLE dedupe_bands (           -- the LSH index: equal (band, bucket) = candidate pair
    band   SMALLINT NOT NULL,
    bucket BIGINT NOT NULL,
    seq    BIGINT NOT NULL
);
CREATE TABLE dedupe_clusters (        -- one row per story ever formed; merged ones stay, pointing on
    cluster_id      VARCHAR NOT NULL,
    canonical_id    VARCHAR,              -- earliest published, preferring the credited outlet
    size            INTEGER NOT NULL,
    outlets         INTEGER NOT NULL,     -- distinct sources
    first_published TIMESTAMPTZ,
    last_published  TIMESTAMPTZ,
    founder_seq     BIGINT NOT NULL,      -- the oldest cluster survives a merge
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    merged_into     VARCHAR               -- set when another cluster absorbed this one
);
CREATE TABLE dedupe_merges (          -- every merge, with the article that bridged the two
    loser       VARCHAR NOT NULL,
    survivor    VARCHAR NOT NULL,
    via_article VARCHAR,
    merged_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE syndication_edges (      -- who republished whom; superseded rows stay
    cluster_id         VARCHAR NOT NULL,
    original_id        VARCHAR NOT NULL,  -- the article republished
    copy_id            VARCHAR NOT NULL,  -- the article that republished it
    credited           VARCHAR,           -- the 来源 the copy names
    original_published TIMESTAMPTZ,
    copy_published     TIMESTAMPTZ,
    lag_hours          DOUBLE,            -- copy_published - original_published
    match_kind         VARCHAR NOT NULL,  -- exact | near
    similarity         DOUBLE,            -- Jaccard estimate between the two texts
    first_seen         TIMESTAMPTZ NOT NULL,
    superseded_at      TIMESTAMPTZ        -- a later batch changed the cluster and this edge no longer holds
);                                    -- one row per (copy_id, original_id)
CREATE VIEW article_clusters AS       -- every deduped article with its story
SELECT d.article_id, d.cluster_id, c.canonical_id, d.article_id = c.canonical_id AS is_canonical,
       d.match_kind, d.matched_id, d.similarity, e.original_id AS republished_from,
       e.lag_hours, d.source, d.published_at, d.original_source
FROM dedupe_docs d
JOIN dedupe_clusters c ON c.cluster_id = d.cluster_id
LEFT JOIN syndication_edges e ON e.copy_id = d.article_id AND e.superseded_at IS NULL;
CREATE VIEW stories AS                -- one row per story: the canonical article and where it appeared
SELECT c.cluster_id, c.canonical_id, a.title, a.url, a.source, a.original_source, a.published_at,
       c.size AS articles, c.outlets, m.sources, m.urls, c.first_published, c.last_published,
       c.updated_at
FROM dedupe_clusters c
JOIN articles a ON a.id = c.canonical_id
JOIN (SELECT d.cluster_id, list(DISTINCT d.source ORDER BY d.source) AS sources,
             list(x.url ORDER BY d.published_at NULLS LAST, d.seq) AS urls
      FROM dedupe_docs d JOIN articles x ON x.id = d.article_id GROUP BY d.cluster_id) m
  ON m.cluster_id = c.cluster_id
WHERE c.merged_into IS NULL;
"""),
    (5, "article tags and taxonomy versions", """
-- Tags analysts filter on (flows/tags/, docs/tagging.md): one row per article, kind and tag.
-- kind: language | script | topic | place | partner | keyword. An article's tags all come from one
-- taxonomy version: re-tagging with a new version replaces them (warehouse/tags.py).
-- article_id is articles.id. It is not a declared FOREIGN KEY on purpose: DuckDB turns an UPDATE
-- of a row with list columns (articles.quality_flags, images, attachments) into delete + insert,
-- which a referencing foreign key rejects, so every re-fetch or re-extraction of a tagged article
-- would fail. warehouse/tags.py inserts tags only for ids present in articles and prunes orphans.
CREATE TABLE article_tags (
    article_id       VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    tag              VARCHAR NOT NULL,
    score            DOUBLE,
    evidence         VARCHAR,              -- why: matched terms, 'title+text+source', langdetect ...
    taxonomy_version VARCHAR NOT NULL,
    PRIMARY KEY (article_id, kind, tag)
);
-- Which taxonomy version and which content (articles.content_hash) each article was tagged with:
-- what makes re-tagging idempotent, and what `retag` compares to find stale articles.
CREATE TABLE article_tag_state (
    article_id       VARCHAR PRIMARY KEY,
    taxonomy_version VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL,
    tagged_at        TIMESTAMPTZ NOT NULL
);
-- One row per taxonomy version ever used: a hash of flows/tags/data/{taxonomy,gazetteer,partners}.toml
-- and the tagger's code version.
CREATE TABLE taxonomy_versions (
    version          VARCHAR PRIMARY KEY,
    tagger_version   VARCHAR NOT NULL,
    files            VARCHAR NOT NULL,     -- JSON: data file -> sha256 (12 hex)
    topics           INTEGER,
    terms            INTEGER,
    places           INTEGER,
    partners         INTEGER,
    first_used       TIMESTAMPTZ NOT NULL
);
"""),
    (6, "full-text search postings (jieba tokens, BM25 at query time)", """
CREATE TABLE search_postings (
    term       VARCHAR NOT NULL,     -- a jieba token of the simplified title/text, lower-cased
    article_id VARCHAR NOT NULL,
    tf         INTEGER NOT NULL      -- occurrences in the text, title occurrences count 3
);
CREATE TABLE search_docs (
    article_id VARCHAR PRIMARY KEY,
    len        INTEGER NOT NULL,     -- tokens in the document (for BM25 length normalisation)
    indexed_at TIMESTAMPTZ NOT NULL,
    content_hash VARCHAR             -- the article's content hash when it was indexed
);
"""),
    (7, "analyst views: daily counts, per-source health, articles with their tags", """
-- Days are Asia/Shanghai whatever the session's TimeZone.
CREATE VIEW daily_source_counts AS
SELECT CAST(timezone('Asia/Shanghai', published_at) AS DATE) AS day, source, count(*) AS articles
FROM articles WHERE published_at IS NOT NULL GROUP BY ALL;

CREATE VIEW daily_topic_counts AS
SELECT CAST(timezone('Asia/Shanghai', a.published_at) AS DATE) AS day, t.tag AS topic, count(*) AS articles
FROM article_tags t JOIN articles a ON a.id = t.article_id
WHERE t.kind = 'topic' AND a.published_at IS NOT NULL GROUP BY ALL;

CREATE VIEW source_health AS
WITH runs AS (
    SELECT source, count(*) AS runs,
           max(finished_at) FILTER (WHERE status = 'ok') AS last_success,
           max(finished_at) AS last_run,
           arg_max(status, finished_at) AS last_status,
           sum(coalesce(pages_fetched, 0)) AS pages,
           sum(coalesce(errors, 0)) AS errors,
           avg(coalesce(articles_new, 0)) AS new_per_run
    FROM crawl_runs GROUP BY source),
arts AS (
    SELECT source, count(*) AS articles, max(first_seen) AS last_new_article,
           avg((published_at IS NOT NULL)::INT) AS with_date,
           avg((original_source IS NOT NULL)::INT) AS with_source,
           avg((author IS NOT NULL)::INT) AS with_author,
           avg(quality) AS quality
    FROM articles GROUP BY source)
SELECT coalesce(r.source, a.source) AS source, r.last_status, r.last_success, r.last_run, r.runs,
       a.articles, a.last_new_article, r.new_per_run AS yield_per_run,
       CASE WHEN r.pages > 0 THEN r.errors / r.pages END AS error_rate,
       a.with_date, a.with_source, a.with_author, a.quality
FROM runs r FULL OUTER JOIN arts a ON a.source = r.source;

CREATE VIEW articles_tagged AS
SELECT a.id, a.url, a.source, a.title, a.published_at, a.original_source, a.author,
       list(t.tag ORDER BY t.score DESC) FILTER (WHERE t.kind = 'topic') AS topics,
       list(t.tag ORDER BY t.score DESC) FILTER (WHERE t.kind = 'place') AS places,
       list(t.tag ORDER BY t.score DESC) FILTER (WHERE t.kind = 'partner') AS partners,
       list(t.tag ORDER BY t.score DESC) FILTER (WHERE t.kind = 'keyword') AS keywords,
       any_value(t.tag) FILTER (WHERE t.kind = 'language') AS language_tag,
       any_value(t.tag) FILTER (WHERE t.kind = 'script') AS script_tag
FROM articles a LEFT JOIN article_tags t ON t.article_id = a.id
GROUP BY a.id, a.url, a.source, a.title, a.published_at, a.original_source, a.author;
"""),
    (8, "crawl runs: counts written once (processed_at); source_health: yield over processed runs, "
        "dedupe pending", """
-- When a pass first finished processing this run's archive. Until then the run's counts
-- (articles_new/updated/rejected) grow with each committed load chunk; from then on they are
-- history, and a later pass over the same WARC file leaves them (flows/steps.py).
ALTER TABLE crawl_runs ADD COLUMN processed_at TIMESTAMPTZ;
UPDATE crawl_runs SET processed_at = coalesce(finished_at, now()) WHERE articles_new IS NOT NULL;

""" + _SOURCE_HEALTH_8),
    (9, "WARC locations relative to the archive root", """
-- warc_path (articles, rejected, crawl_runs, crawl_urls) names the raw page's WARC file relative
-- to the archive root, `<source>/<run_id>.warc.gz`, resolved against the archive in use when it
-- is read (crawlers/archive.py: location, resolve): a moved or copied archive still finds its
-- pages. Stored paths in the archive's layout (.../<source>/<file>.warc.gz, absolute or relative
-- to where the load ran) become archive-relative; others (files processed from elsewhere) stay.
"""
        + "".join(_archive_relative(t) for t in ("articles", "rejected", "crawl_runs", "crawl_urls"))),
    (10, "source_health: new articles in the last run (the report read its own copy of the view)", _with_last_run_new(_SOURCE_HEALTH_8)),
    (11, "article revisions: versions, takedowns, restores, delistings, re-check state (issue 16)", """
-- Validators of every article response, for the conditional GET of a re-check.
ALTER TABLE crawl_urls ADD COLUMN etag VARCHAR;
ALTER TABLE crawl_urls ADD COLUMN last_modified VARCHAR;
-- What became of the article: removed_at with the evidence in article_events; restored_at when
-- it answered again after that; delisted_at when it dropped out of its column's list pages
-- while its page still answered. Nothing is deleted.
ALTER TABLE articles ADD COLUMN removed_at TIMESTAMPTZ;
ALTER TABLE articles ADD COLUMN restored_at TIMESTAMPTZ;
ALTER TABLE articles ADD COLUMN delisted_at TIMESTAMPTZ;
-- Every distinct extracted version of an article (warehouse/revisions.py). Version 1 of an
-- article never edited keeps its text in `articles` (text_z NULL, is_delta false); when a second
-- version arrives, version 1 gets its full text (zlib) and each later version is stored as a
-- delta from the one before (zlib of JSON edit operations over characters).
CREATE TABLE article_versions (
    article_id   VARCHAR NOT NULL,
    version      INTEGER NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    content_hash VARCHAR,                  -- hash of title, text, 来源, author, whitespace folded
                                           -- (NULL on version 1 until a second version comes)
    title        VARCHAR,
    original_source VARCHAR,
    author       VARCHAR,
    text_z       BLOB,                     -- zlib: the full text, or the delta from version - 1
    is_delta     BOOLEAN NOT NULL DEFAULT false,
    text_chars   INTEGER,
    extractor_version VARCHAR,
    run_id       VARCHAR,
    warc_path    VARCHAR,
    warc_offset  BIGINT,
    recorded_at  TIMESTAMPTZ NOT NULL
);  -- one row per (article_id, version), kept by warehouse/revisions.py: no declared key, as for
    -- dedupe_docs (an ART index on a table that grows with every article slows every load)
-- One row per thing that happened to an article: edited | removed | restored | delisted.
CREATE TABLE article_events (
    article_id  VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    happened_at TIMESTAMPTZ NOT NULL,
    version     INTEGER,                   -- edited: the new version
    reason      VARCHAR,                   -- removed: http_404, http_410, redirect_home, soft_404, ...
    http_status INTEGER,
    final_url   VARCHAR,
    run_id      VARCHAR,
    warc_path   VARCHAR,
    warc_offset BIGINT,
    detail      VARCHAR
);
-- The re-check state of each article: when it was last asked, its validators, and the transient
-- failures in a row (a takedown needs a definite answer, or N of them over M days).
CREATE TABLE article_checks (
    article_id      VARCHAR PRIMARY KEY,
    last_checked_at TIMESTAMPTZ,
    last_status     INTEGER,
    last_outcome    VARCHAR,               -- live | not_modified | removed | transient
    etag            VARCHAR,
    last_modified   VARCHAR,
    failures        INTEGER NOT NULL DEFAULT 0,
    first_failure_at TIMESTAMPTZ
);
CREATE VIEW changes AS                     -- edits, takedowns, restores, delistings per day and source
SELECT CAST(timezone('Asia/Shanghai', happened_at) AS DATE) AS day, source, kind, count(*) AS events,
       count(DISTINCT article_id) AS articles
FROM article_events GROUP BY ALL;
"""),
]
