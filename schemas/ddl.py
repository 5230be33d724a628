"""The DuckDB schema as numbered migrations. Applied in order by warehouse.migrate;
each applied version is recorded in `schema_migrations`, so a file knows its own schema.

Times: `published_at` is TIMESTAMPTZ (the page's publish time, read as Asia/Shanghai);
warehouse connections set TimeZone to Asia/Shanghai so it displays as local time.
"""

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
    (6, "full-text search postings (jieba tokens, BM25 at query time)", """
CREATE TABLE search_postings (
    term       VARCHAR NOT NULL,     -- a jieba token of the simplified title/text, lower-cased
    article_id VARCHAR NOT NULL,
    tf         INTEGER NOT NULL      -- occurrences in the text, title occurrences count 3
);
CREATE TABLE search_docs (
    article_id VARCHAR PRIMARY KEY,
    len        INTEGER NOT NULL,     -- tokens in the document (for BM25 length normalisation)
    indexed_at TIMESTAMPTZ NOT NULL
);
"""),
]
